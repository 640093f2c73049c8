"""The slot ledger: each scheduled post, prompt, reminder, sync and outbox delivery happens once.

A slot (job, target, key) is claimed in the database before any of its work is done, so restarts, crashes, a
second replica and catch-up never do it twice. A claim is a lease: if its holder dies, or the work fails in a way
worth retrying, the lease lapses (after a backoff) and whoever sweeps next takes the claim over and finishes the
slot from where it stopped. A slot missed past its grace window is recorded as skipped, one that keeps failing is
given up after a day, and finished slots are pruned once no catch-up can reach them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypedDict

from prometheus_client import Counter
from sqlmodel import Session

from bot.clock import Clock
from bot.metrics import Metrics
from bot.recurrence import Schedule, Slot
from storage import schedules as queries
from storage.db import within
from storage.models import JobRun
from storage.models import JobRunState as JobRunState

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # a holder that died lets another finish its slot after this
RETRY_FOR = timedelta(hours=24)  # a slot that keeps failing is given up (and logged as an error) after this
MAX_BACKOFF = timedelta(hours=1)
MISSED_WHILE_DOWN = "missed while Handoff was down, and past the catch-up window"
# A timer reads the clock a moment after the time it fired for; that is on time, whatever the catch-up window.
ON_TIME = timedelta(minutes=2)
KEEP_SLOTS = timedelta(days=30)  # finished slots are kept this long (well past any catch-up), then pruned
PRUNE_EVERY = timedelta(hours=1)

Sessions = Callable[[], AbstractContextManager[Session]]
OnDone = Callable[[Session, datetime], None]


class Job(StrEnum):
    DIGEST = "digest"
    NUDGES = "nudges"
    JIRA_SYNC = "jira-sync"
    STANDUP = "standup"
    STANDUP_REMINDER = "standup-remind"
    STANDUP_MISSED = "standup-missed"
    REPORT = "report"  # a channel's weekly report
    REPORT_CHART = "report-chart"  # its funnel chart, shared in the report's thread once the report is recorded
    KPI_POLL = "kpi-poll"  # every sourced KPI read once an interval, by one replica


CHANNEL_JOBS = (Job.DIGEST, Job.NUDGES)


class _NewRow(TypedDict):
    """What a new claim's row is made of."""

    job: str
    target: str
    slot: str
    due_at: datetime
    now: datetime
    lease_until: datetime
    holder: str


class Claim:
    """A slot this holder has claimed: renew it while working, record progress, then complete it, finish it, fail
    it with a backoff (the next sweep tries again), or give it up."""

    def __init__(self, run: JobRun, *, sessions: Sessions, clock: Clock, holder: str, claims: Counter):
        self.run = run  # the slot's row as it was claimed: where a taken-over claim's work stopped
        self.lease_until = run.lease_until
        self._sessions = sessions
        self._clock = clock
        self._holder = holder
        self._claims = claims  # the ledger's count of claims by outcome

    @property
    def id(self) -> int:
        return self.run.id or 0

    def overdue(self, now: datetime) -> bool:
        """Whether the slot has been failing for longer than it is worth retrying."""
        return now - self.run.due_at > RETRY_FOR

    def renew(self) -> bool:
        """Renew the claim once half its lease has gone (a long sweep, a 429 wait); False if it was lost: a claim
        that lapsed may already be another holder's, and going on would do the work twice."""
        now = self._clock.now()
        if self.lease_until is None or now < self.lease_until - LEASE / 2:
            return True
        with self._sessions() as session:
            renewed = queries.set_lease(session=session, run_id=self.id, holder=self._holder, lease_until=now + LEASE)
        if renewed:
            self.lease_until = now + LEASE
        return renewed

    def release(self) -> bool:
        """Let go of the claim, with its progress as recorded, for any holder to take over at once: this one is
        stopping. False if it was not this holder's any more."""
        with self._sessions() as session:
            now = self._clock.now()
            return queries.set_lease(session=session, run_id=self.id, holder=self._holder, lease_until=now)

    def record_progress(self, *, root_ts: str | None, parts_posted: int, session: Session | None = None) -> bool:
        """Record what was done so far and extend the lease; False if another holder took the claim over. In
        `session` when given."""
        now = self._clock.now()
        with within(self._sessions, session) as own:
            held = self._record(own, root_ts=root_ts, parts_posted=parts_posted, lease_until=now + LEASE)
        if held:
            self.lease_until = now + LEASE
        return held

    def complete(
        self, *, root_ts: str | None, parts_posted: int, then: OnDone | None = None, session: Session | None = None
    ) -> bool:
        """Mark the slot done with its final progress, running `then` in the same transaction (`session`'s when
        given); False if another holder took the claim over (it records the slot itself)."""
        now = self._clock.now()
        with within(self._sessions, session) as own:
            done = queries.complete_slot(
                session=own, run_id=self.id, holder=self._holder, root_ts=root_ts, parts_posted=parts_posted, now=now
            )
            if not done:
                return False
            if then is not None:
                then(own, now)
        return True

    def finish(
        self, state: JobRunState = JobRunState.DONE, *, reason: str | None = None, session: Session | None = None
    ) -> None:
        """Close the slot for good (done, skipped or failed) with why; in `session` when given."""
        with within(self._sessions, session) as own:
            queries.finish_slot(session=own, run_id=self.id, state=state, now=self._clock.now(), error=reason)

    def fail(
        self,
        error: str,
        *,
        root_ts: str | None,
        parts_posted: int,
        at_least: timedelta = timedelta(0),
        at_once: bool = False,
    ) -> timedelta:
        """Record what was done and let the claim lapse after a backoff (two minutes, doubling up to an hour, and
        never shorter than `at_least`; none `at_once`), when a sweep here or on another replica tries again."""
        now = self._clock.now()
        with self._sessions() as session:
            run = session.get(JobRun, self.id)
            attempts = (run.attempts if run else 0) + 1
            wait = max(min(MAX_BACKOFF, timedelta(minutes=2 ** (attempts - 1))), at_least)
            if at_once:
                wait = timedelta(0)
            self._record(session, root_ts=root_ts, parts_posted=parts_posted, lease_until=now)
            queries.retry_slot_later(
                session=session, run_id=self.id, retry_at=now + wait, error=error, holder=self._holder
            )
        return wait

    def _record(self, session: Session, *, root_ts: str | None, parts_posted: int, lease_until: datetime) -> bool:
        return queries.record_progress(
            session=session,
            run_id=self.id,
            root_ts=root_ts,
            parts_posted=parts_posted,
            lease_until=lease_until,
            holder=self._holder,
        )

    def give_up(self, about: Mapping[str, str]) -> None:
        """Fail the slot for good after its retries, and log it as an error; `about` names what it was for."""
        run = self.run
        self.finish(JobRunState.FAILED, reason=f"gave up after {run.attempts} attempts: {run.last_error}")
        self._claims.labels(job=run.job, outcome="given_up").inc()
        log.error("slot given up", extra={"job": run.job, **about, "slot": run.slot, "error": run.last_error})


class SlotLedger:
    """The claims of one holder (a process's job runner): claim, force, take over, skip and prune slots."""

    def __init__(
        self, *, sessions: Sessions, clock: Clock, catch_up_within: timedelta | None, metrics: Metrics | None = None
    ):
        self._sessions = sessions
        self._clock = clock
        self._catch_up_within = catch_up_within
        self._claims = (metrics or Metrics()).slot_claims
        self._holder = uuid.uuid4().hex  # names this ledger's claims, so a lapsed one can't be extended by it
        self._pruned_at: datetime | None = None

    @property
    def holder(self) -> str:
        return self._holder

    def within_grace(self, slot: Slot, schedule: Schedule, now: datetime) -> bool:
        """Whether a slot missed until `now` may still run: within `HANDOFF_CATCH_UP` (default: its local day)."""
        if self._catch_up_within is None:
            return schedule.local_date(now) == schedule.local_date(slot.due_at)
        return now - slot.due_at <= max(self._catch_up_within, ON_TIME)

    def known(self, jobs: Sequence[Job], *, since: datetime) -> set[tuple[str, str, str]]:
        """(job, target, slot key) of every slot claimed, done or skipped that was due since `since`."""
        with self._sessions() as session:
            return queries.slots_known(session=session, jobs=[job.value for job in jobs], since=since)

    def claim(
        self, job: Job, target: str, slot: Slot, *, now: datetime, session: Session | None = None
    ) -> Claim | None:
        """Claim a slot nobody has claimed; None if it was claimed before (by anyone, at any time). In `session`
        when given, so what the claim stands for is recorded with it or not at all."""
        with within(self._sessions, session) as own:
            run = queries.claim_slot(session=own, **self._new_row(job, target, slot, now))
        return None if run is None else self._claim(run, "claimed")

    def force(self, job: Job, target: str, slot: Slot, *, now: datetime) -> Claim:
        """A fresh claim for a deliberate re-run, beside the slot's own row, so the record stays honest."""
        with self._sessions() as session:
            return self._claim(queries.force_slot(session=session, **self._new_row(job, target, slot, now)), "claimed")

    def take_over(self, job: Job, target: str, key: str, *, now: datetime) -> tuple[JobRun | None, Claim | None]:
        """The slot's row as it stood (None if never claimed), and a claim on it if it was claimed and its lease
        has lapsed (its holder died, or its retry is due)."""
        with self._sessions() as session:
            existing = queries.get_slot(session=session, job=job.value, target=target, slot=key)
            run = None
            if existing is not None and existing.state == JobRunState.CLAIMED.value:
                run = queries.take_over_slot(
                    session=session, run_id=existing.id or 0, now=now, lease_until=now + LEASE, holder=self._holder
                )
        return existing, None if run is None else self._claim(run, "taken_over")

    def take_over_lapsed(self, jobs: Sequence[Job], *, now: datetime, target: str | None = None) -> Iterator[Claim]:
        """Take over, one at a time, each claim of `jobs` (of `target` only, when given) whose lease has lapsed;
        each is picked under a row lock that other replicas pass by, so sweeping replicas share the work."""
        passed: set[int] = set()
        while True:
            with self._sessions() as session:
                run = queries.take_over_lapsed_claim(
                    session=session,
                    jobs=[job.value for job in jobs],
                    now=now,
                    lease_until=now + LEASE,
                    holder=self._holder,
                    target=target,
                    passed=passed,
                )
            if run is None:
                return
            passed.add(run.id or 0)  # a claim failed again at once is lapsed again: it waits for the next sweep
            yield self._claim(run, "taken_over")

    def skip(
        self,
        job: Job,
        target: str,
        slot: Slot,
        *,
        now: datetime,
        reason: str,
        about: Mapping[str, str] | None = None,
        level: int = logging.WARNING,
        session: Session | None = None,
    ) -> bool:
        """Record a slot that will not run, once; True if this call recorded it. With `about` (what it was for:
        its channel, or its initiative and person), say why in the log once, at `level`."""
        with within(self._sessions, session) as own:
            wrote = queries.record_skipped_slot(
                session=own, job=job.value, target=target, slot=slot.key, due_at=slot.due_at, now=now, reason=reason
            )
        if wrote and about is not None:
            extra = {"job": job.value, **about, "slot": slot.key, "due_at": slot.due_at.isoformat()}
            log.log(level, "slot skipped: %s", reason, extra=extra)
        return wrote

    def prune(self, now: datetime) -> None:
        """Forget finished slots older than `KEEP_SLOTS`, at most once every `PRUNE_EVERY`."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        with self._sessions() as session:
            queries.prune_finished_slots(session=session, before=now - KEEP_SLOTS)
        self._pruned_at = now

    def _new_row(self, job: Job, target: str, slot: Slot, now: datetime) -> _NewRow:
        return _NewRow(
            job=job.value,
            target=target,
            slot=slot.key,
            due_at=slot.due_at,
            now=now,
            lease_until=now + LEASE,
            holder=self._holder,
        )

    def _claim(self, run: JobRun, how: str) -> Claim:
        self._claims.labels(job=run.job, outcome=how).inc()
        return Claim(run, sessions=self._sessions, clock=self._clock, holder=self._holder, claims=self._claims)
