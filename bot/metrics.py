"""What Handoff counts and times, for Prometheus to scrape at `GET /metrics`.

Each app has its own registry (not prometheus_client's global one), so a process running two apps, as the tests
do, never mixes their numbers. Counters live in the process that did the work; Prometheus adds the replicas up.
What the database knows (the outbox's backlog, the last Jira sync) is read from it at scrape time, so every
replica reports the same, true, value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session

from storage import jira as jira_queries
from storage import kpi_polling as kpi_polling_queries
from storage import schedules as schedule_queries

# Slack shows an error when an ack takes longer than 3 seconds; past 2 there is little margin left.
SLOW_ACK_SECONDS = 2.0
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Backlog:
    """The database's view of work waiting, read at every scrape."""

    outbox_depth: int  # scheduled deliveries claimed and not yet finished
    outbox_oldest: datetime | None  # when the oldest of them was due
    jira_synced_at: datetime | None  # the last successful Jira pull, None without Jira or before the first
    kpi_sources_failing: int = 0  # sourced KPIs whose last read failed


def read_backlog(*, session: Session) -> Backlog:
    """The backlog as the database has it now; read-only."""
    depth, oldest = schedule_queries.unfinished_slots(session=session)
    sync = jira_queries.read_sync_state(session=session)
    return Backlog(
        outbox_depth=depth,
        outbox_oldest=oldest,
        jira_synced_at=sync.last_success_at if sync else None,
        kpi_sources_failing=kpi_polling_queries.failing_source_total(session=session),
    )


class Metrics:
    """Handoff's counters and histograms, and the registry `GET /metrics` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "handoff_slack_requests", "Requests from Slack, by kind and outcome.", ["kind", "outcome"], registry=r
        )
        self.ack_seconds = Histogram(
            "handoff_slack_ack_seconds",
            "Time to answer Slack's request (the ack).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.slow_acks = Counter(
            "handoff_slack_slow_acks",
            f"Acks that took over {SLOW_ACK_SECONDS:g} s (Slack allows 3).",
            ["kind"],
            registry=r,
        )
        self.unexpected_errors = Counter(
            "handoff_unexpected_errors",
            "Errors in a listener's ack that no listener explained to the user.",
            registry=r,
        )
        self.scheduled_posts = Counter(
            "handoff_scheduled_posts", "Scheduled deliveries, by job and outcome.", ["job", "outcome"], registry=r
        )
        self.rate_limited = Counter(
            "handoff_slack_rate_limited", "429 answers from Slack's Web API, by method.", ["method"], registry=r
        )
        self.retry_after_waited = Counter(
            "handoff_slack_retry_after_waited_seconds", "Time spent waiting out Slack's Retry-After.", registry=r
        )
        self.slot_claims = Counter(
            "handoff_slot_claims",
            "Slot ledger claims, by job and outcome (claimed, taken_over, given_up).",
            ["job", "outcome"],
            registry=r,
        )
        self.kpi_source_failures = Counter(
            "handoff_kpi_source_failures",
            "Reads of a KPI's source (MLflow, Prometheus) that gave no reading, by kind.",
            ["kind"],
            registry=r,
        )

    def __deepcopy__(self, memo: dict[int, object]) -> Metrics:
        # Bolt deep-copies each request for its lazy listeners, the Web API client and its retry handlers with it;
        # a copy would count into a registry nobody scrapes.
        return self

    def observe_ack(self, kind: str, outcome: str, seconds: float) -> None:
        """One request answered: counted by kind and outcome, its ack timed."""
        self.requests.labels(kind=kind, outcome=outcome).inc()
        self.ack_seconds.labels(kind=kind).observe(seconds)
        if seconds > SLOW_ACK_SECONDS:
            self.slow_acks.labels(kind=kind).inc()

    def watch_backlog(self, read: Callable[[], Backlog], now: Callable[[], datetime]) -> None:
        """Report the database's backlog at each scrape; a database that does not answer reports nothing."""
        self.registry.register(_BacklogCollector(read, now))


class _BacklogCollector(Collector):
    def __init__(self, read: Callable[[], Backlog], now: Callable[[], datetime]):
        self._read = read
        self._now = now

    def describe(self) -> list[Metric]:
        return []  # described at collection time: reading the database while registering would be a side effect

    def collect(self) -> Iterator[Metric]:
        try:
            backlog = self._read()
        except Exception:  # a scrape must not fail because the database is down; /readyz says that
            return
        now = self._now()
        yield GaugeMetricFamily(
            "handoff_outbox_depth", "Scheduled deliveries claimed and not finished.", value=backlog.outbox_depth
        )
        oldest = (now - backlog.outbox_oldest).total_seconds() if backlog.outbox_oldest else 0.0
        yield GaugeMetricFamily(
            "handoff_outbox_oldest_age_seconds", "How long the oldest unfinished delivery has waited.", value=oldest
        )
        yield GaugeMetricFamily(
            "handoff_kpi_sources_failing",
            "Sourced KPIs whose last read failed.",
            value=backlog.kpi_sources_failing,
        )
        if backlog.jira_synced_at is not None:
            yield GaugeMetricFamily(
                "handoff_jira_sync_lag_seconds",
                "Time since the last successful Jira pull.",
                value=(now - backlog.jira_synced_at).total_seconds(),
            )
