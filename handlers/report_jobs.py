"""The weekly report as a scheduled job: claim each channel's slot on the ledger, compose the report of the week
before it, hand it to the outbox, then share the funnel chart in the report's thread.

The report's message is a slot of `Job.REPORT`, posted through the outbox with its message metadata, so a crash
between posting and recording never posts it twice. Its chart is a slot of `Job.REPORT_CHART` claimed in the same
transaction that records the report done, with the report's thread on the claim and its lease already over: the
first sweep to take it over (this run's, an overlapping run's, another replica's, or the next one after a crash)
uploads it, once; a chart Slack will not take leaves a note in the thread instead, never a second report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot.blocks.base import Message
from bot.blocks.weekly_report import render_chart_note, render_weekly_report, render_weekly_report_refused
from bot.errors import SlackChannelUnavailable
from bot.recurrence import MAX_CATCH_UP_SLOTS_DAYS, Slot
from bot.runtime import Runtime
from bot.slot_ledger import MISSED_WHILE_DOWN, Claim, Job, JobRunState, SlotLedger
from bot.weekly_report import (
    WeeklyReportPlan,
    channels_with_initiatives,
    free_chart_claim,
    weekly_report_plan,
    weekly_report_plans,
)
from handlers.outbox import Delivery, RunReport
from handlers.posting import post_message

if TYPE_CHECKING:
    from bot.report import Report

log = logging.getLogger(__name__)
NO_INITIATIVES = "no initiatives call this channel home"
CHART_SHARED = "chart shared"


class WeeklyReports:
    """The weekly reports of every channel: due slots, lapsed claims, and each posted report's chart."""

    def __init__(self, runtime: Runtime, client: WebClient, ledger: SlotLedger):
        self._runtime = runtime
        self._client = client
        self._ledger = ledger

    def due(self, now: datetime, run: RunReport, channel: tuple[str, str] | None) -> Iterator[list[Delivery]]:
        """Each due weekly report's delivery as soon as it is claimed and composed, then those of lapsed claims; a
        slot missed past the catch-up window is recorded as skipped, as a digest's is."""
        with self._runtime.session() as session:
            plans = weekly_report_plans(session=session, default_timezone=self._runtime.settings.timezone)
            homes = channels_with_initiatives(session=session)
        plans = [p for p in plans if channel is None or (p.team_id, p.channel_id) == channel]
        known = self._ledger.known((Job.REPORT,), since=now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS + 1))
        for plan in plans:
            start = max(now - timedelta(days=MAX_CATCH_UP_SLOTS_DAYS), plan.since or now)
            for slot in plan.schedule.slots_between(start, now):
                if (Job.REPORT.value, plan.target, slot.key) in known:
                    continue
                if not self._ledger.within_grace(slot, plan.schedule, now):
                    about = {"channel": plan.channel_id}
                    if self._ledger.skip(Job.REPORT, plan.target, slot, now=now, reason=MISSED_WHILE_DOWN, about=about):
                        run.add_skipped(Job.REPORT.value, about, slot.key)
                    continue
                claim = self._ledger.claim(Job.REPORT, plan.target, slot, now=now)
                if claim is not None:
                    yield self.prepare(plan, claim, now, run, has_initiatives=(plan.team_id, plan.channel_id) in homes)
        yield self._resume_lapsed(now, run, channel)

    def run_now(self, plan: WeeklyReportPlan, *, now: datetime, run: RunReport) -> list[Delivery]:
        """A deliberate run (the command line): a fresh claim on today's slot beside any earlier one."""
        claim = self._ledger.force(
            Job.REPORT, plan.target, Slot(plan.schedule.local_date(now).isoformat(), now), now=now
        )
        deliveries = self.prepare(plan, claim, now, run, has_initiatives=True)
        for delivery in deliveries:
            delivery.retry = False
        return deliveries

    def compose(self, plan: WeeklyReportPlan, due_at: datetime, now: datetime) -> Report:
        """The report of the initiatives at home in the channel, over the seven local days before the slot's: up to
        the start of its own day in the report's zone, so each event is in one week's report however late it runs."""
        from bot.report import ReportScope, compute_report, parse_window

        since = plan.window_start(due_at)
        window = parse_window(f"since:{since.isoformat()}", today=plan.schedule.local_date(due_at))
        with self._runtime.session() as session:
            return compute_report(
                session=session,
                team_id=plan.team_id,
                scope=ReportScope(channel_id=plan.channel_id),
                window=window,
                now=now.astimezone(plan.schedule.tz),
                until=plan.window_end(due_at),
            )

    def prepare(
        self, plan: WeeklyReportPlan, claim: Claim, now: datetime, run: RunReport, *, has_initiatives: bool
    ) -> list[Delivery]:
        """The slot's delivery: the report of the week before it, or nothing in a channel without initiatives."""
        if not has_initiatives:
            claim.finish(JobRunState.SKIPPED, reason=NO_INITIATIVES)
            run.skipped.append(f"{Job.REPORT.value} {plan.channel_id} {claim.run.slot}: {NO_INITIATIVES}")
            return []
        report = self.compose(plan, claim.run.due_at, now)
        delivery = Delivery.of(claim, plan.team_id, plan.channel_id, [render_weekly_report(report, plan)])
        delivery.on_refused = self._refused(plan, claim)
        delivery.on_done = self._chart_claimed(plan, claim, delivery)
        return [delivery]

    def _chart_claimed(self, plan: WeeklyReportPlan, claim: Claim, delivery: Delivery):  # type: ignore[no-untyped-def]
        """Claim the report's chart slot in the transaction that records the report done, naming its thread, with
        its lease over at once: no report is recorded without its chart's claim, and no run keeps it to itself."""

        def chart_claimed(session: Session, now: datetime) -> None:
            chart = self._ledger.claim(Job.REPORT_CHART, plan.target, _slot_of(claim), now=now, session=session)
            if chart is None:
                return  # claimed before, by a holder that recorded this report already
            free_chart_claim(
                session=session, run_id=chart.id, holder=self._ledger.holder, thread_ts=delivery.root_ts, now=now
            )

        return chart_claimed

    def share_charts(self, run: RunReport) -> None:
        """Upload the funnel chart into the thread of each recorded report whose chart nobody holds: taken over one
        at a time, so overlapping runs and replicas share each chart exactly once. A chart that fails is logged and
        left to its claim's lease; the others go on."""
        now = self._runtime.clock.now()
        for claim in self._ledger.take_over_lapsed((Job.REPORT_CHART,), now=now):
            team_id, channel_id = claim.run.target.split(":", 1)
            with self._runtime.session() as session:
                plan = weekly_report_plan(
                    session=session,
                    team_id=team_id,
                    channel_id=channel_id,
                    default_timezone=self._runtime.settings.timezone,
                )
            if claim.overdue(now) or claim.run.root_ts is None:
                claim.give_up({"channel": channel_id})
                continue
            try:
                self._share(plan, self.compose(plan, claim.run.due_at, now), claim, claim.run.root_ts, run)
            except (SlackApiError, SlackClientError, OSError) as error:  # a database error stops every job alike
                log.warning(
                    "a weekly report's chart was not shared", extra={"channel": channel_id, "error": str(error)}
                )
                run.failed.append(f"{Job.REPORT_CHART.value} {channel_id} {claim.run.slot}")

    def _share(self, plan: WeeklyReportPlan, report: Report, claim: Claim, thread_ts: str, run: RunReport) -> None:
        """Upload the report's funnel chart into its thread; a chart Slack will not take leaves a note there."""
        from bot.charts import funnel_chart
        from bot.report import funnel_of
        from handlers.uploads import CHART_UNAVAILABLE, upload_chart

        chart = funnel_chart(funnel_of(report))
        uploaded = upload_chart(self._client, chart, channel_id=plan.channel_id, thread_ts=thread_ts)
        if uploaded is not None:
            claim.finish(JobRunState.DONE, reason=CHART_SHARED)
            return
        note: Message = render_chart_note(CHART_UNAVAILABLE)
        try:
            post_message(self._client, channel_id=plan.channel_id, message=note, thread_ts=thread_ts)
        except (SlackApiError, SlackClientError, SlackChannelUnavailable, OSError) as error:
            log.warning("could not leave the note of a chart not shared", extra={"error": str(error)})
        claim.finish(JobRunState.DONE, reason=CHART_UNAVAILABLE)
        run.skipped.append(f"{Job.REPORT_CHART.value} {plan.channel_id} {claim.run.slot}: {CHART_UNAVAILABLE}")

    def _resume_lapsed(self, now: datetime, run: RunReport, channel: tuple[str, str] | None) -> list[Delivery]:
        deliveries: list[Delivery] = []
        only = None if channel is None else f"{channel[0]}:{channel[1]}"
        for claim in self._ledger.take_over_lapsed((Job.REPORT,), now=now, target=only):
            team_id, channel_id = claim.run.target.split(":", 1)
            if claim.overdue(now):
                claim.give_up({"channel": channel_id})
                run.failed.append(f"{claim.run.job} {channel_id} {claim.run.slot}")
                continue
            with self._runtime.session() as session:
                plan = weekly_report_plan(
                    session=session,
                    team_id=team_id,
                    channel_id=channel_id,
                    default_timezone=self._runtime.settings.timezone,
                )
            for delivery in self.prepare(plan, claim, now, run, has_initiatives=True):
                delivery.resumed_since = claim.run.claimed_at
                deliveries.append(delivery)
        return deliveries

    def _refused(self, plan: WeeklyReportPlan, claim: Claim):  # type: ignore[no-untyped-def]
        """Slack will not take posts in the channel: its weekly report stops (the digest is left as it is)."""
        from bot.weekly_report import disable_weekly_report

        def refused(error: str) -> None:
            with self._runtime.session() as session:
                disable_weekly_report(
                    session=session,
                    team_id=plan.team_id,
                    channel_id=plan.channel_id,
                    error=error,
                    default_timezone=self._runtime.settings.timezone,
                )
                claim.finish(JobRunState.FAILED, reason=error, session=session)
            self._runtime.schedule_changed()
            log.warning("a channel's weekly report is off: Slack refused the post", extra={"channel": plan.channel_id})
            if plan.configured_by is None:
                return
            try:
                post_message(
                    self._client,
                    channel_id=plan.configured_by,
                    message=render_weekly_report_refused(plan.channel_id, error),
                )
            except (SlackApiError, SlackClientError, SlackChannelUnavailable, OSError) as failure:
                log.warning("could not tell someone their weekly report is off", extra={"error": str(failure)})

        return refused


def _slot_of(claim: Claim) -> Slot:
    """The chart's slot: one per report run, so a deliberate re-run's report gets its own chart too."""
    return Slot(f"{claim.run.slot}:{claim.id}", claim.run.due_at)
