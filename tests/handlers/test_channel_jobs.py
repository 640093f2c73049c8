"""Scheduled digests end to end (real apps from `create_app`, one file database, the fake Slack, a fixed clock): each
slot posts once across replicas, crashes, downtime and the daylight-saving change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import HandoffApp
from bot.blocks.base import Message
from bot.channel_settings import scheduled_channels
from bot.clock import FixedClock
from bot.fake_slack import FakeSlack, RecordedCall
from bot.recurrence import WEEKDAYS, WORKING_DAYS, Schedule
from bot.slot_ledger import LEASE, Job
from handlers.channel_jobs import JobRunner
from handlers.outbox import SLOT_POST_EVENT
from storage import schedules as queries
from storage.db import session_scope
from storage.models import ChannelSettings, JobRun, JobRunState
from tests.conftest import RunningApp
from tests.support.e2e import create, private_answer
from tests.support.factories import make_initiative, seed_initiatives
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import CHURN, GENERAL, NOW, OLD

BERLIN = "Europe/Berlin"
MONDAY, TUESDAY = "2027-01-04", "2027-01-05"
DUE = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # Monday's digest: 09:00 in Berlin
TUESDAY_DUE = DUE + timedelta(days=1)
EARLY = NOW - timedelta(hours=3)  # initiatives exist before Monday's digest is due
TARGET = f"{TEAM_ID}:{GENERAL}"


@dataclass
class Shared:
    """What every process shares: the database file, Slack and the clock."""

    engine: Engine
    fake: FakeSlack
    clock: FixedClock
    start_replica: Callable[..., HandoffApp]

    def app(self, **overrides: object) -> HandoffApp:
        """A fresh process: its own engine on the same database file."""
        return self.start_replica(**overrides)

    def runner(self, **overrides: object) -> JobRunner:
        return runner(self.app(**overrides))

    def digests(self, channel: str = GENERAL, *, threaded: bool = False) -> list[RecordedCall]:
        return digest_posts(self.fake, channel, threaded=threaded)


@pytest.fixture
def shared(
    fake_slack: FakeSlack, engine: Engine, clock: FixedClock, start_replica: Callable[..., HandoffApp]
) -> Shared:
    fake_slack.anchor_timestamps(NOW.timestamp())  # Slack's ts and the app's clock agree, as in production
    return Shared(engine, fake_slack, clock, start_replica)


def runner(app: HandoffApp) -> JobRunner:
    assert app.jobs is not None
    return app.jobs


def digest_posts(fake: FakeSlack, channel: str = GENERAL, *, threaded: bool = False) -> list[RecordedCall]:
    """The digest's posts to `channel`: its first messages, or with `threaded` every part."""
    return [
        call
        for call in fake.calls_to("chat.postMessage")
        if call.args.get("channel") == channel
        and str(call.args.get("text", "")).startswith("Daily digest")
        and (threaded or not call.args.get("thread_ts"))
    ]


def runs(engine: Engine, job: str = "digest", target: str = TARGET) -> dict[str, JobRun]:
    with Session(engine) as session:
        rows = session.exec(select(JobRun).where(JobRun.job == job, JobRun.target == target)).all()
    return {row.slot: row for row in rows}


def states(engine: Engine, channel: str = GENERAL) -> dict[str, str]:
    return {slot: run.state for slot, run in runs(engine, target=f"{TEAM_ID}:{channel}").items()}


def claim_as_a_dead_holder(engine: Engine) -> JobRun:
    """Monday's digest slot, claimed at NOW by a process that then died."""
    with session_scope(engine) as session:
        run = queries.claim_slot(
            session=session, job="digest", target=TARGET, slot=MONDAY, due_at=DUE, now=NOW, lease_until=NOW + LEASE
        )
    assert run is not None and run.id is not None
    return run


def post_as_the_dead_holder(app: HandoffApp, run: JobRun, message: Message, *, recorded: bool) -> str:
    """The holder's first part, posted as it posts (naming its run and part in the metadata); `recorded`: the
    holder also wrote the progress down before it died."""
    metadata = {"event_type": SLOT_POST_EVENT, "event_payload": {"run": run.id, "part": 0}}
    ts = str(app.bolt.client.chat_postMessage(channel=GENERAL, metadata=metadata, **message.as_kwargs())["ts"])
    if recorded:
        with session_scope(app.runtime.engine) as session:
            queries.record_progress(
                session=session, run_id=run.id or 0, root_ts=ts, parts_posted=1, lease_until=NOW + LEASE
            )
    return ts


def digest_parts(shared: Shared, app: HandoffApp) -> list[Message]:
    with Session(shared.engine) as session:
        [plan] = scheduled_channels(session=session, default_timezone=BERLIN)
    return runner(app).preview(Job.DIGEST, plan).messages


def skip_logs(caplog: pytest.LogCaptureFixture, job: str = "digest") -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("slot skipped") and getattr(r, "job", "") == job]


# --- (a) two replicas on one database ------------------------------------------------------------------------------


def test_two_replicas_post_each_digest_once(shared: Shared) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    seed_initiatives(shared.engine, channel=CHURN, created_at=EARLY)
    first, second = shared.runner(), shared.runner()

    report = first.run_due()
    again = second.run_due()

    assert sorted(report.posted) == [CHURN, CHURN, GENERAL, GENERAL]  # digest and nudges in each channel
    assert (again.posted, again.messages, again.skipped) == ([], 0, [])
    assert len(shared.digests(GENERAL)) == len(shared.digests(CHURN)) == 1

    shared.clock.set(TUESDAY_DUE + timedelta(minutes=1))
    second.run_due()
    first.run_due()

    assert len(shared.digests(GENERAL)) == len(shared.digests(CHURN)) == 2
    for channel in (GENERAL, CHURN):
        assert states(shared.engine, channel) == {MONDAY: JobRunState.DONE, TUESDAY: JobRunState.DONE}


def test_two_replicas_racing_in_threads_post_each_digest_once(shared: Shared) -> None:
    seed_initiatives(shared.engine, 3, created_at=EARLY)
    seed_initiatives(shared.engine, 3, channel=CHURN, created_at=EARLY)
    runners = [shared.runner(), shared.runner()]

    for day in range(4):  # Monday to Thursday, a fresh race each day
        shared.clock.set(DUE + timedelta(days=day, minutes=45))
        start = threading.Barrier(len(runners))

        def sweep(jobs: JobRunner, start: threading.Barrier = start) -> None:
            start.wait(timeout=10)
            jobs.run_due()

        with ThreadPoolExecutor(len(runners)) as pool:
            for future in [pool.submit(sweep, jobs) for jobs in runners]:
                future.result(timeout=30)  # re-raises whatever failed in the thread

        assert len(shared.digests(GENERAL)) == len(shared.digests(CHURN)) == day + 1
    assert len(runs(shared.engine)) == len(runs(shared.engine, "nudges")) == 4


# --- (b) a crash between claim and post, or between parts ----------------------------------------------------------


def test_a_crashed_claim_posts_nothing_until_its_lease_lapses_then_exactly_once(shared: Shared) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    dead = claim_as_a_dead_holder(shared.engine)
    restarted, replica = shared.runner(), shared.runner()

    restarted.run_due()
    shared.clock.set(NOW + LEASE - timedelta(seconds=1))
    replica.run_due()

    assert shared.digests() == []
    assert runs(shared.engine)[MONDAY].state == JobRunState.CLAIMED.value
    with session_scope(shared.engine) as session:  # a replica that read the claim as lapsed a moment too early
        early = NOW + LEASE - timedelta(seconds=1)
        assert queries.take_over_slot(session=session, run_id=dead.id or 0, now=early, lease_until=early) is None

    shared.clock.set(dead.lease_until or NOW)  # the lease ends now: anyone may take the slot over
    report = restarted.run_due()
    replica.run_due()

    [post] = shared.digests()
    assert GENERAL in report.posted
    run = runs(shared.engine)[MONDAY]
    assert (run.id, run.state, run.parts_posted, run.root_ts) == (dead.id, JobRunState.DONE, 1, post.response["ts"])
    assert run.lease_until is None and run.finished_at is not None and run.finished_at >= NOW + LEASE

    shared.clock.advance(timedelta(hours=2))
    replica.run_due()
    restarted.run_due()
    assert len(shared.digests()) == 1


@pytest.mark.parametrize("initiatives", [30, 1], ids=["two-parts", "one-part"])
@pytest.mark.parametrize("recorded", [True, False], ids=["progress-recorded", "posted-but-not-recorded"])
def test_a_crash_after_the_first_part_finishes_only_the_rest_in_its_thread(
    shared: Shared, recorded: bool, initiatives: int
) -> None:
    seed_initiatives(shared.engine, initiatives, created_at=EARLY)  # 30 are more than one message's worth of blocks
    app = shared.app()
    parts = digest_parts(shared, app)
    assert (len(parts) > 1) == (initiatives > 1)
    root = post_as_the_dead_holder(app, claim_as_a_dead_holder(shared.engine), parts[0], recorded=recorded)
    before = len(shared.fake.calls)

    shared.clock.set(NOW + LEASE)
    shared.runner().run_due()

    resumed = [c for c in shared.digests(threaded=True) if c in shared.fake.calls[before:]]
    assert bool(shared.fake.calls_to("conversations.history")) is not recorded  # Slack asked where the run was
    assert [c.args["text"] for c in resumed] == [p.text for p in parts[1:]]
    assert {c.args["thread_ts"] for c in resumed} <= {root}
    assert len(shared.digests()) == 1  # only the dead holder's first message is in the channel itself
    run = runs(shared.engine)[MONDAY]
    assert (run.state, run.parts_posted, run.root_ts) == (JobRunState.DONE.value, len(parts), root)
    with Session(shared.engine) as session:
        settings = session.get(ChannelSettings, (TEAM_ID, GENERAL))
        assert settings is not None and settings.last_digest_at == NOW + LEASE


# --- (c) catching up after downtime --------------------------------------------------------------------------------


def test_a_digest_missed_earlier_the_same_local_day_is_caught_up_once(shared: Shared) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    jobs = shared.runner()

    late = datetime(2027, 1, 4, 22, 59, tzinfo=UTC)  # 23:59 in Berlin, still Monday there
    shared.clock.set(late)
    report = jobs.run_due()
    jobs.run_due()
    shared.runner().run_due()

    assert len(shared.digests()) == 1
    assert not [s for s in report.skipped if s.startswith("digest")]
    run = runs(shared.engine)[MONDAY]
    assert (run.state, run.due_at, run.claimed_at) == (JobRunState.DONE.value, DUE, late)


def test_a_digest_missed_past_the_local_day_is_skipped_logged_once_and_never_posted(
    shared: Shared, caplog: pytest.LogCaptureFixture
) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    jobs = shared.runner()
    caplog.set_level(logging.WARNING, logger="bot.slot_ledger")

    shared.clock.set(datetime(2027, 1, 4, 23, 0, tzinfo=UTC))  # midnight in Berlin: Tuesday there
    report = jobs.run_due()
    jobs.run_due()
    shared.runner().run_due()

    assert f"digest {GENERAL} {MONDAY}" in report.skipped
    [record] = skip_logs(caplog)
    assert record.levelno == logging.WARNING
    logged = [getattr(record, name) for name in ("job", "channel", "slot", "due_at")]
    assert logged == ["digest", GENERAL, MONDAY, DUE.isoformat()]
    assert shared.digests() == []

    shared.clock.set(TUESDAY_DUE + timedelta(minutes=5))
    jobs.run_due()
    shared.clock.advance(timedelta(hours=12))
    jobs.run_due()

    assert len(shared.digests()) == 1  # Tuesday's; Monday's never comes
    assert states(shared.engine) == {MONDAY: JobRunState.SKIPPED, TUESDAY: JobRunState.DONE}
    assert runs(shared.engine)[MONDAY].last_error == "missed while Handoff was down, and past the catch-up window"
    assert len(skip_logs(caplog)) == 1


def test_a_catch_up_window_in_hours_replaces_the_same_day_rule(
    shared: Shared, caplog: pytest.LogCaptureFixture
) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    jobs = shared.runner(catch_up_within=timedelta(hours=2))
    caplog.set_level(logging.WARNING, logger="bot.slot_ledger")

    shared.clock.set(DUE + timedelta(hours=2))  # exactly at the end of the window: still runs
    jobs.run_due()
    shared.clock.set(TUESDAY_DUE + timedelta(hours=2, minutes=1))  # same local day, but past the two hours
    report = jobs.run_due()

    assert len(shared.digests()) == 1
    assert f"digest {GENERAL} {TUESDAY}" in report.skipped
    assert [getattr(r, "slot", None) for r in skip_logs(caplog)] == [TUESDAY]
    assert states(shared.engine) == {MONDAY: JobRunState.DONE, TUESDAY: JobRunState.SKIPPED}


def test_catch_up_zero_skips_late_slots_but_not_one_whose_trigger_fired_a_second_ago(shared: Shared) -> None:
    # HANDOFF_CATCH_UP=0 means "never run a missed slot late", not "skip every run": the cron job that fires at
    # 09:00:00 reads the clock a moment later, and that run is on time.
    seed_initiatives(shared.engine, created_at=EARLY)
    jobs = shared.runner(catch_up_within=timedelta(0))

    shared.clock.set(DUE)
    jobs.run_due()
    shared.clock.set(TUESDAY_DUE + timedelta(hours=1))
    jobs.run_due()
    assert states(shared.engine) == {MONDAY: JobRunState.DONE, TUESDAY: JobRunState.SKIPPED}

    shared.clock.set(TUESDAY_DUE + timedelta(days=1, seconds=1))  # Wednesday's trigger, read a second late
    report = jobs.run_due(channel=(TEAM_ID, GENERAL))  # what the channel's cron job calls

    assert f"digest {GENERAL} 2027-01-06" not in report.skipped
    assert len(shared.digests()) == 2


# --- (d) the APScheduler jobs --------------------------------------------------------------------------------------


def cron(app: HandoffApp) -> dict[str, str]:
    assert app.scheduler is not None
    return {job.id: job.trigger for job in app.scheduler.planned()}


def test_refresh_registers_a_digest_and_a_nudges_job_per_scheduled_channel(shared: Shared) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    seed_initiatives(shared.engine, channel=CHURN, created_at=EARLY)
    with session_scope(shared.engine) as session:
        make_initiative(session, home_channel_id=OLD, archived=True)
        late_in_kolkata = {"digest_time": "23:45", "digest_timezone": "Asia/Kolkata", "digest_days": "mon,wed"}
        row = ChannelSettings(team_id=TEAM_ID, channel_id=CHURN, updated_at=EARLY, **late_in_kolkata)
        queries.save_channel_settings(session=session, settings=row)
    app = shared.app()
    assert app.scheduler is not None

    app.scheduler.refresh()
    app.scheduler.refresh()  # nothing changed: nothing is added twice

    prefix = f"channel:{TEAM_ID}"
    assert cron(app) == {
        f"{prefix}:{CHURN}:digest": "cron[day_of_week='mon,wed', hour='23', minute='45']",
        f"{prefix}:{CHURN}:nudges": "cron[day_of_week='tue,thu', hour='0', minute='15']",  # past midnight
        f"{prefix}:{GENERAL}:digest": "cron[day_of_week='mon,tue,wed,thu,fri', hour='9', minute='0']",
        f"{prefix}:{GENERAL}:nudges": "cron[day_of_week='mon,tue,wed,thu,fri', hour='9', minute='30']",
    }
    assert len(app.scheduler.planned()) == 4


def test_giving_back_a_sweeps_memory_keeps_the_schedules_and_what_the_sweep_recorded(shared: Shared) -> None:
    seed_initiatives(shared.engine, created_at=EARLY)
    app = shared.app()
    assert app.scheduler is not None
    app.scheduler.refresh()
    shared.clock.set(DUE)
    runner(app).run_due()
    planned = cron(app)

    app.scheduler.release_memory()  # what every sweep does last
    app.scheduler.refresh()

    assert planned and cron(app) == planned
    assert states(shared.engine) == {MONDAY: JobRunState.DONE}
    runner(app).run_due()
    assert len(shared.digests()) == 1  # the slot stays done: the database still answers


def next_due(schedule: Schedule, after: datetime) -> datetime:
    slot = schedule.next_slot(after)
    assert slot is not None
    return slot.due_at


def test_schedule_commands_change_the_cron_jobs_without_a_restart(running: RunningApp) -> None:
    create(running, 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>')
    scheduler = running.app.scheduler
    assert scheduler is not None
    digest_id, nudges_id = f"channel:{TEAM_ID}:{GENERAL}:digest", f"channel:{TEAM_ID}:{GENERAL}:nudges"

    def planned() -> dict[str, datetime | None]:
        return {job.id: job.next_run_at for job in scheduler.planned()}

    before = datetime.now(UTC)
    scheduler.start()
    try:
        berlin = Schedule(time(9, 0), BERLIN, WORKING_DAYS)
        assert cron(running.app)[digest_id] == "cron[day_of_week='mon,tue,wed,thu,fri', hour='9', minute='0']"
        assert "sweep" in planned()
        assert planned()[digest_id] == next_due(berlin, before)

        before = datetime.now(UTC)
        answer = private_answer(running, "digest at 10:15 America/New_York daily")

        assert "every day at 10:15 (America/New_York)" in answer
        new_york = Schedule(time(10, 15), "America/New_York", WEEKDAYS)
        assert cron(running.app)[digest_id] == "cron[day_of_week='mon,tue,wed,thu,fri,sat,sun', hour='10', minute='15']"
        assert cron(running.app)[nudges_id] == "cron[day_of_week='mon,tue,wed,thu,fri,sat,sun', hour='10', minute='45']"
        assert planned()[digest_id] == next_due(new_york, before)
        assert [job.id for job in scheduler.planned()].count(digest_id) == 1  # replaced, not added beside

        private_answer(running, "digest off")
        assert nudges_id in planned()  # the nudges still run
        private_answer(running, "nudges off")
        assert [job_id for job_id in planned() if job_id.startswith("channel:")] == []
        assert "sweep" in planned()

        private_answer(running, "digest on")
        assert digest_id in planned() and nudges_id not in planned()  # only what is on is scheduled
        private_answer(running, "nudges on")
        assert {digest_id, nudges_id} <= set(planned())
    finally:
        scheduler.shutdown()
    assert digest_posts(running.fake) == []  # the first sweep ran: nothing was due at the fixed clock's time


# --- (e) daylight saving, end to end -------------------------------------------------------------------------------


def test_berlin_digest_keeps_nine_local_across_the_spring_change(running: RunningApp) -> None:
    running.clock.set(datetime(2027, 3, 24, 12, 0, tzinfo=UTC))
    seed_initiatives(running.engine, created_at=datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    assert "every day at 09:00 (Europe/Berlin)" in private_answer(running, "digest at 09:00 Europe/Berlin daily")
    private_answer(running, "nudges off")
    jobs = runner(running.app)
    # 09:00 in Berlin is 08:00 UTC in CET, until 2027-03-28, then 07:00 UTC in CEST.
    expected = {f"2027-03-{d}": datetime(2027, 3, d, 8 if d < 28 else 7, 0, tzinfo=UTC) for d in range(25, 31)}

    for number, (day, due_at) in enumerate(expected.items(), start=1):
        running.clock.set(due_at - timedelta(minutes=1))
        jobs.run_due()
        assert len(digest_posts(running.fake)) == number - 1, f"{day}: posted before 09:00 local"

        running.clock.set(due_at)
        jobs.run_due()
        running.clock.advance(timedelta(hours=3))
        jobs.run_due()
        assert len(digest_posts(running.fake)) == number, day

    assert {key: run.due_at for key, run in runs(running.engine).items()} == expected
    assert {run.state for run in runs(running.engine).values()} == {JobRunState.DONE.value}
