"""The Slack-facing steps of blockers: report and resolve (told in the initiative's thread), and the list.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot import blockers as service
from bot.blocks.base import Message
from bot.blocks.blockers import render_blocker_reported, render_blocker_resolved, render_blockers
from bot.blocks.capture_forms import from_message
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.initiatives import Actor, resolve_initiative
from bot.runtime import Runtime
from handlers.grammar import LOCAL_BLOCKER, OPTION, Token, UsageError, local_reference
from handlers.posting import announce
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


def report_and_announce(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    initiative_ref: str,
    text: str,
    raw_direction: str | None,
    *,
    reporter: str | None = None,
    source: str | None = None,
) -> Message:
    """Record the blocker (`reporter` reported it, else the actor) and tell the thread, linking `source`, the
    permalink of the message it was captured from."""
    direction = service.parse_direction(raw_direction) if raw_direction is not None else None
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = service.report_blocker(
            session=session,
            actor=actor,
            initiative=initiative,
            text=text,
            direction=direction,
            now=runtime.clock.now(),
            reporter=reporter,
        )
    confirmation = (
        f":white_check_mark: Reported `{located.ref}`; it stays in the digest until someone resolves it "
        f"(`/handoff blocker resolve {located.ref}` or the button)."
    )
    logged_by = actor.user_id if located.blocker.reported_by != actor.user_id else None
    update = from_message(render_blocker_reported(located), source, logged_by=logged_by)
    return announce(client, located.initiative, update, confirmation)


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


@dataclass(frozen=True)
class BlockerReportCommand:
    """`blocker <initiative> "what blocks it" [on:eng|ds|platform]`."""

    initiative_ref: str | None
    text: str
    direction: str | None = None


@dataclass(frozen=True)
class BlockerResolveCommand:
    reference: str


@dataclass(frozen=True)
class BlockersCommand:
    initiative_ref: str | None


def parse_blocker(rest: list[Token]) -> BlockerReportCommand | BlockerResolveCommand:
    if not rest:
        raise UsageError("`blocker` needs the initiative and what blocks it, in quotes.", "blocker")
    if not rest[0].quoted and rest[0].text.lower() == "resolve":
        if len(rest) != 2:
            raise UsageError("`blocker resolve` needs one blocker reference, like `churn#b2`.", "blocker")
        return BlockerResolveCommand(local_reference(rest[1], LOCAL_BLOCKER))
    # A quoted text followed by nothing but `on:` leaves the initiative out: `blocker "No access" on:eng`.
    left_out = rest[0].quoted and all(_blocker_direction(t) is not None for t in rest[1:])
    direction = None
    words = [rest[0].text] if left_out else []
    tokens = rest[1:]
    while tokens:
        token = tokens.pop(0)
        option = _blocker_direction(token)
        if option is not None:
            if direction is not None:
                raise UsageError("Give the direction once: `on:eng`, `on:ds` or `on:platform`.", "blocker")
            direction = option
            if not direction and tokens:  # `on: eng`
                direction = tokens.pop(0).text
        else:
            words.append(token.text)
    text = " ".join(words).strip()
    if not text:
        raise UsageError("Say what blocks the work, in quotes after the initiative.", "blocker")
    return BlockerReportCommand(None if left_out else rest[0].text, text, direction)


def _blocker_direction(token: Token) -> str | None:
    """The value of an `on:` option, or None when the token is not one."""
    option = OPTION.match(token.text) if not token.leading_quote else None
    return option.group(2) if option is not None and option.group(1).lower() == "on" else None


def parse_blockers(rest: list[Token]) -> BlockersCommand:
    return BlockersCommand(" ".join(t.text for t in rest) or None)


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
            "Report what blocks the work, optionally who waits on whom (`on:eng` DS waits on engineering, `on:ds` "
            "engineering waits on DS, `on:platform` both wait on data or platform); `resolve` it when it is gone. The "
            "thread hears of both, and the digest lists it until it is resolved."
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
