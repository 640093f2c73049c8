"""Read models for `/handoff status`, `list` and App Home: what the renderers need, in few queries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Row
from sqlmodel import Session

from storage import initiatives as queries
from storage.models import Initiative, PhaseChange

PAGE_SIZE = 15  # two blocks an initiative keeps a page well under Slack's 50 blocks a message


class ScopeKind(StrEnum):
    CHANNEL = "channel"
    ALL = "all"


@dataclass(frozen=True)
class StatusScope:
    kind: ScopeKind
    channel_id: str | None = None


@dataclass(frozen=True)
class InitiativeCard:
    """What an overview line shows of an initiative; read straight from the columns, without ORM objects."""

    id: int
    name: str
    phase: str
    goal: str | None
    ds_lead_id: str | None
    eng_lead_id: str | None
    embedded_engineer_id: str | None
    target_date: date | None
    jira_epic_key: str | None
    home_channel_id: str


@dataclass(frozen=True)
class InitiativeSummary:
    initiative: InitiativeCard
    phase_since: datetime
    days_in_phase: int


@dataclass(frozen=True)
class StatusPage:
    scope: StatusScope
    items: list[InitiativeSummary]
    page: int  # 1-based
    page_count: int
    total: int


@dataclass(frozen=True)
class InitiativeDetail:
    initiative: Initiative
    history: Sequence[PhaseChange]
    phase_since: datetime
    days_in_phase: int


def status_page(*, session: Session, team_id: str, scope: StatusScope, page: int, now: datetime) -> StatusPage:
    """One page of active initiatives in a channel or the whole workspace, sorted by name."""
    channel_id = scope.channel_id if scope.kind is ScopeKind.CHANNEL else None
    total = queries.count_initiative_cards(session=session, team_id=team_id, channel_id=channel_id)
    page_count = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), page_count)  # the list may have shrunk since a paging button was drawn
    rows = queries.list_initiative_cards(
        session=session, team_id=team_id, channel_id=channel_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    items = [_summary_from_row(row, now) for row in rows]
    return StatusPage(scope=scope, items=items, page=page, page_count=page_count, total=total)


def _summary_from_row(row: Row, now: datetime) -> InitiativeSummary:
    card = InitiativeCard(**{name: getattr(row, name) for name in queries.CARD_COLUMNS if name != "created_at"})
    since = row.phase_since or row.created_at
    return InitiativeSummary(card, since, _days_between(since, now))


def summarize(*, session: Session, initiatives: Sequence[Initiative], now: datetime) -> list[InitiativeSummary]:
    latest = queries.latest_phase_changes(session=session, initiative_ids=[i.id for i in initiatives if i.id])
    summaries = []
    for initiative in initiatives:
        change = latest.get(initiative.id or 0)
        since = change.changed_at if change is not None else initiative.created_at
        summaries.append(InitiativeSummary(card_of(initiative), since, _days_between(since, now)))
    return summaries


def card_of(initiative: Initiative) -> InitiativeCard:
    return InitiativeCard(**{name: getattr(initiative, name) for name in queries.CARD_COLUMNS if name != "created_at"})


def initiative_detail(*, session: Session, initiative: Initiative, now: datetime) -> InitiativeDetail:
    history = queries.list_phase_history(session=session, initiative_id=initiative.id or 0)
    since = history[-1].changed_at if history else initiative.created_at
    return InitiativeDetail(initiative, history, since, _days_between(since, now))


def initiatives_for_user(*, session: Session, team_id: str, user_id: str, now: datetime) -> list[InitiativeSummary]:
    rows = queries.list_initiatives_for_user(session=session, team_id=team_id, user_id=user_id)
    return summarize(session=session, initiatives=rows, now=now)


def _days_between(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)
