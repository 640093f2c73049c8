"""Typed queries for checkpoints and their progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, case, cast, func, update
from sqlmodel import Session, col, or_, select

from storage.initiatives import NAME_WORD_SEPARATORS, fold_ref_key, like_escaped
from storage.models import Checkpoint, CheckpointStatus, Initiative


@dataclass(frozen=True)
class CheckpointProgress:
    """Counts for one initiative's checkpoints, as `status` shows them."""

    total: int = 0
    done: int = 0
    overdue: int = 0
    next_due: date | None = None


def get_checkpoint(*, session: Session, initiative_id: int, number: int) -> Checkpoint | None:
    """A checkpoint by its number within an initiative; removed ones are not found."""
    statement = select(Checkpoint).where(
        Checkpoint.initiative_id == initiative_id,
        Checkpoint.number == number,
        col(Checkpoint.removed_at).is_(None),
    )
    return session.exec(statement).first()


def get_checkpoint_by_id(*, session: Session, checkpoint_id: int) -> Checkpoint | None:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    return checkpoint if checkpoint is not None and checkpoint.removed_at is None else None


def get_removed_checkpoint(*, session: Session, checkpoint_id: int) -> Checkpoint | None:
    """A checkpoint taken off the list, to put it back; None when it is on the list or gone."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    return checkpoint if checkpoint is not None and checkpoint.removed_at is not None else None


def list_checkpoints(*, session: Session, initiative_id: int) -> Sequence[Checkpoint]:
    """An initiative's checkpoints in the order they were added."""
    statement = (
        select(Checkpoint)
        .where(Checkpoint.initiative_id == initiative_id, col(Checkpoint.removed_at).is_(None))
        .order_by(col(Checkpoint.number))
    )
    return session.exec(statement).all()


def search_checkpoints(
    *,
    session: Session,
    team_id: str,
    words: str = "",
    ref_key_prefix: str = "",
    number_prefix: str = "",
    initiative_ids: Sequence[int] | None = None,
    open_only: bool = False,
    unlinked_only: bool = False,
    channel_id: str | None = None,
    limit: int = 100,
) -> Sequence[tuple[Checkpoint, Initiative]]:
    """Checkpoints of a workspace's active initiatives (or of those of `initiative_ids` among them) whose title, a
    word of it, or initiative's reference key starts with `words`; or whose initiative's key starts with
    `ref_key_prefix` and number with `number_prefix` (`churn#1` finds #1 and #12). Case is ignored; at most `limit`,
    those of initiatives at home in `channel_id` first, then by initiative name and number."""
    conditions: list[Any] = [
        Initiative.team_id == team_id,
        col(Initiative.archived).is_(False),
        col(Checkpoint.removed_at).is_(None),
    ]
    if initiative_ids is not None:
        conditions.append(col(Initiative.id).in_(list(initiative_ids)))
    if open_only or unlinked_only:
        conditions.append(col(Checkpoint.status) != CheckpointStatus.DONE.value)
    if unlinked_only:
        conditions.append(col(Checkpoint.jira_key).is_(None))
    if words:
        title = col(Checkpoint.title)
        typed = like_escaped(words)
        word_starts = (title.ilike(f"%{like_escaped(sep)}{typed}%", escape="\\") for sep in NAME_WORD_SEPARATORS)
        conditions.append(
            or_(
                title.ilike(f"{typed}%", escape="\\"),
                *word_starts,
                col(Initiative.ref_key).like(f"{like_escaped(fold_ref_key(words))}%", escape="\\"),
            )
        )
    elif ref_key_prefix:
        conditions.append(col(Initiative.ref_key).like(f"{like_escaped(fold_ref_key(ref_key_prefix))}%", escape="\\"))
    if number_prefix:
        conditions.append(cast(col(Checkpoint.number), String).like(f"{like_escaped(number_prefix)}%", escape="\\"))
    at_home_first = case((col(Initiative.home_channel_id) == channel_id, 0), else_=1)
    statement = (
        select(Checkpoint, Initiative)
        .join(Initiative, col(Initiative.id) == col(Checkpoint.initiative_id))
        .where(*conditions)
        .order_by(at_home_first, col(Initiative.name_key), col(Checkpoint.number))
        .limit(limit)
    )
    return [(checkpoint, initiative) for checkpoint, initiative in session.exec(statement).all()]


def add_checkpoint(*, session: Session, checkpoint: Checkpoint) -> Checkpoint:
    session.add(checkpoint)
    session.flush()
    return checkpoint


def find_linked_checkpoint(*, session: Session, team_id: str, jira_key: str) -> tuple[Checkpoint, Initiative] | None:
    """The active checkpoint in the workspace already linked to this Jira issue, with its initiative."""
    statement = (
        select(Checkpoint, Initiative)
        .join(Initiative, col(Initiative.id) == col(Checkpoint.initiative_id))
        .where(
            Initiative.team_id == team_id,
            Checkpoint.jira_key == jira_key,
            col(Checkpoint.removed_at).is_(None),
        )
    )
    row = session.exec(statement).first()
    return (row[0], row[1]) if row else None


def checkpoints_linked_to(*, session: Session, jira_key: str) -> Sequence[Checkpoint]:
    """Active checkpoints in any workspace linked to a Jira issue (one Jira site serves every workspace)."""
    statement = select(Checkpoint).where(Checkpoint.jira_key == jira_key, col(Checkpoint.removed_at).is_(None))
    return session.exec(statement).all()


def progress_by_initiative(
    *, session: Session, initiative_ids: Sequence[int], today: date
) -> dict[int, CheckpointProgress]:
    """Done/total, overdue count and the next due date of each initiative, in one grouped query."""
    if not initiative_ids:
        return {}
    not_done = col(Checkpoint.status) != CheckpointStatus.DONE.value
    statement = (
        select(  # type: ignore[call-overload]
            Checkpoint.initiative_id,
            func.count(),
            func.sum(case((not_done, 0), else_=1)),
            func.sum(case((not_done & (col(Checkpoint.due_date) < today), 1), else_=0)),
            func.min(case((not_done & (col(Checkpoint.due_date) >= today), col(Checkpoint.due_date)), else_=None)),
        )
        .where(col(Checkpoint.initiative_id).in_(initiative_ids), col(Checkpoint.removed_at).is_(None))
        .group_by(col(Checkpoint.initiative_id))
    )
    return {
        initiative_id: CheckpointProgress(
            total=int(total), done=int(done or 0), overdue=int(overdue or 0), next_due=next_due
        )
        for initiative_id, total, done, overdue, next_due in session.exec(statement).all()
    }


def linked_issue_keys(*, session: Session) -> dict[str, tuple[str | None, datetime | None]]:
    """Every Jira key linked to an active checkpoint, with the status and `updated` time last seen.

    One statement whatever the number of links: the sync compares Jira's answers against this in memory.
    """
    statement = select(Checkpoint.jira_key, Checkpoint.jira_status, Checkpoint.jira_updated_at).where(
        col(Checkpoint.jira_key).is_not(None), col(Checkpoint.removed_at).is_(None)
    )
    known: dict[str, tuple[str | None, datetime | None]] = {}
    for key, status, updated in session.exec(statement).all():
        if key is not None:
            known[key] = (status, updated)
    return known


def linked_projects(*, session: Session) -> list[str]:
    """The Jira projects of every linked issue, for one incremental query over all of them."""
    keys = select(Checkpoint.jira_key).where(
        col(Checkpoint.jira_key).is_not(None), col(Checkpoint.removed_at).is_(None)
    )
    return sorted({key.rsplit("-", 1)[0] for key in session.exec(keys.distinct()).all() if key})


def tracked_projects(*, session: Session, team_id: str) -> set[str]:
    """Jira projects a workspace follows: its initiatives' projects and those of its linked issues."""
    initiative_projects = select(Initiative.jira_project_key).where(
        Initiative.team_id == team_id, col(Initiative.jira_project_key).is_not(None)
    )
    projects = {p for p in session.exec(initiative_projects.distinct()).all() if p}
    linked = (
        select(Checkpoint.jira_key)
        .join(Initiative, col(Initiative.id) == col(Checkpoint.initiative_id))
        .where(Initiative.team_id == team_id, col(Checkpoint.jira_key).is_not(None))
    )
    projects |= {key.rsplit("-", 1)[0] for key in session.exec(linked.distinct()).all() if key}
    return projects


def compare_and_set_jira_status(
    *,
    session: Session,
    checkpoint_id: int,
    expected_status: str | None,
    values: dict[str, object],
) -> bool:
    """Write Jira fields only if the stored status is still `expected_status`; False when someone else won.

    Two replicas (or a webhook and a sync) can see the same change at once: only the one whose update matches
    goes on to log and post it.
    """
    status_column = col(Checkpoint.jira_status)
    matches = status_column.is_(None) if expected_status is None else status_column == expected_status
    statement = (
        update(Checkpoint)
        .where(col(Checkpoint.id) == checkpoint_id, matches)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.connection().execute(statement)
    return result.rowcount == 1  # type: ignore[attr-defined]
