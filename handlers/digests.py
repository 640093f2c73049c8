"""Digests and nudges: this channel's daily digest, and the reminders after it."""

from __future__ import annotations

from bot.blocks.base import Message
from handlers.digest_flows import change_digest_settings, change_nudges, run_digest, show_digest_settings
from handlers.parsing import (
    DigestRunCommand,
    DigestScheduleCommand,
    DigestShowCommand,
    DigestSwitchCommand,
    NudgesCommand,
    parse_digest,
    parse_nudges,
)
from handlers.subcommand import Action, Alias, Answer, Request, Subcommand, undated


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
            "This channel's daily digest (default: weekdays at 09:00): `at` a time, with an optional time zone "
            "and days (`weekdays`, `daily`, `mon,wed,fri`); `off` and `on`; `now` posts it; `preview` shows it only to "
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
