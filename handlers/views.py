"""Modal submissions. Field errors go back inline in the ack; the change itself happens after it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient
from sqlmodel import Session

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import render_error
from bot.blocks.problems import field_error
from bot.checkpoints import CheckpointDraft, CheckpointField, due_problems, locate_by_id, title_problems
from bot.errors import FieldProblem, HandoffError
from bot.initiatives import Field, InitiativeDraft, initiative_by_id, normalize_jira_key, validate_draft
from bot.people import PeopleService
from bot.readiness import url_problem
from bot.runtime import Runtime
from handlers.checkpoints import add_and_announce, edit_and_announce, mitigate_and_announce
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.form_state import form_metadata, selected_value
from handlers.initiatives import create_and_announce
from handlers.pickers import picked_id
from handlers.readiness import add_doc_and_announce
from handlers.slack_people import quick_client, unit_of_work
from handlers.standups import answer_from_form, prompt_id_of, questions_from_form, save_questions, submit_answer
from handlers.tenancy import actor_of

log = logging.getLogger(__name__)

# Which modal block shows the error for each field a service can complain about.
FIELD_BLOCKS: dict[str, str] = {
    Field.NAME: ids.BLOCK_NEW_NAME,
    Field.CHANNEL: ids.BLOCK_NEW_CHANNEL,
    Field.DS: ids.BLOCK_NEW_DS,
    Field.ENG: ids.BLOCK_NEW_ENG,
    Field.EMBEDDED: ids.BLOCK_NEW_EMBEDDED,
    Field.GOAL: ids.BLOCK_NEW_GOAL,
    Field.JIRA: ids.BLOCK_NEW_JIRA,
    Field.DUE: ids.BLOCK_NEW_DUE,
}


ACK_PATH_SLACK_TIMEOUT_SECONDS = 2
FORM_ACCEPTED = "handoff_form_accepted"


def register(app: App, runtime: Runtime) -> None:
    # Inside the 3-second ack a users.info call may not retry or wait out a rate limit: this client gives up
    # quickly, and the people are then checked after the ack instead.
    quick = quick_client(app.client, timeout=ACK_PATH_SLACK_TIMEOUT_SECONDS)

    def field_errors(body: dict[str, Any], context: BoltContext, client: WebClient) -> dict[str, str]:
        """Every problem with the submitted form, keyed by the block that shows it."""
        actor = actor_of(context, body["user"]["id"])
        draft, errors = draft_from_state(body["view"]["state"]["values"])
        if not errors:

            def problems_with(session: Session, people: PeopleService | None) -> list[FieldProblem]:
                return validate_draft(
                    session=session,
                    team_id=actor.team_id,
                    draft=draft,
                    people=people,
                    today=runtime.today(),
                    jira_configured=runtime.jira is not None,
                )

            try:
                with unit_of_work(runtime, client, actor.team_id) as (session, people):
                    problems = problems_with(session, people)
            except (SlackClientError, OSError):  # a timeout is an OSError, not a SlackClientError
                log.warning("people not checked before the ack; Slack was slow or limiting")
                with runtime.session() as session:
                    problems = problems_with(session, None)
            for problem in problems:
                errors.setdefault(FIELD_BLOCKS.get(problem.field, ids.BLOCK_NEW_NAME), field_error(problem))
        return errors

    check_new_initiative = form_check(lambda body, context: field_errors(body, context, quick))

    @after_ack
    def create_new_initiative(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return  # the form stayed open with its errors
        actor = actor_of(context, body["user"]["id"])
        draft, _ = draft_from_state(body["view"]["state"]["values"])
        try:
            result = create_and_announce(runtime, client, actor, draft)
        except HandoffError as error:
            result = error_answer(error, "new")
        tell_submitter(client, body, actor.user_id, result)

    app.view(ids.VIEW_NEW_INITIATIVE)(ack=check_new_initiative, lazy=[create_new_initiative])

    check_new_checkpoint = form_check(
        lambda body, _context: checkpoint_from_state(body["view"]["state"]["values"], today=runtime.today())[2]
    )

    @after_ack
    def add_new_checkpoint(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor = actor_of(context, body["user"]["id"])
        initiative_id, draft, _ = checkpoint_from_state(body["view"]["state"]["values"], today=runtime.today())
        try:
            ref = picked_ref_key(runtime, actor.team_id, initiative_id)
            result = add_and_announce(runtime, client, actor, ref, draft, source=form_metadata(body).get("s"))
        except HandoffError as error:
            result = error_answer(error, "checkpoint add")
        tell_privately(client, form_metadata(body).get("c"), actor.user_id, result)

    app.view(ids.VIEW_ADD_CHECKPOINT)(ack=check_new_checkpoint, lazy=[add_new_checkpoint])

    check_new_doc = form_check(lambda body, _context: doc_from_state(body["view"]["state"]["values"])[-1])

    @after_ack
    def add_new_doc(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor = actor_of(context, body["user"]["id"])
        initiative_id, kind, url, note, _ = doc_from_state(body["view"]["state"]["values"])
        try:
            ref = picked_ref_key(runtime, actor.team_id, initiative_id)
            result = add_doc_and_announce(
                runtime, client, actor, ref, kind, url, note, source=form_metadata(body).get("s")
            )
        except HandoffError as error:
            result = error_answer(error, "doc")
        tell_privately(client, form_metadata(body).get("c"), actor.user_id, result)

    app.view(ids.VIEW_ADD_DOC)(ack=check_new_doc, lazy=[add_new_doc])

    check_link = form_check(
        lambda body, _context: (
            {}
            if picked_id(selected_value(body["view"]["state"]["values"], ids.BLOCK_LINK_CHECKPOINT))
            else {ids.BLOCK_LINK_CHECKPOINT: "Pick the checkpoint this issue tracks."}
        )
    )

    @after_ack
    def link_issue(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor = actor_of(context, body["user"]["id"])
        metadata = form_metadata(body)
        checkpoint_id = picked_id(selected_value(body["view"]["state"]["values"], ids.BLOCK_LINK_CHECKPOINT)) or 0
        try:
            with runtime.session() as session:
                ref = locate_by_id(session=session, team_id=actor.team_id, checkpoint_id=checkpoint_id).ref
            result = edit_and_announce(runtime, client, actor, ref, {CheckpointField.JIRA: str(metadata.get("k", ""))})
        except HandoffError as error:
            result = error_answer(error, "checkpoint edit")
        tell_privately(client, metadata.get("c"), actor.user_id, result, thread_ts=metadata.get("t"))

    app.view(ids.VIEW_LINK_ISSUE)(ack=check_link, lazy=[link_issue])

    check_mitigation = form_check(
        lambda body, _context: {} if _plan_text(body) else {ids.BLOCK_MITIGATION_PLAN: "Say what the plan is."}
    )

    @after_ack
    def record_mitigation(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor, metadata = actor_of(context, body["user"]["id"]), form_metadata(body)
        try:
            result = mitigate_and_announce(runtime, client, actor, str(metadata.get("r") or ""), _plan_text(body))
        except HandoffError as error:
            result = error_answer(error, "checkpoint mitigate")
        tell_privately(client, metadata.get("c"), actor.user_id, result)

    app.view(ids.VIEW_MITIGATION)(ack=check_mitigation, lazy=[record_mitigation])

    def accept(ack: Ack) -> None:
        ack()

    @after_ack
    def post_standup(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        actor = actor_of(context, body["user"]["id"])
        try:
            submit_answer(
                runtime,
                client,
                actor,
                prompt_id_of(body["view"].get("private_metadata") or "{}"),
                answer_from_form(body["view"]["state"]["values"]),
            )
        except HandoffError as error:
            tell_privately(client, None, actor.user_id, render_error(error))

    app.view(ids.VIEW_STANDUP)(ack=accept, lazy=[post_standup])

    check_questions = form_check(
        lambda body, _context: (
            {}
            if any(q.strip() for q in questions_from_form(body["view"]["state"]["values"]))
            else {ids.block_standup_question(0): "Keep at least one question."}
        )
    )

    @after_ack
    def save_standup_questions(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return
        actor, metadata = actor_of(context, body["user"]["id"]), form_metadata(body)
        questions = questions_from_form(body["view"]["state"]["values"])
        try:
            result = save_questions(runtime, client, actor, int(metadata.get("i") or 0), questions)
        except HandoffError as error:
            result = error_answer(error, "standup")
        tell_privately(client, metadata.get("c"), actor.user_id, result)

    app.view(ids.VIEW_STANDUP_QUESTIONS)(ack=check_questions, lazy=[save_standup_questions])


def form_check(errors_of: Callable[[dict[str, Any], BoltContext], dict[str, str]]) -> Callable[..., None]:
    """A form's ack, within Slack's 3 seconds: field errors go back inline and keep the form open; a valid form
    closes and is marked accepted. With process_before_response, Bolt copies the request for the lazy half after
    the ack returns, so the lazy half sees the mark."""

    def check(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        errors = errors_of(body, context)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        context[FORM_ACCEPTED] = True
        ack()

    return check


def picked_ref_key(runtime: Runtime, team_id: str, initiative_id: int | None) -> str:
    """The reference key of the initiative a form picked; one gone since raises `UnknownInitiative`."""
    with runtime.session() as session:
        return initiative_by_id(session=session, team_id=team_id, initiative_id=initiative_id or 0).ref_key


def checkpoint_from_state(values: dict[str, Any], *, today: date) -> tuple[int | None, CheckpointDraft, dict[str, str]]:
    """Read the checkpoint form; problems that need no database go back inline in the ack."""

    def element(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(ids.INPUT_ACTION) or {}

    errors: dict[str, str] = {}
    initiative_id = picked_id(selected_value(values, ids.BLOCK_CHECKPOINT_INITIATIVE))
    if initiative_id is None:
        errors[ids.BLOCK_CHECKPOINT_INITIATIVE] = "Pick the initiative this checkpoint belongs to."
    title = " ".join((element(ids.BLOCK_CHECKPOINT_TITLE).get("value") or "").split())
    due = None
    raw_date = element(ids.BLOCK_CHECKPOINT_DUE).get("selected_date")
    if raw_date:
        try:
            due = date.fromisoformat(raw_date)
        except ValueError:
            errors[ids.BLOCK_CHECKPOINT_DUE] = "Pick a date from the calendar."
    jira = (element(ids.BLOCK_CHECKPOINT_JIRA).get("value") or "").strip() or None
    for problem in title_problems(title) + due_problems(due, today):
        block = ids.BLOCK_CHECKPOINT_TITLE if problem.field == CheckpointField.TITLE else ids.BLOCK_CHECKPOINT_DUE
        errors.setdefault(block, field_error(problem))
    if jira and jira.lower() != "new" and normalize_jira_key(jira) is None:
        errors[ids.BLOCK_CHECKPOINT_JIRA] = f'"{jira}" is not a Jira issue key; use the form DS-42, or new.'
    draft = CheckpointDraft(
        title=title, owner_id=element(ids.BLOCK_CHECKPOINT_OWNER).get("selected_user"), due_date=due, jira=jira
    )
    return initiative_id, draft, errors


def doc_from_state(values: dict[str, Any]) -> tuple[int | None, str, str, str | None, dict[str, str]]:
    """Read the doc form: (initiative id, kind, link, note, errors to show inline)."""
    errors: dict[str, str] = {}
    initiative_id = picked_id(selected_value(values, ids.BLOCK_DOC_INITIATIVE))
    if initiative_id is None:
        errors[ids.BLOCK_DOC_INITIATIVE] = "Pick the initiative this doc belongs to."
    kind = selected_value(values, ids.BLOCK_DOC_KIND) or ""
    if not kind:
        errors[ids.BLOCK_DOC_KIND] = "Pick what the doc is."
    url = (((values.get(ids.BLOCK_DOC_URL) or {}).get(ids.INPUT_ACTION) or {}).get("value") or "").strip()
    problem = url_problem(url)
    if problem:
        errors[ids.BLOCK_DOC_URL] = field_error(problem)
    note = (((values.get(ids.BLOCK_DOC_NOTE) or {}).get(ids.INPUT_ACTION) or {}).get("value") or "").strip() or None
    return initiative_id, kind, url, note, errors


def _plan_text(body: dict[str, Any]) -> str:
    values = body["view"]["state"]["values"]
    element = (values.get(ids.BLOCK_MITIGATION_PLAN) or {}).get(ids.INPUT_ACTION) or {}
    return str(element.get("value") or "").strip()


def tell_privately(
    client: WebClient, channel_id: str | None, user_id: str, message: Message, *, thread_ts: str | None = None
) -> None:
    """An ephemeral answer in the channel the form came from, or a direct message when that fails."""
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, thread_ts=thread_ts, **message.as_kwargs())
            return
        except SlackClientError as error:
            log.warning("ephemeral answer refused; sending a direct message", extra={"error": type(error).__name__})
    client.chat_postMessage(channel=user_id, **message.as_kwargs())


def draft_from_state(values: dict[str, Any]) -> tuple[InitiativeDraft, dict[str, str]]:
    """Read the modal's inputs; returns the draft and any errors Slack's own inputs cannot prevent."""

    def element(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(ids.INPUT_ACTION) or {}

    errors: dict[str, str] = {}
    name = element(ids.BLOCK_NEW_NAME).get("value") or ""
    channel_id = element(ids.BLOCK_NEW_CHANNEL).get("selected_conversation") or ""
    if not channel_id:
        errors[ids.BLOCK_NEW_CHANNEL] = "Pick the channel both teams will follow this initiative in."
    raw_date = element(ids.BLOCK_NEW_DUE).get("selected_date")
    target_date = None
    if raw_date:
        try:
            target_date = date.fromisoformat(raw_date)
        except ValueError:
            errors[ids.BLOCK_NEW_DUE] = "Pick a date from the calendar."
    draft = InitiativeDraft(
        name=name,
        home_channel_id=channel_id,
        ds_lead_id=element(ids.BLOCK_NEW_DS).get("selected_user"),
        eng_lead_id=element(ids.BLOCK_NEW_ENG).get("selected_user"),
        embedded_engineer_id=element(ids.BLOCK_NEW_EMBEDDED).get("selected_user"),
        goal=(element(ids.BLOCK_NEW_GOAL).get("value") or "").strip() or None,
        jira_epic_key=(element(ids.BLOCK_NEW_JIRA).get("value") or "").strip() or None,
        target_date=target_date,
    )
    return draft, errors


def tell_submitter(client: WebClient, body: dict[str, Any], user_id: str, message: Message) -> None:
    """Answer privately in the picked channel via its response_url, or by direct message without one."""
    for target in body.get("response_urls") or []:
        response = WebhookClient(target["response_url"]).send(response_type="ephemeral", **message.as_kwargs())
        if response.status_code == 200:
            return
        log.warning("response_url refused the result", extra={"status": response.status_code})
    client.chat_postMessage(channel=user_id, **message.as_kwargs())
