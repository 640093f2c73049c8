"""The weekly report's settings as private answers: where each channel's report goes and when it comes next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.blocks.base import Message, context, section
from bot.blocks.share import without_share_button
from bot.text import escape
from bot.weekly_report import WeeklyReportPlan

if TYPE_CHECKING:
    from bot.report import Report

NO_WEEKLY_REPORTS = (
    "No channel gets a weekly report yet. `/handoff report weekly #channel` sends one there every Monday at 09:00; "
    "a day, a time and a zone may follow (`/handoff report weekly #channel fri 16:00 Europe/Berlin`)."
)


def describe_weekly_report(plan: WeeklyReportPlan, now: datetime) -> str:
    """One line: the channel, when its weekly report comes, the next one and who set it."""
    channel = f"<#{plan.channel_id}>"
    if plan.disabled_reason:
        return (
            f"*Weekly report in {channel}:* off: Slack refused the last post (`{escape(plan.disabled_reason)}`); "
            f"invite me to the channel and set it again with `/handoff report weekly #channel`"
        )
    if not plan.enabled:
        return f"*Weekly report in {channel}:* off"
    line = f"*Weekly report in {channel}:* {plan.schedule.describe()}, on the initiatives at home there"
    upcoming = plan.schedule.next_slot(now)
    if upcoming is not None:
        line += f", next <!date^{int(upcoming.due_at.timestamp())}^{{date_short_pretty}} {{time}}|{upcoming.key}>"
    if plan.configured_by:
        line += f" _(set by <@{plan.configured_by}>)_"
    return line


def render_weekly_reports(plans: Sequence[WeeklyReportPlan], now: datetime) -> Message:
    """`report weekly`: every channel of the workspace that gets a weekly report."""
    if not plans:
        return Message(NO_WEEKLY_REPORTS, [section(NO_WEEKLY_REPORTS)])
    text = "\n".join(describe_weekly_report(plan, now) for plan in plans)
    return Message(text, [section(text)])


def render_weekly_report_saved(plan: WeeklyReportPlan, now: datetime) -> Message:
    """The answer to a change of a channel's weekly report."""
    text = ":white_check_mark: Saved. " + describe_weekly_report(plan, now)
    return Message(text, [section(text)])


def render_chart_note(note: str) -> Message:
    """The line left in a weekly report's thread when its chart could not be shared."""
    return Message(note, [section(escape(note))])


def render_weekly_report(report: Report, plan: WeeklyReportPlan) -> Message:
    """The weekly report as posted in its channel: the report's figures, and what sends it and how to change that."""
    from bot.blocks.report import render_report  # the report's builder loads with the first report due

    posted = without_share_button(render_report(report))
    about = f"Weekly report, {plan.schedule.describe()} · `/handoff report weekly` shows or changes it"
    if plan.configured_by:
        about += f" · set by <@{plan.configured_by}>"
    return Message(posted.text, [*posted.blocks, context(about)])


def render_weekly_report_refused(channel_id: str, error: str) -> Message:
    """The direct message to whoever set a channel's weekly report, when Slack refuses posts there."""
    from bot.blocks.nudges import SLACK_REFUSALS  # one wording of Slack's refusals, loaded with the first one

    reason = SLACK_REFUSALS.get(error, f"Slack answered `{escape(error)}`")
    line = (
        f":warning: I turned off the weekly report for <#{channel_id}>: I couldn't post there because {reason}. "
        f"Then set it again with `/handoff report weekly #channel`."
    )
    return Message(f"The weekly report for a channel is off: {error}", [section(line)])
