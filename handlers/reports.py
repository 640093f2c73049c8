"""The Slack-facing steps of `/handoff report`: parse the scope and the window, compute, answer privately.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.blocks.base import Message
from bot.blocks.report import ALL_SUBJECT, render_report
from bot.charts import funnel_chart
from bot.initiatives import Actor
from bot.report import (
    WINDOW_DAYS,
    Report,
    ReportScope,
    ReportWindow,
    WindowError,
    compute_report,
    funnel_of,
    parse_window,
)
from bot.runtime import Runtime
from bot.text import echo, escape
from handlers.grammar import Token, UsageError, is_word
from handlers.report_schedule import WEEKLY_ACTIONS, WEEKLY_USAGE, WeeklyReportCommand, parse_report_weekly
from handlers.subcommand import Action, Request, Subcommand
from handlers.uploads import CHART_UNAVAILABLE, upload_chart

CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|([^>]*))?>$")
SINCE_WORD = "since:"
WINDOW_WORDS = (*WINDOW_DAYS, "quarter")
WINDOW_USAGE = "`since:YYYY-MM-DD`, `30d`, `90d` or `quarter`"


@dataclass(frozen=True)
class ReportCommand:
    """`report [#channel | all] [window]`; `scope` None means this channel's initiatives."""

    scope: ReportScope | None
    window: ReportWindow


def parse_report(rest: list[Token], today: date) -> ReportCommand | WeeklyReportCommand:
    if rest and is_word(rest[0], ("weekly",)):
        return parse_report_weekly(rest[1:])
    scope: ReportScope | None = None
    window: str | None = None
    tokens = list(rest)
    while tokens:
        token = tokens.pop(0)
        lowered = token.text.lower()
        if is_word(token, ("all",)) or CHANNEL.match(token.text):
            if scope is not None:
                raise UsageError("Give one scope: a channel picked with # or `all`.", "report")
            found = CHANNEL.match(token.text)
            scope = ReportScope() if found is None else ReportScope(found.group(1), found.group(2) or None)
        elif not token.quoted and (lowered in WINDOW_WORDS or lowered.startswith(SINCE_WORD)):
            if window is not None:
                raise UsageError(f"Give one window: {WINDOW_USAGE}.", "report")
            window = token.text
            if lowered == SINCE_WORD and tokens:  # `since: 2026-10-01`
                window += tokens.pop(0).text
        elif token.text.startswith(("#", "<#")):
            raise UsageError(
                f"`{echo(token.text)}` is not a channel I can see: type # and pick the channel from the list, so it "
                "becomes a link. For a private channel, invite me first.",
                "report",
            )
        else:
            raise UsageError(
                f"`{echo(token.text)}` is neither a channel (picked with #), `all`, nor a window ({WINDOW_USAGE}).",
                "report",
            )
    try:
        return ReportCommand(scope, parse_window(window, today=today))
    except WindowError as error:
        raise UsageError(f"`{echo(error.text)}` {escape(error.reason)}", "report") from None


def show_report(runtime: Runtime, actor: Actor, subject: str, *, shared_by: str | None = None) -> Message:
    """The report a Share button names (`C0123:churn 90d`, `all since:2026-10-01`), computed as of now; a window
    that does not read (the button's value is ours, so only a forged one) is the default."""
    scope_part, _, raw_window = subject.partition(" ")
    channel_id, _, name = scope_part.partition(":")
    scope = ReportScope() if channel_id == ALL_SUBJECT else ReportScope(channel_id, name or None)
    try:
        window = parse_window(raw_window, today=runtime.today())
    except WindowError:
        window = parse_window(None, today=runtime.today())
    return report_answer(runtime, actor, scope, window, shared_by=shared_by)


def report_answer(
    runtime: Runtime, actor: Actor, scope: ReportScope, window: ReportWindow, *, shared_by: str | None = None
) -> Message:
    """Compute the report in the workspace's calendar and render it."""
    return render_report(_compute(runtime, actor, scope, window), shared_by=shared_by)


def _compute(runtime: Runtime, actor: Actor, scope: ReportScope, window: ReportWindow) -> Report:
    now = runtime.clock.now().astimezone(runtime.settings.tz)
    with runtime.session() as session:
        return compute_report(session=session, team_id=actor.team_id, scope=scope, window=window, now=now)


def _report(request: Request, command: ReportCommand) -> Message:
    """The report, with its funnel chart shared in the channel it was asked in (a report of nothing has none); a
    chart Slack refuses leaves the figures in text with a note.

    The answer is private but a shared chart is not: a report of another channel (perhaps a private one) keeps its
    chart to itself rather than show that channel's funnel to everyone here."""
    scope = command.scope or ReportScope(request.channel_id)
    report = _compute(request.runtime, request.actor, scope, command.window)
    chart_note = None
    if report.initiatives and scope.channel_id not in (None, request.channel_id):
        chart_note = chart_kept_private(scope.channel_id)
    elif report.initiatives:
        uploaded = upload_chart(request.client, funnel_chart(funnel_of(report)), channel_id=request.channel_id)
        chart_note = None if uploaded is not None else CHART_UNAVAILABLE
    return render_report(report, chart_note=chart_note)


def chart_kept_private(channel_id: str) -> str:
    """Why a report of another channel comes without its chart, and where to get it."""
    return (
        f"The funnel chart is shared only in the channel it shows: ask `/handoff report` in <#{channel_id}>, "
        "or `report weekly` posts it there every week."
    )


REPORT_USAGE = "/handoff report  ·  /handoff report #churn 30d  ·  /handoff report all since:2026-10-01"
SUBCOMMANDS = (
    Subcommand(
        "report",
        summary=(
            "Figures of this channel's initiatives (or a channel picked with #, or `all` for the workspace) over the "
            "last 90 days (or `30d`, `quarter`, `since:YYYY-MM-DD`): the phase funnel, lead times, checkpoints on "
            "time, readiness at the gates, how fast nudged gaps close, and standup participation; `weekly #channel "
            "[day] [time] [zone]` posts it there every week with its chart (`off` stops it)."
        ),
        usage=REPORT_USAGE + "  ·  /handoff report weekly #churn fri 16:00",
        parse=parse_report,
        actions=(Action(ReportCommand, _report, "report"), *WEEKLY_ACTIONS),
        action_usage=(("report", REPORT_USAGE), WEEKLY_USAGE),
        family="reports",
    ),
)
