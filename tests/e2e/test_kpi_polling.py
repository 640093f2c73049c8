"""Polling sourced KPIs end to end: the real app reads a real `mlflow server` on the scheduler's path
(`run_scheduled("kpi-poll")`, which claims the interval's slot as the scheduler does), records each reading once,
posts breach and back-on-target alerts with a link to the MLflow run, and tells the thread and the KPI's owner once
when a source fails and the thread once when it reads again. Slack is FakeSlack through the real slack_sdk client;
time is the app's clock."""

from __future__ import annotations

import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import HandoffApp
from bot.config import MlflowSettings, PrometheusSettings
from bot.fake_slack import FakeSlack
from bot.scheduler import PlannedJob
from storage.db import session_scope
from storage.models import JobRun, Kpi, KpiReading, KpiSource
from tests.bot.test_cli_jobs import Cli, cli
from tests.conftest import RunningApp, ServeApp
from tests.e2e.test_readiness import AUC, CHURN_V2, NEW_CHURN, answer_line
from tests.support.e2e import Thread, kickoff_of, load, replies
from tests.support.factories import make_initiative
from tests.support.mlflow_server import MlflowServer
from tests.support.prometheus_server import PrometheusUnderTest
from tests.support.replicas import free_port
from tests.support.workspace import ALICE, BOB, NOW

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
# Pytest finds a fixture by name in the module of the test that asks for it, so the shared one is imported;
# listing it here tells linters that the import is used.
__all__ = ["cli"]
ADD_AUC = 'kpi add churn "AUC on holdout" &gt;= 0.82 owner:<@U0BOB|bob>'


@pytest.fixture
def mlflow_app(serve_app: ServeApp, mlflow_server: MlflowServer) -> Iterator[RunningApp]:
    """The app configured for the run's MLflow server."""
    with serve_app(mlflow=MlflowSettings(url=mlflow_server.url)) as running_app:
        yield running_app


@pytest.fixture
def churn_auc(mlflow_app: RunningApp) -> Thread:
    """`Churn model v2` with its KPI `AUC on holdout` >= 0.82, owned by Bob; its kickoff thread."""
    assert answer_line(mlflow_app, NEW_CHURN).startswith(":white_check_mark: Created *Churn model v2*")
    assert answer_line(mlflow_app, ADD_AUC).startswith(f":white_check_mark: Agreed *{AUC}*")
    kickoff = kickoff_of(mlflow_app, CHURN_V2)
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink="")


def read_from_mlflow(engine: Engine, experiment: tuple[str, str], *, metric: str = "auc") -> None:
    """The KPI's source, as `kpi source` stores it once it has found the experiment."""
    name, experiment_id = experiment
    with session_scope(engine) as session:
        kpi = session.exec(select(Kpi).where(Kpi.name == AUC)).one()
        session.add(
            KpiSource(
                kpi_id=kpi.id or 0,
                kind="mlflow",
                experiment=name,
                experiment_id=experiment_id,
                metric=metric,
                run_pick="latest",
                set_by=ALICE,
                set_at=load(engine, CHURN_V2).created_at,
            )
        )


def log_auc(server: MlflowServer, experiment: tuple[str, str], value: float, at: datetime) -> str:
    """A finished run logging `auc` at the app's time; its id."""
    return server.log_run(experiment[1], {"auc": value}, timestamp_ms=int(at.timestamp() * 1000))


def poll(running: RunningApp, app: HandoffApp | None = None) -> list[str]:
    """One scheduled round; what it added to every channel and DM, as each message's section and context text."""
    before = len(running.fake.calls_to("chat.postMessage"))
    report = (app or running.app).run_scheduled("kpi-poll")
    assert report.failed == [], report
    return [texts(call.args) for call in running.fake.calls_to("chat.postMessage")[before:]]


def texts(args: dict[str, Any]) -> str:
    lines = []
    for block in args.get("blocks") or []:
        if block["type"] == "section":
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines += [element["text"] for element in block["elements"]]
    return f"{args['channel']}: " + "\n".join(lines)


def sourced_readings(engine: Engine) -> list[tuple[float, str]]:
    with Session(engine) as session:
        found = session.exec(select(KpiReading).order_by(KpiReading.recorded_at)).all()
        return [(r.value, r.recorded_by) for r in found]


def test_a_reading_is_recorded_once_across_rounds_intervals_and_replicas(
    mlflow_app: RunningApp,
    churn_auc: Thread,
    mlflow_server: MlflowServer,
    start_replica: Callable[..., HandoffApp],
) -> None:
    experiment = mlflow_server.new_experiment("churn")
    log_auc(mlflow_server, experiment, 0.9, mlflow_app.clock.now() - HOUR)
    read_from_mlflow(mlflow_app.engine, experiment)
    replica = start_replica(mlflow=MlflowSettings(url=mlflow_server.url))
    thread_before = len(replies(mlflow_app, churn_auc))

    first = poll(mlflow_app)
    same_interval_elsewhere = poll(mlflow_app, replica)
    mlflow_app.clock.advance(HOUR)
    next_interval = poll(mlflow_app, replica)

    assert first == [] and same_interval_elsewhere == [] and next_interval == []  # a reading meeting its target
    assert sourced_readings(mlflow_app.engine) == [(0.9, "mlflow")]
    with Session(mlflow_app.engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.job == "kpi-poll")).all()
        assert [run.state for run in runs] == ["done", "done"]  # one claim per interval, whichever replica
    assert len(replies(mlflow_app, churn_auc)) == thread_before


def test_a_breach_read_from_mlflow_alerts_the_thread_with_the_run_and_a_recovery_says_so(
    mlflow_app: RunningApp, churn_auc: Thread, mlflow_server: MlflowServer
) -> None:
    experiment = mlflow_server.new_experiment("churn")
    log_auc(mlflow_server, experiment, 0.9, mlflow_app.clock.now() - HOUR)
    read_from_mlflow(mlflow_app.engine, experiment)
    poll(mlflow_app)

    mlflow_app.clock.advance(HOUR)
    missed_run = log_auc(mlflow_server, experiment, 0.7, mlflow_app.clock.now())
    [alert] = poll(mlflow_app)
    again = poll(mlflow_app)  # the same interval: nothing new
    mlflow_app.clock.advance(HOUR)
    met_run = log_auc(mlflow_server, experiment, 0.88, mlflow_app.clock.now())
    [back] = poll(mlflow_app)

    assert alert.startswith(
        f"{churn_auc.channel}: :rotating_light: *{AUC}* of *{CHURN_V2}* is below its 0.82 target: 0.7. "
        "Owner: <@U0BOB>.\nRead from MLflow\n:link: From <"
    ), alert
    assert f"/runs/{missed_run}" in alert  # the MLflow run, linked
    assert again == []
    assert back.startswith(
        f"{churn_auc.channel}: :white_check_mark: *{AUC}* of *{CHURN_V2}* meets its 0.82 target again: 0.88, "
        "read from MLflow."
    ), back
    assert f"/runs/{met_run}" in back
    assert len(mlflow_app.fake.shared_files(churn_auc.channel, thread_ts=churn_auc.ts)) == 1  # the trend, once
    assert sourced_readings(mlflow_app.engine) == [(0.9, "mlflow"), (0.7, "mlflow"), (0.88, "mlflow")]


def test_an_unreachable_source_is_told_once_to_the_thread_and_owner_then_its_recovery_once(
    mlflow_app: RunningApp,
    churn_auc: Thread,
    mlflow_server: MlflowServer,
    start_replica: Callable[..., HandoffApp],
) -> None:
    experiment = mlflow_server.new_experiment("churn")
    log_auc(mlflow_server, experiment, 0.9, mlflow_app.clock.now() - HOUR)
    read_from_mlflow(mlflow_app.engine, experiment)
    poll(mlflow_app)  # a good reading first
    unreachable = start_replica(mlflow=MlflowSettings(url=f"http://127.0.0.1:{free_port()}"))

    mlflow_app.clock.advance(HOUR)
    quiet = poll(mlflow_app, unreachable)  # 10:30: fails; a server that did not answer once is retried from 11:00
    mlflow_app.clock.advance(HOUR)
    told = poll(mlflow_app, unreachable)  # 11:30: fails again: told; tried again from 13:00
    mlflow_app.clock.advance(HOUR)
    waiting = poll(mlflow_app, unreachable)  # 12:30: backing off, not read
    mlflow_app.clock.advance(HOUR)
    still_failing = poll(mlflow_app, unreachable)  # 13:30: fails again, told already; tried again from 17:00
    failing_gauge = scraped(mlflow_app)
    mlflow_app.clock.advance(4 * HOUR)
    log_auc(mlflow_server, experiment, 0.91, mlflow_app.clock.now())
    recovered = poll(mlflow_app)
    mlflow_app.clock.advance(HOUR)
    after = poll(mlflow_app)

    [in_thread, to_owner] = told
    assert in_thread.startswith(
        f"{churn_auc.channel}: :warning: Handoff can't read *{AUC}* of *{CHURN_V2}* from MLflow: "
    )
    assert "The last good reading was read <!date^" in in_thread and "Handoff keeps trying" in in_thread
    assert to_owner.startswith(f"{BOB}: :warning: Handoff can't read *{AUC}*") and "You own this KPI" in to_owner
    assert quiet == [] and waiting == [] and still_failing == []
    assert "\nhandoff_kpi_sources_failing 1.0\n" in failing_gauge
    with Session(mlflow_app.engine) as session:
        source = session.exec(select(KpiSource)).one()
        assert source.failing_since is None and source.attempts == 0
    [back] = recovered
    assert back.startswith(
        f"{churn_auc.channel}: :arrows_counterclockwise: *{AUC}* of *{CHURN_V2}* is read from MLflow again"
    ), back
    assert after == []
    assert sourced_readings(mlflow_app.engine) == [(0.9, "mlflow"), (0.91, "mlflow")]
    assert (
        'handoff_kpi_source_failures_total{kind="mlflow"} 3.0'
        in generate_latest(unreachable.runtime.metrics.registry).decode()
    )
    assert "\nhandoff_kpi_sources_failing 0.0\n" in scraped(mlflow_app)


def scraped(running: RunningApp) -> str:
    """`GET /metrics` of the served app, as Prometheus scrapes it."""
    url = running.slack.url.removesuffix("/slack/events") + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


# --- the command line ----------------------------------------------------------------------------------------


def sourced_churn(engine: Engine, experiment: tuple[str, str]) -> None:
    """An initiative with the KPI `AUC on holdout` >= 0.82 read from `experiment`, stored as the commands store it."""
    with session_scope(engine) as session:
        initiative = make_initiative(session, name=CHURN_V2, ds_lead_id=BOB)
        session.add(
            Kpi(
                initiative_id=initiative.id or 0,
                name=AUC,
                name_key=AUC.lower(),
                direction=">=",
                target=0.82,
                owner_id=BOB,
                created_by=ALICE,
                created_at=NOW,
            )
        )
    read_from_mlflow(engine, experiment)


def test_run_kpi_poll_dry_run_prints_what_it_would_record_and_a_run_records_it_once(
    cli: Cli,
    engine: Engine,
    fake_slack: FakeSlack,
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    experiment = mlflow_server.new_experiment("churn")
    log_auc(mlflow_server, experiment, 0.9, NOW - HOUR)
    sourced_churn(engine, experiment)
    capsys.readouterr()  # the mlflow client's own lines about the run it logged

    dry = cli("kpi-poll", "--dry-run")
    nothing_written = sourced_readings(engine)
    real = cli("kpi-poll")
    again = cli("kpi-poll")

    assert dry.code == 0, dry.err
    [would, dry_summary] = dry.out.splitlines()
    assert would.startswith(f"would record 0.9 for {AUC} of {CHURN_V2}, from MLflow run ") and would.endswith(
        "; it meets its target"
    ), would
    assert dry_summary.startswith("dry run: 1 source read, 0 readings recorded"), dry_summary
    assert nothing_written == [] and fake_slack.calls_to("chat.postMessage") == []
    assert real.code == 0, real.err
    assert real.out.splitlines()[0].startswith(f"recorded 0.9 for {AUC} of {CHURN_V2}, from MLflow run ")
    assert "1 source read, 1 reading recorded, 0 alerts, 0 failed" in real.out
    assert again.code == 0 and "1 source read, 0 readings recorded" in again.out
    assert sourced_readings(engine) == [(0.9, "mlflow")]


def test_run_kpi_poll_without_source_settings_names_them(
    cli: Cli, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MLFLOW_TRACKING_URI", "PROMETHEUS_URL"):
        monkeypatch.delenv(name, raising=False)

    result = cli("kpi-poll", "--dry-run")

    assert result.code == 2 and result.out == ""
    assert "No KPI source is configured" in result.err
    assert "`MLFLOW_TRACKING_URI`" in result.err and "`PROMETHEUS_URL`" in result.err


# --- the scheduler -------------------------------------------------------------------------------------------


def test_the_scheduler_polls_every_kpi_poll_minutes_only_when_a_source_is_configured(
    start_replica: Callable[..., HandoffApp],
) -> None:
    def planned(app: HandoffApp) -> dict[str, PlannedJob]:
        assert app.scheduler is not None
        app.scheduler.start()
        try:
            return {job.id: job for job in app.scheduler.planned()}
        finally:
            app.scheduler.shutdown()

    with_mlflow = planned(start_replica(mlflow=MlflowSettings(url="http://mlflow.test"), kpi_poll_minutes=15))
    without = planned(start_replica())

    poll = with_mlflow["kpi-poll"]
    assert poll.trigger.startswith("interval[0:15:00")
    # On the quarter hours, whenever the process started: the poll's slots are the same intervals.
    assert poll.next_run_at is not None and poll.next_run_at.minute % 15 == 0 and poll.next_run_at.second == 0
    assert "kpi-poll" not in without


# --- Prometheus ----------------------------------------------------------------------------------------------


def test_a_breach_read_from_prometheus_alerts_the_thread_with_the_querys_graph(
    serve_app: ServeApp, prometheus: PrometheusUnderTest
) -> None:
    metric = f"handoff_poll_latency_{uuid.uuid4().hex[:8]}"
    query = f'{metric}{{service="churn"}}'
    with serve_app(prometheus=PrometheusSettings(url=prometheus.url), kpi_poll_minutes=1) as running:
        assert answer_line(running, NEW_CHURN).startswith(":white_check_mark: Created *Churn model v2*")
        assert answer_line(running, 'kpi add churn "p95 latency" &lt;= 120 unit:ms owner:<@U0BOB|bob>').startswith(
            ":white_check_mark: Agreed *p95 latency*"
        )
        with session_scope(running.engine) as session:
            kpi = session.exec(select(Kpi).where(Kpi.name == "p95 latency")).one()
            session.add(KpiSource(kpi_id=kpi.id or 0, kind="prometheus", query=query, set_by=ALICE, set_at=NOW))
        kickoff = kickoff_of(running, CHURN_V2)

        # A value is read in the minute after Prometheus first shows it (the poll reads as of its minute's start),
        # and each round in a minute of its own: Prometheus gives the newest sample before that moment.
        running.clock.set(prometheus.set(metric, 100.0, service="churn") + MINUTE)
        met = poll(running)
        shown = prometheus.set(metric, 150.0, service="churn")
        running.clock.set(max(shown, running.clock.now()) + MINUTE)
        [alert] = poll(running)
        again = poll(running)

    assert met == [] and again == []
    assert alert.startswith(
        f"{kickoff.channel}: :rotating_light: *p95 latency* of *{CHURN_V2}* is above its 120 ms ceiling: 150 ms. "
        "Owner: <@U0BOB>.\nRead from Prometheus\n:link: From <"
    ), alert
    assert f"{prometheus.url}/graph?g0.expr={urllib.parse.quote_plus(query)}" in alert.replace("&amp;", "&")
    assert sourced_readings(running.engine) == [(100.0, "prometheus"), (150.0, "prometheus")]


# --- the model registry --------------------------------------------------------------------------------------


def test_the_scheduled_round_announces_a_watched_models_new_version_once(
    mlflow_app: RunningApp, churn_auc: Thread, mlflow_server: MlflowServer
) -> None:
    experiment = mlflow_server.new_experiment("churn")
    client = mlflow_server.client()
    model = f"churn-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)

    def champion(auc: float) -> str:
        """A run logging `auc`, registered as the model's next version, which the alias @champion now points at."""
        run_id = log_auc(mlflow_server, experiment, auc, mlflow_app.clock.now())
        version = str(client.create_model_version(model, source=f"runs:/{run_id}/model", run_id=run_id).version)
        client.set_registered_model_alias(model, "champion", version)
        return version

    champion(0.85)
    read_from_mlflow(mlflow_app.engine, experiment)
    with session_scope(mlflow_app.engine) as session:
        source = session.exec(select(KpiSource)).one()
        source.model, source.alias = model, "champion"
    first = poll(mlflow_app)  # the version the alias had when the watch began is not news

    mlflow_app.clock.advance(HOUR)
    version = champion(0.91)
    news = poll(mlflow_app)
    mlflow_app.clock.advance(HOUR)
    later = poll(mlflow_app)

    assert first == [] and later == []
    [announced] = news
    assert announced.startswith(
        f"{churn_auc.channel}: :package: Model *{model}* version {version} now has the alias *@champion*."
    ), announced
