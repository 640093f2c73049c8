"""Typed queries for schedules: channel settings, job slot claims and the state of nudges."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, or_, update
from sqlmodel import Session, col, select

from storage.idempotency import insert_if_absent, insert_returning_id
from storage.models import ChannelSettings, ClosedGap, Initiative, JobRun, JobRunState, NudgeState
from storage.row_claims import claim_picked
from storage.types import UTCDateTime

# ---------------------------------------------------------------------------------------------- channel settings


def get_channel_settings(*, session: Session, team_id: str, channel_id: str) -> ChannelSettings | None:
    return session.get(ChannelSettings, (team_id, channel_id))


def save_channel_settings(*, session: Session, settings: ChannelSettings) -> ChannelSettings:
    merged = session.merge(settings)
    session.flush()
    return merged


def channels_with_initiatives(*, session: Session) -> list[tuple[str, str, datetime, int]]:
    """(team, channel, since when, how many) for every channel that is home to an active initiative."""
    rows = session.exec(
        select(Initiative.team_id, Initiative.home_channel_id, func.min(Initiative.created_at), func.count())
        .where(col(Initiative.archived).is_(False))
        .group_by(col(Initiative.team_id), col(Initiative.home_channel_id))
    ).all()
    return [(team, channel, since, int(count)) for team, channel, since, count in rows]


def all_channel_settings(*, session: Session) -> dict[tuple[str, str], ChannelSettings]:
    return {(s.team_id, s.channel_id): s for s in session.exec(select(ChannelSettings)).all()}


_SET_LAST_DIGEST_AT = (
    update(ChannelSettings)
    .where(
        col(ChannelSettings.team_id) == bindparam("team"),
        col(ChannelSettings.channel_id) == bindparam("channel"),
        or_(
            col(ChannelSettings.last_digest_at).is_(None),
            col(ChannelSettings.last_digest_at) < bindparam("at", type_=UTCDateTime()),
        ),
    )
    .values(last_digest_at=bindparam("at", type_=UTCDateTime()))
)


def set_last_digest_at(*, session: Session, team_id: str, channel_id: str, at: datetime) -> bool:
    """Moves only forward, so a late retry of an older slot never rewinds "since the previous digest"; False if it
    did not move (the channel has no stored settings, or a later digest was recorded already)."""
    result = session.connection().execute(_SET_LAST_DIGEST_AT, {"team": team_id, "channel": channel_id, "at": at})
    return result.rowcount == 1  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- job slots


def claim_slot(
    *,
    session: Session,
    job: str,
    target: str,
    slot: str,
    due_at: datetime,
    now: datetime,
    lease_until: datetime,
    holder: str | None = None,
) -> JobRun | None:
    """Claim a slot nobody has claimed; None if it was claimed before (by anyone, at any time). One statement: the
    new row is the values written and the id it got."""
    row = _slot_row(
        job=job,
        target=target,
        slot=slot,
        due_at=due_at,
        now=now,
        state=JobRunState.CLAIMED.value,
        lease_until=lease_until,
        holder=holder,
    )
    run_id = insert_returning_id(session, JobRun, row, index_elements=["job", "target", "slot"])
    return None if run_id is None else JobRun(id=run_id, **row)


def take_over_slot(
    *, session: Session, run_id: int, now: datetime, lease_until: datetime, holder: str | None = None
) -> JobRun | None:
    """Take a claimed slot whose lease has ended (its holder crashed, or a retry is due); None if someone else
    did first or it is finished. A conditional update, so of two replicas only one gets it."""
    result = session.connection().execute(
        update(JobRun)
        .where(
            col(JobRun.id) == run_id,
            col(JobRun.state) == JobRunState.CLAIMED.value,
            col(JobRun.lease_until) <= now,
        )
        .values(lease_until=lease_until, holder=holder)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    run = session.get(JobRun, run_id)
    if run is not None:
        session.refresh(run)
    return run


def set_lease(*, session: Session, run_id: int, holder: str | None, lease_until: datetime) -> bool:
    """Move the end of a claim this holder still has: later to renew it, to now to release it for any holder to
    take over at once; False if another holder took it over (or it is finished)."""
    result = session.connection().execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id, col(JobRun.state) == JobRunState.CLAIMED.value, _held_by(holder))
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _held_by(holder: str | None):  # type: ignore[no-untyped-def]
    return col(JobRun.holder).is_(None) if holder is None else col(JobRun.holder) == holder


def force_slot(
    *,
    session: Session,
    job: str,
    target: str,
    slot: str,
    due_at: datetime,
    now: datetime,
    lease_until: datetime,
    holder: str | None = None,
) -> JobRun:
    """A slot for a deliberate re-run (`--force`): a fresh row beside the day's own, so the record stays honest."""
    run = JobRun(
        job=job,
        target=target,
        slot=f"{slot}+{now.strftime('%H%M%S%f')}-{secrets.token_hex(2)}",
        due_at=due_at,
        lease_until=lease_until,
        holder=holder,
        claimed_at=now,
    )
    session.add(run)
    session.flush()
    return run


def get_slot(*, session: Session, job: str, target: str, slot: str) -> JobRun | None:
    return session.exec(
        select(JobRun).where(col(JobRun.job) == job, col(JobRun.target) == target, col(JobRun.slot) == slot)
    ).first()


def slots_known(*, session: Session, jobs: Sequence[str], since: datetime) -> set[tuple[str, str, str]]:
    """(job, target, slot) of every slot claimed, done or skipped that was due since `since`."""
    rows = session.exec(
        select(JobRun.job, JobRun.target, JobRun.slot).where(col(JobRun.job).in_(jobs), col(JobRun.due_at) >= since)
    ).all()
    return {(job, target, slot) for job, target, slot in rows}


def take_over_lapsed_claim(
    *,
    session: Session,
    jobs: Sequence[str],
    now: datetime,
    lease_until: datetime,
    holder: str | None,
    target: str | None = None,
    passed: Collection[int] = (),
) -> JobRun | None:
    """Pick the oldest claim of `jobs` whose lease has ended (crashed holders, retries now due; of `target` only
    when given, none of `passed`) and take it over in the same transaction; None when there is none left to take,
    or another holder took the one picked (that holder is sweeping the rest too)."""
    candidates = (
        select(JobRun.id)
        .where(
            col(JobRun.state) == JobRunState.CLAIMED.value, col(JobRun.lease_until) <= now, col(JobRun.job).in_(jobs)
        )
        .order_by(col(JobRun.due_at), col(JobRun.id))
        .limit(1)
    )
    if target is not None:
        candidates = candidates.where(col(JobRun.target) == target)
    if passed:
        candidates = candidates.where(col(JobRun.id).not_in(passed))
    taken: list[JobRun] = []

    def claim(run_id: int) -> bool:
        run = take_over_slot(session=session, run_id=run_id, now=now, lease_until=lease_until, holder=holder)
        taken.extend([run] if run is not None else [])
        return run is not None

    claim_picked(session=session, candidates=candidates, claim=claim)
    return taken[0] if taken else None


def unfinished_slots(*, session: Session) -> tuple[int, datetime | None]:
    """How many claims are not finished yet, and when the oldest of them was due."""
    count, oldest = session.exec(
        select(func.count(), func.min(JobRun.due_at)).where(col(JobRun.state) == JobRunState.CLAIMED.value)
    ).one()
    return int(count), oldest


def record_progress(
    *,
    session: Session,
    run_id: int,
    root_ts: str | None,
    parts_posted: int,
    lease_until: datetime,
    holder: str | None = None,
) -> bool:
    """Record what was posted and extend the claim; False if another holder has taken the claim over."""
    result = session.connection().execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id, col(JobRun.state) == JobRunState.CLAIMED.value, _held_by(holder))
        .values(root_ts=root_ts, parts_posted=parts_posted, lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


_COMPLETE = (
    update(JobRun)
    .where(
        col(JobRun.id) == bindparam("run_id"),
        col(JobRun.state) == JobRunState.CLAIMED.value,
        col(JobRun.holder).is_not_distinct_from(bindparam("held_by")),
    )
    .values(
        root_ts=bindparam("posted_root_ts"),
        parts_posted=bindparam("posted_parts"),
        state=JobRunState.DONE.value,
        finished_at=bindparam("now", type_=UTCDateTime()),
        lease_until=None,
    )
)


def complete_slot(
    *, session: Session, run_id: int, holder: str | None, root_ts: str | None, parts_posted: int, now: datetime
) -> bool:
    """Mark a claim this holder still has done, with its final progress; False if another holder took it over."""
    values = {"run_id": run_id, "held_by": holder, "posted_root_ts": root_ts, "posted_parts": parts_posted, "now": now}
    result = session.connection().execute(_COMPLETE, values)
    return result.rowcount == 1  # type: ignore[attr-defined]


def finish_slot(*, session: Session, run_id: int, state: JobRunState, now: datetime, error: str | None = None) -> None:
    values: dict[str, object] = {"state": state.value, "finished_at": now, "lease_until": None}
    if error is not None:
        values["last_error"] = error[:500]
    session.connection().execute(update(JobRun).where(col(JobRun.id) == run_id).values(**values))


def retry_slot_later(
    *, session: Session, run_id: int, retry_at: datetime, error: str, holder: str | None = None
) -> None:
    """Keep the claim but let it lapse at `retry_at`, when the sweep (here or on another replica) tries again."""
    session.connection().execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id, _held_by(holder))
        .values(lease_until=retry_at, attempts=JobRun.attempts + 1, last_error=error[:500])
    )


def prune_finished_slots(*, session: Session, before: datetime) -> int:
    """Forget finished slots due before `before`: the unique key only has to outlive the catch-up window."""
    result = session.connection().execute(
        delete(JobRun).where(col(JobRun.due_at) < before, col(JobRun.state) != JobRunState.CLAIMED.value)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record_skipped_slot(
    *, session: Session, job: str, target: str, slot: str, due_at: datetime, now: datetime, reason: str
) -> bool:
    """Write down a slot that will not run, once; True if this call wrote it (so the caller logs it once)."""
    values = {"state": JobRunState.SKIPPED.value, "last_error": reason[:500], "finished_at": now}
    return _insert_slot(session, job=job, target=target, slot=slot, due_at=due_at, now=now, **values)


def _insert_slot(
    session: Session, *, job: str, target: str, slot: str, due_at: datetime, now: datetime, **values: object
) -> bool:
    row = _slot_row(job=job, target=target, slot=slot, due_at=due_at, now=now, **values)
    return insert_if_absent(session, JobRun, row, index_elements=["job", "target", "slot"])


def _slot_row(*, job: str, target: str, slot: str, due_at: datetime, now: datetime, **values: object) -> dict:
    row = {"job": job, "target": target, "slot": slot, "due_at": due_at, "claimed_at": now, "attempts": 0}
    return row | {"parts_posted": 0, **values}


# ---------------------------------------------------------------------------------------------- nudges


def nudge_states(*, session: Session, initiative_ids: Sequence[int]) -> dict[tuple[int, str], NudgeState]:
    if not initiative_ids:
        return {}
    rows = session.exec(select(NudgeState).where(col(NudgeState.initiative_id).in_(initiative_ids))).all()
    return {(row.initiative_id, row.gap_key): row for row in rows}


def get_nudge_state(*, session: Session, initiative_id: int, gap_key: str) -> NudgeState:
    """The gap's row, created on first use."""
    state = session.exec(
        select(NudgeState).where(col(NudgeState.initiative_id) == initiative_id, col(NudgeState.gap_key) == gap_key)
    ).first()
    if state is None:
        insert_if_absent(
            session,
            NudgeState,
            {"initiative_id": initiative_id, "gap_key": gap_key, "times_nudged": 0},
            index_elements=["initiative_id", "gap_key"],
        )
        state = session.exec(
            select(NudgeState).where(col(NudgeState.initiative_id) == initiative_id, col(NudgeState.gap_key) == gap_key)
        ).one()
    return state


def forget_closed_gaps(
    *, session: Session, initiative_ids: Sequence[int], open_keys: set[tuple[int, str]], now: datetime
) -> int:
    """Drop the state of gaps that are closed, so a gap that opens again starts from its first nudge; a gap that
    was nudged is kept as a `ClosedGap`, closed `now`, for the report's follow-through.

    A running snooze outlives its gap: snoozing is a person's word and is kept until it runs out.
    """
    if not initiative_ids:
        return 0
    closed = [
        row
        for row in session.exec(select(NudgeState).where(col(NudgeState.initiative_id).in_(initiative_ids))).all()
        if (row.initiative_id, row.gap_key) not in open_keys and (row.snoozed_until is None or row.snoozed_until <= now)
    ]
    nudged = [row for row in closed if row.times_nudged > 0]
    if nudged:
        session.connection().execute(
            insert(ClosedGap),
            [
                {
                    "initiative_id": row.initiative_id,
                    "gap_key": row.gap_key,
                    "times_nudged": row.times_nudged,
                    "first_nudged_at": row.first_nudged_at,
                    "last_nudged_at": row.last_nudged_at,
                    "escalated_at": row.escalated_at,
                    "closed_at": now,
                }
                for row in nudged
            ],
        )
    if closed:
        session.connection().execute(delete(NudgeState).where(col(NudgeState.id).in_([row.id for row in closed])))
    return len(closed)
