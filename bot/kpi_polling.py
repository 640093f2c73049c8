"""Polling sourced KPIs: read every source that is due, record what is new, and keep each source's failure state.

A round reads each kind of source once with all its queries (a reader batches where its source can), then settles
each outcome in its own short transaction. A reading is recorded once per source key, so repeated rounds, restarts
and replicas never duplicate one; a failure is claimed for reporting, and a recovery for announcing, by one
conditional UPDATE each, so the thread hears of either once. Nothing here knows of Slack.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.kpi_sources.outcome import SourceFailure, SourceOutcome, SourceQuery, SourceReading
from bot.kpi_sources.readers import Readers, settings_needed
from bot.kpi_sources.spec import source_name
from bot.kpis import RecordResult, meets, record_sourced_reading, source_spec
from storage import kpi_polling as queries
from storage.kpi_polling import DueSource
from storage.models import Initiative, Kpi, KpiDirection

log = logging.getLogger(__name__)
Sessions = Callable[[], AbstractContextManager[Session]]
LONGEST_BACKOFF = timedelta(hours=6)
TELL_TRANSIENT_AFTER = 2  # failed reads in a row before a source that did not answer is reported


@dataclass(frozen=True)
class ReadingRecorded:
    """A new reading from a source; `result.alert` / `result.recovered` say whether the thread hears of it."""

    initiative: Initiative
    kpi: Kpi
    kind: str
    reading: SourceReading
    result: RecordResult


@dataclass(frozen=True)
class SourceFailed:
    """A source that started failing: the thread and the KPI's owner are told, once."""

    initiative: Initiative
    kpi: Kpi
    kind: str
    reason: str
    last_good_at: datetime | None
    retry_at: datetime


@dataclass(frozen=True)
class SourceRecovered:
    """A source whose failure the thread was told of gave a reading again: announced once."""

    initiative: Initiative
    kpi: Kpi
    kind: str
    reading: SourceReading
    failing_since: datetime | None


@dataclass(frozen=True)
class PreviewLine:
    """What a dry run would do with one source: record a reading (or not, as known), or report a failure."""

    initiative: Initiative
    kpi: Kpi
    kind: str
    reading: SourceReading | None
    failure: str | None
    already_recorded: bool = False


@dataclass
class PollReport:
    sources_read: int = 0
    recorded: list[ReadingRecorded] = field(default_factory=list)
    failures: list[SourceFailed] = field(default_factory=list)  # newly failing: to report
    recoveries: list[SourceRecovered] = field(default_factory=list)
    failed_reads: Counter[str] = field(default_factory=Counter)  # every failed read, by kind, reported or not
    requests: int = 0
    preview: list[PreviewLine] = field(default_factory=list)  # a dry run's reads, nothing written
    versions_announced: int = 0  # new versions of watched models posted after the readings (the Slack side's count)

    @property
    def alerts(self) -> int:
        return sum(1 for r in self.recorded if r.result.alert)


def poll_start(now: datetime, interval: timedelta) -> datetime:
    """The start of the poll interval `now` is in: sources are read as of then, so one interval reads one value."""
    seconds = int(interval.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)


def backoff(attempts: int, interval: timedelta) -> timedelta:
    """How long a source that failed `attempts` times in a row waits: an interval, doubling, within six hours."""
    longest = max(interval, LONGEST_BACKOFF)
    return min(interval * 2 ** min(attempts - 1, 32), longest)


def poll_round(
    *,
    sessions: Sessions,
    readers: Readers,
    now: datetime,
    at: datetime,
    poll_interval: timedelta,
    dry_run: bool = False,
) -> PollReport:
    """Read every due source as of `at` and settle each outcome; with `dry_run`, read only and write nothing."""
    report = PollReport()
    with sessions() as session:
        due = queries.due_sources(session=session, now=now)
    by_kind: dict[str, list[DueSource]] = {}
    for each in due:
        by_kind.setdefault(each.source.kind, []).append(each)
    for kind, sources in by_kind.items():
        outcomes = _read(readers, kind, sources, at=at, report=report)
        known = _known(sessions, sources, outcomes) if dry_run else set()
        for each, outcome in zip(sources, outcomes, strict=True):
            report.sources_read += 1
            if outcome.failure is not None:
                report.failed_reads[kind] += 1
            try:
                if dry_run:
                    report.preview.append(_preview(each, outcome, known))
                elif outcome.reading is not None:
                    _settle_reading(sessions, each, outcome, outcome.reading, now=now, report=report)
                else:
                    failure = outcome.failure or SourceFailure(
                        f"{source_name(kind)} gave neither a reading nor a reason."
                    )
                    _settle_failure(
                        sessions, each, outcome, failure, now=now, at=at, interval=poll_interval, report=report
                    )
            except Exception:
                # One source's trouble (its KPI removed meanwhile, say) must not cost the others what they settled:
                # their claims are taken, and only this round's report can still tell the threads.
                log.exception("settling a KPI source's read failed", extra={"source": each.source.id})
    return report


def _read(
    readers: Readers, kind: str, sources: Sequence[DueSource], *, at: datetime, report: PollReport
) -> list[SourceOutcome]:
    """One `read_all` for every source of a kind; a kind without settings fails each of its sources, saying so."""
    reader = readers.for_kind(kind)
    if reader is None:
        reason = f"Handoff has no {source_name(kind)} settings: whoever runs it can set {settings_needed(kind)}."
        return [SourceOutcome(s.source.id or 0, failure=SourceFailure(reason)) for s in sources]
    queries_ = [
        SourceQuery(
            source_id=s.source.id or 0,
            spec=source_spec(s.source),
            higher_is_better=s.kpi.direction == KpiDirection.AT_LEAST.value,
            experiment_id=s.source.experiment_id,
        )
        for s in sources
    ]
    before = reader.requests_made
    try:
        outcomes = reader.read_all(queries_, at=at)
    except Exception as error:  # a reader answers its sources' failures itself; this is a fault below it
        log.exception("reading the KPI sources failed", extra={"kind": kind})
        failure = SourceFailure(f"Reading {source_name(kind)} failed unexpectedly ({type(error).__name__}).", True)
        outcomes = [SourceOutcome(s.source.id or 0, failure=failure) for s in sources]
    report.requests += reader.requests_made - before
    return outcomes


def _settle_reading(
    sessions: Sessions,
    due: DueSource,
    outcome: SourceOutcome,
    reading: SourceReading,
    *,
    now: datetime,
    report: PollReport,
) -> None:
    source, kpi = due.source, due.kpi
    with sessions() as session:
        session.add(kpi)  # loaded by the round's first statement: attached again, not read again
        result = record_sourced_reading(
            session=session,
            kpi=kpi,
            source_kind=source.kind,
            value=reading.value,
            observed_at=reading.observed_at,
            source_key=reading.key,
        )
        recovered = queries.claim_recovery(session=session, source_id=source.id or 0)
        queries.mark_read(session=session, source_id=source.id or 0, at=now, experiment_id=outcome.experiment_id)
    if result is not None:
        report.recorded.append(ReadingRecorded(due.initiative, result.kpi, source.kind, reading, result))
    if recovered:
        report.recoveries.append(SourceRecovered(due.initiative, kpi, source.kind, reading, source.failing_since))


def _settle_failure(
    sessions: Sessions,
    due: DueSource,
    outcome: SourceOutcome,
    failure: SourceFailure,
    *,
    now: datetime,
    at: datetime,
    interval: timedelta,
    report: PollReport,
) -> None:
    source = due.source
    # From the interval's start, so the round of the interval it names is never a moment too early for it.
    retry_at = at + backoff(source.attempts + 1, interval)
    with sessions() as session:
        queries.mark_failed(
            session=session,
            source_id=source.id or 0,
            now=now,
            reason=failure.reason,
            retry_at=retry_at,
            experiment_id=outcome.experiment_id,
        )
        # A server that did not answer once (a restart, a blip) is retried before anyone hears of it; a failure
        # that is the source's own (a deleted experiment, a query with no data) is told at once.
        tell = not failure.transient or source.attempts + 1 >= TELL_TRANSIENT_AFTER
        claimed = tell and queries.claim_failure_report(session=session, source_id=source.id or 0)
    if claimed:
        report.failures.append(
            SourceFailed(due.initiative, due.kpi, source.kind, failure.reason, source.last_good_at, retry_at)
        )


def _known(sessions: Sessions, sources: Sequence[DueSource], outcomes: Sequence[SourceOutcome]) -> set[tuple[int, str]]:
    pairs = [(s.kpi.id or 0, o.reading.key) for s, o in zip(sources, outcomes, strict=True) if o.reading is not None]
    with sessions() as session:
        return queries.recorded_source_keys(session=session, pairs=pairs)


def _preview(due: DueSource, outcome: SourceOutcome, known: set[tuple[int, str]]) -> PreviewLine:
    reading = outcome.reading
    failure = None if reading is not None else (outcome.failure.reason if outcome.failure else "no reading")
    recorded = reading is not None and (due.kpi.id or 0, reading.key) in known
    return PreviewLine(due.initiative, due.kpi, due.source.kind, reading, failure, recorded)


def would_meet(line: PreviewLine) -> bool | None:
    """Whether a previewed reading meets its KPI's target; None without a reading."""
    return None if line.reading is None else meets(line.kpi, line.reading.value)
