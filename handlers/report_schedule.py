"""The Slack-facing steps of the weekly report's settings: `report weekly #channel [day] [time] [zone]`,
`report weekly #channel off`, and `report weekly` to see them.

The `report` entry of the table of subcommands (`handlers.reports`) hands the words after `weekly` to
`parse_report_weekly` and carries its commands out through `WEEKLY_ACTIONS`. Changes take effect at once in this
process (the scheduler is told) and within a minute on any other replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot import weekly_report as service
from bot.blocks.base import Message
from bot.blocks.problems import describe
from bot.blocks.weekly_report import render_weekly_report_saved, render_weekly_reports
from bot.recurrence import (
    ScheduleError,
    looks_like_days,
    looks_like_timezone,
    parse_days,
    parse_time_of_day,
    parse_timezone,
)
from bot.text import echo
from handlers.grammar import CHANNEL_ENTITY, Token, UsageError
from handlers.subcommand import Action, Answer, Request

WEEKLY = "report weekly"
WEEKLY_USAGE = (
    WEEKLY,
    "/handoff report weekly #channel [mon] [09:00] [Europe/Berlin]  ·  /handoff report weekly #channel off  ·  "
    "/handoff report weekly",
)


@dataclass(frozen=True)
class WeeklyReportShowCommand:
    """`report weekly`: every channel of the workspace that gets a weekly report."""


@dataclass(frozen=True)
class WeeklyReportSetCommand:
    """`report weekly #channel [day] [time] [zone]`: what is left out stays as it was (at first Monday, 09:00, the
    zone of the channel's digest)."""

    channel_id: str
    day: str | None = None
    at: time | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class WeeklyReportOffCommand:
    """`report weekly #channel off`."""

    channel_id: str


WeeklyReportCommand = WeeklyReportShowCommand | WeeklyReportSetCommand | WeeklyReportOffCommand


def parse_report_weekly(args: list[Token]) -> WeeklyReportCommand:
    """The words after `report weekly`: nothing, or a channel then `off` or a day, a time and a zone in any order."""
    if not args:
        return WeeklyReportShowCommand()
    match = None if args[0].quoted else CHANNEL_ENTITY.match(args[0].text)
    if match is None:
        raise UsageError(
            f"`report weekly` needs the channel the report goes to, picked with # (`report weekly #general`); "
            f"`{echo(args[0].text)}` is not one. For a private channel, invite me first.",
            WEEKLY,
        )
    channel_id, rest = match.group(1), args[1:]
    if len(rest) == 1 and rest[0].text.lower() == "off":
        return WeeklyReportOffCommand(channel_id)
    day: str | None = None
    at: time | None = None
    timezone: str | None = None
    try:
        for token in rest:
            word = token.text
            if word.lower() in ("off", "on"):
                raise UsageError("`off` stands alone after the channel: `report weekly #channel off`.", WEEKLY)
            if at is None and word[:1].isdigit():  # `9am` is a time mistyped, not a zone
                at = parse_time_of_day(word)
            elif day is None and _meant_as_day(word):
                day = _one_day(word)
            elif timezone is None and not word[:1].isdigit():
                timezone = parse_timezone(word)
            else:
                raise UsageError(
                    f"`{echo(word)}` is one word too many: a day, a time and a zone, each at most once.", WEEKLY
                )
    except ScheduleError as error:
        raise UsageError(describe(error), WEEKLY) from None
    return WeeklyReportSetCommand(channel_id, day, at, timezone)


def _meant_as_day(word: str) -> bool:
    """A day (`fri`, `friday`) or several (`mon,thu`, `weekdays`, refused with why); never a zone's name."""
    if "/" in word or looks_like_timezone(word) or word.isupper():
        return False
    return looks_like_days(word) or "," in word or (word.isalpha() and len(word) <= 9 and word.islower())


def _one_day(word: str) -> str:
    days = parse_days(word)
    if len(days) != 1:
        raise UsageError(
            f"A weekly report comes on one day of the week; `{echo(word)}` names {len(days)}. Pick one, such as `mon`.",
            WEEKLY,
        )
    return days[0]


def show_weekly_reports(request: Request, command: WeeklyReportShowCommand) -> Message:
    runtime = request.runtime
    with runtime.session() as session:
        plans = service.weekly_report_plans(session=session, default_timezone=runtime.settings.timezone)
    mine = [plan for plan in plans if plan.team_id == request.actor.team_id]
    return render_weekly_reports(mine, runtime.clock.now())


def change_weekly_report(request: Request, command: WeeklyReportSetCommand | WeeklyReportOffCommand) -> Message:
    runtime, now, zone = request.runtime, request.runtime.clock.now(), request.runtime.settings.timezone
    with runtime.session() as session:
        if isinstance(command, WeeklyReportOffCommand):
            plan = service.turn_off_weekly_report(
                session=session, actor=request.actor, channel_id=command.channel_id, now=now, default_timezone=zone
            )
        else:
            plan = service.set_weekly_report(
                session=session,
                actor=request.actor,
                channel_id=command.channel_id,
                day=command.day,
                at=command.at,
                timezone=command.timezone,
                now=now,
                default_timezone=zone,
            )
    runtime.schedule_changed()
    return render_weekly_report_saved(plan, now)


WEEKLY_ACTIONS = (
    Action(WeeklyReportShowCommand, show_weekly_reports, WEEKLY, Answer.IN_ACK),
    Action(WeeklyReportSetCommand, change_weekly_report, WEEKLY),
    Action(WeeklyReportOffCommand, change_weekly_report, WEEKLY),
)
