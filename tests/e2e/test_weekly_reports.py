"""The weekly report end to end: set with `/handoff report weekly` over HTTP, run on the app's clock
(`running.app.jobs.run_due()`, as the scheduler's sweep does), Slack played by FakeSlack.

NOW is Monday 2027-01-04 09:30 UTC (10:30 in Berlin, the workspace's zone), so a report set now for Mondays at
09:00 first comes on Monday 2027-01-11, 08:00 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.fake_slack import FakeMessage
from bot.initiatives import Actor
from bot.slot_ledger import MISSED_WHILE_DOWN, Job
from bot.weekly_report import set_weekly_report
from handlers.outbox import RunReport
from handlers.report_jobs import NO_INITIATIVES
from storage.models import JobRun, JobRunState
from tests.conftest import RunningApp
from tests.support.factories import make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, CHURN, GENERAL, NOW

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
