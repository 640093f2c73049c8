"""Typed queries for the Jira side: sync progress, the status-change log and the push outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from storage.idempotency import insert_if_absent
from storage.models import Checkpoint, Initiative, JiraPush, JiraPushState, JiraStatusChange, JiraSyncState
from storage.row_claims import claim_picked

SYNC_STATE_NAME = "default"


def get_sync_state(*, session: Session) -> JiraSyncState:
    """The sync's progress row, created on first use (by one of the replicas syncing for the first time at once)."""
    state = session.get(JiraSyncState, SYNC_STATE_NAME)
    if state is None:
        insert_if_absent(session, JiraSyncState, {"name": SYNC_STATE_NAME}, index_elements=["name"])
        state = session.get(JiraSyncState, SYNC_STATE_NAME)
    assert state is not None  # inserted above, or by the replica that got there first
    return state


def read_sync_state(*, session: Session) -> JiraSyncState | None:
    """The sync's progress, or None before the first sync; never writes (status pages call it)."""
    return session.get(JiraSyncState, SYNC_STATE_NAME)


def add_status_change(*, session: Session, change: JiraStatusChange) -> JiraStatusChange:
    session.add(change)
    session.flush()
    return change


def unposted_status_changes(*, session: Session) -> Sequence[JiraStatusChange]:
    return session.exec(
        select(JiraStatusChange).where(col(JiraStatusChange.posted_at).is_(None)).order_by(col(JiraStatusChange.id))
    ).all()


def claim_unposted_status_changes(*, session: Session, now: datetime, stale_after: timedelta) -> list[int]:
    """Claim status changes nobody has posted (or whose poster vanished), oldest first; returns their ids.

    Picked under row locks that posters on other replicas pass by, and each claimed with a conditional update, so
    of two posters running at once only one gets a change.
    """
    unclaimed = or_(col(JiraStatusChange.claimed_at).is_(None), col(JiraStatusChange.claimed_at) < now - stale_after)

    def claim(change_id: int) -> bool:
        result = session.connection().execute(
            update(JiraStatusChange)
            .where(col(JiraStatusChange.id) == change_id, col(JiraStatusChange.posted_at).is_(None), unclaimed)
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    candidates = (
        select(JiraStatusChange.id)
        .where(col(JiraStatusChange.posted_at).is_(None), unclaimed)
        .order_by(col(JiraStatusChange.id))
    )
    return claim_picked(session=session, candidates=candidates, claim=claim)


def mark_status_change_posted(*, session: Session, change_id: int, now: datetime) -> None:
    change = session.get(JiraStatusChange, change_id)
    if change is not None:
        change.posted_at = now
        session.add(change)


def release_status_change(*, session: Session, change_id: int) -> None:
    """Give a claimed change back (its post failed), so the next run tries again."""
    change = session.get(JiraStatusChange, change_id)
    if change is not None:
        change.claimed_at = None
        session.add(change)


def status_change_with_place(
    *, session: Session, change_id: int
) -> tuple[JiraStatusChange, Checkpoint, Initiative] | None:
    """A status change with its checkpoint and that checkpoint's initiative; None if any of them is gone."""
    statement = (
        select(JiraStatusChange, Checkpoint, Initiative)
        .join(Checkpoint, col(Checkpoint.id) == JiraStatusChange.checkpoint_id)
        .join(Initiative, col(Initiative.id) == Checkpoint.initiative_id)
        .where(JiraStatusChange.id == change_id)
    )
    return session.exec(statement).first()


def add_push(*, session: Session, push: JiraPush) -> JiraPush:
    session.add(push)
    session.flush()
    return push


def claim_due_pushes(*, session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[int]:
    """Claim pending pushes whose next attempt is due and whose lease (if any) has run out."""
    unclaimed = or_(col(JiraPush.claimed_until).is_(None), col(JiraPush.claimed_until) < now)

    def claim(push_id: int) -> bool:
        result = session.connection().execute(
            update(JiraPush)
            .where(col(JiraPush.id) == push_id, col(JiraPush.state) == JiraPushState.PENDING.value, unclaimed)
            .values(claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    candidates = (
        select(JiraPush.id)
        .where(JiraPush.state == JiraPushState.PENDING.value, col(JiraPush.next_attempt_at) <= now, unclaimed)
        .order_by(col(JiraPush.next_attempt_at), col(JiraPush.id))
        .limit(limit)
    )
    return claim_picked(session=session, candidates=candidates, claim=claim)


def failed_unreported_pushes(*, session: Session) -> Sequence[JiraPush]:
    statement = (
        select(JiraPush)
        .where(JiraPush.state == JiraPushState.FAILED.value, col(JiraPush.reported_at).is_(None))
        .order_by(col(JiraPush.id))
    )
    return session.exec(statement).all()


def claim_failure_report(*, session: Session, push_id: int, now: datetime) -> bool:
    """Take the duty of telling people about a failed push; only one reporter gets it."""
    unreported = (col(JiraPush.id) == push_id, col(JiraPush.reported_at).is_(None))

    def claim(picked_id: int) -> bool:
        result = session.connection().execute(
            update(JiraPush)
            .where(col(JiraPush.id) == picked_id, col(JiraPush.reported_at).is_(None))
            .values(reported_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    return bool(claim_picked(session=session, candidates=select(JiraPush.id).where(*unreported), claim=claim))


def push_with_place(*, session: Session, push_id: int) -> tuple[JiraPush, Checkpoint, Initiative] | None:
    """A push with its checkpoint and that checkpoint's initiative; None if any of them is gone."""
    statement = (
        select(JiraPush, Checkpoint, Initiative)
        .join(Checkpoint, col(Checkpoint.id) == JiraPush.checkpoint_id)
        .join(Initiative, col(Initiative.id) == Checkpoint.initiative_id)
        .where(JiraPush.id == push_id)
    )
    return session.exec(statement).first()


def pending_push_counts(*, session: Session, initiative_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Pending pushes per initiative (all initiatives when `initiative_ids` is None)."""
    statement = (
        select(Checkpoint.initiative_id, func.count())
        .select_from(JiraPush)
        .join(Checkpoint, col(Checkpoint.id) == col(JiraPush.checkpoint_id))
        .where(JiraPush.state == JiraPushState.PENDING.value)
        .group_by(col(Checkpoint.initiative_id))
    )
    if initiative_ids is not None:
        if not initiative_ids:
            return {}
        statement = statement.where(col(Checkpoint.initiative_id).in_(initiative_ids))
    return {int(initiative_id): int(count) for initiative_id, count in session.exec(statement).all()}


def pending_pushes_by_checkpoint(*, session: Session, initiative_id: int) -> dict[int, int]:
    """Pending pushes of each checkpoint of one initiative."""
    statement = (
        select(JiraPush.checkpoint_id, func.count())
        .join(Checkpoint, col(Checkpoint.id) == col(JiraPush.checkpoint_id))
        .where(Checkpoint.initiative_id == initiative_id, JiraPush.state == JiraPushState.PENDING.value)
        .group_by(col(JiraPush.checkpoint_id))
    )
    return {int(checkpoint_id): int(count) for checkpoint_id, count in session.exec(statement).all()}


def pending_pushes_for_checkpoint(*, session: Session, checkpoint_id: int) -> Sequence[JiraPush]:
    statement = select(JiraPush).where(
        JiraPush.checkpoint_id == checkpoint_id, JiraPush.state == JiraPushState.PENDING.value
    )
    return session.exec(statement).all()
