"""APScheduler inside the serving process: a cron job per channel for its digest, nudges and weekly report, the
Jira pull sync every few minutes, the sourced KPIs' poll every `HANDOFF_KPI_POLL_MINUTES`, and a sweep every minute.

The cron jobs make runs happen on time; the database makes them happen once (see `bot.slot_ledger`).
The sweep reloads schedules changed elsewhere (another replica, the command line), catches up after downtime
and finishes claims whose holder died. APScheduler's own misfire grace would silently drop a run that started
late, so it is off: lateness is judged against the catch-up window, by the job itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.channel_settings import ChannelPlan, scheduled_channels
from bot.memory import trim_heap
from bot.recurrence import Schedule
from bot.runtime import Runtime
from bot.standups import standup_plans
from bot.weekly_report import weekly_report_plans
from storage.db import release_cache_memory

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60
SWEEP_JOB = "sweep"
JIRA_SYNC_JOB = "jira-sync"
KPI_POLL_JOB = "kpi-poll"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ScheduledJobs:
    """What the scheduler runs; the Slack side supplies them (the scheduler never posts itself)."""

    run_channel: Callable[[str, str], object]  # a channel's due digest and nudges
    run_due: Callable[[], object]  # every channel and standup: catch up, retry, finish lapsed claims
    run_standup: Callable[[int], object] | None = None  # one initiative's due standup prompt
    jira_sync: Callable[[], object] | None = None
    kpi_poll: Callable[[], object] | None = None  # read every sourced KPI, when MLflow or Prometheus is configured


@dataclass(frozen=True)
class PlannedJob:
    id: str
    next_run_at: datetime | None
    trigger: str


class Scheduler:
    def __init__(self, runtime: Runtime, jobs: ScheduledJobs):
        self._runtime = runtime
        self._jobs = jobs
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._lock = threading.Lock()
        self._fingerprints: dict[str, str] = {}
        self._standups: dict[str, str] = {}  # job id -> fingerprint of the standup schedule behind it
        self._reports: dict[str, str] = {}  # job id -> fingerprint of the weekly report schedule behind it
        runtime.schedule_listeners.append(self.refresh)

    def start(self) -> None:
        """Load the schedules, then catch up at once (the first sweep runs immediately) and keep going."""
        self.refresh()
        self._scheduler.add_job(
            self._sweep,
            IntervalTrigger(seconds=SWEEP_SECONDS),
            id=SWEEP_JOB,
            name="sweep: catch up, retry, reload schedules",
            next_run_time=datetime.now(UTC),
        )
        if self._jobs.jira_sync is not None:
            minutes = self._runtime.settings.jira_sync_minutes
            self._scheduler.add_job(
                self._jobs.jira_sync, IntervalTrigger(minutes=minutes), id=JIRA_SYNC_JOB, name="Jira sync"
            )
        if self._jobs.kpi_poll is not None:
            # On the intervals' own boundaries (counted from the epoch, as the poll's slots are), not from this
            # process's start: a restart neither delays the next poll nor reads a value older than the interval.
            every = IntervalTrigger(minutes=self._runtime.settings.kpi_poll_minutes, start_date=EPOCH)
            self._scheduler.add_job(self._jobs.kpi_poll, every, id=KPI_POLL_JOB, name="KPI sources poll")
        self._scheduler.start()
        log.info("scheduler started", extra={"channels": len(self._fingerprints)})

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def refresh(self) -> None:
        """Make the cron jobs match the schedules in the database: add new ones, replace changed ones, drop
        channels that no longer have an initiative or turned everything off."""
        with self._runtime.session() as session:
            plans = scheduled_channels(session=session, default_timezone=self._runtime.settings.timezone)
        wanted = {self._job_id(p): p for p in plans if p.digest_enabled or p.nudges_on}
        with self._lock:
            for job_id in set(self._fingerprints) - set(wanted):
                self._remove(job_id)
            for job_id, plan in wanted.items():
                fingerprint = self._fingerprint(plan)
                if self._fingerprints.get(job_id) == fingerprint:
                    continue
                self._add(job_id, plan)
                self._fingerprints[job_id] = fingerprint
        self._refresh_standups()
        self._refresh_reports()

    def _refresh_reports(self) -> None:
        """A cron job per channel's weekly report, in its zone; it runs whatever of the channel is due."""
        with self._runtime.session() as session:
            plans = weekly_report_plans(session=session, default_timezone=self._runtime.settings.timezone)
        wanted = {f"report:{p.team_id}:{p.channel_id}": p for p in plans}
        with self._lock:
            for job_id in set(self._reports) - set(wanted):
                if self._scheduler.get_job(job_id) is not None:
                    self._scheduler.remove_job(job_id)
                self._reports.pop(job_id)
            for job_id, plan in wanted.items():
                fingerprint = str(plan.schedule)
                if self._reports.get(job_id) == fingerprint:
                    continue
                self._scheduler.add_job(
                    self._jobs.run_channel,
                    plan.schedule.trigger(),
                    args=(plan.team_id, plan.channel_id),
                    id=job_id,
                    name=f"weekly report of {plan.channel_id}",
                    replace_existing=True,
                )
                self._reports[job_id] = fingerprint

    def _refresh_standups(self) -> None:
        """A cron job per standup, in the engineer's time zone; a new engineer or time replaces it."""
        if self._jobs.run_standup is None:
            return
        with self._runtime.session() as session:
            plans = standup_plans(session=session, default_timezone=self._runtime.settings.timezone)
        wanted = {f"standup:{p.initiative_id}": p for p in plans if p.enabled}
        with self._lock:
            for job_id in set(self._standups) - set(wanted):
                if self._scheduler.get_job(job_id) is not None:
                    self._scheduler.remove_job(job_id)
                self._standups.pop(job_id)
            for job_id, standup in wanted.items():
                fingerprint = f"{standup.schedule}|{standup.user_id}"
                if self._standups.get(job_id) == fingerprint:
                    continue
                self._scheduler.add_job(
                    self._jobs.run_standup,
                    standup.schedule.trigger(),
                    args=(standup.initiative_id,),
                    id=job_id,
                    name=f"standup of initiative {standup.initiative_id}",
                    replace_existing=True,
                )
                self._standups[job_id] = fingerprint

    def planned(self) -> list[PlannedJob]:
        """Every job with its next run, for the logs and the tests."""
        return [
            PlannedJob(job.id, getattr(job, "next_run_time", None), str(job.trigger))
            for job in self._scheduler.get_jobs()
        ]

    def _add(self, job_id: str, plan: ChannelPlan) -> None:
        # Both the digest and the nudges times fire the same function: it runs whichever of the two is due.
        digest = plan.schedule
        nudges = plan.schedule.later_by(self._runtime.settings.nudge_delay_minutes)
        args = (plan.team_id, plan.channel_id)
        for suffix, wanted in ((":digest", plan.digest_enabled), (":nudges", plan.nudges_on)):
            if not wanted and self._scheduler.get_job(job_id + suffix) is not None:
                self._scheduler.remove_job(job_id + suffix)
        if plan.digest_enabled:
            self._add_digest(job_id, plan, digest, args)
        if plan.nudges_on:
            self._add_nudges(job_id, plan, nudges, args)

    def _add_digest(self, job_id: str, plan: ChannelPlan, digest: Schedule, args: tuple[str, str]) -> None:
        self._scheduler.add_job(
            self._jobs.run_channel,
            digest.trigger(),
            args=args,
            id=f"{job_id}:digest",
            name=f"digest of {plan.channel_id}",
            replace_existing=True,
        )

    def _add_nudges(self, job_id: str, plan: ChannelPlan, nudges: Schedule, args: tuple[str, str]) -> None:
        self._scheduler.add_job(
            self._jobs.run_channel,
            nudges.trigger(),
            args=args,
            id=f"{job_id}:nudges",
            name=f"nudges of {plan.channel_id}",
            replace_existing=True,
        )

    def _remove(self, job_id: str) -> None:
        for suffix in (":digest", ":nudges"):
            if self._scheduler.get_job(job_id + suffix) is not None:
                self._scheduler.remove_job(job_id + suffix)
        self._fingerprints.pop(job_id, None)

    def _sweep(self) -> None:
        try:
            self.refresh()
            self._jobs.run_due()
            self.release_memory()
        except Exception:
            # One bad sweep must not end the schedule; the next one tries again.
            log.exception("the scheduled sweep failed")

    def release_memory(self) -> None:
        """Give back what a sweep took: it reads every schedule (the first also catches up on the days before), so
        a server at rest would otherwise keep that connection's cached pages and the heap they were freed into.
        Requests read other rows and refill only what they use."""
        release_cache_memory(self._runtime.engine)
        trim_heap()

    @staticmethod
    def _job_id(plan: ChannelPlan) -> str:
        return f"channel:{plan.team_id}:{plan.channel_id}"

    def _fingerprint(self, plan: ChannelPlan) -> str:
        delay = self._runtime.settings.nudge_delay_minutes
        return f"{plan.schedule}|{delay}|{plan.digest_enabled}|{plan.nudges_on}"
