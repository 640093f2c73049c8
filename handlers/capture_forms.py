"""Submissions of the blocker and idea forms: the ack checks the fields with the services' own wording and keeps the
form open on a problem; after it, the same steps as `/handoff blocker` and `/handoff idea` record the change and
tell the thread, and the person who submitted hears the result privately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import blockers, ideas, ids
from bot.blocks.base import Message
from bot.blocks.problems import field_error
from bot.errors import FieldProblem, HandoffError
from bot.initiatives import Actor
from bot.runtime import Runtime
from handlers.blockers import report_and_announce
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.form_state import form_metadata, selected_value, text_value
from handlers.ideas import log_idea_and_announce
from handlers.tenancy import actor_of
from handlers.views import FORM_ACCEPTED, form_check, picked_ref_key, tell_privately

PICK_FOR_BLOCKER = "Pick the initiative this blocker holds up."
PICK_FOR_IDEA = "Pick the initiative this idea is for."
# A form's record step, run after the ack: the person, the picked initiative's key, the values and the metadata.
Record = Callable[[Actor, str, dict[str, Any], dict[str, Any]], Message]


def register(app: App, runtime: Runtime) -> None:
    def answered(
        body: dict[str, Any], client: WebClient, context: BoltContext, picker_block: str, usage_of: str, record: Record
    ) -> None:
        """Record the submitted form after the ack and answer the submitter privately where the form was opened."""
        if not context.get(FORM_ACCEPTED):
            return  # the form stayed open with its errors
        actor, values, metadata = actor_of(context, body["user"]["id"]), _values(body), form_metadata(body)
        try:
            ref = picked_ref_key(runtime, actor.team_id, _picked_id(values, picker_block))
            result = record(actor, ref, values, metadata)
        except HandoffError as error:
            result = error_answer(error, usage_of)
        tell_privately(client, _text_or_none(metadata.get("c")), actor.user_id, result)

    check_blocker = form_check(lambda body, _context: blocker_errors(_values(body)))

    @after_ack
    def report_blocker(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def record(actor: Actor, ref: str, values: dict[str, Any], metadata: dict[str, Any]) -> Message:
            return report_and_announce(
                runtime,
                client,
                actor,
                ref,
                text_value(values, ids.BLOCK_BLOCKER_TEXT),
                selected_value(values, ids.BLOCK_BLOCKER_DIRECTION),
                reporter=_text_or_none(metadata.get("r")),
                source=_text_or_none(metadata.get("s")),
            )

        answered(body, client, context, ids.BLOCK_BLOCKER_INITIATIVE, "blocker", record)

    app.view(ids.VIEW_REPORT_BLOCKER)(ack=check_blocker, lazy=[report_blocker])

    check_idea = form_check(lambda body, _context: idea_errors(_values(body)))

    @after_ack
    def log_idea(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def record(actor: Actor, ref: str, values: dict[str, Any], metadata: dict[str, Any]) -> Message:
            return log_idea_and_announce(
                runtime,
                client,
                actor,
                ref,
                text_value(values, ids.BLOCK_IDEA_TEXT),
                source=_text_or_none(metadata.get("s")),
            )

        answered(body, client, context, ids.BLOCK_IDEA_INITIATIVE, "idea", record)

    app.view(ids.VIEW_LOG_IDEA)(ack=check_idea, lazy=[log_idea])


def blocker_errors(values: dict[str, Any]) -> dict[str, str]:
    """The blocker form's problems by block: nothing picked, and the text as the service would refuse it."""
    errors = (
        {} if _picked_id(values, ids.BLOCK_BLOCKER_INITIATIVE) else {ids.BLOCK_BLOCKER_INITIATIVE: PICK_FOR_BLOCKER}
    )
    return errors | _first_error(
        ids.BLOCK_BLOCKER_TEXT, blockers.text_problems(text_value(values, ids.BLOCK_BLOCKER_TEXT))
    )


def idea_errors(values: dict[str, Any]) -> dict[str, str]:
    """The idea form's problems by block: nothing picked, and the text as the service would refuse it."""
    errors = {} if _picked_id(values, ids.BLOCK_IDEA_INITIATIVE) else {ids.BLOCK_IDEA_INITIATIVE: PICK_FOR_IDEA}
    problems = ideas.text_problems(text_value(values, ids.BLOCK_IDEA_TEXT))
    return errors | _first_error(ids.BLOCK_IDEA_TEXT, problems)


def _first_error(block_id: str, problems: list[FieldProblem]) -> dict[str, str]:
    return {block_id: field_error(problems[0])} if problems else {}


def _values(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["view"]["state"]["values"])


def _picked_id(values: dict[str, Any], block_id: str) -> int | None:
    raw = selected_value(values, block_id)
    return int(raw) if raw and raw.isdigit() else None


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None
