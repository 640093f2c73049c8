"""Queries behind a channel's digest and nudges: each reads every initiative of the channel in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, union
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.initiatives import CARD_COLUMNS, phase_since_column
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

DIGEST_COLUMNS = (*CARD_COLUMNS, "nudges_enabled", "updated_at")


def initiatives_in_channel(*, session: Session, team_id: str, channel_id: str) -> Sequence[Row]:
    """Every active initiative that calls the channel home, by name, with `phase_since`."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    statement = (
        core_select(*(table.c[name] for name in DIGEST_COLUMNS), phase_since_column().label("phase_since"))
        .where(table.c.team_id == team_id, table.c.home_channel_id == channel_id, table.c.archived.is_(False))
        .order_by(table.c.name_key)
    )
    return session.connection().execute(statement).all()


def unfinished_checkpoints(*, session: Session, initiative_ids: Sequence[int]) -> Sequence[Checkpoint]:
    """Checkpoints not done (and not removed) of many initiatives, by due date."""
    if not initiative_ids:
        return []
    return session.exec(
        select(Checkpoint)
        .where(
            col(Checkpoint.initiative_id).in_(initiative_ids),
            col(Checkpoint.removed_at).is_(None),
            col(Checkpoint.status) != CheckpointStatus.DONE.value,
        )
        .order_by(col(Checkpoint.due_date), col(Checkpoint.number))
    ).all()


def status_changes_since(
    *, session: Session, initiative_ids: Sequence[int], since: datetime
) -> Sequence[tuple[JiraStatusChange, int, int]]:
    """Jira status changes Handoff learnt of since `since` (a change made earlier in Jira but synced later counts):
    (change, initiative id, checkpoint number), oldest first."""
    if not initiative_ids:
        return []
    rows = session.exec(
        select(JiraStatusChange, Checkpoint.initiative_id, Checkpoint.number)
        .join(Checkpoint, col(Checkpoint.id) == col(JiraStatusChange.checkpoint_id))
        .where(
            col(Checkpoint.initiative_id).in_(initiative_ids),
            func.coalesce(col(JiraStatusChange.logged_at), col(JiraStatusChange.changed_at)) > since,
        )
        .order_by(col(JiraStatusChange.changed_at), col(JiraStatusChange.id))
    ).all()
    return [(change, initiative_id, number) for change, initiative_id, number in rows]


def initiatives_with_activity_since(*, session: Session, initiative_ids: Sequence[int], since: datetime) -> set[int]:
    """Initiatives where anything was written since `since`: an edit, a phase change, a checkpoint, a doc, a
    checklist change, a KPI or a reading, an idea or its outcome, a blocker reported or resolved. One statement."""
    if not initiative_ids:
        return set()
    ids = list(initiative_ids)
    parts = [
        core_select(col(Initiative.id)).where(col(Initiative.id).in_(ids), col(Initiative.updated_at) > since),
        core_select(col(PhaseChange.initiative_id)).where(
            col(PhaseChange.initiative_id).in_(ids), col(PhaseChange.changed_at) > since
        ),
        core_select(col(Checkpoint.initiative_id)).where(
            col(Checkpoint.initiative_id).in_(ids), col(Checkpoint.updated_at) > since
        ),
        core_select(col(HandoffDoc.initiative_id)).where(
            col(HandoffDoc.initiative_id).in_(ids),
            (col(HandoffDoc.added_at) > since) | (col(HandoffDoc.removed_at) > since),
        ),
        core_select(col(ChecklistEntry.initiative_id)).where(
            col(ChecklistEntry.initiative_id).in_(ids), col(ChecklistEntry.created_at) > since
        ),
        core_select(col(Kpi.initiative_id)).where(col(Kpi.initiative_id).in_(ids), col(Kpi.created_at) > since),
        core_select(col(Kpi.initiative_id))
        .join(KpiReading, col(KpiReading.kpi_id) == col(Kpi.id))
        .where(col(Kpi.initiative_id).in_(ids), col(KpiReading.recorded_at) > since),
        core_select(col(Idea.initiative_id)).where(
            col(Idea.initiative_id).in_(ids), (col(Idea.created_at) > since) | (col(Idea.outcome_at) > since)
        ),
        core_select(col(Blocker.initiative_id)).where(
            col(Blocker.initiative_id).in_(ids), (col(Blocker.reported_at) > since) | (col(Blocker.resolved_at) > since)
        ),
    ]
    return {row[0] for row in session.connection().execute(union(*parts)).all() if row[0] is not None}


def blockers_for_digest(*, session: Session, initiative_ids: Sequence[int], since: datetime) -> Sequence[Blocker]:
    """Blockers still open, and those reported since `since` even if already resolved; oldest first."""
    if not initiative_ids:
        return []
    return session.exec(
        select(Blocker)
        .where(
            col(Blocker.initiative_id).in_(initiative_ids),
            col(Blocker.resolved_at).is_(None) | (col(Blocker.reported_at) > since),
        )
        .order_by(col(Blocker.reported_at), col(Blocker.id))
    ).all()
