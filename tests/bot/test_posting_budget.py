"""The posting budget on a real database and a fixed clock: the pace of a destination and of its workspace, counted
from when a post came back, and shared by two budgets on one database playing two replicas."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import FixedClock
from bot.posting_budget import PostingBudget
from storage.db import make_engine, session_scope
from tests.support.workspace import GENERAL

START = datetime(2027, 1, 4, tzinfo=UTC)
TEAM, OTHER_TEAM = "T0001", "T0002"


def budget_on(engine: Engine, clock: FixedClock, per_minute: int | None = None) -> PostingBudget:
    def sessions() -> AbstractContextManager[Session]:
        return session_scope(engine)

    return PostingBudget(sessions=sessions, clock=clock, per_minute=per_minute)


class StillClock(FixedClock):
    """Time that stands still even while waiting: every booking then shows its turn as the wait it asks for."""

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_the_pace_counts_from_when_a_post_came_back(engine: Engine) -> None:
    clock = FixedClock(START)
    budget = budget_on(engine, clock)
    assert budget.wait_turn(TEAM, GENERAL) == 0
    clock.advance(timedelta(milliseconds=400))  # the post took 0.4 s to come back
    budget.sent(TEAM, GENERAL)
    assert budget.wait_turn(TEAM, GENERAL) == pytest.approx(1.0), "a full second from when it came back, not 0.6"
    assert budget.wait_turn(TEAM, "C0OTHER") == 0, "other channels do not wait"


def test_the_workspace_pace_also_counts_from_when_a_post_came_back(engine: Engine) -> None:
    """Under a workspace budget (here one a second), a post that came back late (a 429 waited out inside it) keeps
    the next one, to any channel, a full spacing behind it."""
    clock = FixedClock(START)
    budget = budget_on(engine, clock, per_minute=60)
    assert budget.wait_turn(TEAM, "U0ONE") == 0
    clock.advance(timedelta(seconds=3))
    budget.sent(TEAM, "U0ONE")
    assert budget.wait_turn(TEAM, "U0TWO") == pytest.approx(1.0)
    assert budget.wait_turn(TEAM, "U0THREE") == pytest.approx(1.0), "and the one after that is spaced in turn"


def test_a_replica_waits_for_the_turns_another_booked(engine: Engine) -> None:
    clock = FixedClock(START)
    replica = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        one, two = budget_on(engine, clock, per_minute=120), budget_on(replica, clock, per_minute=120)
        assert one.wait_turn(TEAM, GENERAL) == 0
        assert two.wait_turn(TEAM, GENERAL) == pytest.approx(1.0), "the channel's second, booked by the other"
        assert two.wait_turn(TEAM, "C0OTHER") == pytest.approx(0.5), "the workspace's spacing, booked by both"
        clock.advance(timedelta(seconds=2))  # the post to C0OTHER came back late
        two.sent(TEAM, "C0OTHER")
        assert one.wait_turn(TEAM, "C0THIRD") == pytest.approx(0.5), "spaced from when the other's post came back"
    finally:
        replica.dispose()


def test_each_workspace_has_a_budget_of_its_own(engine: Engine) -> None:
    clock = StillClock(START)
    budget = budget_on(engine, clock, per_minute=60)
    assert budget.wait_turn(TEAM, GENERAL) == 0
    assert budget.wait_turn(OTHER_TEAM, GENERAL) == 0, "a channel id names another channel in another workspace"
    assert budget.wait_turn(OTHER_TEAM, "C0OTHER") == pytest.approx(1.0), "that workspace's own pace"
    assert budget.wait_turn(TEAM, "C0OTHER") == pytest.approx(1.0), "not the sum of both workspaces' bookings"


def test_two_replicas_booking_at_once_never_share_a_turn(engine: Engine) -> None:
    """Two budgets with their own engines book from two threads at the same instant: every turn in the workspace is
    at least its spacing after the one before, and every channel's a second after its own before."""
    clock = StillClock(START)
    replica = make_engine(engine.url.render_as_string(hide_password=False))
    channels = [f"C0CH{n}" for n in range(4)]
    booked: list[tuple[str, float]] = []
    lock = threading.Lock()

    def book(budget: PostingBudget) -> None:
        for n in range(40):
            channel = channels[n % len(channels)]
            wait = budget.wait_turn(TEAM, channel)
            with lock:
                booked.append((channel, wait))

    try:
        budgets = [budget_on(engine, clock, per_minute=600), budget_on(replica, clock, per_minute=600)]
        threads = [threading.Thread(target=book, args=(budget,)) for budget in budgets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        replica.dispose()

    assert len(booked) == 80
    turns = sorted(wait for _channel, wait in booked)
    assert min(b - a for a, b in itertools.pairwise(turns)) == pytest.approx(0.1), "10 a second at most"
    by_channel: dict[str, list[float]] = defaultdict(list)
    for channel, wait in booked:
        by_channel[channel].append(wait)
    for waits in by_channel.values():
        waits.sort()
        assert min(b - a for a, b in itertools.pairwise(waits)) >= 1.0 - 1e-6


class OthersBookWhileWaiting(FixedClock):
    """Runs `meanwhile` (other channels booking their turns) the first time a booking sleeps, with time standing
    still while it runs, then sleeps as a fixed clock does."""

    def __init__(self, now: datetime):
        super().__init__(now)
        self.meanwhile: Callable[[], None] | None = None
        self._still = False

    def sleep(self, seconds: float) -> None:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            self._still = True
            meanwhile()
            self._still = False
        if self._still:
            self.slept.append(seconds)
        else:
            super().sleep(seconds)


def test_a_channel_waiting_for_its_own_second_holds_no_other_channel_back(engine: Engine) -> None:
    """A digest's continuation waits a second after its first part; the other channels' posts that queue
    meanwhile take the workspace's turns in between, instead of all waiting behind the continuation's second."""
    clock = OthersBookWhileWaiting(START)
    budget = budget_on(engine, clock, per_minute=600)  # a turn every 0.1 s
    assert budget.wait_turn(TEAM, GENERAL) == 0
    budget.sent(TEAM, GENERAL)
    others: list[float] = []
    clock.meanwhile = lambda: others.extend(budget.wait_turn(TEAM, f"C0OTHER{n}") for n in range(3))

    assert budget.wait_turn(TEAM, GENERAL) == pytest.approx(1.0), "the continuation, a second after its first part"
    assert others == pytest.approx([0.1, 0.2, 0.3]), "the others on the workspace's spacing, not after that second"
