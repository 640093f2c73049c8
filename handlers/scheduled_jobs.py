"""The Slack side of the recurring jobs: claim each slot in the database, compose, render, post, record.

Every run claims its slot (job, channel, local date) before anything is posted, so restarts, crashes, a second
replica and catch-up never post twice. A claim is a lease: if its holder dies, or Slack fails in a way worth
retrying, the lease lapses and the next sweep (here or on another replica) finishes the slot from where it
stopped, recorded part by part. Posts to one channel are paced a second apart; different channels interleave,
so the whole run takes about as long as its busiest channel needs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.blocks.base import Message
from bot.blocks.digest import render_digest
from bot.blocks.nudges import render_channel_refused, render_escalation, render_nudges
from bot.channel_settings import (
    ChannelPlan,
    channel_plan,
    disable_for_slack_error,
    record_digest_posted,
    scheduled_channels,
)
from bot.clock import Pacer
from bot.digest import ChannelDigest, compose_digest
from bot.errors import SlackChannelUnavailable
from bot.nudges import Escalation, NudgePlan, plan_nudges, record_channel_nudges, record_escalation
from bot.runtime import Runtime
from bot.schedule import MAX_CATCH_UP_SLOTS_DAYS, Schedule, Slot
from handlers.jira_jobs import run_jira_sync
from handlers.slack_io import post_message
from storage import digest as digest_queries
from storage import schedules as queries
from storage.models import JobRun, JobRunState

log = logging.getLogger(__name__)
SLOT_POST_EVENT = "handoff_slot_post"  # message metadata that names the slot run and part a post belongs to
LEASE = timedelta(minutes=5)  # a holder that died lets another finish its slot after this
RETRY_FOR = timedelta(hours=24)  # a slot Slack keeps failing is given up (and logged as an error) after this
MAX_BACKOFF = timedelta(hours=1)
MISSED_WHILE_DOWN = "missed while Handoff was down, and past the catch-up window"
# A timer reads the clock a moment after the time it fired for; that is on time, whatever the catch-up window.
ON_TIME = timedelta(minutes=2)
KEEP_SLOTS = timedelta(days=30)  # finished slots are kept this long (well past any catch-up), then pruned
PRUNE_EVERY = timedelta(hours=1)


class Job(StrEnum):
    DIGEST = "digest"
    NUDGES = "nudges"
    JIRA_SYNC = "jira-sync"
    STANDUP = "standup"
    STANDUP_REMINDER = "standup-remind"
    STANDUP_MISSED = "standup-missed"


CHANNEL_JOBS = (Job.DIGEST.value, Job.NUDGES.value)


@dataclass
class Delivery:
    """Messages for one destination: the first in the channel, the rest in its thread."""

    destination: str
    messages: list[Message]
    run_id: int | None = None  # the claimed slot; None for a direct message that rides along with one
    posted: int = 0
    root_ts: str | None = None
    # Runs in the transaction that marks the slot done: what must be recorded only once it was all posted.
    on_done: Callable[[Session, datetime], None] | None = None
    # Taken over from a holder that may have died just after posting: ask Slack what is already there.
    resumed_since: datetime | None = None
    # Where to read that history when `destination` is a person: history needs their DM's channel id.
    history_channel: str | None = None
    # A run someone asked for (`digest now`, `--force`) fails in front of them instead of retrying behind them.
    retry: bool = True
    # `handoff run` without `--force`: a failed post leaves the day's slot free at once, for the operator's next
    # run (or the next sweep) to post, instead of waiting out a backoff.
    retry_at_once: bool = False
    lease_until: datetime | None = None  # how long this process holds the slot's claim
    posted_channel: str | None = None  # where the first message went (a user id resolves to their DM channel)
    # What to do when Slack refuses the destination for good; None: it is a channel, whose digest is turned off.
    on_refused: Callable[[str], None] | None = None

    @property
    def remaining(self) -> bool:
        return self.posted < len(self.messages)


@dataclass
class RunReport:
    posted: list[str] = field(default_factory=list)  # where each finished delivery went: channel or user ids
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    messages: int = 0


@dataclass(frozen=True)
class Preview:
    """What a job would post in a channel, without posting it (`--dry-run`, `digest preview`)."""

    channel_id: str
    messages: list[Message]
    direct: list[tuple[str, list[Message]]] = field(default_factory=list)  # (user id, messages)
    note: str | None = None


class JobRunner:
    def __init__(self, runtime: Runtime, client: WebClient):
        self._runtime = runtime
        self._client = client
        self._pacer = runtime.pacer or Pacer(runtime.clock)
        self._holder = uuid.uuid4().hex  # names this runner's claims, so a lapsed one can't be extended by it
        self._pruned_at: datetime | None = None

    @property
    def holder(self) -> str:
        return self._holder

    def delivery_for(self, run: JobRun, destination: str, messages: list[Message]) -> Delivery:
        """A delivery of a claimed slot's messages, for jobs composed outside this runner (standups)."""
        return Delivery(
            destination=destination,
            messages=messages,
            run_id=run.id,
            posted=run.parts_posted,
            root_ts=run.root_ts,
            lease_until=run.lease_until,
        )

    def finish(self, run_id: int, *, reason: str, state: JobRunState = JobRunState.SKIPPED) -> None:
        self._finish(run_id, state, reason)

    # ------------------------------------------------------------------------------------------ sweeps

    def run_due(self, *, channel: tuple[str, str] | None = None, only: Job | None = None) -> RunReport:
        """Run every slot that is due and not yet claimed (catching up within the grace window, skipping and
        logging older ones), and finish every claim whose lease lapsed; `only` leaves the other job's slots."""
        runtime = self._runtime
        now = runtime.clock.now()
        report = RunReport()
        outbox = Outbox(self, report)
        with runtime.session() as session:
            plans = _scheduled(session, runtime, channel)
            known = queries.slots_known(
                session=session, jobs=CHANNEL_JOBS, since=now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS + 1)
            )
        for plan in plans:
            for job, schedule in self._schedules(plan):
                if only is not None and job is not only:
                    continue
                start = max(now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS), plan.since or now)
                for slot in schedule.slots_between(start, now):
                    if (job.value, plan.target, slot.key) in known:
                        continue
                    if not self.within_grace(slot, schedule, now):
                        about = {"channel": plan.channel_id}
                        self.skip(job, plan.target, slot, now, report, reason=MISSED_WHILE_DOWN, about=about)
                        continue
                    outbox.add(self._claim_and_prepare(job, plan, slot, now, report))
        outbox.add(self._resume_lapsed(now, report, channel))
        outbox.drain()
        if channel is None and (self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY):
            with runtime.session() as session:
                queries.prune_finished_slots(session=session, before=now - KEEP_SLOTS)
            self._pruned_at = now
        return report

    def run_now(self, job: Job, plan: ChannelPlan, *, force: bool) -> RunReport:
        """Today's slot of one channel, now (the command line); with `force`, again even if it already ran."""
        now = self._runtime.clock.now()
        report = RunReport()
        schedule = dict(self._schedules(plan, include_disabled=True))[job]
        slot = Slot(schedule.local_date(now).isoformat(), now)
        if force:
            with self._runtime.session() as session:
                run = queries.force_slot(
                    session=session,
                    job=job.value,
                    target=plan.target,
                    slot=slot.key,
                    due_at=now,
                    now=now,
                    lease_until=now + LEASE,
                    holder=self._holder,
                )
            deliveries = self._prepare(job, plan, run, now, report, asked=True)
            for delivery in deliveries:
                delivery.retry = False
        else:
            deliveries = self._claim_and_prepare(job, plan, slot, now, report, explicit=True)
            for delivery in deliveries:
                delivery.retry_at_once = True
        self.deliver(deliveries, report)
        return report

    def preview(self, job: Job, plan: ChannelPlan) -> Preview:
        """What `job` would post in the channel now; nothing is claimed, posted or recorded."""
        now = self._runtime.clock.now()
        with self._runtime.session() as session:
            if job is Job.DIGEST:
                digest = self.compose(session, plan, now, due_at=now)
                if not digest.entries:
                    return Preview(plan.channel_id, [], note="No initiatives call this channel home, so no digest.")
                note = None
                if plan.quiet and not digest.changed:
                    note = "Nothing changed, and this channel's digest is quiet: nothing would be posted."
                return Preview(plan.channel_id, render_digest(digest, jira_url=self._runtime.jira_url), note=note)
            nudges = self._plan_nudges(session, plan, now)
        return Preview(
            plan.channel_id,
            render_nudges(nudges) if nudges.post else [],
            [(e.lead_id, render_escalation(e, channel_id=plan.channel_id)) for e in nudges.escalations],
            note=None if not nudges.empty else "Nothing to nudge about today.",
        )

    def jira_sync(self) -> None:
        """The scheduled Jira sync: one replica per interval (the slot is the interval's number)."""
        now = self._runtime.clock.now()
        seconds = self._runtime.settings.jira_sync_minutes * 60
        slot = str(int(now.timestamp()) // seconds)
        with self._runtime.session() as session:
            run = queries.claim_slot(
                session=session,
                job=Job.JIRA_SYNC.value,
                target="jira",
                slot=slot,
                due_at=now,
                now=now,
                lease_until=now + LEASE,
                holder=self._holder,
            )
        if run is None:
            return
        state, error = JobRunState.DONE, None
        try:
            report = run_jira_sync(self._runtime, self._client)
            if report.sync is not None and not report.sync.ok:
                state, error = JobRunState.FAILED, report.sync.error
        except Exception as failure:  # the next interval tries again; the schedule must survive any failure
            log.exception("the scheduled Jira sync failed")
            state, error = JobRunState.FAILED, type(failure).__name__
        self._finish(run.id or 0, state, error or "")

    # ------------------------------------------------------------------------------------------ claiming

    def _schedules(self, plan: ChannelPlan, *, include_disabled: bool = False) -> list[tuple[Job, Schedule]]:
        """The channel's digest schedule, and the nudges' (the same days, a little later), when they are on."""
        pairs = []
        if plan.digest_enabled or include_disabled:
            pairs.append((Job.DIGEST, plan.schedule))
        if plan.nudges_on or include_disabled:
            pairs.append((Job.NUDGES, plan.schedule.later_by(self._runtime.settings.nudge_delay_minutes)))
        return pairs

    def within_grace(self, slot: Slot, schedule: Schedule, now: datetime) -> bool:
        """Whether a slot missed until `now` may still run: within `HANDOFF_CATCH_UP` (default: its local day)."""
        window = self._runtime.settings.catch_up_within
        if window is None:
            return schedule.local_date(now) == schedule.local_date(slot.due_at)
        return now - slot.due_at <= max(window, ON_TIME)

    def skip(
        self,
        job: Job,
        target: str,
        slot: Slot,
        now: datetime,
        report: RunReport,
        *,
        reason: str,
        about: dict[str, str],
        warn: bool = True,
    ) -> None:
        """Record a slot that will not run, once, and say why in the log once (a warning when it was missed);
        `about` names what it was for (its channel, or its initiative and person)."""
        with self._runtime.session() as session:
            wrote = queries.record_skipped_slot(
                session=session, job=job.value, target=target, slot=slot.key, due_at=slot.due_at, now=now, reason=reason
            )
        if wrote:
            extra = {"job": job.value, **about, "slot": slot.key, "due_at": slot.due_at.isoformat()}
            log.log(logging.WARNING if warn else logging.INFO, "slot skipped: %s", reason, extra=extra)
            report.skipped.append(f"{job.value} {' '.join(about.values())} {slot.key}")

    def _claim_and_prepare(
        self, job: Job, plan: ChannelPlan, slot: Slot, now: datetime, report: RunReport, *, explicit: bool = False
    ) -> list[Delivery]:
        with self._runtime.session() as session:
            run = queries.claim_slot(
                session=session,
                job=job.value,
                target=plan.target,
                slot=slot.key,
                due_at=slot.due_at,
                now=now,
                lease_until=now + LEASE,
                holder=self._holder,
            )
        if run is None and explicit:
            return self._take_over_explicitly(job, plan, slot, now, report)
        if run is None:
            return []  # another replica, or an earlier run, has it
        return self._prepare(job, plan, run, now, report)

    def _take_over_explicitly(
        self, job: Job, plan: ChannelPlan, slot: Slot, now: datetime, report: RunReport
    ) -> list[Delivery]:
        """`handoff run` on a slot claimed before: finish it if its post failed and it is free, else say why not."""
        label = f"{job.value} {plan.channel_id} {slot.key}"
        with self._runtime.session() as session:
            existing = queries.get_slot(session=session, job=job.value, target=plan.target, slot=slot.key)
            run = None
            if existing is not None and existing.state == JobRunState.CLAIMED.value:
                run = queries.take_over_slot(
                    session=session, run_id=existing.id or 0, now=now, lease_until=now + LEASE, holder=self._holder
                )
        if existing is None:
            return []
        if run is not None:
            deliveries = self._prepare(job, plan, run, now, report)
            for delivery in deliveries:
                if delivery.run_id == run.id:
                    delivery.resumed_since = run.claimed_at
            return deliveries
        if existing.state == JobRunState.DONE.value:
            reason = "already ran (use --force)"
        elif existing.state == JobRunState.CLAIMED.value and existing.attempts:
            at = (existing.lease_until or now).strftime("%H:%M UTC")
            reason = f"Slack failed it ({existing.last_error}); the scheduler retries at {at}, or use --force now"
        elif existing.state == JobRunState.CLAIMED.value:
            reason = "another run is posting it right now"
        else:
            reason = f"{existing.state} ({existing.last_error or 'no reason recorded'}); use --force to post it"
        report.skipped.append(f"{label}: {reason}")
        return []

    def _resume_lapsed(self, now: datetime, report: RunReport, channel: tuple[str, str] | None) -> list[Delivery]:
        deliveries: list[Delivery] = []
        with self._runtime.session() as session:
            lapsed = queries.lapsed_claims(session=session, jobs=CHANNEL_JOBS, now=now)
        for stale in lapsed:
            if channel is not None and stale.target != f"{channel[0]}:{channel[1]}":
                continue
            with self._runtime.session() as session:
                run = queries.take_over_slot(
                    session=session, run_id=stale.id or 0, now=now, lease_until=now + LEASE, holder=self._holder
                )
                if run is None:
                    continue
                team_id, channel_id = run.target.split(":", 1)
                plan = channel_plan(
                    session=session,
                    team_id=team_id,
                    channel_id=channel_id,
                    default_timezone=self._runtime.settings.timezone,
                )
            if now - run.due_at > RETRY_FOR:
                self._finish(
                    run.id or 0, JobRunState.FAILED, f"gave up after {run.attempts} attempts: {run.last_error}"
                )
                log.error(
                    "slot given up",
                    extra={"job": run.job, "channel": channel_id, "slot": run.slot, "error": run.last_error},
                )
                report.failed.append(f"{run.job} {channel_id} {run.slot}")
                continue
            log.info("finishing a slot whose claim lapsed", extra={"job": run.job, "slot": run.slot, "run": run.id})
            for delivery in self._prepare(Job(run.job), plan, run, now, report):
                if delivery.run_id == run.id:
                    delivery.resumed_since = run.claimed_at
                deliveries.append(delivery)
        return deliveries

    # ------------------------------------------------------------------------------------------ composing

    def _prepare(
        self, job: Job, plan: ChannelPlan, run: JobRun, now: datetime, report: RunReport, *, asked: bool = False
    ) -> list[Delivery]:
        """The slot's messages; `asked` (a deliberate run) posts a digest even on a quiet day without news."""
        label = f"{job.value} {plan.channel_id} {run.slot}"
        with self._runtime.session() as session:
            if job is Job.DIGEST:
                digest = self.compose(session, plan, now, due_at=run.due_at)
                if not digest.entries:
                    return self._finished_without_post(run, "no initiatives call this channel home", label, report)
                if plan.quiet and not digest.changed and not asked:
                    return self._finished_without_post(run, "quiet digest: nothing changed", label, report)
                messages = render_digest(digest, jira_url=self._runtime.jira_url)

                def digest_posted(s: Session, _posted_at: datetime) -> None:
                    # What was written while the digest was being posted belongs to the next one.
                    record_digest_posted(session=s, team_id=plan.team_id, channel_id=plan.channel_id, at=now)

                return [self._delivery(run, plan.channel_id, messages, digest_posted)]
            nudges = self._plan_nudges(session, plan, now)
        deliveries = [self._escalation(e, plan.channel_id, now) for e in nudges.escalations]

        def nudged(s: Session, at: datetime) -> None:
            record_channel_nudges(session=s, plan=nudges, now=at)

        if not nudges.post:
            with self._runtime.session() as session:
                nudged(session, now)
            self._finished_without_post(
                run, "nothing to nudge about in the channel", label, report, state=JobRunState.DONE
            )
            return deliveries
        return [self._delivery(run, plan.channel_id, render_nudges(nudges), nudged), *deliveries]

    def _delivery(
        self, run: JobRun, channel_id: str, messages: list[Message], on_done: Callable[[Session, datetime], None]
    ) -> Delivery:
        delivery = self.delivery_for(run, channel_id, messages)
        delivery.on_done = on_done
        return delivery

    def _escalation(self, escalation: Escalation, channel_id: str, now: datetime) -> Delivery:
        def escalated(s: Session, at: datetime) -> None:
            record_escalation(session=s, escalation=escalation, now=now)

        return Delivery(escalation.lead_id, render_escalation(escalation, channel_id=channel_id), on_done=escalated)

    def _finished_without_post(
        self, run: JobRun, reason: str, label: str, report: RunReport, *, state: JobRunState = JobRunState.SKIPPED
    ) -> list[Delivery]:
        self._finish(run.id or 0, state, reason)
        report.skipped.append(f"{label}: {reason}")
        return []

    def compose(self, session: Session, plan: ChannelPlan, now: datetime, *, due_at: datetime) -> ChannelDigest:
        """A channel's digest as the slot due at `due_at` reports it: since the previous digest, or a day before."""
        settings = self._runtime.settings
        since = plan.last_digest_at or (due_at - timedelta(days=1))
        tz = plan.schedule.tz
        return compose_digest(
            session=session,
            team_id=plan.team_id,
            channel_id=plan.channel_id,
            since=since,
            now=now,
            today=now.astimezone(tz).date(),
            since_day=since.astimezone(tz).date(),
            checklist=settings.checklist.for_team(plan.team_id),
            stale_days=settings.kpi_stale_days,
        )

    def _plan_nudges(self, session: Session, plan: ChannelPlan, now: datetime) -> NudgePlan:
        settings = self._runtime.settings
        tz = plan.schedule.tz
        return plan_nudges(
            session=session,
            team_id=plan.team_id,
            channel_id=plan.channel_id,
            now=now,
            today=now.astimezone(tz).date(),
            tz=tz,
            checklist=settings.checklist.for_team(plan.team_id),
            stale_days=settings.kpi_stale_days,
            cooldown_days=settings.nudge_cooldown_days,
        )

    # ------------------------------------------------------------------------------------------ posting

    def deliver(self, deliveries: list[Delivery], report: RunReport) -> None:
        outbox = self.outbox(report)
        outbox.add(deliveries)
        outbox.drain()

    def outbox(self, report: RunReport) -> Outbox:
        """Where jobs composed elsewhere (the standups) hand their deliveries as soon as each is claimed, for the
        same pacing, leases and failure handling; `drain()` it at the end."""
        return Outbox(self, report)

    def _post_next(self, delivery: Delivery, report: RunReport, refused: set[str]) -> bool:
        """Post the delivery's next message; True if it went out."""
        message = delivery.messages[delivery.posted]
        if not self._still_holds(delivery):
            return False
        self._pacer.wait_turn(delivery.destination)
        metadata = None
        if delivery.run_id is not None:
            payload = {"run": delivery.run_id, "part": delivery.posted}
            metadata = {"event_type": SLOT_POST_EVENT, "event_payload": payload}
        try:
            posted = post_message(
                self._client,
                channel_id=delivery.destination,
                message=message,
                thread_ts=delivery.root_ts,
                metadata=metadata,
            )
        except SlackChannelUnavailable as error:
            self._pacer.sent(delivery.destination)
            refused.add(delivery.destination)
            self._channel_refused(delivery, error.error, report)
            return False
        except (SlackApiError, SlackClientError, OSError) as error:
            self._pacer.sent(delivery.destination)
            self._retry_later(delivery, error, report)
            return False
        self._pacer.sent(delivery.destination)
        report.messages += 1
        delivery.posted += 1
        if delivery.root_ts is None:
            delivery.root_ts, delivery.posted_channel = posted.ts, posted.channel_id
        now = self._runtime.clock.now()
        if delivery.run_id is not None and delivery.remaining:
            with self._runtime.session() as session:
                held = queries.record_progress(
                    session=session,
                    run_id=delivery.run_id,
                    root_ts=delivery.root_ts,
                    parts_posted=delivery.posted,
                    lease_until=now + LEASE,
                    holder=self._holder,
                )
            if not held:
                log.warning(
                    "lost a slot's claim while posting; its new holder finishes it", extra={"run": delivery.run_id}
                )
                return False
            delivery.lease_until = now + LEASE
        if not delivery.remaining:
            self._complete(delivery, report)
        return True

    def _still_holds(self, delivery: Delivery) -> bool:
        """Renew the claim before posting when half its lease has gone (a long sweep, a 429 wait): a claim that
        lapsed may already be another replica's, and posting on would post twice."""
        now = self._runtime.clock.now()
        if delivery.run_id is None or delivery.lease_until is None or now < delivery.lease_until - LEASE / 2:
            return True
        with self._runtime.session() as session:
            renewed = queries.renew_lease(
                session=session, run_id=delivery.run_id, holder=self._holder, lease_until=now + LEASE
            )
        if not renewed:
            log.warning(
                "lost a slot's claim before posting; its new holder finishes it", extra={"run": delivery.run_id}
            )
            return False
        delivery.lease_until = now + LEASE
        return True

    def _count_already_posted(self, delivery: Delivery) -> None:
        """A holder can die after Slack took a message and before the database heard of it. Each post carries its
        run and part in its metadata, so the new holder reads the channel (and the thread) to skip what is there."""
        since = delivery.resumed_since
        if since is None or delivery.run_id is None:
            return
        try:
            channel = delivery.history_channel or delivery.destination
            if channel[:1] in "UW":
                # History is read by channel id, and no earlier prompt told us this person's DM's: the check is
                # skipped, and only a crash in the instant after the very first prompt to them could post it twice.
                return
            if delivery.root_ts is None:
                history = self._client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    include_all_metadata=True,
                    limit=200,
                )
                root = next((m for m in history["messages"] if _part_of(m, delivery.run_id) == 0), None)
                if root is None:
                    return
                delivery.root_ts, delivery.posted, delivery.posted_channel = root["ts"], 1, channel
            replies = self._client.conversations_replies(
                channel=channel, ts=delivery.root_ts, include_all_metadata=True, limit=1000
            )
            parts = {_part_of(m, delivery.run_id) for m in replies["messages"]}
            while delivery.posted in parts:
                delivery.posted += 1
        except (SlackApiError, SlackClientError, OSError) as error:
            # Posting again risks a duplicate, but not posting would lose the digest: Slack is the one that failed.
            log.warning("could not check what a lapsed run already posted", extra={"error": str(error)})

    def _complete(self, delivery: Delivery, report: RunReport) -> None:
        now = self._runtime.clock.now()
        with self._runtime.session() as session:
            if delivery.run_id is not None:
                held = queries.record_progress(
                    session=session,
                    run_id=delivery.run_id,
                    root_ts=delivery.root_ts,
                    parts_posted=delivery.posted,
                    lease_until=now,
                    holder=self._holder,
                )
                if not held:  # another holder took the claim over and records the slot itself
                    log.warning("lost a slot's claim as it finished", extra={"run": delivery.run_id})
                    return
                queries.finish_slot(session=session, run_id=delivery.run_id, state=JobRunState.DONE, now=now)
            if delivery.on_done is not None:
                delivery.on_done(session, now)
        report.posted.append(delivery.destination)

    def _retry_later(self, delivery: Delivery, error: Exception, report: RunReport) -> None:
        code = error.response.get("error", "") if isinstance(error, SlackApiError) else type(error).__name__
        if not delivery.retry and delivery.run_id is not None:
            self._finish(delivery.run_id, JobRunState.FAILED, code)
            report.failed.append(f"{delivery.destination}: {code}")
            return
        if delivery.run_id is None:
            log.warning("a direct message was not delivered; the next run tries again", extra={"error": code})
            report.failed.append(delivery.destination)
            return
        now = self._runtime.clock.now()
        with self._runtime.session() as session:
            run = session.get(JobRun, delivery.run_id)
            attempts = (run.attempts if run else 0) + 1
            wait = min(MAX_BACKOFF, timedelta(minutes=2 ** (attempts - 1)))
            if isinstance(error, SlackApiError) and error.response.status_code == 429:
                wait = max(wait, timedelta(seconds=_retry_after(error)))
            if delivery.retry_at_once:
                wait = timedelta(0)
            queries.record_progress(
                session=session,
                run_id=delivery.run_id,
                root_ts=delivery.root_ts,
                parts_posted=delivery.posted,
                lease_until=now,
                holder=self._holder,
            )
            queries.retry_slot_later(
                session=session, run_id=delivery.run_id, retry_at=now + wait, error=code, holder=self._holder
            )
        then = "the slot is left for the next run" if delivery.retry_at_once else "retrying later"
        log.warning(
            f"post failed; {then}",
            extra={"channel": delivery.destination, "error": code, "retry_in_s": int(wait.total_seconds())},
        )
        report.retrying.append(delivery.destination)

    def _channel_refused(self, delivery: Delivery, code: str, report: RunReport) -> None:
        """Slack will not take posts in the channel: turn its digest off and tell whoever set it up."""
        if delivery.on_refused is not None:
            delivery.on_refused(code)
            report.failed.append(delivery.destination)
            return
        if delivery.run_id is None:  # a direct message to someone who left, say
            log.warning("a direct message was refused", extra={"error": code})
            report.failed.append(delivery.destination)
            return
        now = self._runtime.clock.now()
        with self._runtime.session() as session:
            run = session.get(JobRun, delivery.run_id)
            team_id = run.target.split(":", 1)[0] if run else ""
            plan = disable_for_slack_error(
                session=session,
                team_id=team_id,
                channel_id=delivery.destination,
                error=code,
                now=now,
                default_timezone=self._runtime.settings.timezone,
            )
            queries.finish_slot(session=session, run_id=delivery.run_id, state=JobRunState.FAILED, now=now, error=code)
            people = [plan.configured_by] if plan.configured_by else _leads_in(session, team_id, delivery.destination)
        self._runtime.schedule_changed()
        log.warning(
            "the digest and nudges of a channel are off: Slack refused the post",
            extra={"channel": delivery.destination, "error": code},
        )
        report.failed.append(delivery.destination)
        notice = render_channel_refused(delivery.destination, code)
        for person in people:
            self._pacer.wait_turn(person)
            try:
                post_message(self._client, channel_id=person, message=notice)
            except (SlackApiError, SlackClientError, SlackChannelUnavailable, OSError) as error:
                log.warning("could not tell someone their channel's digest is off", extra={"error": str(error)})
            self._pacer.sent(person)

    def _finish(self, run_id: int, state: JobRunState, reason: str) -> None:
        with self._runtime.session() as session:
            queries.finish_slot(
                session=session, run_id=run_id, state=state, now=self._runtime.clock.now(), error=reason
            )


class Outbox:
    """Posts deliveries as they are composed: each one's first message at once, and its continuations whenever
    their channel's turn comes, in between composing others. A run takes about as long as composing everything
    or as its busiest channel's pace, whichever is longer, rather than their sum."""

    def __init__(self, runner: JobRunner, report: RunReport):
        self._runner = runner
        self._report = report
        self._pending: list[Delivery] = []
        self._refused: set[str] = set()

    def add(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if delivery.resumed_since is not None:
                self._runner._count_already_posted(delivery)
            if not delivery.remaining:
                if delivery.run_id is not None:  # all posted before a crash; only the record is missing
                    self._runner._complete(delivery, self._report)
                continue
            self._pending.append(delivery)  # served now if its channel is free, else when its turn comes
        self._serve_ready()

    def drain(self) -> None:
        pacer = self._runner._pacer
        while self._pending:
            self._post(min(self._pending, key=lambda d: pacer.next_turn(d.destination)))

    def _serve_ready(self) -> None:
        pacer, now = self._runner._pacer, self._runner._runtime.clock.monotonic()
        for delivery in [d for d in self._pending if pacer.next_turn(d.destination) <= now]:
            self._post(delivery)

    def _post(self, delivery: Delivery) -> None:
        if delivery in self._pending:
            self._pending.remove(delivery)
        if delivery.destination in self._refused:
            if delivery.run_id is not None:
                self._runner._finish(delivery.run_id, JobRunState.FAILED, "the channel refused posts")
            return
        if self._runner._post_next(delivery, self._report, self._refused) and delivery.remaining:
            self._pending.append(delivery)


def _part_of(message: dict, run_id: int) -> int | None:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != SLOT_POST_EVENT or payload.get("run") != run_id:
        return None
    part = payload.get("part")
    return part if isinstance(part, int) else None


def _scheduled(session: Session, runtime: Runtime, channel: tuple[str, str] | None) -> list[ChannelPlan]:
    plans = scheduled_channels(session=session, default_timezone=runtime.settings.timezone)
    return [p for p in plans if channel is None or (p.team_id, p.channel_id) == channel]


def _leads_in(session: Session, team_id: str, channel_id: str) -> list[str]:
    rows = digest_queries.initiatives_in_channel(session=session, team_id=team_id, channel_id=channel_id)
    return list(dict.fromkeys(x for row in rows for x in (row.ds_lead_id, row.eng_lead_id) if x))


def _retry_after(error: SlackApiError) -> int:
    value = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after") or "1"
    if isinstance(value, list):
        value = value[0]
    try:
        return max(1, int(value))
    except ValueError:
        return 1
