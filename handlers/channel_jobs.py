"""The scheduled channel jobs and the Jira sync: claim each slot on the ledger, compose with the services, render,
and hand the messages to the outbox.

Every run claims its slot (job, channel, local date) before anything is posted (`bot.slot_ledger`), so restarts,
crashes, a second replica and catch-up never post twice; a claim whose holder died or whose post failed lapses,
and the next sweep (here or on another replica) takes it over and finishes it through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.blocks.base import Message
from bot.channel_settings import ChannelPlan, channel_plan, scheduled_channels
from bot.recurrence import MAX_CATCH_UP_SLOTS_DAYS, Schedule, Slot
from bot.runtime import Runtime
from bot.slot_ledger import CHANNEL_JOBS, MISSED_WHILE_DOWN, Claim, Job, JobRunState, OnDone, SlotLedger
from handlers.outbox import Delivery, Outbox, RunReport
from handlers.report_jobs import WeeklyReports

# What a slot posts (the digest and nudges services, their Block Kit) and the Jira sync are imported where they
# are used: a sweep with nothing due, which is most of them, loads neither.
if TYPE_CHECKING:
    from bot.digest import ScheduledDigest
    from bot.nudges import Escalation, NudgePlan

log = logging.getLogger(__name__)


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
        self.ledger = SlotLedger(
            sessions=runtime.session,
            clock=runtime.clock,
            catch_up_within=runtime.settings.catch_up_within,
            metrics=runtime.metrics,
        )
        self.outbox = Outbox(runtime, client)
        self.reports = WeeklyReports(runtime, client, self.ledger)

    # ------------------------------------------------------------------------------------------ sweeps

    def run_due(self, *, channel: tuple[str, str] | None = None, only: Job | None = None) -> RunReport:
        """Run every slot that is due and not yet claimed (catching up within the grace window, skipping and
        logging older ones), and finish every claim whose lease lapsed; `only` leaves the other job's slots."""
        now = self._runtime.clock.now()
        report = RunReport()
        self.outbox.deliver(self._due(now, report, channel, only), report)
        # Each chart was claimed with its report: one this run does not reach is the next sweep's to share.
        self.reports.share_charts(report)
        if channel is None:
            self.ledger.prune(now)
        return report

    def _due(
        self, now: datetime, report: RunReport, channel: tuple[str, str] | None, only: Job | None
    ) -> Iterator[list[Delivery]]:
        """Each due slot's deliveries as soon as it is claimed and composed, then those of lapsed claims."""
        with self._runtime.session() as session:
            plans = scheduled_channels(session=session, default_timezone=self._runtime.settings.timezone)
        plans = [p for p in plans if channel is None or (p.team_id, p.channel_id) == channel]
        # The busiest channels first: a long digest continues in its thread a second apart, and those seconds pass
        # while the other channels' digests are posted instead of after them.
        plans.sort(key=lambda p: -p.initiatives)
        known = self.ledger.known(CHANNEL_JOBS, since=now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS + 1))
        for plan in plans:
            for job, schedule in self._schedules(plan):
                if only is not None and job is not only:
                    continue
                start = max(now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS), plan.since or now)
                for slot in schedule.slots_between(start, now):
                    if (job.value, plan.target, slot.key) in known:
                        continue
                    if not self.ledger.within_grace(slot, schedule, now):
                        about = {"channel": plan.channel_id}
                        if self.ledger.skip(job, plan.target, slot, now=now, reason=MISSED_WHILE_DOWN, about=about):
                            report.add_skipped(job.value, about, slot.key)
                        continue
                    yield self._claim_and_prepare(job, plan, slot, now, report)
        yield self._resume_lapsed(now, report, channel)
        if only is None or only is Job.REPORT:
            yield from self.reports.due(now, report, channel)

    def run_now(self, job: Job, plan: ChannelPlan, *, force: bool) -> RunReport:
        """Today's slot of one channel, now (the command line); with `force`, again even if it already ran."""
        now = self._runtime.clock.now()
        report = RunReport()
        schedule = dict(self._schedules(plan, include_disabled=True))[job]
        slot = Slot(schedule.local_date(now).isoformat(), now)
        if force:
            claim = self.ledger.force(job, plan.target, slot, now=now)
            deliveries = self._prepare(job, plan, claim, now, report, asked=True)
            for delivery in deliveries:
                delivery.retry = False
        else:
            deliveries = self._claim_and_prepare(job, plan, slot, now, report, explicit=True)
            for delivery in deliveries:
                delivery.retry_at_once = True
        self.outbox.deliver([deliveries], report)
        return report

    def preview(self, job: Job, plan: ChannelPlan) -> Preview:
        """What `job` would post in the channel now; nothing is claimed, posted or recorded."""
        from bot.blocks.digest import render_digest
        from bot.blocks.nudges import render_escalation, render_nudges
        from bot.digest import DigestSkip

        now = self._runtime.clock.now()
        if job is Job.DIGEST:
            due = self.digest(plan, now, due_at=now)
            if due.skip is DigestSkip.NO_INITIATIVES:
                return Preview(plan.channel_id, [], note="No initiatives call this channel home, so no digest.")
            note = None
            if due.skip is DigestSkip.QUIET:
                note = "Nothing changed, and this channel's digest is quiet: nothing would be posted."
            return Preview(plan.channel_id, render_digest(due.digest, jira_url=self._runtime.jira_url), note=note)
        nudges = self._nudges(plan, now)
        return Preview(
            plan.channel_id,
            render_nudges(nudges) if nudges.post else [],
            [(e.lead_id, render_escalation(e, channel_id=plan.channel_id)) for e in nudges.escalations],
            note=None if not nudges.empty else "Nothing to nudge about today.",
        )

    def jira_sync(self) -> None:
        """The scheduled Jira sync: one replica per interval (the slot is the interval's number)."""
        from handlers.jira_jobs import run_jira_sync

        now = self._runtime.clock.now()
        seconds = self._runtime.settings.jira_sync_minutes * 60
        claim = self.ledger.claim(Job.JIRA_SYNC, "jira", Slot(str(int(now.timestamp()) // seconds), now), now=now)
        if claim is None:
            return
        state, error = JobRunState.DONE, None
        try:
            report = run_jira_sync(self._runtime, self._client)
            if report.sync is not None and not report.sync.ok:
                state, error = JobRunState.FAILED, report.sync.error
        except Exception as failure:  # the next interval tries again; the schedule must survive any failure
            log.exception("the scheduled Jira sync failed")
            state, error = JobRunState.FAILED, type(failure).__name__
        claim.finish(state, reason=error or "")

    # ------------------------------------------------------------------------------------------ claiming

    def _schedules(self, plan: ChannelPlan, *, include_disabled: bool = False) -> list[tuple[Job, Schedule]]:
        """The channel's digest schedule, and the nudges' (the same days, a little later), when they are on."""
        pairs = []
        if plan.digest_enabled or include_disabled:
            pairs.append((Job.DIGEST, plan.schedule))
        if plan.nudges_on or include_disabled:
            pairs.append((Job.NUDGES, plan.schedule.later_by(self._runtime.settings.nudge_delay_minutes)))
        return pairs

    def _claim_and_prepare(
        self, job: Job, plan: ChannelPlan, slot: Slot, now: datetime, report: RunReport, *, explicit: bool = False
    ) -> list[Delivery]:
        claim = self.ledger.claim(job, plan.target, slot, now=now)
        if claim is None and explicit:
            return self._take_over_explicitly(job, plan, slot, now, report)
        if claim is None:
            return []  # another replica, or an earlier run, has it
        return self._prepare(job, plan, claim, now, report)

    def _take_over_explicitly(
        self, job: Job, plan: ChannelPlan, slot: Slot, now: datetime, report: RunReport
    ) -> list[Delivery]:
        """`handoff run` on a slot claimed before: finish it if its post failed and it is free, else say why not."""
        label = f"{job.value} {plan.channel_id} {slot.key}"
        existing, claim = self.ledger.take_over(job, plan.target, slot.key, now=now)
        if existing is None:
            return []
        if claim is not None:
            return self._prepare_resumed(job, plan, claim, now, report)
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
        only = None if channel is None else f"{channel[0]}:{channel[1]}"
        for claim in self.ledger.take_over_lapsed(CHANNEL_JOBS, now=now, target=only):
            run = claim.run
            team_id, channel_id = run.target.split(":", 1)
            with self._runtime.session() as session:
                plan = channel_plan(
                    session=session,
                    team_id=team_id,
                    channel_id=channel_id,
                    default_timezone=self._runtime.settings.timezone,
                )
            if claim.overdue(now):
                claim.give_up({"channel": channel_id})
                report.failed.append(f"{run.job} {channel_id} {run.slot}")
                continue
            log.info("finishing a slot whose claim lapsed", extra={"job": run.job, "slot": run.slot, "run": run.id})
            deliveries += self._prepare_resumed(Job(run.job), plan, claim, now, report)
        return deliveries

    def _prepare_resumed(
        self, job: Job, plan: ChannelPlan, claim: Claim, now: datetime, report: RunReport
    ) -> list[Delivery]:
        """A taken-over slot's deliveries; its own asks Slack first what its earlier holder already posted."""
        deliveries = self._prepare(job, plan, claim, now, report)
        for delivery in deliveries:
            if delivery.claim is claim:
                delivery.resumed_since = claim.run.claimed_at
        return deliveries

    # ------------------------------------------------------------------------------------------ composing

    def _prepare(
        self, job: Job, plan: ChannelPlan, claim: Claim, now: datetime, report: RunReport, *, asked: bool = False
    ) -> list[Delivery]:
        """The slot's messages; `asked` (a deliberate run) posts a digest even on a quiet day without news."""
        from bot.blocks.digest import render_digest
        from bot.blocks.nudges import render_nudges
        from bot.digest import digest_posted
        from bot.nudges import channel_nudged, record_channel_nudges

        run = claim.run
        label = f"{job.value} {plan.channel_id} {run.slot}"
        if job is Job.DIGEST:
            due = self.digest(plan, now, due_at=run.due_at, asked=asked)
            if due.skip is not None:
                return self._finished_without_post(claim, due.skip.value, label, report)
            messages = render_digest(due.digest, jira_url=self._runtime.jira_url)
            return [self._delivery(claim, plan, messages, digest_posted(due.digest))]
        nudges = self._nudges(plan, now)
        deliveries = [self._escalation(e, plan, now) for e in nudges.escalations]
        if not nudges.post:
            with self._runtime.session() as session:
                record_channel_nudges(session=session, plan=nudges, now=now)
            self._finished_without_post(
                claim, "nothing to nudge about in the channel", label, report, state=JobRunState.DONE
            )
            return deliveries
        return [self._delivery(claim, plan, render_nudges(nudges), channel_nudged(nudges)), *deliveries]

    def _delivery(self, claim: Claim, plan: ChannelPlan, messages: list[Message], on_done: OnDone) -> Delivery:
        delivery = Delivery.of(claim, plan.team_id, plan.channel_id, messages)
        delivery.on_done = on_done
        return delivery

    def _escalation(self, escalation: Escalation, plan: ChannelPlan, now: datetime) -> Delivery:
        from bot.blocks.nudges import render_escalation
        from bot.nudges import lead_escalated

        messages = render_escalation(escalation, channel_id=plan.channel_id)
        return Delivery(plan.team_id, escalation.lead_id, messages, on_done=lead_escalated(escalation, now=now))

    def _finished_without_post(
        self, claim: Claim, reason: str, label: str, report: RunReport, *, state: JobRunState = JobRunState.SKIPPED
    ) -> list[Delivery]:
        claim.finish(state, reason=reason)
        report.skipped.append(f"{label}: {reason}")
        return []

    def digest(self, plan: ChannelPlan, now: datetime, *, due_at: datetime, asked: bool = False) -> ScheduledDigest:
        """The digest a slot of `plan` posts, with this workspace's checklist and settings."""
        from bot.digest import scheduled_digest

        settings = self._runtime.settings
        with self._runtime.session() as session:
            return scheduled_digest(
                session=session,
                channel=plan,
                now=now,
                due_at=due_at,
                checklist=settings.checklist.for_team(plan.team_id),
                stale_days=settings.kpi_stale_days,
                asked=asked,
            )

    def _nudges(self, plan: ChannelPlan, now: datetime) -> NudgePlan:
        """What a nudges slot of `plan` says today, with this workspace's checklist and settings."""
        from bot.nudges import plan_channel_nudges

        settings = self._runtime.settings
        with self._runtime.session() as session:
            return plan_channel_nudges(
                session=session,
                channel=plan,
                now=now,
                checklist=settings.checklist.for_team(plan.team_id),
                stale_days=settings.kpi_stale_days,
                cooldown_days=settings.nudge_cooldown_days,
            )
