"""The slot ledger against a real SQLite file and a fixed clock: claims, leases, backoff, give-up, takeover, skipping
and pruning, with two ledgers on one database playing two replicas."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import FixedClock
from bot.metrics import Metrics
from bot.recurrence import WORKING_DAYS, Schedule, Slot
from bot.retry_after import retry_after_seconds
from bot.slot_ledger import LEASE, MAX_BACKOFF, RETRY_FOR, Job, SlotLedger
from storage.db import session_scope
from storage.models import JobRun, JobRunState
from tests.conftest import RunningApp
from tests.support.workspace import GENERAL, NOW

TARGET = f"T0001:{GENERAL}"
SLOT = Slot("2027-01-04", NOW)


def ledger_on(engine: Engine, clock: FixedClock, catch_up_within: timedelta | None = None) -> SlotLedger:
    def sessions() -> AbstractContextManager[Session]:
        return session_scope(engine)

    return SlotLedger(sessions=sessions, clock=clock, catch_up_within=catch_up_within)


@pytest.fixture
def ledger(engine: Engine, clock: FixedClock) -> SlotLedger:
    return ledger_on(engine, clock)


@pytest.fixture
def replica(engine: Engine, clock: FixedClock) -> SlotLedger:
    return ledger_on(engine, clock)


def stored(engine: Engine) -> Iterator[JobRun]:
    with Session(engine) as session:
        yield from session.exec(select(JobRun).order_by(col(JobRun.id))).all()


def only_run(engine: Engine) -> JobRun:
    [run] = list(stored(engine))
    return run


def test_a_slot_is_claimed_once_across_replicas(ledger: SlotLedger, replica: SlotLedger, engine: Engine) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)

    assert claim is not None and claim.lease_until == NOW + LEASE
    assert replica.claim(Job.DIGEST, TARGET, SLOT, now=NOW) is None
    assert ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW + timedelta(days=1)) is None, "not by its holder either"
    run = only_run(engine)
    assert (run.state, run.holder, run.due_at, run.claimed_at) == (JobRunState.CLAIMED.value, ledger.holder, NOW, NOW)
    assert ledger.known([Job.DIGEST], since=NOW - timedelta(days=1)) == {("digest", TARGET, SLOT.key)}
    assert ledger.known([Job.NUDGES], since=NOW - timedelta(days=1)) == set()


def test_a_claim_made_in_the_callers_session_is_undone_with_it(ledger: SlotLedger, engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        assert ledger.claim(Job.STANDUP, TARGET, SLOT, now=NOW, session=session) is not None
        raise RuntimeError("recording what the claim stands for failed")

    assert list(stored(engine)) == []
    assert ledger.claim(Job.STANDUP, TARGET, SLOT, now=NOW) is not None


def test_a_claim_is_renewed_once_half_its_lease_has_gone(
    ledger: SlotLedger, replica: SlotLedger, engine: Engine, clock: FixedClock
) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None

    clock.set(NOW + LEASE / 2 - timedelta(seconds=1))
    assert claim.renew() and claim.lease_until == NOW + LEASE, "early on, nothing is written"
    clock.set(NOW + LEASE / 2)
    assert claim.renew() and claim.lease_until == clock.now() + LEASE
    assert only_run(engine).lease_until == clock.now() + LEASE

    clock.set(claim.lease_until + timedelta(seconds=1))
    [taken] = replica.take_over_lapsed([Job.DIGEST], now=clock.now())
    assert not claim.renew(), "a lapsed claim another holder took is lost"
    assert not claim.record_progress(root_ts="1.0", parts_posted=1)
    assert not claim.complete(root_ts="1.0", parts_posted=1)
    assert taken.record_progress(root_ts="1.0", parts_posted=1)
    run = only_run(engine)
    assert (run.state, run.holder, run.parts_posted) == (JobRunState.CLAIMED.value, replica.holder, 1)


def test_a_lapsed_claim_is_taken_over_only_once_its_lease_ends_and_by_one_holder(
    ledger: SlotLedger, replica: SlotLedger, engine: Engine
) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None and claim.record_progress(root_ts="1.0", parts_posted=1)
    lapsed_at = NOW + LEASE

    assert list(replica.take_over_lapsed([Job.DIGEST], now=lapsed_at - timedelta(seconds=1))) == []
    assert list(replica.take_over_lapsed([Job.NUDGES], now=lapsed_at)) == []
    assert list(replica.take_over_lapsed([Job.DIGEST], now=lapsed_at, target="T0001:C0OTHER")) == []
    [taken] = replica.take_over_lapsed([Job.DIGEST], now=lapsed_at)
    assert list(ledger.take_over_lapsed([Job.DIGEST], now=lapsed_at)) == []

    assert (taken.id, taken.run.parts_posted, taken.run.root_ts, taken.run.claimed_at) == (claim.id, 1, "1.0", NOW)
    assert taken.lease_until == lapsed_at + LEASE
    assert only_run(engine).holder == replica.holder


def test_taking_over_one_slot_says_how_it_stood(ledger: SlotLedger, replica: SlotLedger, clock: FixedClock) -> None:
    assert ledger.take_over(Job.DIGEST, TARGET, SLOT.key, now=NOW) == (None, None)
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None

    existing, taken = replica.take_over(Job.DIGEST, TARGET, SLOT.key, now=NOW + timedelta(minutes=1))
    assert existing is not None and existing.state == JobRunState.CLAIMED.value and taken is None

    existing, taken = replica.take_over(Job.DIGEST, TARGET, SLOT.key, now=NOW + LEASE)
    assert taken is not None and taken.id == claim.id
    taken.finish()
    existing, taken = ledger.take_over(Job.DIGEST, TARGET, SLOT.key, now=NOW + 2 * LEASE)
    assert existing is not None and existing.state == JobRunState.DONE.value and taken is None


def test_complete_records_the_progress_and_what_the_work_stands_for_at_once(
    ledger: SlotLedger, engine: Engine, clock: FixedClock
) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None
    clock.advance(timedelta(seconds=3))
    seen: list[datetime] = []

    assert claim.complete(root_ts="1.0", parts_posted=2, then=lambda _session, at: seen.append(at))

    run = only_run(engine)
    assert (run.state, run.parts_posted, run.root_ts, run.lease_until) == (JobRunState.DONE.value, 2, "1.0", None)
    assert run.finished_at == clock.now() and seen == [clock.now()]


def test_a_failure_backs_off_doubling_to_an_hour_and_waits_out_a_retry_after(
    ledger: SlotLedger, engine: Engine, clock: FixedClock
) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None
    waits = []
    for _ in range(8):
        waits.append(claim.fail("internal_error", root_ts=None, parts_posted=0))
        clock.advance(waits[-1])
        [claim] = ledger.take_over_lapsed([Job.DIGEST], now=clock.now())

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32)] + [MAX_BACKOFF] * 2
    assert claim.fail("ratelimited", root_ts="1.0", parts_posted=1, at_least=MAX_BACKOFF * 2) == MAX_BACKOFF * 2
    run = only_run(engine)
    assert (run.attempts, run.last_error, run.parts_posted, run.lease_until) == (
        9,
        "ratelimited",
        1,
        clock.now() + MAX_BACKOFF * 2,
    )
    assert claim.fail("internal_error", root_ts="1.0", parts_posted=1, at_once=True) == timedelta(0)


def test_a_slot_failing_for_a_day_is_given_up_and_logged_as_an_error(
    ledger: SlotLedger, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    claim = ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None
    claim.fail("internal_error", root_ts=None, parts_posted=0)
    [claim] = ledger.take_over_lapsed([Job.DIGEST], now=NOW + RETRY_FOR)
    assert not claim.overdue(NOW + RETRY_FOR)
    assert claim.overdue(NOW + RETRY_FOR + timedelta(seconds=1))

    claim.give_up({"channel": GENERAL})

    run = only_run(engine)
    assert (run.state, run.last_error) == (JobRunState.FAILED.value, "gave up after 1 attempts: internal_error")
    [record] = [r for r in caplog.records if r.getMessage() == "slot given up"]
    assert record.levelno == logging.ERROR
    assert [getattr(record, k) for k in ("job", "channel", "slot", "error")] == [
        "digest",
        GENERAL,
        SLOT.key,
        "internal_error",
    ]


def test_a_skipped_slot_is_recorded_and_logged_once(
    ledger: SlotLedger, replica: SlotLedger, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    about = {"channel": GENERAL}
    assert ledger.skip(Job.DIGEST, TARGET, SLOT, now=NOW, reason="missed", about=about)
    assert not replica.skip(Job.DIGEST, TARGET, SLOT, now=NOW, reason="missed", about=about)
    assert replica.claim(Job.DIGEST, TARGET, SLOT, now=NOW) is None
    assert ledger.skip(Job.STANDUP_MISSED, "7", SLOT, now=NOW, reason="the day ended without an answer")

    [record] = [r for r in caplog.records if r.getMessage().startswith("slot skipped")]
    assert (record.getMessage(), record.levelno, getattr(record, "channel", None)) == (
        "slot skipped: missed",
        logging.WARNING,
        GENERAL,
    )
    assert [(r.job, r.state, r.last_error) for r in stored(engine)] == [
        ("digest", JobRunState.SKIPPED.value, "missed"),
        ("standup-missed", JobRunState.SKIPPED.value, "the day ended without an answer"),
    ]


def test_the_grace_window_is_the_slots_local_day_or_the_catch_up_setting(engine: Engine, clock: FixedClock) -> None:
    berlin = Schedule(time(9, 0), "Europe/Berlin", WORKING_DAYS)
    monday = Slot("2027-01-04", datetime(2027, 1, 4, 8, 0, tzinfo=UTC))
    same_day, next_day = datetime(2027, 1, 4, 22, 59, tzinfo=UTC), datetime(2027, 1, 4, 23, 0, tzinfo=UTC)

    assert ledger_on(engine, clock).within_grace(monday, berlin, same_day)
    assert not ledger_on(engine, clock).within_grace(monday, berlin, next_day)
    two_hours = ledger_on(engine, clock, timedelta(hours=2))
    assert two_hours.within_grace(monday, berlin, monday.due_at + timedelta(hours=2))
    assert not two_hours.within_grace(monday, berlin, monday.due_at + timedelta(hours=2, seconds=1))
    never_late = ledger_on(engine, clock, timedelta(0))
    assert never_late.within_grace(monday, berlin, monday.due_at + timedelta(minutes=2)), "a timer reads it late"
    assert not never_late.within_grace(monday, berlin, monday.due_at + timedelta(minutes=3))


def test_a_forced_run_gets_a_claim_of_its_own_beside_the_slots(ledger: SlotLedger, engine: Engine) -> None:
    assert ledger.claim(Job.DIGEST, TARGET, SLOT, now=NOW) is not None
    forced = ledger.force(Job.DIGEST, TARGET, SLOT, now=NOW)

    runs = list(stored(engine))
    assert len(runs) == 2 and runs[1].id == forced.id and runs[1].slot.startswith(f"{SLOT.key}+")


def test_finished_slots_are_pruned_after_a_month_and_claims_never(running: RunningApp) -> None:
    now = running.clock.now()
    with Session(running.engine) as session:
        for slot, days_ago, state in (("old", 31, "done"), ("recent", 29, "done"), ("stuck", 40, "claimed")):
            due = now - timedelta(days=days_ago)
            session.add(JobRun(job="digest", target=TARGET, slot=slot, due_at=due, state=state, claimed_at=due))
        session.commit()
    assert running.app.jobs is not None
    running.app.jobs.run_due()
    with Session(running.engine) as session:
        left = {run.slot for run in session.exec(select(JobRun)).all()}
    assert left == {"recent", "stuck"}


def test_pruning_runs_at_most_once_an_hour(ledger: SlotLedger, engine: Engine) -> None:
    def add_old_finished(slot: str) -> None:
        with session_scope(engine) as session:
            due = NOW - timedelta(days=31)
            session.add(JobRun(job="digest", target=TARGET, slot=slot, due_at=due, state="done", claimed_at=due))

    add_old_finished("first")
    ledger.prune(NOW)
    add_old_finished("second")
    ledger.prune(NOW + timedelta(minutes=59))
    assert [run.slot for run in stored(engine)] == ["second"]
    ledger.prune(NOW + timedelta(hours=1))
    assert list(stored(engine)) == []


@pytest.mark.parametrize(
    ("headers", "slack", "jira"),
    [
        ({"Retry-After": "7"}, 7, 7.0),
        ({"retry-after": ["30"]}, 30, 30.0),  # slack_sdk's retry handlers see each header as a list
        ({"Retry-After": "0"}, 1, 0.0),
        ({"Retry-After": "soon"}, 1, 5.0),
        ({}, 1, 5.0),
        (None, 1, 5.0),
    ],
)
def test_retry_after_is_read_in_one_place(headers: dict | None, slack: int, jira: float) -> None:
    assert int(retry_after_seconds(headers, default=1, at_least=1)) == slack
    assert retry_after_seconds(headers, default=5.0, at_least=0.0) == jira


def test_claims_takeovers_and_give_ups_are_counted_by_job(engine: Engine, clock: FixedClock) -> None:
    metrics = Metrics()
    counted = SlotLedger(sessions=lambda: session_scope(engine), clock=clock, catch_up_within=None, metrics=metrics)
    claim = counted.claim(Job.DIGEST, TARGET, SLOT, now=NOW)
    assert claim is not None
    claim.fail("internal_error", root_ts=None, parts_posted=0)
    [claim] = counted.take_over_lapsed([Job.DIGEST], now=NOW + RETRY_FOR)
    claim.give_up({"channel": GENERAL})

    def count(outcome: str) -> float | None:
        return metrics.registry.get_sample_value("handoff_slot_claims_total", {"job": "digest", "outcome": outcome})

    assert (count("claimed"), count("taken_over"), count("given_up")) == (1, 1, 1)
