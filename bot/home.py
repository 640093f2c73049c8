"""App Home: a person's dashboard (what waits on them, their initiatives, the workspace's portfolio), read in a
constant number of statements however many initiatives there are; and whose Home a change of an initiative
republishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.checklist import Checklist, ItemType
from bot.kpis import format_value, target_text
from bot.readiness import ItemState
from bot.status import InitiativeSummary, summaries_with, summary_from_row
from storage import home as queries
from storage.page_facts import page_facts
from storage.types import as_utc

DUE_WITHIN = timedelta(days=7)  # a checkpoint due this soon waits on its owner
# Whose Home a change republishes: those who opened it this recently (Slack keeps a Home as it was published, and
# publishes it afresh each time its owner opens it anyway).
REFRESH_OPENED_WITHIN = timedelta(days=14)


@dataclass(frozen=True)
class DueCheckpoint:
    ref: str
    title: str
    due: date
    overdue: bool
    initiative_name: str


@dataclass(frozen=True)
class MissingItem:
    """A checklist item the next gate of an initiative the person leads still misses."""

    initiative_id: int
    initiative_name: str
    gate: str
    item_key: str
    label: str
    item_type: ItemType


@dataclass(frozen=True)
class StandupToAnswer:
    prompt_id: int
    initiative_name: str
    day: date


@dataclass(frozen=True)
class BlockerWaiting:
    ref: str
    text: str
    direction: str
    days_open: int
    initiative_name: str


@dataclass(frozen=True)
class KpiAttention:
    """A KPI the person owns whose latest reading misses its target, or that has had no reading for too long."""

    initiative_id: int
    initiative_name: str
    name: str
    breached: bool
    stale: bool
    latest: str | None  # the latest reading against the target, as the thread words it
    stale_days: int


@dataclass(frozen=True)
class WaitingOnYou:
    checkpoints: Sequence[DueCheckpoint] = ()
    missing: Sequence[MissingItem] = ()
    standups: Sequence[StandupToAnswer] = ()
    blockers: Sequence[BlockerWaiting] = ()
    kpis: Sequence[KpiAttention] = ()

    @property
    def count(self) -> int:
        return len(self.checkpoints) + len(self.missing) + len(self.standups) + len(self.blockers) + len(self.kpis)


@dataclass(frozen=True)
class HomeDashboard:
    """Everything a person's App Home shows."""

    user_id: str
    today: date
    waiting: WaitingOnYou
    initiatives: Sequence[InitiativeSummary]  # those the person leads, is embedded in or created
    portfolio: dict[str, int] = field(default_factory=dict)  # active initiatives of the workspace by phase


def compose_home(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    now: datetime,
    today: date,
    checklist: Checklist,
    stale_days: int,
) -> HomeDashboard:
    """The person's dashboard, in six statements whatever the number of initiatives, checkpoints or KPIs."""
    rows = queries.home_cards(session=session, team_id=team_id, user_id=user_id)
    outlines = [summary_from_row(row, now) for row in rows]
    facts = page_facts(session=session, initiative_ids=[s.initiative.id for s in outlines], today=today)
    summaries = summaries_with(facts, summaries=outlines, now=now, checklist=checklist, stale_days=stale_days)
    part_of = {row.id for row in rows if row.part}
    mine = [s for s in summaries if s.initiative.id in part_of]

    checkpoints = [
        DueCheckpoint(f"{row.ref_key}#{row.number}", row.title, row.due_date, row.due_date < today, row.initiative_name)
        for row in queries.owned_checkpoints_due(
            session=session, team_id=team_id, user_id=user_id, until=today + DUE_WITHIN
        )
    ]
    missing = [
        MissingItem(s.initiative.id, s.initiative.name, gate.gate.value, item.item.key, item.item.label, item.item.type)
        for s in mine
        if user_id in (s.initiative.ds_lead_id, s.initiative.eng_lead_id) and s.readiness is not None
        for gate in [s.readiness.next_gate()]
        if gate is not None
        for item in gate.items
        if item.state is ItemState.MISSING
    ]
    standups = [
        StandupToAnswer(row.id, row.initiative_name, row.day)
        for row in queries.unanswered_prompts_of(
            session=session, team_id=team_id, user_id=user_id, since=today - timedelta(days=1)
        )
        if row.day == now.astimezone(ZoneInfo(row.timezone)).date()  # today where the engineer is
    ]
    blockers = [
        BlockerWaiting(
            f"{row.ref_key}#b{row.number}",
            row.text,
            row.direction,
            max(0, (now - as_utc(row.reported_at)).days),
            row.initiative_name,
        )
        for row in queries.blockers_waiting_on(session=session, team_id=team_id, user_id=user_id)
    ]
    kpis = [
        KpiAttention(
            s.initiative.id,
            s.initiative.name,
            view.kpi.name,
            breached=view.meets_target is False,
            stale=view.stale,
            latest=None
            if view.latest is None
            else f"{format_value(view.latest.value, view.kpi.unit)} ({target_text(view.kpi)})",
            stale_days=stale_days,
        )
        for s in summaries
        for view in s.kpis
        if view.kpi.owner_id == user_id and (view.stale or view.meets_target is False)
    ]
    return HomeDashboard(
        user_id=user_id,
        today=today,
        waiting=WaitingOnYou(checkpoints, missing, standups, blockers, kpis),
        initiatives=mine,
        portfolio=queries.active_counts_by_phase(session=session, team_id=team_id),
    )


def record_opened(*, session: Session, team_id: str, user_id: str, now: datetime) -> None:
    """The person opened App Home: changes republish it for a while (`REFRESH_OPENED_WITHIN`)."""
    queries.record_home_opened(session=session, team_id=team_id, user_id=user_id, now=now)


def homes_to_refresh(
    *, session: Session, team_id: str, initiative_ids: Sequence[int], user_ids: Sequence[str], now: datetime
) -> list[str]:
    """Whose Home a change of these initiatives should republish: of their leads, embedded engineers, creators and
    the other people named (`user_ids`), and the owners of their checkpoints and KPIs, those who opened it lately."""
    return queries.home_viewers(
        session=session,
        team_id=team_id,
        user_ids=[u for u in user_ids if u],
        initiative_ids=initiative_ids,
        since=now - REFRESH_OPENED_WITHIN,
    )
