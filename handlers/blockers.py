"""The Slack-facing steps of blockers: report and resolve (told in the initiative's thread), and the list.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot import blockers as service
from bot.blocks.base import Message
from bot.blocks.blockers import render_blocker_reported, render_blocker_resolved, render_blockers
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.initiatives import Actor, resolve_initiative
from bot.runtime import Runtime
from handlers.flows import announce
from handlers.parsing import (
    BlockerReportCommand,
    BlockerResolveCommand,
    BlockersCommand,
    parse_blocker,
    parse_blockers,
)
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


def report_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, text: str, raw_direction: str | None
) -> Message:
    direction = service.parse_direction(raw_direction) if raw_direction is not None else None
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = service.report_blocker(
            session=session, actor=actor, initiative=initiative, text=text, direction=direction, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Reported `{located.ref}`; it stays in the digest until someone resolves it "
        f"(`/handoff blocker resolve {located.ref}` or the button)."
    )
    return announce(client, located.initiative, render_blocker_reported(located), confirmation)


def resolve_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    with runtime.session() as session:
        located = service.resolve_blocker(session=session, actor=actor, reference=reference, now=runtime.clock.now())
    confirmation = f":white_check_mark: Resolved `{located.ref}`."
    return announce(client, located.initiative, render_blocker_resolved(located), confirmation)


def show_blockers(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        blockers = service.open_blockers_of(session=session, initiative=initiative)
    listing = render_blockers(initiative, blockers, now=runtime.clock.now())
    return shareable(listing, ShareRequest(SharedView.BLOCKERS, initiative.ref_key), shared_by=shared_by)


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
