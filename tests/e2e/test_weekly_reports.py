"""The weekly report end to end: set with `/handoff report weekly` over HTTP, run on the app's clock
(`running.app.jobs.run_due()`, as the scheduler's sweep does), Slack played by FakeSlack.

NOW is Monday 2027-01-04 09:30 UTC (10:30 in Berlin, the workspace's zone), so a report set now for Mondays at
09:00 first comes on Monday 2027-01-11, 08:00 UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import ids
from bot.app import HandoffApp
from bot.fake_slack import FakeMessage, RecordedCall
from bot.initiatives import Actor
from bot.slot_ledger import LEASE, MISSED_WHILE_DOWN, Job
from bot.weekly_report import set_weekly_report
from handlers.outbox import SLOT_POST_EVENT, RunReport
from handlers.report_jobs import NO_INITIATIVES
from storage import schedules as queries
from storage.db import session_scope
from storage.models import ChannelSettings, JobRun, JobRunState, Phase, PhaseChange, WeeklyReport
from tests.conftest import RunningApp
from tests.support.e2e import private_answer
from tests.support.factories import make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CHURN, GENERAL, NOW

NEXT_MONDAY = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def set_report(running: RunningApp, channel: str = GENERAL, **when: object) -> None:
    """Set the channel's weekly report as the command does, at the app's clock."""
    values: dict = {"day": None, "at": None, "timezone": None, **when}
    with Session(running.engine) as session:
        set_weekly_report(
            session=session,
            actor=Actor(TEAM_ID, ALICE),
            channel_id=channel,
            now=running.clock.now(),
            default_timezone=running.app.runtime.settings.timezone,
            **values,
        )
        session.commit()
    running.app.runtime.schedule_changed()


def run_jobs_at(running: RunningApp, moment: datetime) -> RunReport:
    running.clock.set(moment)
    assert running.app.jobs is not None
    return running.app.jobs.run_due()


def report_slots(engine: Engine, channel: str = GENERAL) -> list[JobRun]:
    with Session(engine) as session:
        return list(
            session.exec(select(JobRun).where(JobRun.job == Job.REPORT.value, JobRun.target == f"{TEAM_ID}:{channel}"))
        )


def report_posts(running: RunningApp, channel: str = GENERAL) -> list[FakeMessage]:
    """The bot's posts in `channel` that belong to a weekly report's slot (by their message metadata)."""
    runs = {slot.id for slot in report_slots(running.engine, channel)}
    return [
        m
        for m in running.fake.messages_in(channel)
        if ((m.metadata or {}).get("event_payload") or {}).get("run") in runs
    ]


def test_a_channel_without_initiatives_gets_no_report_and_the_slot_says_why(running: RunningApp) -> None:
    set_report(running, CHURN)
    report = run_jobs_at(running, NEXT_MONDAY + timedelta(minutes=1))
    [slot] = report_slots(running.engine, CHURN)
    assert (slot.state, slot.last_error, slot.slot) == (JobRunState.SKIPPED.value, NO_INITIATIVES, "2027-01-11")
    assert report_posts(running, CHURN) == []
    assert any(NO_INITIATIVES in line for line in report.skipped)
    run_jobs_at(running, NEXT_MONDAY + timedelta(minutes=2))
    assert len(report_slots(running.engine, CHURN)) == 1


def test_a_report_missed_past_the_catch_up_window_is_recorded_as_skipped_not_posted(running: RunningApp) -> None:
    with Session(running.engine) as session:
        make_initiative(session, home_channel_id=GENERAL, created_at=NOW - timedelta(days=30))
        session.commit()
    set_report(running)
    # Handoff was down all Monday: on Tuesday, Monday's report is past the same-day catch-up.
    report = run_jobs_at(running, NEXT_MONDAY + timedelta(days=1))
    [slot] = report_slots(running.engine)
    assert (slot.state, slot.last_error) == (JobRunState.SKIPPED.value, MISSED_WHILE_DOWN)
    assert any(line.startswith("report ") for line in report.skipped)
    assert report_posts(running) == []


def test_nothing_is_due_before_the_day_and_time_set(running: RunningApp) -> None:
    with Session(running.engine) as session:
        make_initiative(session, home_channel_id=GENERAL, created_at=NOW - timedelta(days=30))
        session.commit()
    set_report(running)  # set at 10:30 on a Monday: today's 09:00 has passed and is not "missed"
    run_jobs_at(running, NEXT_MONDAY - timedelta(minutes=1))
    assert report_slots(running.engine) == []
    assert report_posts(running) == []


def test_the_scheduler_plans_a_cron_job_for_each_weekly_report(running: RunningApp) -> None:
    from bot.scheduler import ScheduledJobs, Scheduler

    scheduler = Scheduler(running.app.runtime, ScheduledJobs(run_channel=lambda *_: None, run_due=lambda: None))
    set_report(running, GENERAL, day="fri", at=datetime(2027, 1, 1, 16, 0).time())
    scheduler.refresh()
    [job] = [j for j in scheduler.planned() if j.id == f"report:{TEAM_ID}:{GENERAL}"]
    assert "day_of_week='fri'" in job.trigger and "hour='16'" in job.trigger


# --- posting: once, with its chart, across sweeps, replicas and crashes ------------------------------------------


def seed_channel(running: RunningApp, channel: str = GENERAL) -> None:
    """An initiative at home in `channel` since well before the week a report covers."""
    with Session(running.engine) as session:
        make_initiative(session, home_channel_id=channel, created_at=NOW - timedelta(days=30))
        session.commit()


def chart_uploads(running: RunningApp) -> list[RecordedCall]:
    return running.fake.calls_to("files.completeUploadExternal")


def test_the_report_is_posted_once_with_its_chart_in_its_thread(
    running: RunningApp, start_replica: Callable[..., HandoffApp]
) -> None:
    seed_channel(running)
    set_report(running)
    run_jobs_at(running, NEXT_MONDAY)
    run_jobs_at(running, NEXT_MONDAY + timedelta(minutes=1))
    replica = start_replica()  # a second process on the same database: the slot is taken
    assert replica.jobs is not None
    replica.jobs.run_due()

    [post] = report_posts(running)
    text = str(post.blocks)
    assert post.text.startswith("Report: ") and ids.ACTION_SHARE_ANSWER not in text  # posted for everyone already
    assert "Weekly report, Mon at 09:00 (Europe/Berlin)" in text and "set by <@U0ALICE>" in text
    [upload] = chart_uploads(running)
    assert upload.args.get("thread_ts") == post.ts
    assert upload.args.get("channel_id") == GENERAL
    [slot] = report_slots(running.engine)
    assert (slot.state, slot.slot, slot.root_ts) == (JobRunState.DONE.value, "2027-01-11", post.ts)
    with Session(running.engine) as session:
        [chart] = session.exec(select(JobRun).where(JobRun.job == Job.REPORT_CHART.value)).all()
    assert chart.state == JobRunState.DONE.value


def test_a_report_missed_earlier_the_same_local_day_is_caught_up_once(running: RunningApp) -> None:
    seed_channel(running)
    set_report(running)
    late = datetime(2027, 1, 11, 22, 59, tzinfo=UTC)  # 23:59 in Berlin, still Monday there
    run_jobs_at(running, late)
    run_jobs_at(running, late + timedelta(seconds=30))
    assert len(report_posts(running)) == 1
    [slot] = report_slots(running.engine)
    assert (slot.state, slot.due_at) == (JobRunState.DONE.value, NEXT_MONDAY)


def test_a_crash_between_posting_and_recording_does_not_post_the_report_again(running: RunningApp) -> None:
    seed_channel(running)
    set_report(running)
    running.clock.set(NEXT_MONDAY)
    running.fake.anchor_timestamps(NEXT_MONDAY.timestamp())  # Slack's ts and the app's clock agree, as in production
    with session_scope(running.engine) as session:
        dead = queries.claim_slot(
            session=session,
            job=Job.REPORT.value,
            target=f"{TEAM_ID}:{GENERAL}",
            slot="2027-01-11",
            due_at=NEXT_MONDAY,
            now=NEXT_MONDAY,
            lease_until=NEXT_MONDAY + LEASE,
        )
    assert dead is not None
    # The dead holder's post reached Slack, named by its run and part; the database never heard of it.
    metadata = {"event_type": SLOT_POST_EVENT, "event_payload": {"run": dead.id, "part": 0}}
    posted = running.app.bolt.client.chat_postMessage(channel=GENERAL, text="Weekly report", metadata=metadata)

    run_jobs_at(running, NEXT_MONDAY + LEASE + timedelta(seconds=1))

    assert len(report_posts(running)) == 1
    [slot] = report_slots(running.engine)
    assert (slot.state, slot.root_ts) == (JobRunState.DONE.value, posted["ts"])
    [upload] = chart_uploads(running)
    assert upload.args.get("thread_ts") == posted["ts"]


def test_a_chart_slack_refuses_leaves_a_note_in_the_thread_never_a_second_report(running: RunningApp) -> None:
    from handlers.uploads import CHART_UNAVAILABLE

    seed_channel(running)
    set_report(running)
    running.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
    run_jobs_at(running, NEXT_MONDAY)
    run_jobs_at(running, NEXT_MONDAY + timedelta(minutes=1))

    [post] = report_posts(running)
    notes = [m for m in running.fake.messages_in(GENERAL) if m.thread_ts == post.ts]
    assert [n.text for n in notes] == [CHART_UNAVAILABLE]
    assert chart_uploads(running) == []
    [slot] = report_slots(running.engine)
    assert slot.state == JobRunState.DONE.value


# --- the settings, over HTTP -----------------------------------------------------------------------------------

CHURN_ENTITY = "<#C0CHURN|churn>"


def stored(engine: Engine, channel: str = CHURN) -> WeeklyReport | None:
    with Session(engine) as session:
        return session.get(WeeklyReport, (TEAM_ID, channel))


def test_report_weekly_sets_shows_changes_and_turns_off_a_channels_report(running: RunningApp) -> None:
    answer = private_answer(running, "report weekly")
    assert "No channel gets a weekly report yet" in answer

    answer = private_answer(running, f"report weekly {CHURN_ENTITY}")
    assert ":white_check_mark: Saved." in answer and "Mon at 09:00 (Europe/Berlin)" in answer
    assert "<#C0CHURN>" in answer and "<@U0ALICE>" in answer

    answer = private_answer(running, f"report weekly {CHURN_ENTITY} friday 16:30 America/New_York", user=BOB)
    assert "Fri at 16:30 (America/New_York)" in answer
    answer = private_answer(running, f"report weekly {CHURN_ENTITY} 08:00")
    assert "Fri at 08:00 (America/New_York)" in answer  # what is left out stays as it was

    listed = private_answer(running, "report weekly", channel=CHURN)
    assert "Weekly report in <#C0CHURN>" in listed and "Fri at 08:00" in listed

    answer = private_answer(running, f"report weekly {CHURN_ENTITY} off")
    assert "Weekly report in <#C0CHURN>:* off" in answer
    row = stored(running.engine)
    assert row is not None and not row.enabled and row.configured_by == ALICE


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("report weekly fri 09:00", "needs the channel the report goes to"),
        (f"report weekly {CHURN_ENTITY} mon,thu", "one day of the week"),
        (f"report weekly {CHURN_ENTITY} 9am", "9am"),
        (f"report weekly {CHURN_ENTITY} PST", "America/Los_Angeles"),
        (f"report weekly {CHURN_ENTITY} <!channel>", "&lt;!channel&gt;"),
        (f"report weekly {CHURN_ENTITY} off", "There is no weekly report in that channel"),
    ],
)
def test_bad_report_weekly_input_is_answered_privately_with_usage_and_writes_nothing(
    running: RunningApp, text: str, says: str
) -> None:
    answer = private_answer(running, text)
    assert says in answer, answer
    assert "/handoff report weekly #channel" in answer
    assert stored(running.engine) is None


def test_a_chart_whose_holder_died_before_uploading_is_shared_by_the_next_sweep_once(running: RunningApp) -> None:
    seed_channel(running)
    set_report(running)
    running.clock.set(NEXT_MONDAY)
    root = running.app.bolt.client.chat_postMessage(channel=GENERAL, text="Report: the dead holder's")["ts"]
    with session_scope(running.engine) as session:
        dead = queries.claim_slot(
            session=session,
            job=Job.REPORT_CHART.value,
            target=f"{TEAM_ID}:{GENERAL}",
            slot="2027-01-11:1",
            due_at=NEXT_MONDAY,
            now=NEXT_MONDAY,
            lease_until=NEXT_MONDAY + LEASE,
        )
        assert dead is not None
        queries.record_progress(
            session=session, run_id=dead.id or 0, root_ts=root, parts_posted=0, lease_until=NEXT_MONDAY + LEASE
        )

    run_jobs_at(running, NEXT_MONDAY + LEASE + timedelta(seconds=1))
    run_jobs_at(running, NEXT_MONDAY + LEASE + timedelta(minutes=1))

    in_dead_thread = [c for c in chart_uploads(running) if c.args.get("thread_ts") == root]
    assert len(in_dead_thread) == 1
    with Session(running.engine) as session:
        chart = session.get(JobRun, dead.id)
    assert chart is not None and chart.state == JobRunState.DONE.value


def test_a_channel_that_refuses_the_report_turns_it_off_tells_who_set_it_and_leaves_the_digest(
    running: RunningApp,
) -> None:
    seed_channel(running)
    set_report(running, at=datetime(2027, 1, 1, 11, 0).time())  # 10:00 UTC, after the channel's digest
    run_jobs_at(running, NEXT_MONDAY + timedelta(minutes=31))  # the digest and the nudges go out first
    running.fake.fail_next("chat.postMessage", error="not_in_channel")
    run_jobs_at(running, NEXT_MONDAY + timedelta(hours=2, minutes=1))

    slots = report_slots(running.engine)  # this Monday's, and last Monday's, set after its time and so skipped
    slot = {s.slot: s for s in slots}["2027-01-11"]
    assert (slot.state, slot.last_error) == (JobRunState.FAILED.value, "not_in_channel")
    row = stored(running.engine, GENERAL)
    assert row is not None and row.disabled_reason == "not_in_channel"
    [told] = [c.args for c in running.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALICE]
    assert "turned off the weekly report for <#C0GENERAL>" in str(told["blocks"])
    with Session(running.engine) as session:
        digest = session.get(ChannelSettings, (TEAM_ID, GENERAL))
    assert digest is None or (digest.digest_enabled and digest.disabled_reason is None)
    run_jobs_at(running, NEXT_MONDAY + timedelta(days=7, hours=2, minutes=1))
    assert len(report_slots(running.engine)) == len(slots)  # off until someone sets it again


def test_a_crash_after_the_report_is_recorded_still_shares_its_chart_once(
    running: RunningApp, start_replica: Callable[..., HandoffApp]
) -> None:
    seed_channel(running)
    set_report(running)
    running.clock.set(NEXT_MONDAY)
    jobs = running.app.jobs
    assert jobs is not None
    # The process dies once the outbox has recorded the report, before the run gets to its chart.
    dying = RunReport()
    jobs.outbox.deliver(jobs.reports.due(NEXT_MONDAY, dying, None), dying)
    assert chart_uploads(running) == []

    restarted = start_replica().jobs  # the process that takes its place, on the same database
    assert restarted is not None
    for minutes in (1, 2):
        running.clock.set(NEXT_MONDAY + timedelta(minutes=minutes))
        restarted.run_due()

    [post] = report_posts(running)
    [upload] = chart_uploads(running)
    assert upload.args.get("thread_ts") == post.ts
    with Session(running.engine) as session:
        [chart] = session.exec(select(JobRun).where(JobRun.job == Job.REPORT_CHART.value)).all()
    assert (chart.state, chart.root_ts) == (JobRunState.DONE.value, post.ts)


def test_an_event_on_the_reports_own_day_before_it_runs_is_in_next_weeks_report_only(running: RunningApp) -> None:
    set_report(running)
    on_report_day = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, an hour before the report runs
    with Session(running.engine) as session:
        initiative = make_initiative(session, home_channel_id=GENERAL, created_at=NOW - timedelta(days=30))
        session.add(
            PhaseChange(
                initiative_id=initiative.id or 0,
                from_phase=Phase.DISCOVERY.value,
                to_phase=Phase.RESEARCH.value,
                changed_by=ALICE,
                changed_at=on_report_day,
            )
        )
        session.commit()

    run_jobs_at(running, NEXT_MONDAY)
    run_jobs_at(running, NEXT_MONDAY + timedelta(days=7))

    this_week, next_week = (str(post.blocks) for post in report_posts(running))
    assert "discovery 0 → research 0 →" in this_week
    assert "discovery 0 → research 1 →" in next_week
