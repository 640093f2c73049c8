"""The Slack side of posting: channel failures become domain errors that say how to fix them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message
from bot.errors import SlackChannelUnavailable
from bot.initiatives import Initiative
from bot.people import UserProfile

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
        log.warning("no permalink for the kickoff message", extra={"slack_error": error.response.get("error")})
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


class SlackUserDirectory:
    """`UserDirectory` backed by `users.info`."""

    def __init__(self, client: WebClient):
        self._client = client

    def lookup(self, user_id: str) -> UserProfile | None:
        try:
            response = self._client.users_info(user=user_id)
        except SlackApiError as error:
            if error.response.get("error") in ("user_not_found", "users_not_found"):
                return None
            raise
        return profile_from_slack(response["user"])


def profile_from_slack(user: dict) -> UserProfile:
    """A profile from a `users.info` user object or a `user_change` event's user."""
    profile = user.get("profile") or {}
    return UserProfile(
        user_id=user["id"],
        name=user.get("name", ""),
        real_name=user.get("real_name") or profile.get("real_name", ""),
        tz=user.get("tz"),
        is_admin=bool(user.get("is_admin")),
        is_owner=bool(user.get("is_owner")),
        is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        deleted=bool(user.get("deleted")),
    )
