"""Polling sourced KPIs: HTTP requests per poll and database statements per KPI, against real sources.

    python -m bench.kpi_poll            # from the repository root, with the `test` extra installed

Sourced KPIs are seeded into a temporary SQLite database at two sizes (100 and 1,000), half read from a real
`mlflow server` (ten metrics of the latest run of each of N/20 experiments) and half from Prometheus (one distinct
series each; the real `prometheus` binary scraping an exporter when installed, else the test suite's fake of its
query API). Each size is polled twice with the service the scheduler runs (`bot.kpi_polling.poll_round`): the
first round records a reading for every KPI, the second finds nothing new. A third set, 1,000 MLflow KPIs that
each read the best run of a metric of their own, is the case no request can be shared in. Requests are counted by
the readers, statements by the engine; both are exact, so one run is enough. Results are printed and written to
`bench/results/kpi_poll.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bench.measure import StatementCounter, bulk_insert
from bench.versions import code_version
from bot.config import MlflowSettings, PrometheusSettings
from bot.kpi_polling import poll_round, poll_start
from bot.kpi_sources.mlflow import MlflowReader
from bot.kpi_sources.prometheus import PrometheusReader
from bot.kpi_sources.readers import POLL_TIMEOUT_SECONDS, Readers
from storage.db import make_engine, session_scope, upgrade_schema
from storage.models import Initiative, Kpi, KpiSource, KpiSourceKind, Phase, PhaseChange
from tests.support.mlflow_server import MlflowServer, running_mlflow_server
from tests.support.prometheus_server import PrometheusUnderTest, prometheus_for_tests

SIZES = (100, 1000)
KPIS_PER_INITIATIVE = 10
METRICS_PER_EXPERIMENT = 10
TEAM = "T0BENCH"
SERIES = "handoff_bench_kpi_value"
RESULTS = Path(__file__).parent / "results" / "kpi_poll.json"


@dataclass(frozen=True)
class Seeded:
    """What one set of sourced KPIs reads."""

    name: str
    mlflow: int  # KPIs read from MLflow
    prometheus: int  # KPIs read from Prometheus


def seed_rows(engine: Engine, *, mlflow_kpis: list[dict[str, Any]], prometheus_queries: list[str]) -> None:
    """Initiatives of ten KPIs each, every KPI with its source, in one bulk insert a table."""
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    sources = [("mlflow", spec) for spec in mlflow_kpis] + [("prometheus", {"query": q}) for q in prometheus_queries]
    rows: dict[str, list[dict[str, Any]]] = {"initiative": [], "phase_change": [], "kpi": [], "kpi_source": []}
    for number in range(1, (len(sources) + KPIS_PER_INITIATIVE - 1) // KPIS_PER_INITIATIVE + 1):
        name = f"Model {number}"
        rows["initiative"].append(
            {
                "id": number,
                "team_id": TEAM,
                "name": name,
                "name_key": name.casefold(),
                "ref_key": f"model-{number}",
                "home_channel_id": "C0BENCH",
                "phase": Phase.DEVELOPMENT.value,
                "created_by": "U0BENCH",
                "created_at": now,
                "updated_by": "U0BENCH",
                "updated_at": now,
            }
        )
        rows["phase_change"].append(
            {"initiative_id": number, "to_phase": Phase.DEVELOPMENT.value, "changed_by": "U0BENCH", "changed_at": now}
        )
    for index, (kind, spec) in enumerate(sources, start=1):
        initiative_id = (index - 1) // KPIS_PER_INITIATIVE + 1
        rows["kpi"].append(
            {
                "id": index,
                "initiative_id": initiative_id,
                "name": f"KPI {index}",
                "name_key": f"kpi {index}",
                "direction": ">=",
                "target": 0.5,
                "created_by": "U0BENCH",
                "created_at": now,
            }
        )
        unset = dict.fromkeys(("experiment", "experiment_id", "metric", "run_pick", "query"))
        rows["kpi_source"].append({"kpi_id": index, "kind": kind, "set_by": "U0BENCH", "set_at": now, **unset, **spec})
    tables = {"initiative": Initiative, "phase_change": PhaseChange, "kpi": Kpi, "kpi_source": KpiSource}
    bulk_insert(engine, tables, rows)


def log_experiments(server: MlflowServer, count: int, prefix: str) -> list[tuple[str, str]]:
    """`count` experiments, each with one finished run logging `METRICS_PER_EXPERIMENT` metrics: (name, id)."""
    from mlflow.entities import Metric

    client = server.client()
    made = []
    stamp = int(time.time() * 1000)
    for number in range(count):
        name, experiment_id = server.new_experiment(f"{prefix}-{number}")
        run = client.create_run(experiment_id)
        metrics = [Metric(f"m{k}", 0.5 + k / 100, stamp, 0) for k in range(METRICS_PER_EXPERIMENT)]
        client.log_batch(run.info.run_id, metrics=metrics)
        client.set_terminated(run.info.run_id, "FINISHED")
        made.append((name, experiment_id))
    return made


def log_distinct_metrics(server: MlflowServer, count: int) -> tuple[str, str]:
    """One experiment whose two runs each log `count` metrics: every KPI reading the best run of its own metric
    needs a search of its own."""
    from mlflow.entities import Metric

    client = server.client()
    name, experiment_id = server.new_experiment("bench-distinct")
    stamp = int(time.time() * 1000)
    for offset in (0.0, 0.1):
        run = client.create_run(experiment_id)
        metrics = [Metric(f"d{k}", 0.5 + offset, stamp, 0) for k in range(count)]
        for start in range(0, count, 1000):  # MLflow takes at most 1,000 metrics a batch
            client.log_batch(run.info.run_id, metrics=metrics[start : start + 1000])
        client.set_terminated(run.info.run_id, "FINISHED")
    return name, experiment_id


@contextmanager
def database() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="handoff-bench-kpi-poll-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'handoff.db'}")
        upgrade_schema(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def measure(engine: Engine, readers: Readers, kpis: int, at: datetime) -> dict[str, Any]:
    """Two rounds of polling: requests, statements and seconds of each, per KPI."""
    counter = StatementCounter(engine)
    rounds = []
    for number in (1, 2):
        counter.reset()
        began = time.perf_counter()
        # `now` moves on an hour a round, as the scheduler's does; the sources' own times are what they were.
        report = poll_round(
            sessions=lambda: session_scope(engine),
            readers=readers,
            now=at + timedelta(hours=number - 1),
            at=at,
            poll_interval=timedelta(hours=1),
        )
        seconds = time.perf_counter() - began
        failed = sum(report.failed_reads.values())
        if failed:
            raise SystemExit(f"round {number}: {failed} sources failed to read")
        rounds.append(
            {
                "round": number,
                "sources_read": report.sources_read,
                "recorded": len(report.recorded),
                "requests": report.requests,
                "requests_per_kpi": round(report.requests / kpis, 4),
                "statements": counter.total,
                "statements_per_kpi": round(counter.total / kpis, 2),
                "seconds": round(seconds, 2),
            }
        )
    return {"kpis": kpis, "rounds": rounds}


def run_size(size: int, mlflow: MlflowServer, prometheus: PrometheusUnderTest) -> dict[str, Any]:
    half = size // 2
    experiments = log_experiments(mlflow, half // METRICS_PER_EXPERIMENT, f"bench-{size}")
    mlflow_kpis = [
        {"experiment": name, "experiment_id": experiment_id, "metric": f"m{k}", "run_pick": "latest"}
        for name, experiment_id in experiments
        for k in range(METRICS_PER_EXPERIMENT)
    ]
    series = [(SERIES, 0.5 + number / 10_000, {"kpi": f"{size}-{number}"}) for number in range(size - half)]
    seen_at = prometheus.set_series(series)
    queries = [f'{SERIES}{{kpi="{labels["kpi"]}"}}' for _, _, labels in series]
    readers = Readers(
        mlflow=MlflowReader(MlflowSettings(url=mlflow.url), timeout=POLL_TIMEOUT_SECONDS),
        prometheus=PrometheusReader(PrometheusSettings(url=prometheus.url), timeout=POLL_TIMEOUT_SECONDS),
    )
    with database() as engine:
        seed_rows(engine, mlflow_kpis=mlflow_kpis, prometheus_queries=queries)
        measured = measure(engine, readers, size, seen_at)
    by_kind = {KpiSourceKind.MLFLOW.value: len(mlflow_kpis), KpiSourceKind.PROMETHEUS.value: len(queries)}
    requests = {"mlflow": readers.mlflow.requests_made, "prometheus": readers.prometheus.requests_made}  # type: ignore[union-attr]
    return {**measured, "by_kind": by_kind, "requests_by_kind_both_rounds": requests}


def run_distinct(size: int, mlflow: MlflowServer) -> dict[str, Any]:
    name, experiment_id = log_distinct_metrics(mlflow, size)
    kpis = [
        {"experiment": name, "experiment_id": experiment_id, "metric": f"d{k}", "run_pick": "best"} for k in range(size)
    ]
    readers = Readers(mlflow=MlflowReader(MlflowSettings(url=mlflow.url), timeout=POLL_TIMEOUT_SECONDS))
    with database() as engine:
        seed_rows(engine, mlflow_kpis=kpis, prometheus_queries=[])
        return measure(engine, readers, size, poll_start(datetime.now(UTC), timedelta(hours=1)))


def verdicts(results: dict[str, Any]) -> list[tuple[str, bool, str]]:
    sizes = results["sizes"]
    small, large = sizes[str(SIZES[0])], sizes[str(SIZES[-1])]
    checks = []
    for label, measured in [*((f"{k} KPIs", v) for k, v in sizes.items()), ("1000 distinct", results["distinct"])]:
        worst = max(r["requests_per_kpi"] for r in measured["rounds"])
        checks.append((f"requests per KPI ≤ 1 ({label})", worst <= 1, f"{worst}"))
    prometheus_requests = large["requests_by_kind_both_rounds"]["prometheus"] / 2
    prometheus_kpis = large["by_kind"]["prometheus"]
    checks.append(
        (
            "Prometheus batches (1000 KPIs)",
            prometheus_requests < prometheus_kpis,
            f"{prometheus_requests:.0f} requests for {prometheus_kpis} KPIs",
        )
    )
    for number in (0, 1):
        a = small["rounds"][number]["statements_per_kpi"]
        b = large["rounds"][number]["statements_per_kpi"]
        checks.append((f"statements per KPI constant, round {number + 1}", b <= a * 1.05, f"{a} at 100, {b} at 1000"))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # else the client prints a line a run
    results: dict[str, Any] = {"version": code_version(), "sizes": {}}
    print("starting mlflow server and prometheus …", flush=True)
    with running_mlflow_server() as mlflow, prometheus_for_tests() as prometheus:
        results["prometheus"] = "real" if prometheus.real else "fake"
        for size in SIZES:
            results["sizes"][str(size)] = run_size(size, mlflow, prometheus)
        results["distinct"] = run_distinct(SIZES[-1], mlflow)
    print(f"Prometheus: {results['prometheus']} server")
    columns = ("round", "KPIs", "recorded", "requests", "req/KPI", "stmts/KPI", "s")
    print(f"{'set':>14} " + " ".join(f"{c:>9}" for c in columns))
    for label, measured in [*results["sizes"].items(), ("distinct", results["distinct"])]:
        for r in measured["rounds"]:
            values = (r["round"], measured["kpis"], r["recorded"], r["requests"], r["requests_per_kpi"])
            values += (r["statements_per_kpi"], r["seconds"])
            print(f"{label:>14} " + " ".join(f"{v:>9}" for v in values))
    checks = verdicts(results)
    results["verdicts"] = [{"check": c, "ok": ok, "measured": m} for c, ok, m in checks]
    for check, ok, measured_text in checks:
        print(f"{'PASS' if ok else 'MISS'}  {check}: {measured_text}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
