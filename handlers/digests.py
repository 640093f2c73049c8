"""The Slack-facing steps of digest and nudge settings, `digest now|preview`, and the digest's buttons.

Settings changes take effect at once in this process (the scheduler is told) and within a minute on any other
replica (its sweep reloads the schedules).

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import time

from slack_sdk import WebClient

from bot import channel_settings as service
from bot.blocks.base import Message, context, plural
from bot.blocks.help import render_notice
from bot.channel_settings import ChannelPlan
from bot.errors import InvalidInput, SlackChannelUnavailable
from bot.initiatives import Actor, initiative_by_id, resolve_initiative
from bot.nudges import SNOOZE_CHOICES, WHOLE_INITIATIVE, set_initiative_nudges, snooze
from bot.runtime import Runtime
from bot.slot_ledger import Job
from bot.text import echo, escape
from handlers.channel_jobs import JobRunner
from handlers.grammar import Token, UsageError, did_you_mean, time_zone_days
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Alias, Answer, Request, Subcommand, undated

log = logging.getLogger(__name__)


def show_digest_settings(runtime: Runtime, actor: Actor, channel_id: str) -> Message:
    with runtime.session() as session:
        plan = service.channel_plan(
            session=session, team_id=actor.team_id, channel_id=channel_id, default_timezone=runtime.settings.timezone
        )
    return render_notice(_describe(plan, runtime))


def change_digest_settings(
    runtime: Runtime, actor: Actor, channel_id: str, parsed: DigestScheduleCommand | DigestSwitchCommand
) -> Message:
    now, zone = runtime.clock.now(), runtime.settings.timezone
    with runtime.session() as session:
        if isinstance(parsed, DigestScheduleCommand):
            plan = service.set_schedule(
                session=session,
                actor=actor,
                channel_id=channel_id,
                at=parsed.at,
                timezone=parsed.timezone,
                days=parsed.days,
                now=now,
                default_timezone=zone,
            )
        elif parsed.setting == "quiet":
            plan = service.set_quiet(
                session=session, actor=actor, channel_id=channel_id, quiet=parsed.value, now=now, default_timezone=zone
            )
        else:
            plan = service.set_digest_enabled(
                session=session,
                actor=actor,
                channel_id=channel_id,
                enabled=parsed.value,
                now=now,
                default_timezone=zone,
            )
    runtime.schedule_changed()
    return render_notice(":white_check_mark: Saved. " + _describe(plan, runtime))


def change_nudges(runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, parsed: NudgesCommand) -> Message:
    state = "on" if parsed.enabled else "off"
    if parsed.initiative_ref is None:
        with runtime.session() as session:
            service.set_channel_nudges(
                session=session,
                actor=actor,
                channel_id=channel_id,
                enabled=parsed.enabled,
                now=runtime.clock.now(),
                default_timezone=runtime.settings.timezone,
            )
        runtime.schedule_changed()
        return render_notice(f":white_check_mark: Nudges in <#{channel_id}> are {state}.")
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=parsed.initiative_ref)
        set_initiative_nudges(
            session=session,
            actor=actor,
            initiative=initiative,
            enabled=parsed.enabled,
            people=people,
            now=runtime.clock.now(),
        )
    return render_notice(f':white_check_mark: Nudges about "{escape(initiative.name)}" are {state}.')


def run_digest(runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, parsed: DigestRunCommand) -> Message:
    """`digest now` posts the digest at once (the day's scheduled one still comes); `digest preview` shows it
    privately: its first message, and how many more would follow in the thread."""
    jobs = JobRunner(runtime, client)
    with runtime.session() as session:
        plan = service.channel_plan(
            session=session, team_id=actor.team_id, channel_id=channel_id, default_timezone=runtime.settings.timezone
        )
    preview = jobs.preview(Job.DIGEST, plan)
    if not preview.messages:
        raise InvalidInput.said("digest", preview.note or "There is nothing to put in a digest here.")
    if not parsed.post:
        first = preview.messages[0]
        notes = [n for n in (preview.note,) if n]
        if len(preview.messages) > 1:
            notes.append(f"{plural(len(preview.messages) - 1, 'more message')} would follow in its thread.")
        notes.append("Only you can see this preview. `/handoff digest now` posts it.")
        return Message(first.text, [*first.blocks[:48], context(" ".join(notes))])
    report = jobs.run_now(Job.DIGEST, plan, force=True)
    if not report.posted:
        with runtime.session() as session:
            refused = service.channel_plan(
                session=session,
                team_id=actor.team_id,
                channel_id=channel_id,
                default_timezone=runtime.settings.timezone,
            ).disabled_reason
        if refused:
            raise SlackChannelUnavailable(channel_id, refused)
        raise InvalidInput.said("digest", "Slack did not take the digest just now. Try again in a minute.")
    return render_notice(f":white_check_mark: Posted the digest in <#{channel_id}>.")


def snooze_from_button(runtime: Runtime, team_id: str, user_id: str, raw_value: str) -> Message:
    """A snooze button: hold one gap's nudges (or all of an initiative's) for a day or a week."""
    try:
        value = json.loads(raw_value)
        initiative_id, gap_key, days = int(value["i"]), str(value["g"]), int(value["d"])
    except (ValueError, KeyError, TypeError):
        log.warning("snooze button with an unreadable value")
        raise InvalidInput.said("snooze", "That button is out of date; use the latest digest or nudge.") from None
    if days not in SNOOZE_CHOICES:
        raise InvalidInput.said("snooze", "A nudge can be snoozed for 1 day or 1 week.")
    now = runtime.clock.now()
    with runtime.session() as session:
        initiative = initiative_by_id(session=session, team_id=team_id, initiative_id=initiative_id)
        until = snooze(
            session=session, initiative_id=initiative_id, gap_key=gap_key, days=days, actor_id=user_id, now=now
        )
    what = "all nudges" if gap_key == WHOLE_INITIATIVE else "this nudge"
    local = until.astimezone(runtime.settings.tz).strftime("%a %-d %b, %H:%M")
    return render_notice(f':zzz: Snoozed {what} about "{escape(initiative.name)}" until {local}.')


def _describe(plan: ChannelPlan, runtime: Runtime) -> str:
    channel = f"<#{plan.channel_id}>"
    if plan.disabled_reason:
        digest = (
            f"off: Slack refused the last post (`{escape(plan.disabled_reason)}`); `/handoff digest on` after fixing it"
        )
    elif plan.digest_enabled:
        digest = plan.schedule.describe()
        nxt = plan.schedule.next_slot(runtime.clock.now())
        if nxt is not None:
            digest += f", next <!date^{int(nxt.due_at.timestamp())}^{{date_short_pretty}} {{time}}|{nxt.key}>"
        if plan.quiet:
            digest += " · quiet: nothing is posted on days without news"
    else:
        digest = "off"
    nudges = "on" if plan.nudges_enabled else "off"
    delay = runtime.settings.nudge_delay_minutes
    lines = [f"*Digest in {channel}:* {digest}", f"*Nudges:* {nudges} ({delay} minutes after the digest time)"]
    if plan.configured_by:
        lines.append(f"_Last changed by <@{plan.configured_by}>._")
    return "\n".join(lines)


@dataclass(frozen=True)
class DigestShowCommand:
    """`digest`: this channel's digest and nudge settings."""


@dataclass(frozen=True)
class DigestScheduleCommand:
    """`digest at 09:30 [Europe/Berlin] [weekdays|daily|mon,wed,fri]`."""

    at: time
    timezone: str | None = None
    days: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DigestSwitchCommand:
    """`digest on|off`, `digest quiet [on|off]`."""

    setting: str  # "enabled" or "quiet"
    value: bool


@dataclass(frozen=True)
class DigestRunCommand:
    """`digest now` (post it) or `digest preview` (show it privately)."""

    post: bool


@dataclass(frozen=True)
class NudgesCommand:
    """`nudges on|off` for this channel, or `nudges on|off <initiative>` for one initiative."""

    enabled: bool
    initiative_ref: str | None = None


DIGEST_ACTIONS = ("at", "on", "off", "now", "preview", "quiet")


def parse_digest(
    rest: list[Token],
) -> DigestShowCommand | DigestScheduleCommand | DigestSwitchCommand | DigestRunCommand:
    if not rest:
        return DigestShowCommand()
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in DIGEST_ACTIONS:
        suggestion = did_you_mean(action, DIGEST_ACTIONS)
        raise UsageError(f"`digest {echo(rest[0].text)}` is not a digest setting.{suggestion}", "digest")
    if action == "at":
        return _parse_digest_at(args)
    if action in ("now", "preview", "on", "off") and args:
        raise UsageError(f"`digest {action}` takes nothing after it.", "digest")
    if action in ("now", "preview"):
        return DigestRunCommand(post=action == "now")
    if action in ("on", "off"):
        return DigestSwitchCommand("enabled", action == "on")
    if len(args) > 1 or (args and args[0].text.lower() not in ("on", "off")):
        raise UsageError("`digest quiet` takes on or off (on when left out).", "digest")
    return DigestSwitchCommand("quiet", not args or args[0].text.lower() == "on")


def _parse_digest_at(args: list[Token]) -> DigestScheduleCommand:
    if not args:
        raise UsageError("`digest at` needs a time, such as `digest at 09:30`.", "digest")
    at, timezone, days = time_zone_days(args, "digest")
    return DigestScheduleCommand(at, timezone, days)


def parse_nudges(rest: list[Token]) -> NudgesCommand:
    if not rest or rest[0].quoted or rest[0].text.lower() not in ("on", "off"):
        raise UsageError("`nudges` needs on or off, and optionally an initiative.", "nudges")
    reference = " ".join(t.text for t in rest[1:]).strip() or None
    return NudgesCommand(rest[0].text.lower() == "on", reference)


def _show(request: Request, command: DigestShowCommand) -> Message:
    return show_digest_settings(request.runtime, request.actor, request.channel_id)


def _change(request: Request, command: DigestScheduleCommand | DigestSwitchCommand) -> Message:
    return change_digest_settings(request.runtime, request.actor, request.channel_id, command)


def _run(request: Request, command: DigestRunCommand) -> Message:
    return run_digest(request.runtime, request.client, request.actor, request.channel_id, command)


def _nudges(request: Request, command: NudgesCommand) -> Message:
    return change_nudges(request.runtime, request.client, request.actor, request.channel_id, command)


SUBCOMMANDS = (
    Subcommand(
        "digest",
        summary=(
            "This channel's daily digest (default: weekdays at 09:00): `at` a time, with an optional time zone and "
            "days (`weekdays`, `daily`, `mon,wed,fri`); `off` and `on`; `now` posts it; `preview` shows it only to "
            "you; `quiet` posts nothing on days without news."
        ),
        usage=(
            "/handoff digest at 09:30 Europe/Berlin mon,wed,fri  ·  /handoff digest off  ·  /handoff digest now  ·  "
            "/handoff digest preview  ·  /handoff digest quiet on  ·  /handoff digest"
        ),
        parse=undated(parse_digest),
        actions=(
            Action(DigestShowCommand, _show, "digest", Answer.IN_ACK),
            Action(DigestScheduleCommand, _change, "digest"),
            Action(DigestSwitchCommand, _change, "digest"),
            Action(DigestRunCommand, _run, "digest"),
        ),
        family="digest",
    ),
    Subcommand(
        "nudges",
        summary=(
            "Daily reminders after the digest about missing docs and KPIs, stale or missed KPIs and overdue "
            "checkpoints, naming who can close each; `off`/`on` for this channel, or for one initiative (its leads)."
        ),
        usage="/handoff nudges off  ·  /handoff nudges on churn",
        parse=undated(parse_nudges),
        actions=(Action(NudgesCommand, _nudges, "nudges"),),
        family="digest",
        aliases=(Alias("nudge"),),
    ),
)
