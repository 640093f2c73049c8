"""The outbox's senders: several destinations in flight at once, never two posts to one destination, each
delivery's parts in order in its thread, and one delivery's failure leaving the others to post."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from bot.app import LISTENER_THREADS, database_engine
from bot.blocks.base import Message
from bot.fake_slack import FakeSlack
from bot.http import SERVER_THREADS
from handlers.outbox import Delivery, Outbox, RunReport, senders_for
from tests.conftest import RunningApp, make_settings
from tests.support.workspace import ALICE, BOB, CAROL, DAVE

PARTS = 3


def outbox_of(running: RunningApp) -> Outbox:
    assert running.app.jobs is not None
    return running.app.jobs.outbox


def deliveries_to(*people: str) -> list[Delivery]:
    return [Delivery("T0001", person, [Message(f"{person} part {part}") for part in range(PARTS)]) for person in people]


class InFlight:
    """Watches the posting budget's turns: which destinations have a post between its turn and its return."""

    def __init__(self, running: RunningApp):
        self.lock = threading.Lock()
        self.now: set[str] = set()
        self.overlaps: list[str] = []  # destinations that got a second post while one was in flight
        self.most = 0
        self.several = threading.Event()
        budget = running.app.runtime.posting_budget
        wait_turn, sent = budget.wait_turn, budget.sent

        def watched_wait_turn(workspace: str, destination: str) -> float:
            with self.lock:
                if destination in self.now:
                    self.overlaps.append(destination)
                self.now.add(destination)
                self.most = max(self.most, len(self.now))
                if len(self.now) > 1:
                    self.several.set()
            # The first post waits for a second sender to start on another destination: senders run at once.
            self.several.wait(timeout=10)
            return wait_turn(workspace, destination)

        def watched_sent(workspace: str, destination: str, *, session: Session | None = None) -> None:
            sent(workspace, destination, session=session)
            with self.lock:
                self.now.discard(destination)

        budget.wait_turn = watched_wait_turn  # type: ignore[method-assign]
        budget.sent = watched_sent  # type: ignore[method-assign]


def test_senders_post_to_several_destinations_at_once_one_post_each_in_order(running: RunningApp) -> None:
    watch = InFlight(running)
    report = RunReport()
    batches = [deliveries_to(ALICE, BOB), deliveries_to(CAROL, DAVE)]
    outbox_of(running).deliver(batches, report)

    assert watch.most >= 2, "several destinations had a post in flight at once"
    assert watch.overlaps == [], "never two posts to one destination at once"
    assert sorted(report.posted) == sorted([ALICE, BOB, CAROL, DAVE]) and report.messages == 4 * PARTS
    for person in (ALICE, BOB, CAROL, DAVE):
        posted = running.fake.messages_in(person)
        assert [m.text for m in posted] == [f"{person} part {part}" for part in range(PARTS)]
        root = posted[0]
        assert root.thread_ts is None and all(m.thread_ts == root.ts for m in posted[1:]), "the rest in its thread"


def test_one_delivery_failing_leaves_the_others_to_post_then_is_raised(running: RunningApp) -> None:
    failing, *others = deliveries_to(ALICE, BOB, CAROL)
    recorded: list[str] = []

    def fail(_session: Session, _at: datetime) -> None:
        raise RuntimeError("the database went away")

    def record(person: str):  # type: ignore[no-untyped-def]
        return lambda _session, _at: recorded.append(person)

    failing.on_done = fail
    for delivery in others:
        delivery.on_done = record(delivery.destination)
    report = RunReport()

    with pytest.raises(RuntimeError, match="the database went away"):
        outbox_of(running).deliver([[failing], others], report)

    assert sorted(recorded) == sorted([BOB, CAROL]), "the other senders' deliveries were all posted and recorded"
    assert sorted(report.posted) == sorted([BOB, CAROL])
    for person in (BOB, CAROL):
        assert len(running.fake.messages_in(person)) == PARTS


def test_a_failure_while_composing_still_posts_what_was_composed(running: RunningApp) -> None:
    def batches() -> Iterator[list[Delivery]]:
        yield deliveries_to(ALICE)
        raise RuntimeError("composing failed")

    report = RunReport()
    with pytest.raises(RuntimeError, match="composing failed"):
        outbox_of(running).deliver(batches(), report)
    assert report.posted == [ALICE] and len(running.fake.messages_in(ALICE)) == PARTS


def test_stopping_finishes_every_post_in_flight_and_posts_nothing_more(running: RunningApp) -> None:
    outbox = outbox_of(running)
    outbox.senders = 2
    watch = InFlight(running)  # both senders have a post in flight before either goes on
    budget = running.app.runtime.posting_budget
    sent = budget.sent

    def stop_after_the_first_post(workspace: str, destination: str, *, session: Session | None = None) -> None:
        sent(workspace, destination, session=session)
        outbox.stop()

    budget.sent = stop_after_the_first_post  # type: ignore[method-assign]
    report = RunReport()
    outbox.deliver([deliveries_to(ALICE, BOB, CAROL)], report)

    assert watch.most == 2
    assert [len(running.fake.messages_in(person)) for person in (ALICE, BOB, CAROL)] == [1, 1, 0]
    assert report.messages == 2 and report.posted == []


def test_the_apps_engine_has_a_pooled_connection_for_every_sender_and_server_thread(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    """At the most posts a minute the setting accepts, the outbox keeps 32 senders; with the listener and HTTP server
    threads, they all hold a connection at once without waiting for one (PostgreSQL's default pool keeps 5)."""
    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(fake_slack, url, slack_posts_per_minute=6000)
    app_engine = database_engine(settings)
    try:
        threads = senders_for(6000) + SERVER_THREADS + LISTENER_THREADS
        assert isinstance(app_engine.pool, QueuePool) and app_engine.pool.size() > threads
        held = [app_engine.connect() for _ in range(threads)]
        assert all(not connection.closed for connection in held)
        for connection in held:
            connection.close()
    finally:
        app_engine.dispose()
