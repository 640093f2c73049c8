"""Read models for `/handoff status`, `list` and App Home: what the renderers need, in few queries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row
from sqlmodel import Session

from bot.checklist import Checklist
from bot.config import DEFAULT_KPI_STALE_DAYS
from bot.kpis import KpiView, SourceState, is_stale, kpi_views_for
from bot.readiness import ForcedChange, Readiness, readiness_from, readiness_of
from bot.standups import Participation, participation
from storage import initiatives as queries
from storage.checkpoints import CheckpointProgress, list_checkpoints
from storage.jira import pending_push_counts, pending_pushes_by_checkpoint, read_sync_state
from storage.models import Checkpoint, Initiative, PhaseChange
from storage.page_facts import CardFact, PageFacts, page_facts, page_with_facts
from storage.readiness import latest_forced_changes

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
    ref_key: str
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
    progress: CheckpointProgress = field(default_factory=CheckpointProgress)
    readiness: Readiness | None = None
    kpis: Sequence[KpiView] = ()
    forced: ForcedChange | None = None  # the latest phase change forced past the checklist


@dataclass(frozen=True)
class JiraHealth:
    """What `status` says about the link with Jira: when it last synced, and what still waits to be pushed."""

    last_success_at: datetime | None
    last_error: str | None
    pending_pushes: int


@dataclass(frozen=True)
class StatusPage:
    scope: StatusScope
    items: list[InitiativeSummary]
    page: int  # 1-based
    page_count: int
    total: int
    jira: JiraHealth | None = None


@dataclass(frozen=True)
class InitiativeDetail:
    initiative: Initiative
    history: Sequence[PhaseChange]
    phase_since: datetime
    days_in_phase: int
    checkpoints: Sequence[Checkpoint] = ()
    pending_by_checkpoint: dict[int, int] | None = None
    today: date | None = None
    jira: JiraHealth | None = None
    readiness: Readiness | None = None
    kpis: Sequence[KpiView] = ()
    forced: PhaseChange | None = None
    stale_days: int = DEFAULT_KPI_STALE_DAYS
    standups: Participation | None = None  # the last 20 standups: answered, and the median time to answer


def status_page(
    *,
    db: Session | Connection,
    team_id: str,
    scope: StatusScope,
    page: int,
    now: datetime,
    today: date | None = None,
    checklist: Checklist | None = None,
    stale_days: int = DEFAULT_KPI_STALE_DAYS,
) -> StatusPage:
    """One page of active initiatives in a channel or the whole workspace, sorted by name, with checkpoint
    progress, readiness for the next phase and KPIs; `today` is the workspace's local date (overdue means due
    before it). A page is one statement however many initiatives it shows; a plain connection reads it without an
    ORM session."""
    channel_id = scope.channel_id if scope.kind is ScopeKind.CHANNEL else None
    # The list may have shrunk since a paging button was drawn: past the end, the statement reads the last page.
    facts = page_with_facts(
        db=db,
        team_id=team_id,
        channel_id=channel_id,
        offset=(max(1, page) - 1) * PAGE_SIZE,
        page_size=PAGE_SIZE,
        today=today or now.date(),
    )
    total = facts.total
    page_count = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), page_count)
    summaries = [_outline(card, now) for card in facts.cards]
    items = summaries_with(
        facts, summaries=summaries, now=now, checklist=checklist or Checklist(), stale_days=stale_days
    )
    jira = (
        JiraHealth(
            last_success_at=facts.last_success_at, last_error=facts.last_error, pending_pushes=facts.pending_pushes
        )
        if facts.synced or facts.pending_pushes
        else None
    )
    return StatusPage(scope=scope, items=items, page=page, page_count=page_count, total=total, jira=jira)


def enriched_summaries(
    *,
    session: Session,
    summaries: Sequence[InitiativeSummary],
    now: datetime,
    today: date,
    checklist: Checklist,
    stale_days: int,
) -> list[InitiativeSummary]:
    """Summaries with checkpoint progress, readiness, KPIs and the latest forced phase change, in one statement
    however many there are."""
    facts = page_facts(session=session, initiative_ids=[s.initiative.id for s in summaries], today=today)
    return summaries_with(facts, summaries=summaries, now=now, checklist=checklist, stale_days=stale_days)


def summaries_with(
    facts: PageFacts,
    *,
    summaries: Sequence[InitiativeSummary | CardOutline],
    now: datetime,
    checklist: Checklist,
    stale_days: int,
) -> list[InitiativeSummary]:
    """Summaries completed from the facts read for them, without another query; their readiness is what an
    overview shows (`overview_readiness`)."""
    kpis: dict[int, list[KpiView]] = {}
    names: dict[int, list[str]] = {}
    for initiative_id, found in facts.kpis.items():
        kpis[initiative_id] = [
            KpiView(
                kpi,
                () if latest is None else (latest,),
                is_stale(kpi, latest.recorded_at if latest else None, now, stale_days),
                None if source is None else SourceState(source.kind, source.failing_since, source.last_good_at),
            )
            for kpi, latest, source in found
        ]
        names[initiative_id] = [kpi.name for kpi, _, _ in found]
    readiness = readiness_from(
        checklist=checklist,
        initiatives=[s.initiative for s in summaries],
        docs=facts.docs,
        entries=facts.entries,
        kpi_names=names,
        overview=True,
    )
    no_progress = CheckpointProgress()
    return [
        InitiativeSummary(
            s.initiative,
            s.phase_since,
            s.days_in_phase,
            facts.progress.get(s.initiative.id) or no_progress,
            readiness.get(s.initiative.id),
            kpis.get(s.initiative.id, []),
            facts.forced.get(s.initiative.id),
        )
        for s in summaries
    ]


def jira_health(*, session: Session, initiative_id: int | None = None) -> JiraHealth | None:
    """None before the first sync and with nothing waiting: there is nothing to say yet."""
    state = read_sync_state(session=session)
    pending = pending_push_counts(session=session, initiative_ids=None if initiative_id is None else [initiative_id])
    count = sum(pending.values())
    if state is None and not count:
        return None
    return JiraHealth(
        last_success_at=state.last_success_at if state else None,
        last_error=state.last_error if state else None,
        pending_pushes=count,
    )


def summary_from_row(row: Row | CardFact, now: datetime) -> InitiativeSummary:
    """A summary from a row that starts with the card columns (`CARD_COLUMNS`, read by position) and has
    `phase_since`."""
    card = InitiativeCard(*row[:_CARD_FIELDS])
    since = row.phase_since or row.created_at
    return InitiativeSummary(card, since, _days_between(since, now))


_CARD_FIELDS = len(queries.CARD_COLUMNS) - 1  # every card column but `created_at`, the last, in the card's order


class CardOutline(NamedTuple):
    """What a page knows of an initiative before its facts complete it: a summary's first three fields."""

    initiative: InitiativeCard
    phase_since: datetime
    days_in_phase: int


def _outline(card: CardFact, now: datetime) -> CardOutline:
    since = card.phase_since or card.created_at
    columns: tuple[Any, ...] = card[:_CARD_FIELDS]
    return CardOutline(InitiativeCard(*columns), since, _days_between(since, now))


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


def initiative_detail(
    *,
    session: Session,
    initiative: Initiative,
    now: datetime,
    today: date | None = None,
    checklist: Checklist | None = None,
    stale_days: int = DEFAULT_KPI_STALE_DAYS,
) -> InitiativeDetail:
    """One initiative: its phase history, its checkpoints, what waits to be pushed to Jira, its whole readiness
    checklist and its KPIs."""
    history = queries.list_phase_history(session=session, initiative_id=initiative.id or 0)
    since = history[-1].changed_at if history else initiative.created_at
    return InitiativeDetail(
        initiative,
        history,
        since,
        _days_between(since, now),
        checkpoints=list_checkpoints(session=session, initiative_id=initiative.id or 0),
        pending_by_checkpoint=pending_pushes_by_checkpoint(session=session, initiative_id=initiative.id or 0),
        today=today or now.date(),
        jira=jira_health(session=session, initiative_id=initiative.id or 0),
        readiness=readiness_of(session=session, checklist=checklist or Checklist(), initiative=initiative),
        kpis=kpi_views_for(session=session, initiative_ids=[initiative.id or 0], now=now, stale_days=stale_days).get(
            initiative.id or 0, []
        ),
        forced=latest_forced_changes(session=session, initiative_ids=[initiative.id or 0]).get(initiative.id or 0),
        stale_days=stale_days,
        standups=participation(session=session, initiative_id=initiative.id or 0, today=today or now.date()),
    )


def initiatives_for_user(*, session: Session, team_id: str, user_id: str, now: datetime) -> list[InitiativeSummary]:
    rows = queries.list_initiatives_for_user(session=session, team_id=team_id, user_id=user_id)
    return summarize(session=session, initiatives=rows, now=now)


def _days_between(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)
