"""The steps every family's flows share: a unit of work on the people service, and telling the thread.

Each flow (in its family's module) runs after the ack, opens its own short sessions, and returns the private
confirmation to show. Domain errors propagate for the caller to render.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.base import Block, Message, actions
from bot.blocks.help import render_notice
from bot.blocks.problems import thread_post_failed
from bot.errors import HandoffError
from bot.initiatives import Initiative
from bot.people import PeopleService
from bot.runtime import Runtime
from handlers.slack_io import SlackUserDirectory, post_in_thread

log = logging.getLogger(__name__)


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


def announce(
    client: WebClient, initiative: Initiative, update: Message, confirmation: str, *, undo: Block | None = None
) -> Message:
    """Post the update in the thread; the change is saved either way, so a failed post is reported, not raised.
    `undo` is a button that takes the change back, shown with the answer."""
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
