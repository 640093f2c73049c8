"""`/handoff report`: the figures of a channel's initiatives, or the workspace's, over a window of days.

Every figure comes from history Handoff already stores (phase changes, checkpoints, nudges, standup prompts), read
in a constant number of statements by `storage.report` and counted here. What each figure counts is defined in
README.md, "Reports"; the docstrings below say the same in brief.

- The window runs from the start of `since` to `now`, in `now`'s time zone (pass `now` in the workspace's zone).
  Events count when they happen inside it; an initiative created before the window contributes what it did in it.
- Scope: the initiatives at home in one channel, or the whole workspace's; archived ones count unless they were
  archived before the window started (they did their work and may have been archived since).
- Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank ⌈p·n/100⌉, so the
  median of an even count is the lower of the two middle values. Every median and p90 here is computed this way.
- Durations are in days (24 hours), fractional, counted on the clock: paused time and weekends included.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from bot import dates
from bot.chart_data import FunnelData, PhaseBar
from bot.checklist import phase_order
from storage import report as queries
from storage.models import Phase

MAIN_LINE = (
    Phase.DISCOVERY,
    Phase.RESEARCH,
    Phase.SUMMARY,
    Phase.DEVELOPMENT,
    Phase.PRODUCTION,
    Phase.MONITORING,
)
GATES = (Phase.DEVELOPMENT, Phase.PRODUCTION)  # the gates the readiness figure looks at
DEFAULT_WINDOW = "90d"
WINDOW_DAYS = {"30d": 30, "90d": 90}
QUARTER = "quarter"
SINCE = re.compile(r"^since:\s*(.*)$", re.IGNORECASE | re.DOTALL)
WINDOWS = "since:YYYY-MM-DD, 30d, 90d or quarter"
DAY_SECONDS = 86400.0


class WindowError(ValueError):
    """A window that cannot be read; `reason` is a plain phrase (no markup) saying why, `text` what was typed."""

    def __init__(self, text: str, reason: str):
        super().__init__(text, reason)
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class ReportScope:
    """Whose initiatives: those at home in `channel_id`, or (None) the whole workspace's."""

    channel_id: str | None = None
    channel_name: str | None = None  # as Slack named it in the command, for a chart's title

    @property
    def everywhere(self) -> bool:
        return self.channel_id is None

    @property
    def title(self) -> str:
        """Plain text (no Slack markup) naming the scope, for a chart."""
        if self.channel_id is None:
            return "All initiatives"
        return f"#{self.channel_name}" if self.channel_name else "This channel's initiatives"


@dataclass(frozen=True)
class ReportWindow:
    """From the start of `since` to the report's moment; `label` names it for people, `raw` as it was typed."""

    since: date
    label: str
    raw: str = DEFAULT_WINDOW


def parse_window(raw: str | None, *, today: date) -> ReportWindow:
    """`30d`, `90d` (the default), `quarter` (since this calendar quarter began) or `since:YYYY-MM-DD`."""
    word = " ".join((raw or DEFAULT_WINDOW).split())
    lowered = word.lower()
    if lowered in WINDOW_DAYS:
        return ReportWindow(
            today - timedelta(days=WINDOW_DAYS[lowered]), f"the last {WINDOW_DAYS[lowered]} days", lowered
        )
    if lowered == QUARTER:
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        return ReportWindow(start, f"this quarter (since {dates.describe_date(start)})", QUARTER)
    since = SINCE.match(word)
    if since is None:
        raise WindowError(word, f"is not a window: use {WINDOWS}.")
    value = since.group(1).strip()
    if not value:
        raise WindowError(word, "is missing its date: since:YYYY-MM-DD, such as since:2026-10-01.")
    try:
        day = dates.parse_date(value, today=today)
    except dates.DateError as error:
        raise WindowError(word, error.reason) from None
    if day > today:
        raise WindowError(word, f"is in the future: a report looks back, from a day up to today ({today.isoformat()}).")
    return ReportWindow(day, f"since {dates.describe_date(day)}", f"since:{day.isoformat()}")


@dataclass(frozen=True)
class Spread:
    """How many durations (days), and their nearest-rank median and 90th percentile; None when there are none."""

    count: int
    median_days: float | None
    p90_days: float | None

    @staticmethod
    def of(values: Sequence[float]) -> Spread:
        return Spread(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class PhaseFigures:
    """One phase of the main line: initiatives that entered it in the window, and the stays in it that ended there."""

    phase: Phase
    entered: int
    stays: Spread


@dataclass(frozen=True)
class Funnel:
    """Where the initiatives went in the window.

    `in_funnel`: initiatives that had not reached production before the window and were, at some moment in it, in a
    phase other than cancelled. `reached_production`: of those, the ones that entered production for the first time
    in the window. `in_monitoring`: in monitoring now (archived ones left out). `paused`, `cancelled`: initiatives
    that moved to that phase in the window."""

    phases: tuple[PhaseFigures, ...]
    in_funnel: int
    reached_production: int
    in_monitoring: int
    paused: int
    cancelled: int

    @property
    def production_share(self) -> float | None:
        return share_of(self.reached_production, self.in_funnel)


@dataclass(frozen=True)
class Delivery:
    """Checkpoints (not removed) whose due date fell in the window, up to yesterday: each either done on time (its
    latest completion on or before the due date, in the workspace's calendar) or missed (done late, or still not
    done). A reopened checkpoint counts by its state now. `mitigated`: missed ones with a mitigation plan recorded."""

    due: int
    on_time: int
    done_late: int
    still_open: int
    mitigated: int

    @property
    def missed(self) -> int:
        return self.done_late + self.still_open


@dataclass(frozen=True)
class GateEntries:
    """Initiatives that moved forward into a gated phase in the window (each once): with every item present, or
    forced past missing ones (if any of its entries in the window was)."""

    gate: Phase
    ready: int
    forced: int

    @property
    def entered(self) -> int:
        return self.ready + self.forced


@dataclass(frozen=True)
class FollowThrough:
    """Nudged gaps: `nudged` were nudged in the window, `closed` closed in it (with `to_close` the time from their
    first nudge to closing; gaps nudged before that was recorded are counted but not timed), `escalated` were sent
    to the leads in it."""

    nudged: int
    closed: int
    to_close: Spread
    escalated: int


@dataclass(frozen=True)
class Participation:
    """One embedded engineer's standups in the window (today's left out): prompted, answered, and how fast."""

    user_id: str
    prompted: int
    answered: int
    median_answer_minutes: float | None

    @property
    def share(self) -> float | None:
        return share_of(self.answered, self.prompted)


@dataclass(frozen=True)
class Standups:
    engineers: tuple[Participation, ...]  # lowest participation first
    prompted: int
    answered: int
    median_answer_minutes: float | None

    @property
    def share(self) -> float | None:
        return share_of(self.answered, self.prompted)


@dataclass(frozen=True)
class Report:
    """Every figure of `/handoff report` for one scope and window, as of `now`."""

    scope: ReportScope
    window: ReportWindow
    now: datetime
    initiatives: int  # in scope
    funnel: Funnel
    to_production: Spread  # creation to first entry into production, for those that reached it in the window
    readiness: tuple[GateEntries, ...]
    delivery: Delivery
    follow_through: FollowThrough
    standups: Standups

    @property
    def ready_share(self) -> float | None:
        """Entries into development or production with every gate item present, of all such entries."""
        return share_of(sum(g.ready for g in self.readiness), sum(g.entered for g in self.readiness))


def share_of(part: int, whole: int) -> float | None:
    """`part` as a fraction of `whole`; None when there is no whole to take a share of."""
    return part / whole if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank p-th percentile: the value at rank ⌈p·n/100⌉ of the sorted values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


def compute_report(
    *,
    session: Session,
    team_id: str,
    scope: ReportScope,
    window: ReportWindow,
    now: datetime,
    until: datetime | None = None,
) -> Report:
    """The report's figures up to `until` (excluded; None: up to now), whose zone (else `now`'s) sets the window's
    start and its calendar days."""
    end = until or now
    started = datetime.combine(window.since, time(), tzinfo=end.tzinfo)
    yesterday = end.date() - timedelta(days=1)
    reading = queries.ScopeFilter(team_id=team_id, channel_id=scope.channel_id, started=started, until=until)
    initiatives = queries.scope_initiatives(session=session, scope=reading)
    history: dict[int, list[queries.PhaseStep]] = defaultdict(list)
    for step in queries.phase_history(session=session, scope=reading):
        history[step.initiative_id].append(step)
    checkpoints = [
        c if c.done_at is None or until is None or c.done_at < until else replace(c, done_at=None)
        for c in queries.checkpoints_due(session=session, scope=reading, first=window.since, last=yesterday)
    ]
    gaps = queries.nudged_gaps(session=session, scope=reading)
    prompts = queries.standup_prompts(session=session, scope=reading, first=window.since, last=yesterday)
    funnel, to_production = _funnel(initiatives, history, started)
    return Report(
        scope=scope,
        window=window,
        now=now,
        initiatives=len(initiatives),
        funnel=funnel,
        to_production=to_production,
        readiness=_readiness(history, started),
        delivery=_delivery(checkpoints, end),
        follow_through=_follow_through(gaps, started, until),
        standups=_standups(prompts),
    )


def funnel_of(report: Report) -> FunnelData:
    """The funnel chart's data: each main-line phase entered, with the median and p90 of the stays in it."""
    bars = tuple(
        PhaseBar(f.phase.value, f.entered, f.stays.median_days, f.stays.p90_days) for f in report.funnel.phases
    )
    title = f"Phase funnel: {report.scope.title}, {report.window.label}"
    return FunnelData(title, bars, report.funnel.reached_production, report.funnel.in_funnel)


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY_SECONDS


def _funnel(
    initiatives: Sequence[queries.InitiativeRow],
    history: dict[int, list[queries.PhaseStep]],
    started: datetime,
) -> tuple[Funnel, Spread]:
    entered: dict[str, int] = defaultdict(int)
    stays: dict[str, list[float]] = defaultdict(list)
    to_production: list[float] = []
    in_funnel = reached = in_monitoring = 0
    for initiative in initiatives:
        steps = history.get(initiative.id, [])
        before = [s for s in steps if s.changed_at < started]
        during = [s for s in steps if s.changed_at >= started]
        for phase in {s.to_phase for s in during}:
            entered[phase] += 1
        for step, following in itertools.pairwise(steps):
            if following.changed_at >= started:
                stays[step.to_phase].append(_days(step.changed_at, following.changed_at))
        reached_before = any(s.to_phase == Phase.PRODUCTION for s in before)
        at_start = before[-1].to_phase if before else None
        active = (at_start is not None and at_start != Phase.CANCELLED) or any(
            s.to_phase != Phase.CANCELLED for s in during
        )
        if not reached_before and active:
            in_funnel += 1
            first = next((s for s in during if s.to_phase == Phase.PRODUCTION), None)
            if first is not None:
                reached += 1
                to_production.append(_days(initiative.created_at, first.changed_at))
        if initiative.phase == Phase.MONITORING and not initiative.archived:
            in_monitoring += 1
    phases = tuple(PhaseFigures(p, entered[p.value], Spread.of(stays[p.value])) for p in MAIN_LINE)
    funnel = Funnel(
        phases=phases,
        in_funnel=in_funnel,
        reached_production=reached,
        in_monitoring=in_monitoring,
        paused=entered[Phase.PAUSED.value],
        cancelled=entered[Phase.CANCELLED.value],
    )
    return funnel, Spread.of(to_production)


def _is_gate_crossing(step: queries.PhaseStep) -> bool:
    """A forward move into a gated phase: from earlier on the main line, or out of paused or cancelled (which
    re-checks every gate); the creation row and moves back cross no gate."""
    if step.from_phase is None:
        return False
    target = phase_order(Phase(step.to_phase))
    source = phase_order(Phase(step.from_phase))
    return target is not None and (source is None or source < target)


def _readiness(history: dict[int, list[queries.PhaseStep]], started: datetime) -> tuple[GateEntries, ...]:
    forced: dict[str, dict[int, bool]] = {gate.value: {} for gate in GATES}
    for initiative_id, steps in history.items():
        for step in steps:
            if step.changed_at >= started and step.to_phase in forced and _is_gate_crossing(step):
                entries = forced[step.to_phase]
                entries[initiative_id] = entries.get(initiative_id, False) or step.forced
    return tuple(
        GateEntries(gate, sum(not f for f in forced[gate.value].values()), sum(forced[gate.value].values()))
        for gate in GATES
    )


def _delivery(checkpoints: Sequence[queries.CheckpointRow], now: datetime) -> Delivery:
    on_time = late = still_open = mitigated = 0
    for checkpoint in checkpoints:
        if checkpoint.done_at is not None and checkpoint.done_at.astimezone(now.tzinfo).date() <= checkpoint.due_date:
            on_time += 1
            continue
        if checkpoint.done_at is None:
            still_open += 1
        else:
            late += 1
        mitigated += checkpoint.mitigated
    return Delivery(len(checkpoints), on_time, late, still_open, mitigated)


def _follow_through(gaps: Sequence[queries.NudgedGap], started: datetime, until: datetime | None) -> FollowThrough:
    def in_window(moment: datetime | None) -> bool:
        return moment is not None and moment >= started and (until is None or moment < until)

    nudged = sum(1 for g in gaps if in_window(g.last_nudged_at))
    closed = [g for g in gaps if in_window(g.closed_at)]
    timed = [_days(g.first_nudged_at, g.closed_at) for g in closed if g.first_nudged_at and g.closed_at]
    escalated = sum(1 for g in gaps if in_window(g.escalated_at))
    return FollowThrough(nudged, len(closed), Spread.of(timed), escalated)


def _standups(engineers_prompts: Sequence[queries.EngineerPrompts]) -> Standups:
    def minutes(microseconds: Sequence[int]) -> list[float]:
        return [us / 10**6 / 60 for us in microseconds]  # as timedelta.total_seconds() / 60 would give

    engineers = [
        Participation(e.user_id, e.prompted, e.answered, percentile(minutes(e.answer_microseconds), 50))
        for e in engineers_prompts
    ]
    engineers.sort(key=lambda e: (e.share if e.share is not None else 1.0, e.user_id))
    return Standups(
        engineers=tuple(engineers),
        prompted=sum(e.prompted for e in engineers_prompts),
        answered=sum(e.answered for e in engineers_prompts),
        median_answer_minutes=percentile(minutes([us for e in engineers_prompts for us in e.answer_microseconds]), 50),
    )
