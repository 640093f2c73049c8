"""Blockers: what blocks the work and who waits on whom."""

from __future__ import annotations

from bot.blocks.base import Message
from handlers.blocker_flows import report_and_announce, resolve_and_announce, show_blockers
from handlers.parsing import (
    BlockerReportCommand,
    BlockerResolveCommand,
    BlockersCommand,
    parse_blocker,
    parse_blockers,
)
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


def _report(request: Request, command: BlockerReportCommand) -> Message:
    return report_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.text, command.direction
    )


def _resolve(request: Request, command: BlockerResolveCommand) -> Message:
    return resolve_and_announce(request.runtime, request.client, request.actor, command.reference)


def _show(request: Request, command: BlockersCommand) -> Message:
    return show_blockers(request.runtime, request.actor, command.initiative_ref or "")


SUBCOMMANDS = (
    Subcommand(
        "blocker",
        summary=(
            "Report what blocks the work, optionally who waits on whom (`on:eng` DS waits on engineering, "
            "`on:ds` engineering waits on DS, `on:platform` both wait on data or platform); "
            "`resolve` it when it is gone. "
            "The thread hears of both, and the digest lists it until it is resolved."
        ),
        usage=(
            '/handoff blocker churn "No read access to the events table" on:eng  ·  /handoff blocker resolve churn#b1'
        ),
        parse=undated(parse_blocker),
        actions=(
            Action(BlockerReportCommand, _report, "blocker", slot=Slot.INITIATIVE_REF),
            Action(BlockerResolveCommand, _resolve, "blocker", slot=Slot.ITEM),
        ),
        family="blockers",
        local_reference_actions=("resolve",),
    ),
    Subcommand(
        "blockers",
        summary="An initiative's open blockers, oldest first, with how long each has been open.",
        usage="/handoff blockers churn",
        parse=undated(parse_blockers),
        actions=(Action(BlockersCommand, _show, "blockers", Answer.IN_ACK, Slot.INITIATIVE_REF),),
        family="blockers",
    ),
)
