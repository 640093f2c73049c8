"""This channel's initiative: the one a command means when it leaves the initiative out.

A channel that is home to exactly one active initiative (the set `status` shows there, paused and cancelled ones
included) lends it to every command, button and form typed in it that does not name one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from bot.errors import HandoffError, Problem
from bot.initiatives import resolve_initiative
from storage.initiatives import get_initiative_by_thread, list_initiatives_at_home
from storage.models import Initiative

# More than this many at home in one channel are listed as "and N more"; `status` shows them all.
LISTED_MAX = 10


class NoInitiativeInChannel(HandoffError):
    """The initiative was left out, and no active initiative has this channel as its home."""

    def __init__(self, channel_id: str):
        super().__init__(Problem.NO_INITIATIVE_IN_CHANNEL)
        self.channel_id = channel_id


class SeveralInitiativesInChannel(HandoffError):
    """The initiative was left out, and this channel is home to several; `initiatives` are the first few by name."""

    def __init__(self, channel_id: str, initiatives: Sequence[Initiative], more: bool):
        super().__init__(Problem.SEVERAL_INITIATIVES_IN_CHANNEL)
        self.channel_id = channel_id
        self.initiatives = list(initiatives)
        self.more = more


def resolve_in_channel(*, session: Session, team_id: str, channel_id: str | None, reference: str | None) -> Initiative:
    """The initiative named by `reference`, or, when it is None, the only active one at home in this channel."""
    if reference is not None:
        return resolve_initiative(session=session, team_id=team_id, reference=reference)
    if channel_id is None:
        raise NoInitiativeInChannel("")
    at_home = list_initiatives_at_home(session=session, team_id=team_id, channel_id=channel_id, limit=LISTED_MAX + 1)
    if not at_home:
        raise NoInitiativeInChannel(channel_id)
    if len(at_home) > 1:
        raise SeveralInitiativesInChannel(channel_id, at_home[:LISTED_MAX], more=len(at_home) > LISTED_MAX)
    return at_home[0]


def initiative_for_message(
    *, session: Session, team_id: str, channel_id: str, thread_ts: str | None
) -> Initiative | None:
    """The initiative a message is about: the one whose kickoff thread it is in (or heads), else the only active one
    at home in its channel; None when neither says."""
    if thread_ts:
        in_thread = get_initiative_by_thread(
            session=session, team_id=team_id, channel_id=channel_id, thread_ts=thread_ts
        )
        if in_thread is not None and not in_thread.archived:
            return in_thread
    try:
        return resolve_in_channel(session=session, team_id=team_id, channel_id=channel_id, reference=None)
    except (NoInitiativeInChannel, SeveralInitiativesInChannel):
        return None
