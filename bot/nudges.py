"""Nudges: who must close which gap before an initiative can move on, said once per cooldown and never while
snoozed; a gap nudged three times without an answer goes to the leads by direct message instead.

A gap is something missing for the next phase (a doc, the KPI), a KPI that is stale or misses its target, or an
overdue checkpoint without a mitigation plan. Each has a stable key, so its history survives between runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.channel_settings import ChannelPlan
from bot.checklist import Checklist, ItemType
from bot.errors import InvalidInput, Problem
from bot.initiatives import Actor, require_active, require_manager
from bot.kpis import Standing
from bot.people import PeopleService
from bot.readiness import GateReadiness
from bot.slot_ledger import OnDone
from bot.status import InitiativeCard, InitiativeSummary, enriched_summaries, summary_from_row
from storage import digest as digest_queries
from storage import schedules as queries
from storage.models import Initiative, NudgeState, Phase

ESCALATE_AFTER = 3  # unanswered channel nudges about one gap before the leads hear of it directly
GAPS_PER_INITIATIVE = 10  # more wait for a later run, so one initiative never floods the message
WHOLE_INITIATIVE = "*"  # the gap key that snoozes every nudge about an initiative
SNOOZE_CHOICES = (1, 7)
QUIET_PHASES = frozenset({Phase.PAUSED.value, Phase.CANCELLED.value})


class GapKind(StrEnum):
    MISSING_DOC = "missing"
    MISSING_KPI = "kpi-missing"
    KPI_STALE = "kpi-stale"
    KPI_OFF_TARGET = "kpi-below"  # the stored key of snoozes and cooldowns, kept from when only "below" was said
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Gap:
    key: str
    kind: GapKind
    label: str  # what is missing: an item's label, a KPI's name, a checkpoint's title (user text: escape it)
    owners: tuple[str, ...]  # who should close it
    item_key: str | None = None  # for a missing doc: the kind `doc add` takes
    checkpoint_ref: str | None = None  # for an overdue checkpoint: `churn#3`
    due: date | None = None
    standing: Standing | None = None  # for a KPI off target: how its latest reading misses, worded by direction


@dataclass(frozen=True)
class InitiativeGaps:
    initiative: InitiativeCard
    ref_key: str
    gate: Phase | None
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class Escalation:
    """What one lead hears directly: gaps the channel was told about three times without an answer."""

    lead_id: str
    items: tuple[tuple[InitiativeGaps, Gap], ...]


@dataclass(frozen=True)
class NudgePlan:
    team_id: str
    channel_id: str
    post: tuple[InitiativeGaps, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    held: int = 0  # open gaps left out: snoozed, or nudged within the cooldown
    open_keys: frozenset[tuple[int, str]] = field(default_factory=frozenset)
    initiative_ids: frozenset[int] = field(default_factory=frozenset)  # every initiative looked at, gaps or not

    @property
    def empty(self) -> bool:
        return not self.post and not self.escalations


def plan_nudges(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    now: datetime,
    today: date,
    tz: ZoneInfo,
    checklist: Checklist,
    stale_days: int,
    cooldown_days: int,
) -> NudgePlan:
    """What to say today in one channel, and to which leads directly; reads, never writes."""
    rows = [
        row
        for row in digest_queries.initiatives_in_channel(session=session, team_id=team_id, channel_id=channel_id)
        if row.nudges_enabled and row.phase not in QUIET_PHASES
    ]
    summaries = enriched_summaries(
        session=session,
        summaries=[summary_from_row(row, now) for row in rows],
        now=now,
        today=today,
        checklist=checklist,
        stale_days=stale_days,
    )
    ref_keys = {row.id: row.ref_key for row in rows}
    overdue: dict[int, list[Gap]] = {}
    for checkpoint in digest_queries.unfinished_checkpoints(session=session, initiative_ids=list(ref_keys)):
        if checkpoint.due_date is None or checkpoint.due_date >= today or checkpoint.mitigation:
            continue
        overdue.setdefault(checkpoint.initiative_id, []).append(
            Gap(
                key=f"{GapKind.OVERDUE}:{checkpoint.id}",
                kind=GapKind.OVERDUE,
                label=checkpoint.title,
                owners=(checkpoint.owner_id,) if checkpoint.owner_id else (),
                checkpoint_ref=f"{ref_keys[checkpoint.initiative_id]}#{checkpoint.number}",
                due=checkpoint.due_date,
            )
        )
    states = queries.nudge_states(session=session, initiative_ids=list(ref_keys))
    post: list[InitiativeGaps] = []
    escalate: dict[str, list[tuple[InitiativeGaps, Gap]]] = {}
    held = 0
    open_keys: set[tuple[int, str]] = set()
    for summary in summaries:
        card = summary.initiative
        leads = _leads(card)
        gate = summary.readiness.next_gate() if summary.readiness else None
        gate_phase = gate.gate if gate else None
        gaps = _gaps_of(summary, gate, overdue.get(card.id, []))
        whole = states.get((card.id, WHOLE_INITIATIVE))
        to_post: list[Gap] = []
        for gap in gaps:
            open_keys.add((card.id, gap.key))
            state = states.get((card.id, gap.key))
            if _is_snoozed(whole, now) or _is_snoozed(state, now) or _cooling_down(state, today, tz, cooldown_days):
                held += 1
            elif state is not None and state.times_nudged >= ESCALATE_AFTER and leads:
                for lead in leads:
                    escalate.setdefault(lead, []).append((InitiativeGaps(card, ref_keys[card.id], gate_phase, ()), gap))
            elif len(to_post) >= GAPS_PER_INITIATIVE:
                held += 1
            else:
                to_post.append(gap)
        if to_post:
            post.append(InitiativeGaps(card, ref_keys[card.id], gate_phase, tuple(to_post)))
    return NudgePlan(
        team_id=team_id,
        channel_id=channel_id,
        post=tuple(post),
        escalations=tuple(Escalation(lead, tuple(items)) for lead, items in escalate.items()),
        held=held,
        open_keys=frozenset(open_keys),
        initiative_ids=frozenset(ref_keys),
    )


def plan_channel_nudges(
    *,
    session: Session,
    channel: ChannelPlan,
    now: datetime,
    checklist: Checklist,
    stale_days: int,
    cooldown_days: int,
) -> NudgePlan:
    """What a channel's nudges slot says today, counted in the channel's own calendar days; reads, never writes."""
    tz = channel.schedule.tz
    return plan_nudges(
        session=session,
        team_id=channel.team_id,
        channel_id=channel.channel_id,
        now=now,
        today=now.astimezone(tz).date(),
        tz=tz,
        checklist=checklist,
        stale_days=stale_days,
        cooldown_days=cooldown_days,
    )


def channel_nudged(plan: NudgePlan) -> OnDone:
    """What the slot records once the channel was told about `plan` (see `record_channel_nudges`)."""

    def record(session: Session, at: datetime) -> None:
        record_channel_nudges(session=session, plan=plan, now=at)

    return record


def lead_escalated(escalation: Escalation, *, now: datetime) -> OnDone:
    """What is recorded once a lead was told directly, as of the run's `now`, so both leads count a gap once."""

    def record(session: Session, _posted_at: datetime) -> None:
        record_escalation(session=session, escalation=escalation, now=now)

    return record


def record_channel_nudges(*, session: Session, plan: NudgePlan, now: datetime) -> None:
    """The channel was told about `plan.post`; gaps closed since the last run are forgotten."""
    for entry in plan.post:
        for gap in entry.gaps:
            state = queries.get_nudge_state(session=session, initiative_id=entry.initiative.id, gap_key=gap.key)
            state.times_nudged += 1
            state.last_nudged_at = now
            state.first_nudged_at = state.first_nudged_at or now
            session.add(state)
    initiative_ids = sorted(plan.initiative_ids | {e.initiative.id for e in plan.post})
    queries.forget_closed_gaps(session=session, initiative_ids=initiative_ids, open_keys=set(plan.open_keys), now=now)
    session.flush()


def record_escalation(*, session: Session, escalation: Escalation, now: datetime) -> None:
    """A lead was told directly; the cooldown starts again for each gap."""
    for entry, gap in escalation.items:
        state = queries.get_nudge_state(session=session, initiative_id=entry.initiative.id, gap_key=gap.key)
        if state.last_nudged_at != now:  # both leads hear of a gap in one run; it counts once
            state.times_nudged += 1
            state.last_nudged_at = now
        state.first_nudged_at = state.first_nudged_at or now
        state.escalated_at = now
        session.add(state)
    session.flush()


def snooze(*, session: Session, initiative_id: int, gap_key: str, days: int, actor_id: str, now: datetime) -> datetime:
    """Hold a gap's nudges (or, with `*`, all of an initiative's) for `days`; returns until when."""
    if days not in SNOOZE_CHOICES:
        raise InvalidInput.single("days", Problem.SNOOZE_DAYS)
    state = queries.get_nudge_state(session=session, initiative_id=initiative_id, gap_key=gap_key[:64])
    state.snoozed_until = now + timedelta(days=days)
    state.snoozed_by = actor_id
    session.add(state)
    session.flush()
    return state.snoozed_until


def set_initiative_nudges(
    *, session: Session, actor: Actor, initiative: Initiative, enabled: bool, people: PeopleService, now: datetime
) -> Initiative:
    """`nudges off <initiative>`: for its managers, since it silences the reminders meant for them."""
    require_active(initiative, frozen="its nudges stay as they are")
    require_manager(initiative=initiative, actor=actor, people=people, action="turn its nudges on or off")
    if initiative.nudges_enabled == enabled:
        raise InvalidInput.single("nudges", Problem.NUDGES_ALREADY, name=initiative.name, enabled=enabled)
    initiative.nudges_enabled = enabled
    initiative.updated_by, initiative.updated_at = actor.user_id, now
    session.add(initiative)
    session.flush()
    return initiative


def _owned_by(gap: Gap, owners: Sequence[str]) -> Gap:
    return Gap(gap.key, gap.kind, gap.label, tuple(owners), gap.item_key, gap.checkpoint_ref, gap.due)


def _leads(card: InitiativeCard) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for x in (card.ds_lead_id, card.eng_lead_id) if x))


def _gaps_of(summary: InitiativeSummary, gate: GateReadiness | None, overdue: Sequence[Gap]) -> list[Gap]:
    """An initiative's open gaps: what its next gate misses (owned by the leads), its KPIs that are stale or miss
    their target (owned by each KPI's owner, else the leads), and its overdue checkpoints without a mitigation plan."""
    leads = _leads(summary.initiative)
    gaps: list[Gap] = []
    for status in gate.missing if gate else []:
        kind = GapKind.MISSING_KPI if status.item.type is ItemType.KPI else GapKind.MISSING_DOC
        item_key = None if kind is GapKind.MISSING_KPI else status.item.key
        gaps.append(Gap(f"{kind}:{status.item.key}", kind, status.item.label, leads, item_key=item_key))
    for view in summary.kpis:
        kpi_owners = (view.kpi.owner_id,) if view.kpi.owner_id else leads
        if view.stale:
            gaps.append(Gap(f"{GapKind.KPI_STALE}:{view.kpi.id}", GapKind.KPI_STALE, view.kpi.name, kpi_owners))
        elif view.standing is not None and not view.standing.meets:
            gaps.append(
                Gap(
                    f"{GapKind.KPI_OFF_TARGET}:{view.kpi.id}",
                    GapKind.KPI_OFF_TARGET,
                    view.kpi.name,
                    kpi_owners,
                    standing=view.standing,
                )
            )
    return gaps + [g if g.owners else _owned_by(g, leads) for g in overdue]


def _is_snoozed(state: NudgeState | None, now: datetime) -> bool:
    return state is not None and state.snoozed_until is not None and state.snoozed_until > now


def _cooling_down(state: NudgeState | None, today: date, tz: ZoneInfo, cooldown_days: int) -> bool:
    """Counted in the channel's calendar days, so a run caught up late one day does not push the next one back."""
    if state is None or state.last_nudged_at is None:
        return False
    return (today - state.last_nudged_at.astimezone(tz).date()).days < cooldown_days
