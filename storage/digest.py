"""Queries behind a channel's digest and nudges: each reads every initiative of the channel in one statement.

The statements are built once, with bound parameters (the initiatives' ids as one expanding list), so composing a
digest spends its time on the rows rather than on building and keying the same SQL again for every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Row, bindparam, func, union
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.initiatives import CARD_COLUMNS, active_card_conditions, phase_since_column
from storage.models import (
    Blocker,
    ChecklistEntry,
    Checkpoint,
    CheckpointStatus,
    HandoffDoc,
    Idea,
    Initiative,
    JiraStatusChange,
    Kpi,
    KpiReading,
    PhaseChange,
)
from storage.types import UTCDateTime

DIGEST_COLUMNS = (*CARD_COLUMNS, "nudges_enabled", "updated_at")
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_SINCE: BindParameter[Any] = bindparam("since", type_=UTCDateTime())


def _initiatives_statement() -> Any:
    table = Initiative.__table__  # type: ignore[attr-defined]
    return (
        core_select(*(table.c[name] for name in DIGEST_COLUMNS), phase_since_column().label("phase_since"))
        .where(*active_card_conditions(in_channel=True))
        .order_by(table.c.name_key)
    )


def _activity_statement() -> Any:
    since = _SINCE
    parts = [
        core_select(col(Initiative.id)).where(col(Initiative.id).in_(_IDS), col(Initiative.updated_at) > since),
        core_select(col(PhaseChange.initiative_id)).where(
            col(PhaseChange.initiative_id).in_(_IDS), col(PhaseChange.changed_at) > since
        ),
        core_select(col(Checkpoint.initiative_id)).where(
            col(Checkpoint.initiative_id).in_(_IDS), col(Checkpoint.updated_at) > since
        ),
        core_select(col(HandoffDoc.initiative_id)).where(
            col(HandoffDoc.initiative_id).in_(_IDS),
            (col(HandoffDoc.added_at) > since) | (col(HandoffDoc.removed_at) > since),
        ),
        core_select(col(ChecklistEntry.initiative_id)).where(
            col(ChecklistEntry.initiative_id).in_(_IDS), col(ChecklistEntry.created_at) > since
        ),
        core_select(col(Kpi.initiative_id)).where(col(Kpi.initiative_id).in_(_IDS), col(Kpi.created_at) > since),
        core_select(col(Kpi.initiative_id))
        .join(KpiReading, col(KpiReading.kpi_id) == col(Kpi.id))
        .where(col(Kpi.initiative_id).in_(_IDS), col(KpiReading.recorded_at) > since),
        core_select(col(Idea.initiative_id)).where(
            col(Idea.initiative_id).in_(_IDS), (col(Idea.created_at) > since) | (col(Idea.outcome_at) > since)
        ),
        core_select(col(Blocker.initiative_id)).where(
            col(Blocker.initiative_id).in_(_IDS),
            (col(Blocker.reported_at) > since) | (col(Blocker.resolved_at) > since),
        ),
    ]
    return union(*parts)


_INITIATIVES = _initiatives_statement()
_UNFINISHED = (
    select(Checkpoint)
    .where(
        col(Checkpoint.initiative_id).in_(_IDS),
        col(Checkpoint.removed_at).is_(None),
        col(Checkpoint.status) != CheckpointStatus.DONE.value,
    )
    .order_by(col(Checkpoint.due_date), col(Checkpoint.number))
)
_STATUS_CHANGES = (
    select(JiraStatusChange, Checkpoint.initiative_id, Checkpoint.number)
    .join(Checkpoint, col(Checkpoint.id) == col(JiraStatusChange.checkpoint_id))
    .where(
        col(Checkpoint.initiative_id).in_(_IDS),
        func.coalesce(col(JiraStatusChange.logged_at), col(JiraStatusChange.changed_at)) > _SINCE,
    )
    .order_by(col(JiraStatusChange.changed_at), col(JiraStatusChange.id))
)
_ACTIVITY = _activity_statement()
_BLOCKERS = (
    select(Blocker)
    .where(
        col(Blocker.initiative_id).in_(_IDS),
        col(Blocker.resolved_at).is_(None) | (col(Blocker.reported_at) > _SINCE),
    )
    .order_by(col(Blocker.reported_at), col(Blocker.id))
)


def initiatives_in_channel(*, session: Session, team_id: str, channel_id: str) -> Sequence[Row]:
    """Every active initiative that calls the channel home, by name, with `phase_since`."""
    return session.connection().execute(_INITIATIVES, {"team_id": team_id, "channel_id": channel_id}).all()


def unfinished_checkpoints(*, session: Session, initiative_ids: Sequence[int]) -> Sequence[Checkpoint]:
    """Checkpoints not done (and not removed) of many initiatives, by due date."""
    if not initiative_ids:
        return []
    return session.exec(_UNFINISHED, params={"ids": list(initiative_ids)}).all()


def status_changes_since(
    *, session: Session, initiative_ids: Sequence[int], since: datetime
) -> Sequence[tuple[JiraStatusChange, int, int]]:
    """Jira status changes Handoff learnt of since `since` (a change made earlier in Jira but synced later counts):
    (change, initiative id, checkpoint number), oldest first."""
    if not initiative_ids:
        return []
    rows = session.exec(_STATUS_CHANGES, params={"ids": list(initiative_ids), "since": since}).all()
    return [(change, initiative_id, number) for change, initiative_id, number in rows]


def initiatives_with_activity_since(*, session: Session, initiative_ids: Sequence[int], since: datetime) -> set[int]:
    """Initiatives where anything was written since `since`: an edit, a phase change, a checkpoint, a doc, a
    checklist change, a KPI or a reading, an idea or its outcome, a blocker reported or resolved. One statement."""
    if not initiative_ids:
        return set()
    rows = session.connection().execute(_ACTIVITY, {"ids": list(initiative_ids), "since": since}).all()
    return {row[0] for row in rows if row[0] is not None}


def blockers_for_digest(*, session: Session, initiative_ids: Sequence[int], since: datetime) -> Sequence[Blocker]:
    """Blockers still open, and those reported since `since` even if already resolved; oldest first."""
    if not initiative_ids:
        return []
    return session.exec(_BLOCKERS, params={"ids": list(initiative_ids), "since": since}).all()
