"""Buttons: share a status in the channel, page through it, open details, start an initiative from App Home."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.help import render_error
from bot.blocks.modals import render_new_initiative_modal
from bot.blocks.status import render_detail, render_status_page
from bot.errors import HandoffError, UnknownInitiative
from bot.runtime import Runtime
from bot.status import ScopeKind, StatusScope, initiative_detail, status_page
from storage.initiatives import get_initiative

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.ACTION_STATUS_SHARE)
    def share_status(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = body["user"]["id"]
        message = _render_status_value(runtime, _team_id(body), action.get("value", ""), shared_by=user_id)
        if message is None:
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="That status is out of date; run `/handoff status` again.",
            )
            return
        # response_url posts in the channel even where the bot is not a member.
        respond(response_type="in_channel", replace_original=False, **message.as_kwargs())
        respond(delete_original=True)

    @app.action(ids.ACTION_STATUS_PREV)
    @app.action(ids.ACTION_STATUS_NEXT)
    def page_status(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        message = _render_status_value(runtime, _team_id(body), action.get("value", ""))
        if message is not None:
            respond(replace_original=True, **message.as_kwargs())

    @app.action(ids.ACTION_STATUS_DETAIL)
    def show_detail(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        message = _render_status_value(runtime, _team_id(body), action.get("value", ""))
        if message is not None:
            respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())

    @app.action(ids.ACTION_HOME_NEW)
    def open_new_from_home(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=render_new_initiative_modal(channel_id=None))


def _team_id(body: dict[str, Any]) -> str:
    return (body.get("team") or {}).get("id") or body["user"]["team_id"]


def _render_status_value(
    runtime: Runtime, team_id: str, raw_value: str, *, shared_by: str | None = None
) -> Message | None:
    """Re-read what a status button points at; None when the value is not one of ours."""
    try:
        value = json.loads(raw_value)
        kind, page = str(value["k"]), int(value.get("p", 1))
    except (ValueError, KeyError, TypeError):
        log.warning("status button with an unreadable value")
        return None
    now = runtime.clock.now()
    with runtime.session() as session:
        if kind == "detail":
            initiative = get_initiative(session=session, team_id=team_id, initiative_id=int(value.get("i", 0)))
            if initiative is None:
                return render_error(UnknownInitiative("(deleted)"))
            detail = initiative_detail(session=session, initiative=initiative, now=now)
            return render_detail(detail, jira_url=runtime.jira_url, shared_by=shared_by)
        if kind == "channel" and value.get("c"):
            scope = StatusScope(ScopeKind.CHANNEL, str(value["c"]))
        elif kind == "all":
            scope = StatusScope(ScopeKind.ALL)
        else:
            return None
        try:
            result = status_page(session=session, team_id=team_id, scope=scope, page=page, now=now)
        except HandoffError as error:
            return render_error(error)
        return render_status_page(result, jira_url=runtime.jira_url, shared_by=shared_by)
