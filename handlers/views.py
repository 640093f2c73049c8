"""Modal submissions. Field errors go back inline in the ack; the creation itself happens after it."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import render_error
from bot.errors import HandoffError
from bot.initiatives import Actor, Field, InitiativeDraft, validate_draft
from bot.runtime import Runtime
from bot.text import unescape
from handlers.errors import after_ack
from handlers.flows import create_and_announce, unit_of_work

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
    quick_client = WebClient(
        token=app.client.token, base_url=app.client.base_url, timeout=ACK_PATH_SLACK_TIMEOUT_SECONDS, retry_handlers=[]
    )

    def field_errors(body: dict[str, Any], client: WebClient) -> dict[str, str]:
        """Every problem with the submitted form, keyed by the block that shows it."""
        actor = _actor(body)
        draft, errors = draft_from_state(body["view"]["state"]["values"])
        if not errors:
            try:
                with unit_of_work(runtime, client, actor.team_id) as (session, people):
                    problems = validate_draft(
                        session=session, team_id=actor.team_id, draft=draft, people=people, today=runtime.today()
                    )
            except SlackClientError:
                log.warning("people not checked before the ack; Slack was slow or limiting")
                with runtime.session() as session:
                    problems = validate_draft(
                        session=session, team_id=actor.team_id, draft=draft, people=None, today=runtime.today()
                    )
            for problem in problems:
                # Modal errors are plain text, so the mrkdwn escaping in the message is undone.
                errors.setdefault(FIELD_BLOCKS.get(problem.field, ids.BLOCK_NEW_NAME), unescape(problem.message))
        return errors

    def check_new_initiative(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """Within 3 seconds: field errors go back inline and keep the form open; a valid form closes."""
        errors = field_errors(body, quick_client)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            # With process_before_response, Bolt copies the request for lazy listeners after this function
            # returns, so the lazy half sees this mark.
            context[FORM_ACCEPTED] = True
            ack()

    @after_ack
    def create_new_initiative(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not context.get(FORM_ACCEPTED):
            return  # the form stayed open with its errors
        actor = _actor(body)
        draft, _ = draft_from_state(body["view"]["state"]["values"])
        try:
            result = create_and_announce(runtime, client, actor, draft)
        except HandoffError as error:
            result = render_error(error, usage_of="new")
        tell_submitter(client, body, actor.user_id, result)

    app.view(ids.VIEW_NEW_INITIATIVE)(ack=check_new_initiative, lazy=[create_new_initiative])


def _actor(body: dict[str, Any]) -> Actor:
    return Actor(team_id=body["view"].get("team_id") or body["team"]["id"], user_id=body["user"]["id"])


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
