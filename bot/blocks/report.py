"""`/handoff report`: the figures of a scope over a window, one compact section a kind, with Share in channel."""

from __future__ import annotations

from bot.blocks.base import Block, Message, channel, context, header, plural, section, slack_date
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.report import Report, Spread
from bot.text import escape

ENGINEERS_LISTED = 10
DEFINITIONS = "How each figure is counted: README, *Reports*."
ALL_SUBJECT = "all"


def share_subject(report: Report) -> str:
    """What the Share button re-reads: the scope (`C0123:churn`, a channel id and its name, or `all`) and the
    window as typed."""
    scope = report.scope
    named = f"{scope.channel_id}:{scope.channel_name}" if scope.channel_name else scope.channel_id
    return f"{named or ALL_SUBJECT} {report.window.raw}"


def render_report(report: Report, *, shared_by: str | None = None, chart_note: str | None = None) -> Message:
    """The report as a private answer with Share in channel, or (`shared_by`) the channel's copy; `chart_note` (our
    own mrkdwn) says what became of its chart."""
    where = "all initiatives" if report.scope.everywhere else f"initiatives of {channel(report.scope.channel_id)}"
    blocks: list[Block] = [
        header(f"Report: {report.scope.title}, {report.window.label}"),
        context(
            f"{plural(report.initiatives, 'initiative')} in scope ({where}) · {escape(report.window.label)} · "
            f"as of {slack_date(report.now)}"
        ),
    ]
    if report.initiatives == 0:
        hint = "" if report.scope.everywhere else " `/handoff report all` covers the whole workspace."
        blocks.append(
            section(f"No initiative to report on: none has {channel(report.scope.channel_id)} as its home.{hint}")
        )
    else:
        blocks += [
            section(_funnel(report)),
            section(_lead_times(report)),
            section(_delivery(report)),
            section(_readiness(report)),
            section(_follow_through(report)),
            section(_standups(report)),
        ]
    notes = [DEFINITIONS] + ([chart_note] if chart_note else [])  # our own wording, mrkdwn already
    blocks.append(context(*notes))
    text = f"Report: {report.scope.title}, {report.window.label}: " + (
        f"{report.funnel.reached_production} of {report.funnel.in_funnel} reached production"
        if report.initiatives
        else "no initiatives"
    )
    return shareable(
        Message(escape(text), blocks), ShareRequest(SharedView.REPORT, share_subject(report)), shared_by=shared_by
    )


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "n/a"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _spread(spread: Spread, what: str) -> str:
    if not spread.count:
        return "none"
    return f"{_days(spread.median_days)} / {_days(spread.p90_days)} d ({plural(spread.count, what)})"


def _funnel(report: Report) -> str:
    funnel = report.funnel
    entered = " → ".join(f"{f.phase.value} {f.entered}" for f in funnel.phases)
    return (
        f"*Funnel*\nEntered in the window: {entered}\n"
        f"Reached production: *{funnel.reached_production}* of {funnel.in_funnel} in the funnel "
        f"({_share(funnel.reached_production, funnel.in_funnel)}) · in monitoring now: {funnel.in_monitoring} · "
        f"paused: {funnel.paused} · cancelled: {funnel.cancelled}"
    )


def _lead_times(report: Report) -> str:
    lines = [f"• {f.phase.value}: {_spread(f.stays, 'stay')}" for f in report.funnel.phases]
    lines.append(f"• creation → production: {_spread(report.to_production, 'initiative')}")
    return "*Lead times* (days, median / p90; stays that ended in the window)\n" + "\n".join(lines)


def _delivery(report: Report) -> str:
    d = report.delivery
    if not d.due:
        return "*Delivery*\nNo checkpoint fell due in the window."
    return (
        f"*Delivery*\n{plural(d.due, 'checkpoint')} fell due: *{d.on_time}* done on time ({_share(d.on_time, d.due)}), "
        f"*{d.missed}* missed ({d.done_late} done late, {d.still_open} still open), "
        f"{d.mitigated} of the missed with a mitigation plan"
    )


def _readiness(report: Report) -> str:
    entered = sum(g.entered for g in report.readiness)
    if not entered:
        return "*Readiness*\nNo initiative moved into development or production in the window."
    lines = [
        f"• {g.gate.value}: {g.entered} entered, {g.ready} with every gate item, {g.forced} forced"
        for g in report.readiness
    ]
    ready = sum(g.ready for g in report.readiness)
    return f"*Readiness* ({_share(ready, entered)} entered with every gate item)\n" + "\n".join(lines)


def _follow_through(report: Report) -> str:
    f = report.follow_through
    if not (f.nudged or f.closed or f.escalated):
        return "*Follow-through*\nNo gap was nudged in the window."
    timing = (
        f"median {_days(f.to_close.median_days)} d from first nudge to closed (p90 {_days(f.to_close.p90_days)} d)"
        if f.to_close.count
        else "none timed"
    )
    return (
        f"*Follow-through*\n{plural(f.nudged, 'gap')} nudged · {f.closed} closed, {timing} · "
        f"{f.escalated} escalated to leads"
    )


def _minutes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def _standups(report: Report) -> str:
    s = report.standups
    if not s.prompted:
        return "*Standups*\nNo standup prompts in the window."
    lines = [
        f"• <@{e.user_id}>: {e.answered}/{e.prompted} ({_share(e.answered, e.prompted)}), "
        f"median {_minutes(e.median_answer_minutes)}"
        for e in s.engineers[:ENGINEERS_LISTED]
    ]
    if len(s.engineers) > ENGINEERS_LISTED:
        lines.append(f"…and {plural(len(s.engineers) - ENGINEERS_LISTED, 'more engineer')}")
    return (
        f"*Standups* ({s.answered} of {s.prompted} answered, {_share(s.answered, s.prompted)}; median answer "
        f"{_minutes(s.median_answer_minutes)})\n" + "\n".join(lines)
    )
