"""Submissions of the blocker and idea forms: the ack checks the fields with the services' own wording and keeps the
form open on a problem; after it, the same steps as `/handoff blocker` and `/handoff idea` record the change and
tell the thread, and the person who submitted hears the result privately."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import blockers, ideas, ids
from bot.blocks.problems import field_error
from bot.errors import FieldProblem, HandoffError
from bot.initiatives import initiative_by_id
from bot.runtime import Runtime
from handlers.blockers import report_and_announce
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.form_state import selected_value, text_value
from handlers.ideas import log_idea_and_announce
from handlers.tenancy import actor_of
from handlers.views import FORM_ACCEPTED, form_check, tell_privately

PICK_FOR_BLOCKER = "Pick the initiative this blocker holds up."
PICK_FOR_IDEA = "Pick the initiative this idea is for."


def register(app: App, runtime: Runtime) -> None:
    check_blocker = form_check(lambda body, _context: blocker_errors(_values(body)))

    @after_ack
    def report_blocker(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return  # the form stayed open with its errors
        actor, values, metadata = actor_of(context, body["user"]["id"]), _values(body), form_metadata(body)
        try:
            ref = _ref_key_of(runtime, actor.team_id, _picked_id(values, ids.BLOCK_BLOCKER_INITIATIVE))
            result = report_and_announce(
                runtime,
                client,
                actor,
                ref,
                text_value(values, ids.BLOCK_BLOCKER_TEXT),
                selected_value(values, ids.BLOCK_BLOCKER_DIRECTION),
                reporter=_text_or_none(metadata.get("r")),
                source=_text_or_none(metadata.get("s")),
            )
        except HandoffError as error:
            result = error_answer(error, "blocker")
        tell_privately(client, _text_or_none(metadata.get("c")), actor.user_id, result)

    app.view(ids.VIEW_REPORT_BLOCKER)(ack=check_blocker, lazy=[report_blocker])

    check_idea = form_check(lambda body, _context: idea_errors(_values(body)))

    @after_ack
    def log_idea(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor, values, metadata = actor_of(context, body["user"]["id"]), _values(body), form_metadata(body)
        try:
            ref = _ref_key_of(runtime, actor.team_id, _picked_id(values, ids.BLOCK_IDEA_INITIATIVE))
            result = log_idea_and_announce(
                runtime,
                client,
                actor,
                ref,
                text_value(values, ids.BLOCK_IDEA_TEXT),
                source=_text_or_none(metadata.get("s")),
            )
        except HandoffError as error:
            result = error_answer(error, "idea")
        tell_privately(client, _text_or_none(metadata.get("c")), actor.user_id, result)

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


def _ref_key_of(runtime: Runtime, team_id: str, initiative_id: int | None) -> str:
    """The reference key of the initiative a form picked; one gone since raises `UnknownInitiative`."""
    with runtime.session() as session:
        return initiative_by_id(session=session, team_id=team_id, initiative_id=initiative_id or 0).ref_key


def form_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """What the form carried in `private_metadata`: `c` the channel, `s` the source message's permalink, `r` who
    reported a blocker."""
    try:
        value = json.loads(body["view"].get("private_metadata") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None
