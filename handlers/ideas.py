"""The Slack-facing steps of ideas: log one, record how it went, list and search them.

Changes run after the ack and tell the initiative's thread; the lists need only the database and are answered in
the ack itself. Domain errors propagate for the caller to render.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot import ideas as idea_service
from bot.blocks.base import Message
from bot.blocks.capture_forms import from_message
from bot.blocks.readiness import (
    render_idea_logged,
    render_idea_outcome,
    render_idea_search,
    render_ideas,
)
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.initiatives import Actor, resolve_initiative
from bot.runtime import Runtime
from handlers.grammar import (
    LOCAL_IDEA,
    Token,
    UsageError,
    local_reference,
)
from handlers.posting import announce
from handlers.subcommand import Action, Answer, Request, Slot, Subcommand, undated


def log_idea_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, text: str, *, source: str | None = None
) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = idea_service.log_idea(
            session=session, actor=actor, initiative=initiative, text=text, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Logged `{located.ref}`. When you know how it went: "
        f'`/handoff idea outcome {located.ref} worked|failed|dropped "note"`.'
    )
    return announce(client, located.initiative, from_message(render_idea_logged(located), source), confirmation)


def record_outcome_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, raw_outcome: str, note: str | None
) -> Message:
    outcome = idea_service.parse_outcome(raw_outcome)
    with runtime.session() as session:
        located = idea_service.record_outcome(
            session=session, actor=actor, reference=reference, outcome=outcome, note=note, now=runtime.clock.now()
        )
    confirmation = f":white_check_mark: `{located.ref}` {outcome.value}."
    return announce(client, located.initiative, render_idea_outcome(located), confirmation)


def show_ideas(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        ideas = idea_service.list_ideas(session=session, initiative=initiative)
    return shareable(render_ideas(ideas), ShareRequest(SharedView.IDEAS, initiative.ref_key), shared_by=shared_by)


def search_ideas(runtime: Runtime, actor: Actor, text: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        result = idea_service.search_ideas(session=session, team_id=actor.team_id, text=text)
    return shareable(render_idea_search(result), ShareRequest(SharedView.IDEA_SEARCH, text), shared_by=shared_by)


@dataclass(frozen=True)
class IdeaAddCommand:
    initiative_ref: str | None
    text: str


@dataclass(frozen=True)
class IdeaOutcomeCommand:
    reference: str
    outcome: str
    note: str | None = None


@dataclass(frozen=True)
class IdeasCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class IdeasSearchCommand:
    text: str


def parse_idea(rest: list[Token]) -> IdeaAddCommand | IdeaOutcomeCommand:
    if not rest:
        raise UsageError("`idea` needs the initiative and the idea, in quotes.", "idea")
    if not rest[0].quoted and rest[0].text.lower() == "outcome":
        args = rest[1:]
        if len(args) < 2:
            raise UsageError(
                "`idea outcome` needs the idea reference (like `churn#i2`) and worked, failed or dropped.", "idea"
            )
        note = " ".join(t.text for t in args[2:]).strip() or None
        return IdeaOutcomeCommand(local_reference(args[0], LOCAL_IDEA), args[1].text, note)
    if len(rest) == 1 and rest[0].quoted:  # `idea "Try boosting"`: this channel's initiative
        return IdeaAddCommand(None, rest[0].text)
    text = " ".join(t.text for t in rest[1:]).strip()
    if not text:
        raise UsageError("Say what the idea is, in quotes after the initiative.", "idea")
    return IdeaAddCommand(rest[0].text, text)


def parse_ideas(rest: list[Token]) -> IdeasCommand | IdeasSearchCommand:
    if not rest:
        return IdeasCommand(None)
    if not rest[0].quoted and rest[0].text.lower() == "search":
        text = " ".join(t.text for t in rest[1:]).strip()
        if not text:
            raise UsageError("`ideas search` needs the words to look for.", "ideas")
        return IdeasSearchCommand(text)
    return IdeasCommand(" ".join(t.text for t in rest))


def _log_idea(request: Request, command: IdeaAddCommand) -> Message:
    return log_idea_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.text
    )


def _record_outcome(request: Request, command: IdeaOutcomeCommand) -> Message:
    return record_outcome_and_announce(
        request.runtime, request.client, request.actor, command.reference, command.outcome, command.note
    )


def _ideas(request: Request, command: IdeasCommand) -> Message:
    return show_ideas(request.runtime, request.actor, command.initiative_ref or "")


def _search_ideas(request: Request, command: IdeasSearchCommand) -> Message:
    return search_ideas(request.runtime, request.actor, command.text)


SUBCOMMANDS = (
    Subcommand(
        "idea",
        summary="Log an idea tried, then its outcome (worked, failed or dropped), so nobody repeats a dead end.",
        usage='/handoff idea churn "Try gradient boosting"  ·  /handoff idea outcome churn#i2 failed "no lift"',
        parse=undated(parse_idea),
        actions=(
            Action(IdeaAddCommand, _log_idea, "idea", slot=Slot.INITIATIVE_REF),
            Action(IdeaOutcomeCommand, _record_outcome, "idea", slot=Slot.ITEM),
        ),
        family="ideas",
        local_reference_actions=("outcome",),
    ),
    Subcommand(
        "ideas",
        summary="An initiative's ideas, newest first; `search` finds ideas across the workspace.",
        usage="/handoff ideas churn  ·  /handoff ideas search boosting",
        parse=undated(parse_ideas),
        actions=(
            Action(IdeasCommand, _ideas, "ideas", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(IdeasSearchCommand, _search_ideas, "ideas", Answer.IN_ACK),
        ),
        family="ideas",
    ),
)
