"""Read models for `/handoff status`, `list` and App Home: what the renderers need, in few queries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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
class InitiativeSummary:
    initiative: Initiative
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
    if scope.kind is ScopeKind.CHANNEL:
        assert scope.channel_id is not None
        total = queries.count_initiatives_in_channel(session=session, team_id=team_id, channel_id=scope.channel_id)
    else:
        total = queries.count_active_initiatives(session=session, team_id=team_id)
    page_count = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), page_count)
    offset = (page - 1) * PAGE_SIZE
    if scope.kind is ScopeKind.CHANNEL:
        assert scope.channel_id is not None
        rows = queries.list_initiatives_in_channel(
            session=session, team_id=team_id, channel_id=scope.channel_id, offset=offset, limit=PAGE_SIZE
        )
    else:
        rows = queries.list_active_initiatives(session=session, team_id=team_id, offset=offset, limit=PAGE_SIZE)
    return StatusPage(
        scope=scope,
        items=summarize(session=session, initiatives=rows, now=now),
        page=page,
        page_count=page_count,
        total=total,
    )


def summarize(*, session: Session, initiatives: Sequence[Initiative], now: datetime) -> list[InitiativeSummary]:
    latest = queries.latest_phase_changes(session=session, initiative_ids=[i.id for i in initiatives if i.id])
    summaries = []
    for initiative in initiatives:
        change = latest.get(initiative.id or 0)
        since = change.changed_at if change is not None else initiative.created_at
        summaries.append(InitiativeSummary(initiative, since, _days_between(since, now)))
    return summaries


def initiative_detail(*, session: Session, initiative: Initiative, now: datetime) -> InitiativeDetail:
    history = queries.list_phase_history(session=session, initiative_id=initiative.id or 0)
    since = history[-1].changed_at if history else initiative.created_at
    return InitiativeDetail(initiative, history, since, _days_between(since, now))


def initiatives_for_user(*, session: Session, team_id: str, user_id: str, now: datetime) -> list[InitiativeSummary]:
    rows = queries.list_initiatives_for_user(session=session, team_id=team_id, user_id=user_id)
    return summarize(session=session, initiatives=rows, now=now)


def _days_between(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)
