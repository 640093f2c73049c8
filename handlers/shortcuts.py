"""Shortcuts. From any message's "More actions" menu: log it as a blocker, add it as a checkpoint, log it as an
idea, attach its link as a doc; each opens the form prefilled from the message, linking back to it. From the
lightning-bolt menu: start a new initiative.

Each is acked at once and its form opened right after the ack, while the trigger (good once, for 3 seconds) is
fresh. The forms are the ones the commands and buttons open, submitted through the same steps, so a shortcut never
lets anyone do what the command would refuse them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ids
from bot.blocks.base import Message
from bot.blocks.capture_forms import NO_LINK, Prefill, SourceMessage, title_from_message
from bot.blocks.help import render_error
from bot.blocks.modals import render_new_initiative_modal
from bot.channel_initiative import initiative_for_message
from bot.errors import HandoffError
from bot.people import known_names
from bot.runtime import Runtime
from bot.text import first_link, people_mentioned, plain_from_message
from handlers.errors import after_ack
from handlers.modal_openers import (
    open_add_checkpoint_modal,
    open_add_doc_modal,
    open_log_idea_modal,
    open_report_blocker_modal,
)
from handlers.slack_people import quick_client
from handlers.tenancy import tenant_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shortcut:
    """A message shortcut's request as plain values: where it was used, and what the message says."""

    team_id: str
    trigger_id: str
    channel_id: str
    text: str  # as a person reads it: entities resolved, nothing escaped
    link: str | None  # the first link in the message
    initiative_ref: str | None  # the initiative the message is about, from its thread or channel
    source: SourceMessage


Opener = Callable[[Runtime, WebClient, Shortcut], Message | None]


def register(app: App, runtime: Runtime) -> None:
    def message_shortcut(opener: Opener) -> Callable[..., None]:
        @after_ack
        def open_form(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
            try:
                shortcut = read_shortcut(runtime, client, body, tenant_of(context))
                answer = opener(runtime, client, shortcut)
            except HandoffError as error:
                answer = render_error(error)
            if answer is not None:
                respond(response_type="ephemeral", replace_original=False, **answer.as_kwargs())

        return open_form

    app.shortcut(ids.SHORTCUT_LOG_BLOCKER)(ack=ack_only, lazy=[message_shortcut(open_blocker_form)])
    app.shortcut(ids.SHORTCUT_ADD_CHECKPOINT)(ack=ack_only, lazy=[message_shortcut(open_checkpoint_form)])
    app.shortcut(ids.SHORTCUT_LOG_IDEA)(ack=ack_only, lazy=[message_shortcut(open_idea_form)])
    app.shortcut(ids.SHORTCUT_ATTACH_DOC)(ack=ack_only, lazy=[message_shortcut(open_doc_form)])

    @after_ack
    def open_new_initiative(body: dict[str, Any], client: WebClient) -> None:
        # A global shortcut comes from no channel: the form's channel picker starts empty.
        client.views_open(trigger_id=body["trigger_id"], view=render_new_initiative_modal(channel_id=None))

    app.shortcut(ids.SHORTCUT_NEW_INITIATIVE)(ack=ack_only, lazy=[open_new_initiative])


def ack_only(ack: Ack) -> None:
    ack()


def open_blocker_form(runtime: Runtime, client: WebClient, shortcut: Shortcut) -> Message | None:
    return open_report_blocker_modal(
        runtime,
        client,
        team_id=shortcut.team_id,
        trigger_id=shortcut.trigger_id,
        channel_id=shortcut.channel_id,
        initiative_ref=shortcut.initiative_ref,
        text=shortcut.text,
        source=shortcut.source,
    )


def open_idea_form(runtime: Runtime, client: WebClient, shortcut: Shortcut) -> Message | None:
    return open_log_idea_modal(
        runtime,
        client,
        team_id=shortcut.team_id,
        trigger_id=shortcut.trigger_id,
        channel_id=shortcut.channel_id,
        initiative_ref=shortcut.initiative_ref,
        text=shortcut.text,
        source=SourceMessage(shortcut.source.permalink),
    )


def open_checkpoint_form(runtime: Runtime, client: WebClient, shortcut: Shortcut) -> Message | None:
    title = title_from_message(shortcut.text)
    return open_add_checkpoint_modal(
        runtime,
        client,
        team_id=shortcut.team_id,
        trigger_id=shortcut.trigger_id,
        channel_id=shortcut.channel_id,
        initiative_ref=shortcut.initiative_ref,
        prefill=Prefill(SourceMessage(shortcut.source.permalink), {ids.BLOCK_CHECKPOINT_TITLE: title}),
    )


def open_doc_form(runtime: Runtime, client: WebClient, shortcut: Shortcut) -> Message | None:
    source = SourceMessage(shortcut.source.permalink)
    if shortcut.link:
        prefill = Prefill(source, {ids.BLOCK_DOC_URL: shortcut.link})
    else:
        prefill = Prefill(source, {}, notice=NO_LINK)
    return open_add_doc_modal(
        runtime,
        client,
        team_id=shortcut.team_id,
        trigger_id=shortcut.trigger_id,
        channel_id=shortcut.channel_id,
        initiative_ref=shortcut.initiative_ref,
        kind=None,
        prefill=prefill,
    )


def read_shortcut(runtime: Runtime, client: WebClient, body: dict[str, Any], team_id: str) -> Shortcut:
    """A `message_action` payload as plain values: the message's text as read, its author unless a bot wrote it,
    the initiative its thread or channel points to, and its permalink."""
    message = body.get("message") or {}
    channel_id = str((body.get("channel") or {}).get("id") or "")
    user_id = str(body["user"]["id"])
    raw_text = str(message.get("text") or "")
    ts = str(message.get("ts") or body.get("message_ts") or "")
    from_bot = bool(message.get("bot_id")) or message.get("subtype") == "bot_message"
    author = None if from_bot else message.get("user")
    mentioned = people_mentioned(raw_text)
    with runtime.session() as session:
        initiative = initiative_for_message(
            session=session, team_id=team_id, channel_id=channel_id, thread_ts=message.get("thread_ts") or ts
        )
        # Cached names only: a `users.info` per mention could outlast the trigger, and Slack itself shows an id.
        names = known_names(session=session, team_id=team_id, user_ids=mentioned) if mentioned else {}
    message_link = _permalink_quickly(client, channel_id=channel_id, ts=ts) if channel_id and ts else None
    return Shortcut(
        team_id=team_id,
        trigger_id=str(body["trigger_id"]),
        channel_id=channel_id,
        text=plain_from_message(raw_text, names).strip(),
        link=first_link(raw_text),
        initiative_ref=initiative.ref_key if initiative is not None else None,
        # The author reports a blocker they wrote; the person using the shortcut reports a bot's.
        source=SourceMessage(message_link, reporter_id=str(author) if author and author != user_id else None),
    )


def _permalink_quickly(client: WebClient, *, channel_id: str, ts: str) -> str | None:
    """The message's permalink if Slack gives it at once; None when it refuses, is slow or is out of reach."""
    try:
        return str(quick_client(client).chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"])
    except SlackApiError as error:
        log.warning("no permalink for a message", extra={"slack_error": error.response.get("error")})
    except (SlackClientError, OSError) as error:
        log.warning("no permalink for a message; Slack out of reach", extra={"error": repr(error)})
    return None
