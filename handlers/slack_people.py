"""People as Slack knows them: the directory behind the people service (`users.info`), and a unit of work with
the people service on a session.

Each flow (in its family's module) runs after the ack, opens its own short sessions, and returns the private
confirmation to show. Domain errors propagate for the caller to render.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.people import PeopleService, UserProfile
from bot.runtime import Runtime

# Before a `views.open`, whose trigger is good for 3 seconds, a Slack call may take this long; a 429 is not waited out.
TRIGGER_PATH_SLACK_TIMEOUT_SECONDS = 1


def quick_client(client: WebClient, *, timeout: int = TRIGGER_PATH_SLACK_TIMEOUT_SECONDS) -> WebClient:
    """A client like `client` that fails fast (no retries, no waiting out a rate limit), for calls made within
    Slack's 3 seconds: before opening a form with a trigger, or inside an ack."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=timeout, retry_handlers=[])


@contextmanager
def unit_of_work(runtime: Runtime, client: WebClient, team_id: str) -> Iterator[tuple[Session, PeopleService]]:
    """A session and the people service on it; profiles fetched from Slack survive a rolled-back change."""
    directory = SlackUserDirectory(client)
    people: PeopleService | None = None
    try:
        with runtime.session() as session:
            people = PeopleService(session=session, directory=directory, team_id=team_id, now=runtime.clock.now())
            yield session, people
    except Exception:
        if people is not None and people.fetched:
            with runtime.session() as session:
                keeper = PeopleService(session=session, directory=directory, team_id=team_id, now=runtime.clock.now())
                for profile in people.fetched:
                    keeper.remember(profile)
        raise


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
