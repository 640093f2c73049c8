"""The KPI poll round as a service: which sources are due, readings recorded once, failures backed off and told
once, recoveries told once, and a round's statements growing by a constant per KPI. The readers are injected: a
small object that answers as each source is told to (the real readers are tested against real servers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.kpi_polling import PollReport, backoff, poll_round, poll_start
from bot.kpi_sources.outcome import SourceFailure, SourceOutcome, SourceQuery, SourceReading
from bot.kpi_sources.readers import Readers
from storage import kpi_polling as queries
from storage.db import session_scope
from storage.models import Kpi, KpiReading, KpiSource, Phase
from tests.support.databases import statements
from tests.support.factories import make_initiative, rows
from tests.support.workspace import ALICE, DAVE, NOW

HOUR = timedelta(hours=1)
Answer = Callable[[SourceQuery], SourceOutcome]


class ScriptedReader:
    """A `SourceReader` that answers each source as the test says, counting one request per batch."""

    def __init__(self) -> None:
        self.requests_made = 0
        self.answers: dict[int, Answer] = {}
        self.batches: list[list[int]] = []
        self.at: list[datetime] = []

    def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]:
        self.requests_made += 1
        self.batches.append([q.source_id for q in queries])
        self.at.append(at)
        return [self.answers[q.source_id](q) for q in queries]

    def gives(self, source_id: int, value: float, *, key: str, observed_at: datetime = NOW) -> None:
        reading = SourceReading(value, observed_at, key, f"http://mlflow.test/runs/{key}", f"MLflow run {key}")
        self.answers[source_id] = lambda q: SourceOutcome(q.source_id, reading=reading, experiment_id="7")

    def fails(self, source_id: int, reason: str = "MLflow answered 401: the token was refused.") -> None:
        self.answers[source_id] = lambda q: SourceOutcome(q.source_id, failure=SourceFailure(reason))


def sourced_kpi(engine: Engine, *, name: str = "AUC", target: float = 0.8, **initiative: Any) -> tuple[int, int]:
    """An initiative with a KPI read from MLflow: (kpi id, source id)."""
    with session_scope(engine) as session:
        made = make_initiative(session, **initiative)
        kpi = Kpi(
            initiative_id=made.id or 0,
            name=name,
            name_key=name.lower(),
            direction=">=",
            target=target,
            owner_id=DAVE,
            created_by=ALICE,
            created_at=NOW,
        )
        session.add(kpi)
        session.flush()
        source = KpiSource(
            kpi_id=kpi.id or 0, kind="mlflow", experiment="churn", metric="auc", set_by=ALICE, set_at=NOW
        )
        session.add(source)
        session.flush()
        return kpi.id or 0, source.id or 0


def poll(engine: Engine, reader: ScriptedReader, now: datetime = NOW, **options: Any) -> PollReport:
    return poll_round(
        sessions=lambda: session_scope(engine),
        readers=Readers(mlflow=reader),  # type: ignore[arg-type]
        now=now,
        at=poll_start(now, HOUR),
        poll_interval=HOUR,
        **options,
    )


def source_row(engine: Engine, source_id: int) -> KpiSource:
    with Session(engine) as session:
        row = session.get(KpiSource, source_id)
        assert row is not None
        return row


def test_a_reading_is_recorded_once_however_often_and_by_however_many_rounds_it_is_read(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    reader = ScriptedReader()
    reader.gives(source_id, 0.85, key="run-1:auc:0")

    first = poll(engine, reader)
    again = poll(engine, reader, NOW + timedelta(minutes=10))  # the same interval, another replica or a restart
    next_interval = poll(engine, reader, NOW + HOUR)

    assert [r.result.reading.value for r in first.recorded] == [0.85]
    assert again.recorded == [] and next_interval.recorded == []
    assert [(r.value, r.recorded_by, r.source_key) for r in rows(engine, KpiReading)] == [
        (0.85, "mlflow", "run-1:auc:0")
    ]
    assert source_row(engine, source_id).last_good_at == NOW + HOUR
    assert source_row(engine, source_id).experiment_id == "7"  # kept, so the next poll needs no lookup


def test_sources_are_read_as_of_the_start_of_the_interval_in_one_batch_per_kind(engine: Engine) -> None:
    _, first = sourced_kpi(engine)
    _, second = sourced_kpi(engine, name="Recall")
    reader = ScriptedReader()
    reader.gives(first, 0.9, key="a")
    reader.gives(second, 0.9, key="b")

    report = poll(engine, reader, NOW)

    assert reader.batches == [[first, second]]
    assert reader.at == [datetime(2027, 1, 4, 9, 0, tzinfo=NOW.tzinfo)]
    assert report.requests == 1 and report.sources_read == 2


def test_a_miss_after_a_met_target_alerts_once_and_a_met_one_after_it_recovers(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    reader = ScriptedReader()
    reader.gives(source_id, 0.85, key="1", observed_at=NOW - HOUR)
    poll(engine, reader, NOW - HOUR)

    reader.gives(source_id, 0.7, key="2")
    breach = poll(engine, reader, NOW)
    reader.gives(source_id, 0.9, key="3", observed_at=NOW + HOUR)
    back = poll(engine, reader, NOW + HOUR)

    assert [(r.result.alert, r.result.recovered) for r in breach.recorded] == [(True, False)]
    assert [(r.result.alert, r.result.recovered) for r in back.recorded] == [(False, True)]
    assert breach.alerts == 1


def test_a_failing_source_is_told_once_and_retried_later_and_later(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    reader = ScriptedReader()
    reader.fails(source_id)

    first = poll(engine, reader, NOW)  # interval 09:00: the next try at 10:00
    soon = poll(engine, reader, NOW + timedelta(minutes=20))
    second = poll(engine, reader, NOW + HOUR)  # interval 10:00: the next at 12:00
    skipped = poll(engine, reader, NOW + 2 * HOUR)
    third = poll(engine, reader, NOW + 3 * HOUR)

    assert [f.reason for f in first.failures] == ["MLflow answered 401: the token was refused."]
    assert first.failures[0].retry_at == datetime(2027, 1, 4, 10, 0, tzinfo=NOW.tzinfo)
    assert soon.sources_read == 0 and skipped.sources_read == 0
    assert second.sources_read == 1 and third.sources_read == 1
    assert second.failures == [] and third.failures == []  # told once
    assert [sum(r.failed_reads.values()) for r in (first, second, third)] == [1, 1, 1]
    row = source_row(engine, source_id)
    assert row.attempts == 3 and row.failure_reported and row.failing_since == NOW
    assert row.retry_at == datetime(2027, 1, 4, 12, 30, tzinfo=NOW.tzinfo) + 4 * HOUR - timedelta(minutes=30)


def test_backoff_doubles_from_one_interval_up_to_six_hours_or_the_interval_if_longer() -> None:
    assert [backoff(n, HOUR) for n in (1, 2, 3, 4, 5, 60)] == [HOUR, 2 * HOUR, 4 * HOUR, 6 * HOUR, 6 * HOUR, 6 * HOUR]
    assert backoff(1, 8 * HOUR) == 8 * HOUR and backoff(5, 8 * HOUR) == 8 * HOUR


def test_a_recovery_is_told_once_and_clears_the_failure(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    reader = ScriptedReader()
    reader.fails(source_id)
    poll(engine, reader, NOW)

    reader.gives(source_id, 0.9, key="back", observed_at=NOW + HOUR)
    recovered = poll(engine, reader, NOW + HOUR)
    later = poll(engine, reader, NOW + 2 * HOUR)

    assert [(r.kpi.name, r.reading.value, r.failing_since) for r in recovered.recoveries] == [("AUC", 0.9, NOW)]
    assert later.recoveries == []
    row = source_row(engine, source_id)
    assert (row.attempts, row.failing_since, row.failure, row.failure_reported, row.retry_at) == (
        0,
        None,
        None,
        False,
        None,
    )


def test_only_one_of_two_callers_claims_a_failure_report_or_a_recovery(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    with session_scope(engine) as session:
        queries.mark_failed(
            session=session, source_id=source_id, now=NOW, reason="down", retry_at=NOW, experiment_id=None
        )
    with session_scope(engine) as session:
        claims = [queries.claim_failure_report(session=session, source_id=source_id) for _ in range(2)]
    with session_scope(engine) as session:
        recoveries = [queries.claim_recovery(session=session, source_id=source_id) for _ in range(2)]
    assert claims == [True, False] and recoveries == [True, False]


@pytest.mark.parametrize("state", [{"phase": Phase.PAUSED}, {"phase": Phase.CANCELLED}, {"archived": True}])
def test_sources_of_initiatives_that_are_not_watched_are_not_read(engine: Engine, state: dict[str, Any]) -> None:
    _, source_id = sourced_kpi(engine, **state)
    reader = ScriptedReader()
    reader.gives(source_id, 0.9, key="x")

    assert poll(engine, reader).sources_read == 0 and reader.requests_made == 0


def test_a_source_of_a_kind_without_settings_fails_saying_which_settings(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)
    with session_scope(engine) as session:
        row = session.get(KpiSource, source_id)
        assert row is not None
        row.kind, row.query = "prometheus", "up"

    report = poll(engine, ScriptedReader())

    [failure] = report.failures
    assert "no Prometheus settings" in failure.reason and "`PROMETHEUS_URL`" in failure.reason


def test_a_dry_run_reads_and_writes_nothing(engine: Engine) -> None:
    _, old = sourced_kpi(engine)
    _, new = sourced_kpi(engine, name="Recall")
    _, broken = sourced_kpi(engine, name="Precision")
    reader = ScriptedReader()
    for source_id, key in ((old, "seen"), (new, "earlier"), (broken, "good once")):
        reader.gives(source_id, 0.9, key=key)
    poll(engine, reader)
    reader.gives(new, 0.7, key="fresh")
    reader.fails(broken)
    before = rows(engine, KpiReading), [source_row(engine, s).model_dump() for s in (old, new, broken)]

    report = poll(engine, reader, NOW + HOUR, dry_run=True)

    assert [(p.kpi.name, p.already_recorded, p.failure) for p in report.preview] == [
        ("AUC", True, None),
        ("Recall", False, None),
        ("Precision", False, "MLflow answered 401: the token was refused."),
    ]
    assert report.recorded == [] and report.failures == []
    after = rows(engine, KpiReading), [source_row(engine, s).model_dump() for s in (old, new, broken)]
    assert [r.model_dump() for r in after[0]] == [r.model_dump() for r in before[0]] and after[1] == before[1]


def test_a_rounds_statements_grow_by_a_constant_per_kpi(engine: Engine) -> None:
    def sent_for(count: int, round_at: datetime) -> int:
        reader = ScriptedReader()
        for index in range(count):
            _, source_id = sourced_kpi(engine, name=f"KPI {round_at:%H} {index}")
            if index % 2:
                reader.fails(source_id)
            else:
                reader.gives(source_id, 0.5 + index / 100, key=f"{round_at:%H}-{index}", observed_at=round_at)
        with statements(engine) as sent:
            poll(engine, reader, round_at)
        # Each count's sources are left out of the later counts' rounds.
        with session_scope(engine) as session:
            for source in session.exec(select(KpiSource)).all():
                source.retry_at = NOW + 10_000 * HOUR
        return len(sent)

    two, four, eight = sent_for(2, NOW), sent_for(4, NOW + 200 * HOUR), sent_for(8, NOW + 400 * HOUR)
    assert four - two == (eight - four) / 2, (two, four, eight)
    assert (four - two) / 2 <= 8  # a fixed handful per KPI: record, judge, settle the source


def test_a_reader_that_raises_fails_its_sources_and_the_round_goes_on(engine: Engine) -> None:
    _, source_id = sourced_kpi(engine)

    class Broken(ScriptedReader):
        def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]:
            raise ConnectionResetError("reset by peer")

    first = poll(engine, Broken())
    second = poll(engine, Broken(), NOW + HOUR)

    assert first.failures == [] and source_row(engine, source_id).failing_since == NOW  # shown, not yet told
    [failure] = second.failures  # failing twice in a row: told
    assert failure.reason == "Reading MLflow failed unexpectedly (ConnectionResetError)."
    assert source_row(engine, source_id).attempts == 2


def test_a_source_whose_kpi_goes_while_it_is_read_costs_the_others_nothing(engine: Engine) -> None:
    gone_kpi, gone = sourced_kpi(engine, name="Gone")
    _, failing = sourced_kpi(engine, name="Latency")
    _, kept = sourced_kpi(engine, name="AUC")

    class RemovedWhileReading(ScriptedReader):
        def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]:
            with session_scope(engine) as session:  # someone removes the KPI while its source is being read
                session.delete(session.get(Kpi, gone_kpi))
            return super().read_all(queries, at=at)

    reader = RemovedWhileReading()
    reader.gives(gone, 0.9, key="g1")
    reader.fails(failing)
    reader.gives(kept, 0.85, key="k1")

    report = poll(engine, reader)

    assert [f.kpi.name for f in report.failures] == ["Latency"]  # its report claimed, and still in hand to post
    assert [r.kpi.name for r in report.recorded] == ["AUC"]
    assert [r.value for r in rows(engine, KpiReading)] == [0.85]


def test_the_failing_gauge_counts_only_sources_that_are_still_read(engine: Engine) -> None:
    _, watched = sourced_kpi(engine, name="AUC")
    _, paused = sourced_kpi(engine, name="Latency", phase=Phase.PAUSED)
    with session_scope(engine) as session:
        for source_id in (watched, paused):
            queries.mark_failed(
                session=session, source_id=source_id, now=NOW, reason="down", retry_at=NOW + HOUR, experiment_id=None
            )
        assert queries.failing_source_total(session=session) == 1  # a paused initiative's source is not read
