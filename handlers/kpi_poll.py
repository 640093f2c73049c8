"""The Slack side of polling sourced KPIs: one round an interval (claimed on the slot ledger, so one replica reads
each interval), then the thread hears of breaches, recoveries and failing sources, and a KPI's owner of a failure.

The round runs in the scheduler's thread or the command line's, never on a request thread, so a slow source never
keeps a command from answering. A post that fails is logged; the reading stays recorded and the round goes on.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cached_property

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message, plural
from bot.errors import HandoffError
from bot.initiatives import Initiative
from bot.kpi_polling import PollReport, SourceFailed, poll_round, poll_start
from bot.kpi_sources.readers import POLL_TIMEOUT_SECONDS, Readers, build_readers
from bot.recurrence import Slot
from bot.runtime import Runtime
from bot.slot_ledger import Claim, Job, JobRunState, SlotLedger
from handlers.posting import post_in_thread, post_message

log = logging.getLogger(__name__)
SLOT_TARGET = "kpis"


class KpiPoller:
    """Reads every sourced KPI once an interval and tells the threads what they need to hear."""

    def __init__(self, runtime: Runtime, client: WebClient, ledger: SlotLedger, readers: Readers | None = None):
        self._runtime = runtime
        self._client = client
        self._ledger = ledger
        self._readers = readers

    @cached_property
    def readers(self) -> Readers:
        """The readers for the configured sources, built on first use and kept (each holds an HTTP session)."""
        return self._readers or build_readers(self._runtime.settings, timeout=POLL_TIMEOUT_SECONDS)

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self._runtime.settings.kpi_poll_minutes)

    def scheduled(self) -> PollReport | None:
        """The scheduled round: only the replica that claims this interval's slot reads; None on the others."""
        claim = self._claim()
        if claim is None:
            return None
        try:
            report = self.run_round()
        except Exception as failure:  # the next interval reads again; the schedule must survive any failure
            log.exception("the scheduled KPI poll failed")
            claim.finish(JobRunState.FAILED, reason=type(failure).__name__)
            return None
        claim.finish(JobRunState.DONE, reason=summary(report))
        return report

    def run_now(self) -> PollReport:
        """A round now (the command line): the interval's slot is claimed if it is free, so the scheduler leaves
        it, and read either way; a reading already recorded is not recorded again."""
        claim = self._claim()
        state, reason = JobRunState.FAILED, "the round raised (see the log)"
        try:
            report = self.run_round()
            state, reason = JobRunState.DONE, summary(report)
        finally:
            if claim is not None:
                claim.finish(state, reason=reason)
        return report

    def _claim(self) -> Claim | None:
        """This interval's slot (the interval's number since the epoch), if no replica has claimed it yet."""
        now = self._runtime.clock.now()
        slot = Slot(str(int(now.timestamp()) // int(self.interval.total_seconds())), now)
        return self._ledger.claim(Job.KPI_POLL, SLOT_TARGET, slot, now=now)

    def preview(self) -> PollReport:
        """Read every due source and say what a round would record; nothing is claimed, written or posted."""
        now = self._runtime.clock.now()
        return poll_round(
            sessions=self._runtime.session,
            readers=self.readers,
            now=now,
            at=poll_start(now, self.interval),
            poll_interval=self.interval,
            dry_run=True,
        )

    def run_round(self) -> PollReport:
        """Read, record and tell, then announce the new versions of watched models: one round, whoever claimed it."""
        now = self._runtime.clock.now()
        report = poll_round(
            sessions=self._runtime.session,
            readers=self.readers,
            now=now,
            at=poll_start(now, self.interval),
            poll_interval=self.interval,
        )
        for kind, failed in report.failed_reads.items():
            self._runtime.metrics.kpi_source_failures.labels(kind=kind).inc(failed)
        post_poll_events(self._runtime, self._client, report)
        from handlers.model_versions import announce_new_versions  # the registry's news: MLflow's models only

        report.versions_announced = announce_new_versions(self._runtime, self._client, self.readers)
        log.info("KPI poll round", extra={"summary": summary(report)})
        return report


def post_poll_events(runtime: Runtime, client: WebClient, report: PollReport) -> None:
    """Breaches and recoveries read from sources, failing sources (and their owners), sources read again."""
    # What the posts render with, and the trend chart, load with the first round that has something to say.
    from bot.blocks.kpi_sources import render_source_recovered, render_sourced_alert, render_sourced_recovered
    from handlers.kpis import attach_trend

    for recorded in report.recorded:
        result, initiative = recorded.result, recorded.initiative
        if result.alert:
            message = render_sourced_alert(initiative, result, recorded.reading, recorded.kind)
            if _post(client, initiative, message, what="sourced breach alert"):
                attach_trend(runtime, client, initiative, result.kpi.name)
        elif result.recovered:
            _post(client, initiative, render_sourced_recovered(initiative, result, recorded.reading, recorded.kind))
    for failure in report.failures:
        _tell_failure(client, failure)
    for recovery in report.recoveries:
        message = render_source_recovered(
            recovery.initiative, recovery.kpi, recovery.kind, recovery.reading, recovery.failing_since
        )
        _post(client, recovery.initiative, message, what="source recovery")


def _tell_failure(client: WebClient, failure: SourceFailed) -> None:
    """The thread and the KPI's owner both hear of it; one failing does not keep the other from it."""
    from bot.blocks.kpi_sources import render_source_failure

    def render(*, for_owner: bool) -> Message:
        return render_source_failure(
            failure.initiative,
            failure.kpi,
            failure.kind,
            reason=failure.reason,
            last_good_at=failure.last_good_at,
            retry_at=failure.retry_at,
            for_owner=for_owner,
        )

    _post(client, failure.initiative, render(for_owner=False), what="source failure")
    owner_id = failure.kpi.owner_id
    if owner_id:
        try:
            post_message(client, channel_id=owner_id, message=render(for_owner=True))
        except (HandoffError, SlackApiError) as error:
            about = {"kpi": failure.kpi.id, "error": str(error)}
            log.warning("source failure not sent to the KPI's owner", extra=about)


def _post(client: WebClient, initiative: Initiative, message: Message, *, what: str = "sourced reading") -> bool:
    try:
        post_in_thread(client, initiative=initiative, message=message)
    except (HandoffError, SlackApiError) as error:
        log.warning("%s not posted", what, extra={"initiative": initiative.id, "error": str(error)})
        return False
    return True


def summary(report: PollReport) -> str:
    """One line for the ledger, the log and the command line."""
    failed = sum(report.failed_reads.values())
    return (
        f"{plural(report.sources_read, 'source')} read, {plural(len(report.recorded), 'reading')} recorded, "
        f"{plural(report.alerts, 'alert')}, {failed} failed ({len(report.failures)} newly reported), "
        f"{len(report.recoveries)} recovered, {plural(report.versions_announced, 'model version')} announced, "
        f"{plural(report.requests, 'request')}"
    )
