"""Typed queries for App Home: who opened it, and what waits on a person across the workspace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, exists, func, or_
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.initiatives import CARD_COLUMNS, phase_since_column
from storage.models import (
    Blocker,
    BlockerDirection,
    Checkpoint,
    CheckpointStatus,
    HomeOpened,
    Initiative,
    Kpi,
    StandupPrompt,
    StandupState,
)


def record_home_opened(*, session: Session, team_id: str, user_id: str, now: datetime) -> None:
    """Remember that the person opened App Home now (one row a person, updated in place)."""
    row = session.get(HomeOpened, (team_id, user_id))
    if row is None:
        try:
            with session.begin_nested():  # two opens at once: the second finds the first's row
                session.add(HomeOpened(team_id=team_id, user_id=user_id, opened_at=now))
            return
        except IntegrityError:
            row = session.get(HomeOpened, (team_id, user_id), populate_existing=True)
            if row is None:
                raise
    row.opened_at = now
    session.add(row)
    session.flush()


def home_viewers(
    *, session: Session, team_id: str, user_ids: Sequence[str], initiative_ids: Sequence[int], since: datetime
) -> list[str]:
    """Who opened App Home at `since` or later among these people and the owners of these initiatives' checkpoints
    and KPIs, in id order."""
    checkpoint_owners = core_select(col(Checkpoint.owner_id)).where(
        col(Checkpoint.initiative_id).in_(initiative_ids), col(Checkpoint.removed_at).is_(None)
    )
    kpi_owners = core_select(col(Kpi.owner_id)).where(col(Kpi.initiative_id).in_(initiative_ids))
    statement = (
        select(HomeOpened.user_id)
        .where(
            col(HomeOpened.team_id) == team_id,
            col(HomeOpened.opened_at) >= since,
            or_(
                col(HomeOpened.user_id).in_(sorted(set(user_ids))),
                col(HomeOpened.user_id).in_(checkpoint_owners),
                col(HomeOpened.user_id).in_(kpi_owners),
            ),
        )
        .order_by(col(HomeOpened.user_id))
    )
    return list(session.exec(statement).all())


def home_cards(*, session: Session, team_id: str, user_id: str) -> Sequence[Row]:
    """Active initiatives the person leads, is embedded in, created or owns a KPI of: card columns (`CARD_COLUMNS`),
    `phase_since`, `created_by` and whether the person is part of it (`part`), by name."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    kpi = Kpi.__table__  # type: ignore[attr-defined]
    part = or_(
        table.c.ds_lead_id == user_id,
        table.c.eng_lead_id == user_id,
        table.c.embedded_engineer_id == user_id,
        table.c.created_by == user_id,
    )
    owns_kpi = exists().where(kpi.c.initiative_id == table.c.id, kpi.c.owner_id == user_id)
    statement = (
        core_select(
            *(table.c[name] for name in CARD_COLUMNS),
            phase_since_column().label("phase_since"),
            part.label("part"),
        )
        .where(table.c.team_id == team_id, table.c.archived.is_(False), or_(part, owns_kpi))
        .order_by(table.c.name_key)
    )
    return session.connection().execute(statement).all()


def owned_checkpoints_due(*, session: Session, team_id: str, user_id: str, until: date) -> Sequence[Row]:
    """Open checkpoints of active initiatives owned by the person and due by `until` (overdue ones included), the
    earliest first: `ref_key`, `number`, `title`, `due_date`, `initiative_name`."""
    statement: Any = (
        core_select(
            col(Initiative.ref_key),
            col(Checkpoint.number),
            col(Checkpoint.title),
            col(Checkpoint.due_date),
            col(Initiative.name).label("initiative_name"),
        )
        .join(Initiative, col(Initiative.id) == col(Checkpoint.initiative_id))
        .where(
            col(Initiative.team_id) == team_id,
            col(Initiative.archived).is_(False),
            col(Checkpoint.owner_id) == user_id,
            col(Checkpoint.removed_at).is_(None),
            col(Checkpoint.status) != CheckpointStatus.DONE.value,
            col(Checkpoint.due_date) <= until,
        )
        .order_by(col(Checkpoint.due_date), col(Initiative.ref_key), col(Checkpoint.number))
    )
    return session.connection().execute(statement).all()


def unanswered_prompts_of(*, session: Session, team_id: str, user_id: str, since: date) -> Sequence[Row]:
    """The person's standup prompts of active initiatives still waiting for an answer, for days from `since`:
    `id`, `day`, `timezone`, `initiative_name`."""
    statement: Any = (
        core_select(
            col(StandupPrompt.id),
            col(StandupPrompt.day),
            col(StandupPrompt.timezone),
            col(Initiative.name).label("initiative_name"),
        )
        .join(Initiative, col(Initiative.id) == col(StandupPrompt.initiative_id))
        .where(
            col(StandupPrompt.team_id) == team_id,
            col(StandupPrompt.user_id) == user_id,
            col(StandupPrompt.state) == StandupState.PROMPTED.value,
            col(StandupPrompt.day) >= since,
            col(Initiative.archived).is_(False),
        )
        .order_by(col(StandupPrompt.day), col(Initiative.name_key))
    )
    return session.connection().execute(statement).all()


def blockers_waiting_on(*, session: Session, team_id: str, user_id: str) -> Sequence[Row]:
    """Open blockers of active initiatives that wait on the person's side: on engineering for its engineering lead
    and embedded engineer, on DS for its DS lead; oldest first: `ref_key`, `number`, `text`, `direction`,
    `reported_at`, `initiative_name`."""
    on_eng = and_(
        col(Blocker.direction) == BlockerDirection.ON_ENG.value,
        or_(col(Initiative.eng_lead_id) == user_id, col(Initiative.embedded_engineer_id) == user_id),
    )
    on_ds = and_(col(Blocker.direction) == BlockerDirection.ON_DS.value, col(Initiative.ds_lead_id) == user_id)
    statement: Any = (
        core_select(
            col(Initiative.ref_key),
            col(Blocker.number),
            col(Blocker.text),
            col(Blocker.direction),
            col(Blocker.reported_at),
            col(Initiative.name).label("initiative_name"),
        )
        .join(Initiative, col(Initiative.id) == col(Blocker.initiative_id))
        .where(
            col(Initiative.team_id) == team_id,
            col(Initiative.archived).is_(False),
            col(Blocker.resolved_at).is_(None),
            or_(on_eng, on_ds),
        )
        .order_by(col(Blocker.reported_at), col(Blocker.id))
    )
    return session.connection().execute(statement).all()


def active_counts_by_phase(*, session: Session, team_id: str) -> dict[str, int]:
    """How many active (not archived) initiatives the workspace has in each phase."""
    statement = (
        core_select(col(Initiative.phase), func.count())
        .where(col(Initiative.team_id) == team_id, col(Initiative.archived).is_(False))
        .group_by(col(Initiative.phase))
    )
    return {phase: int(count) for phase, count in session.connection().execute(statement).all()}
