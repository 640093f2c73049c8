"""Posting to Slack: channel failures become domain errors that say how to fix them, and a change is told in its
initiative's thread."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Block, Message, actions
from bot.errors import HandoffError, SlackChannelUnavailable
from bot.initiatives import Initiative
from handlers.home_changes import initiative_changed

log = logging.getLogger(__name__)
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "restricted_action"})


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


def post_message(
    client: WebClient,
    *,
    channel_id: str,
    message: Message,
    thread_ts: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Posted:
    """Post, turning "can't post there" into `SlackChannelUnavailable`; other Slack errors propagate."""
    try:
        response = client.chat_postMessage(
            channel=channel_id, thread_ts=thread_ts, metadata=metadata, **message.as_kwargs()
        )
    except SlackApiError as error:
        code = error.response.get("error", "")
        if code in CHANNEL_ERRORS:
            raise SlackChannelUnavailable(channel_id, code) from error
        raise
    return Posted(channel_id=response["channel"], ts=response["ts"])


def permalink(client: WebClient, *, channel_id: str, ts: str) -> str | None:
    try:
        return client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
    except SlackApiError as error:
        log.warning("no permalink for a message", extra={"slack_error": error.response.get("error")})
        return None


def post_in_thread(client: WebClient, *, initiative: Initiative, message: Message) -> Posted:
    """Post an update in the initiative's thread, or in its home channel if the kickoff never made it."""
    if initiative.thread_channel_id and initiative.thread_ts:
        return post_message(
            client, channel_id=initiative.thread_channel_id, message=message, thread_ts=initiative.thread_ts
        )
    return post_message(client, channel_id=initiative.home_channel_id, message=message)


def delete_message(client: WebClient, *, posted: Posted) -> None:
    try:
        client.chat_delete(channel=posted.channel_id, ts=posted.ts)
    except SlackApiError as error:
        log.warning("could not delete a message", extra={"slack_error": error.response.get("error")})


def announce(
    client: WebClient, initiative: Initiative, update: Message, confirmation: str, *, undo: Block | None = None
) -> Message:
    """Post the update in the thread; the change is saved either way, so a failed post is reported, not raised.
    `undo` is a button that takes the change back, shown with the answer."""
    from bot.blocks.help import render_notice  # listeners' wording: loaded with them, not with scheduled posting
    from bot.blocks.problems import thread_post_failed

    initiative_changed(initiative)
    try:
        post_in_thread(client, initiative=initiative, message=update)
    except HandoffError as error:
        answer = thread_post_failed(confirmation, error)
    except SlackApiError as error:
        log.warning("thread update not posted", extra={"slack_error": error.response.get("error")})
        answer = f"{confirmation}\n:warning: Saved, but Slack refused the thread update; try again later."
    else:
        answer = confirmation
    notice = render_notice(answer)
    if undo is None:
        return notice
    return Message(notice.text, [*notice.blocks, actions(undo, block_id="undo_buttons")])
