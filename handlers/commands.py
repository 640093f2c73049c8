"""The `/handoff` slash command: parse once, answer in the ack or after it, as the table of subcommands says.

Read-only answers (help, status, list, and every usage error) go back in the ack itself: they need only the
database, which answers in milliseconds. Anything that writes or calls Slack acks first and reports through
`respond`, because Slack gives a command 3 seconds and a users.info or chat.postMessage can take longer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import render_channel_initiative_note, render_choose_initiative
from bot.channel_initiative import NoInitiativeInChannel, SeveralInitiativesInChannel, resolve_in_channel
from bot.errors import HandoffError
from bot.runtime import Runtime
from bot.text import escape
from handlers.command_table import (
    Misuse,
    action_of,
    error_answer,
    parse_once,
    problem_answer,
    typed_name,
    typed_with_initiative,
)
from handlers.errors import after_ack
from handlers.subcommand import Answer, Command, Request
from handlers.tenancy import actor_of, tenant_of

PARSED = "handoff_parsed"  # the context key of the command parsed once per request


def register(app: App, runtime: Runtime) -> None:
    @app.middleware
    def parse_the_command(body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Parse once: the matcher, the ack and the lazy listener (which gets a copy of the context) all use it."""
        if body.get("command") == ids.COMMAND:
            context[PARSED] = parse_once(body.get("text") or "", today=runtime.today())
        return next()

    def is_answered_in_the_ack(context: BoltContext) -> bool:
        parsed = context[PARSED]
        return isinstance(parsed, Misuse) or action_of(parsed).answer_of(parsed) is Answer.IN_ACK

    def answer(ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """Help, status and usage errors need only the database: the answer is the ack itself."""
        parsed = context[PARSED]
        if isinstance(parsed, Misuse):
            ack(**problem_answer(parsed.message, parsed.usage_of).as_kwargs())
            return
        answer = _carry_out(_request(runtime, command, context, client), parsed, command.get("text") or "")
        if answer is None:  # only forms say nothing, and forms open after the ack
            ack()
        else:
            ack(**answer.as_kwargs())

    def ack_now(ack: Ack) -> None:
        ack()

    @after_ack
    def carry_out(
        body: dict[str, Any], command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        """After the ack: open the form, or make the change and answer privately; `body` is for `after_ack`."""
        request = _request(runtime, command, context, client)
        answer = _carry_out(request, context[PARSED], command.get("text") or "")
        if answer is not None:
            respond(response_type="ephemeral", **answer.as_kwargs())

    # Bolt tries listeners in order: read-only answers first, so they skip the lazy hand-off entirely.
    app.command(ids.COMMAND, matchers=[is_answered_in_the_ack])(answer)
    app.command(ids.COMMAND)(ack=ack_now, lazy=[carry_out])


def _request(runtime: Runtime, command: dict[str, Any], context: BoltContext, client: WebClient) -> Request:
    return Request(
        runtime=runtime,
        actor=actor_of(context, command["user_id"]),
        channel_id=command["channel_id"],
        client=client,
        trigger_id=command.get("trigger_id") or "",
        team_id=tenant_of(context),
    )


def _carry_out(request: Request, parsed: Command, text: str) -> Message | None:
    """Fill in this channel's initiative where the text left it out, then carry the command out; domain errors
    become the answer. None when a form opened and there is nothing more to say."""
    action = action_of(parsed)
    if action.prepare is not None:
        parsed = action.prepare(request, parsed)
        action = action_of(parsed)
    home: tuple[str, str] | None = None
    if action.left_out(parsed):
        with request.runtime.session() as session:
            try:
                found = resolve_in_channel(
                    session=session, team_id=request.actor.team_id, channel_id=request.channel_id, reference=None
                )
            except SeveralInitiativesInChannel as several:
                choices = [(i.name, i.ref_key, typed_with_initiative(text, i.ref_key)) for i in several.initiatives]
                return render_choose_initiative(choices, more=several.more)
            except NoInitiativeInChannel:
                problem = (
                    f"`{escape(typed_name(text))}` needs the initiative: no initiative has this channel as its home."
                )
                return problem_answer(problem, action.usage_for(parsed))
        parsed, home = action.filled_in(parsed, found.ref_key), (found.name, found.ref_key)
    try:
        answer = action.run(request, parsed)
    except HandoffError as error:
        return error_answer(error, action.usage_for(parsed), typed=text)
    if answer is None or home is None:
        return answer
    return render_channel_initiative_note(answer, *home)  # it opens with which initiative it took
