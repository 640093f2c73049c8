"""The posting budget of each workspace, shared by every replica through the database.

Slack takes about one message a second in each channel and limits how fast an app posts across a workspace
(`HANDOFF_SLACK_POSTS_PER_MINUTE`). Each replica books its turns in one short transaction that locks the
workspace's row and the destination's, so two replicas never post in the same turn. Turns are wall-clock times:
replicas share no monotonic clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from storage import posting as queries
from storage.db import within

CHANNEL_INTERVAL = timedelta(seconds=1)  # Slack's pace for one channel or DM
NEVER_BOOKED = datetime.min.replace(tzinfo=UTC)


class PostingBudget:
    """Books turns to post to a destination of a workspace: `wait_turn` before each post, `sent` once it returned."""

    def __init__(
        self,
        *,
        sessions: Callable[[], AbstractContextManager[Session]],
        clock: Clock,
        per_minute: int | None,
        interval: timedelta = CHANNEL_INTERVAL,
    ):
        self._sessions = sessions
        self._clock = clock
        self._interval = interval
        # Spread posts evenly under the workspace's limit; None: only each destination is paced.
        self._spacing = timedelta(seconds=60.0 / per_minute) if per_minute else timedelta(0)
        # The turns this process last saw booked, to order its own waiting posts without asking the database.
        self._seen: dict[tuple[str, str], datetime] = {}
        self._seen_lock = threading.Lock()

    def wait_turn(self, workspace: str, destination: str) -> float:
        """Book the destination's next turn in the workspace and wait until it comes; returns the seconds waited.

        A destination whose own pace binds (a digest's continuation, a second after its first part) is waited for
        before its workspace turn is booked: booked at once, that turn would hold back every post booked after it,
        to any destination, until then.
        """
        began: datetime | None = None
        waited_for: datetime | None = None
        while True:
            with self._sessions() as session:
                whole, own = queries.lock_turns(
                    session=session, team_id=workspace, destination=destination, now=self._clock.now()
                )
                now = self._clock.now()  # once the rows are ours: a booking that queued counts from when it got them
                began = began or now
                free = max(now, whole)  # the workspace's first turn nobody has booked yet
                if own > free + self._spacing and own != waited_for:
                    waited_for = own
                    # Other posts queued for the workspace's turns (those beyond its spacing) take about as long to
                    # leave as they are queued: book that much before the destination's own turn.
                    queued = max(timedelta(0), whole - now - self._spacing)
                else:
                    turn = max(free, own)
                    queries.book_turns(
                        session=session,
                        team_id=workspace,
                        destination=destination,
                        workspace_next=turn + self._spacing,
                        destination_next=turn + self._interval,
                    )
                    break
            self._clock.sleep((own - now - queued).total_seconds())
        self._remember(workspace, destination, turn + self._interval)
        wait = (turn - self._clock.now()).total_seconds()
        if wait > 0:
            self._clock.sleep(wait)
        return max(0.0, (turn - began).total_seconds())

    def sent(self, workspace: str, destination: str, *, session: Session | None = None) -> None:
        """The send just returned: the next one waits a full interval from now. Counting from when the send began
        is not enough, as a send that travels slowly (or waited out a 429) arrives later than it left. In `session`
        when given, so the post's own record shares its transaction."""
        now = self._clock.now()
        own_next = now + self._interval
        with within(self._sessions, session) as in_session:
            # The workspace's pace too: a send that overran its spacing (a 429 waited out inside it) must not let
            # the next one, from any replica, leave at once and draw a 429 of its own. Its row first, as bookings
            # lock them, so a booking and this never wait on each other's rows.
            queries.push_turn(
                session=in_session,
                team_id=workspace,
                destination=queries.WORKSPACE_TURN,
                to=now + self._spacing,
                if_before=now,
            )
            queries.push_turn(
                session=in_session, team_id=workspace, destination=destination, to=own_next, if_before=own_next
            )
        with self._seen_lock:
            seen = self._seen.get((workspace, destination), NEVER_BOOKED)
            self._seen[(workspace, destination)] = max(seen, own_next)

    def next_turn(self, workspace: str, destination: str) -> datetime:
        """When this process last saw the destination's next turn booked: a hint for ordering posts (another
        replica may have booked later turns since); `NEVER_BOOKED` if it has not posted there."""
        with self._seen_lock:
            return self._seen.get((workspace, destination), NEVER_BOOKED)

    def _remember(self, workspace: str, destination: str, next_at: datetime) -> None:
        with self._seen_lock:
            self._seen[(workspace, destination)] = next_at
