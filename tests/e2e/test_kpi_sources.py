"""A KPI read from its source, end to end: `/handoff kpi source` and the Add-a-KPI form check the source by reading
it from a real `mlflow server` before anything is saved, record what they read, and tell the thread; `kpi list` and
`status` show where a KPI is read from and, from the stored row, since when reading it fails. Signed requests over
HTTP into the real app; Slack is FakeSlack reached through the real slack_sdk client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import ids
from bot import kpi_source_setting as source_service
from bot.blocks.problems import describe
from bot.config import MlflowSettings, PrometheusSettings
from bot.initiatives import resolve_initiative
from bot.kpi_sources.outcome import SourceReading
from bot.kpi_sources.spec import PrometheusSpec
from bot.kpis import UnknownKpi
from bot.people import PeopleService
from storage import kpi_sources
from storage.models import Kpi, KpiReading, KpiSource
from tests.conftest import RunningApp, ServeApp
from tests.e2e.test_card_menu import pick, private_to, submit
from tests.e2e.test_readiness import (
    AUC,
    CHURN_V2,
    answer_line,
    churn,
    new_thread_lines,
    posted,
    private_payload,
    sections,
    snapshot,
)
from tests.support.blockkit import all_text
from tests.support.e2e import Thread, replies
from tests.support.factories import StaticDirectory, actor, rows
from tests.support.mlflow_server import MlflowServer
from tests.support.prometheus_server import PrometheusUnderTest
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, NOW

__all__ = ["churn"]  # the fixture, shared with the readiness tests

ADD_AUC = f'kpi add churn "{AUC}" &gt;= 0.82'
LOGGED_AT = NOW - timedelta(hours=2)  # when the runs' metrics were logged, by default: before the app's clock


@pytest.fixture
def running(request: pytest.FixtureRequest, serve_app: ServeApp) -> Iterator[RunningApp]:
    """The app over HTTP, reading MLflow from the real server where the test asks for `mlflow_server`; a test
    marked `app_settings(…)` gets those settings too."""
    marker = request.node.get_closest_marker("app_settings")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if "mlflow_server" in request.fixturenames:
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        # The first request makes the server set up its store and the test load MLflow's client: both take seconds
        # of CPU, done before the app is timed answering within Slack's 3 seconds.
        server.client().search_experiments(max_results=1)
        overrides.setdefault("mlflow", MlflowSettings(url=server.url))
    if "prometheus" in request.fixturenames:
        prometheus: PrometheusUnderTest = request.getfixturevalue("prometheus")
        overrides.setdefault("prometheus", PrometheusSettings(url=prometheus.url))
    with serve_app(**overrides) as running_app:
        yield running_app


def experiment_with_auc(
    mlflow_server: MlflowServer, *values: float, logged_at: datetime = LOGGED_AT, prefix: str = "churn"
) -> tuple[str, str]:
    """A new experiment with one finished run per value of `auc`, a second apart from `logged_at`: (name, id)."""
    name, experiment_id = mlflow_server.new_experiment(prefix)
    for n, value in enumerate(values):
        mlflow_server.log_run(experiment_id, {"auc": value}, timestamp_ms=int(logged_at.timestamp() * 1000) + n * 1000)
    return name, experiment_id


def source_rows(running: RunningApp) -> list[KpiSource]:
    return rows(running.engine, KpiSource)


def nothing_written(running: RunningApp, text: str, *, user: str = ALICE) -> str:
    """A command that must save and post nothing, and write no source; its private answer's first section."""
    before, before_posts, sources = snapshot(running.engine), posted(running), source_rows(running)
    answer = sections(private_payload(running, text, user=user))[0]
    assert snapshot(running.engine) == before, f"{text!r} changed the database"
    assert source_rows(running) == sources, f"{text!r} changed a source"
    assert posted(running) == before_posts, f"{text!r} posted a message"
    return answer


# --- setting a source -------------------------------------------------------------------------------------------


def test_setting_an_mlflow_source_reads_it_at_once_records_the_reading_and_tells_the_thread(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, experiment_id = experiment_with_auc(mlflow_server, 0.79, 0.84)
    answer_line(running, ADD_AUC)

    answer, thread = new_thread_lines(
        running, churn, f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc'
    )

    described = f"MLflow: metric auc of the latest run in experiment {experiment}"
    assert answer.startswith(
        f":white_check_mark: *{AUC}* of *{CHURN_V2}* is now read from {described}. It read *0.84* ("
    ), answer
    assert answer.endswith("), which meets its 0.82 target, recorded as its reading."), answer
    assert "<http://127.0.0.1:" in answer, "the answer links to the run it read"
    assert thread == [f":electric_plug: <@{ALICE}> set *{AUC}* of *{CHURN_V2}* to be read from {described}."]
    [source] = source_rows(running)
    assert (source.kind, source.experiment, source.experiment_id, source.metric, source.run_pick) == (
        "mlflow",
        experiment,
        experiment_id,
        "auc",
        "latest",
    )
    assert (source.set_by, source.set_at, source.last_good_at, source.failing_since) == (ALICE, NOW, NOW, None)
    [reading] = rows(running.engine, KpiReading)
    assert (reading.value, reading.recorded_by) == (0.84, "mlflow")
    assert reading.source_key
    assert reading.recorded_at == NOW - timedelta(hours=2) + timedelta(seconds=1)  # the metric's own time

    listing = all_text(private_payload(running, "kpi list churn"))
    assert "latest *0.84* on" in listing and "from MLflow" in listing and "<@mlflow>" not in listing
    assert f":electric_plug: Reads from {described}" in listing


def test_an_experiment_path_with_an_email_slack_made_a_link_of_is_read_as_typed(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, experiment_id = experiment_with_auc(mlflow_server, 0.84, prefix="/Users/alice@corp.com/churn")
    answer_line(running, ADD_AUC)
    as_sent = experiment.replace("alice@corp.com", "<mailto:alice@corp.com|alice@corp.com>")

    answer = answer_line(running, f'kpi source churn "{AUC}" mlflow experiment:"{as_sent}" metric:auc')

    assert answer.startswith(f":white_check_mark: *{AUC}* of *{CHURN_V2}* is now read from MLflow: metric auc of "), (
        answer
    )
    assert f"in experiment {experiment}. It read *0.84*" in answer and "mailto" not in answer, answer
    [source] = source_rows(running)
    assert (source.experiment, source.experiment_id) == (experiment, experiment_id)


def test_a_source_whose_first_reading_misses_after_a_met_one_raises_the_breach_alert(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, f'kpi record churn "{AUC}" 0.9')
    running.clock.advance(timedelta(hours=3))
    experiment, _ = experiment_with_auc(mlflow_server, 0.7, logged_at=NOW + timedelta(hours=2))

    answer, thread = new_thread_lines(
        running, churn, f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc run:best'
    )

    assert answer.startswith(":red_circle: "), answer
    assert "It read *0.7* (" in answer and "which is below its 0.82 target" in answer
    assert thread[0].startswith(f":electric_plug: <@{ALICE}> set *{AUC}*")
    assert thread[1] == (
        f":rotating_light: *{AUC}* of *{CHURN_V2}* is below its 0.82 target: 0.7. Owner: no owner set."
        "\nRead from MLflow"
    )
    [kpi] = rows(running.engine, Kpi)
    assert kpi.in_breach


def test_replacing_a_source_starts_its_state_afresh(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    first, _ = experiment_with_auc(mlflow_server, 0.84)
    second, second_id = experiment_with_auc(mlflow_server, 0.86)
    answer_line(running, ADD_AUC)
    answer_line(running, f'kpi source churn "{AUC}" mlflow experiment:{first} metric:auc')
    with Session(running.engine) as session:
        failing = session.exec(select(KpiSource)).one()
        failing.failing_since, failing.failure, failing.attempts = NOW, "unreachable", 3
        session.add(failing)
        session.commit()

    answer = answer_line(running, f'kpi source churn "{AUC}" mlflow experiment:{second} metric:auc')

    assert "(in place of its earlier source)" in answer
    [source] = source_rows(running)
    assert (source.experiment, source.experiment_id, source.failing_since, source.failure, source.attempts) == (
        second,
        second_id,
        None,
        None,
        0,
    )
    assert [r.value for r in rows(running.engine, KpiReading)] == [0.84, 0.86]


def test_an_experiment_that_is_not_there_is_named_and_nothing_is_saved(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    answer_line(running, ADD_AUC)

    answer = nothing_written(running, f'kpi source churn "{AUC}" mlflow experiment:no-such-experiment metric:auc')

    assert answer.startswith(f":warning: *{AUC}* could not be read from MLflow: "), answer
    assert "no-such-experiment" in answer and "The source was not set." in answer, answer
    assert rows(running.engine, KpiReading) == []


def test_a_metric_no_run_logged_is_refused_and_nothing_is_saved(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    answer_line(running, ADD_AUC)

    answer = nothing_written(running, f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:val_loss')

    assert answer.startswith(f":warning: *{AUC}* could not be read from MLflow: "), answer
    assert "val_loss" in answer and "The source was not set." in answer


def test_a_registered_model_alias_that_is_not_there_is_refused_and_nothing_is_saved(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    answer_line(running, ADD_AUC)

    answer = nothing_written(
        running,
        f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc model:no-such-model alias:champion',
    )

    assert answer.startswith(f":warning: *{AUC}* could not be read from MLflow: "), answer
    assert "The source was not set." in answer


def test_a_watched_alias_is_saved_at_its_current_version_so_only_later_ones_are_announced(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, experiment_id = experiment_with_auc(mlflow_server, 0.84)
    client = mlflow_server.client()
    model = f"churn-{experiment_id}"
    client.create_registered_model(model)
    run_id = mlflow_server.log_run(experiment_id, {"auc": 0.85}, timestamp_ms=int(LOGGED_AT.timestamp() * 1000) + 5000)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, "champion", version.version)
    answer_line(running, ADD_AUC)

    answer = answer_line(
        running, f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc model:{model} alias:champion'
    )

    assert f"{model} @champion is at " in answer and "later versions taking the alias are announced" in answer
    [source] = source_rows(running)
    assert (source.model, source.alias, source.model_version) == (model, "champion", str(version.version))


def test_setting_a_prometheus_source_runs_the_query_at_once_and_records_its_sample(
    running: RunningApp, churn: Thread, prometheus: PrometheusUnderTest
) -> None:
    answer_line(running, 'kpi add churn "p95 latency" &lt;= 120 unit:ms')
    job = f"api-{uuid.uuid4().hex[:8]}"
    sampled = prometheus.set("handoff_request_latency_ms", 95.0, job=job)
    running.clock.set(sampled)  # the query is run at the app's clock, when the sample is there
    query = f"handoff_request_latency_ms{{job='{job}'}}"

    answer, thread = new_thread_lines(running, churn, f'kpi source churn "p95 latency" prometheus query:"{query}"')

    assert answer.startswith(
        f":white_check_mark: *p95 latency* of *{CHURN_V2}* is now read from Prometheus: {query}. It read *95 ms* ("
    ), answer
    assert answer.endswith("), which is within its 120 ms ceiling, recorded as its reading."), answer
    assert thread == [
        f":electric_plug: <@{ALICE}> set *p95 latency* of *{CHURN_V2}* to be read from Prometheus: {query}."
    ]
    [source] = source_rows(running)
    assert (source.kind, source.query, source.experiment, source.last_good_at) == ("prometheus", query, None, sampled)
    [reading] = rows(running.engine, KpiReading)
    assert (reading.value, reading.recorded_by) == (95.0, "prometheus")


def test_a_query_with_no_data_is_refused_and_nothing_is_saved(
    running: RunningApp, churn: Thread, prometheus: PrometheusUnderTest
) -> None:
    answer_line(running, 'kpi add churn "p95 latency" &lt;= 120 unit:ms')
    query = f"handoff_request_latency_ms{{job='nothing-{uuid.uuid4().hex[:8]}'}}"

    answer = nothing_written(running, f'kpi source churn "p95 latency" prometheus query:"{query}"')

    assert answer.startswith(":warning: *p95 latency* could not be read from Prometheus: "), answer
    assert answer.endswith("The source was not set."), answer


# --- who may, and what is missing -------------------------------------------------------------------------------


def test_without_settings_the_answer_names_the_setting_that_is_missing(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)

    mlflow = nothing_written(running, f'kpi source churn "{AUC}" mlflow experiment:churn metric:auc')
    prometheus = nothing_written(running, f'kpi source churn "{AUC}" prometheus query:up')

    assert mlflow.startswith(
        ":warning: MLflow is not configured for Handoff, so no KPI can be read from it. Whoever runs Handoff can set "
        "`MLFLOW_TRACKING_URI`"
    ), mlflow
    assert prometheus.startswith(
        ":warning: Prometheus is not configured for Handoff, so no KPI can be read from it. Whoever runs Handoff can "
        "set `PROMETHEUS_URL`"
    ), prometheus


def test_only_the_kpis_owner_its_managers_or_an_admin_may_set_or_stop_its_source(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    answer_line(running, ADD_AUC)
    set_text = f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc'

    for text in (set_text, f'kpi source churn "{AUC}" off'):
        refused = nothing_written(running, text, user=DAVE)
        assert refused.startswith(
            ":warning: Only the KPI's owner, the initiative's leads, embedded engineer, creator or a workspace admin "
            "can set a KPI's source."
        ), refused

    # The DS lead may; so may an owner who manages nothing else.
    assert answer_line(running, set_text, user=BOB).startswith(":white_check_mark:")
    answer_line(running, f'kpi edit churn "{AUC}" owner:<@{DAVE}|dave>')
    assert answer_line(running, f'kpi source churn "{AUC}" off', user=DAVE).startswith(":white_check_mark:")


def test_a_kpi_removed_while_its_source_was_read_gets_no_source_and_no_other_kpi_does(
    running: RunningApp, churn: Thread
) -> None:
    # Permission is checked on "AUC", owned by Carol; while the (slow) source is read, "AUC" is removed. The save
    # must not fall back on the name, which now matches only "AUC holdout", a KPI whose owner never allowed it.
    answer_line(running, f'kpi add churn "AUC" &gt;= 0.82 owner:<@{CAROL}|carol>')
    answer_line(running, 'kpi add churn "AUC holdout" &gt;= 0.8')
    with Session(running.engine) as session:
        initiative = resolve_initiative(session=session, team_id=TEAM_ID, reference="churn")
        people = PeopleService(session=session, directory=StaticDirectory(), team_id=TEAM_ID, now=NOW)
        checked_kpi = source_service.source_kpi(
            session=session, actor=actor(CAROL), initiative=initiative, name="AUC", people=people
        )
    answer_line(running, 'kpi remove churn "AUC"')
    checked = source_service.CheckedSource(
        spec=PrometheusSpec(query="up"),
        reading=SourceReading(value=0.9, observed_at=NOW, key="up@1", url=None, label="Prometheus at 09:30 UTC"),
        experiment_id=None,
        model_version=None,
    )
    before = snapshot(running.engine)

    with Session(running.engine) as session, pytest.raises(UnknownKpi) as refused:
        source_service.save_source(
            session=session, initiative=initiative, kpi=checked_kpi, checked=checked, actor=actor(CAROL), now=NOW
        )

    assert 'has no KPI called "AUC"' in describe(refused.value) and '"AUC holdout"' in describe(refused.value)
    assert snapshot(running.engine) == before and source_rows(running) == []
    assert rows(running.engine, KpiReading) == []
    [holdout] = rows(running.engine, Kpi)
    assert holdout.name == "AUC holdout"


def test_an_archived_initiatives_kpi_source_cannot_be_set(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, "archive churn")

    answer = nothing_written(running, f'kpi source churn "{AUC}" mlflow experiment:churn metric:auc')

    assert "archived" in answer, answer


# --- off and show ---------------------------------------------------------------------------------------------------


def test_off_stops_reading_the_source_keeps_the_readings_and_tells_the_thread(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    answer_line(running, ADD_AUC)
    answer_line(running, f'kpi source "{AUC}" mlflow experiment:{experiment} metric:auc', channel=churn.channel)

    answer, thread = new_thread_lines(running, churn, f'kpi source churn "{AUC}" off')

    assert answer == f":white_check_mark: *{AUC}* of *{CHURN_V2}* is no longer read from MLflow; its readings stay."
    assert thread == [
        f":electric_plug: <@{ALICE}> stopped reading *{AUC}* of *{CHURN_V2}* from MLflow; its readings are typed by "
        "people again."
    ]
    assert source_rows(running) == []
    assert [r.value for r in rows(running.engine, KpiReading)] == [0.84]
    again = nothing_written(running, f'kpi source churn "{AUC}" off')
    assert again == f":warning: *{AUC}* has no source; its readings are typed by people.", again


def test_the_source_alone_shows_where_the_kpi_is_read_from(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    answer_line(running, ADD_AUC)

    typed = nothing_written(running, f'kpi source churn "{AUC}"', user=DAVE)
    answer_line(running, f'kpi source churn "{AUC}" mlflow experiment:{experiment} metric:auc')
    shown = nothing_written(running, f'kpi source churn "{AUC}"', user=DAVE)

    assert typed.startswith(f"*{AUC}* of *{CHURN_V2}* has no source; its readings are typed by people. Set one: ")
    assert shown.startswith(
        f"*{AUC}* of *{CHURN_V2}*: :electric_plug: Reads from MLflow: metric auc of the latest run in experiment "
        f"{experiment}\n      Set by <@{ALICE}> on "
    ), shown
    assert "last good reading <!date^" in shown and f'`/handoff kpi source churn "{AUC}" off`' in shown


# --- failures, as list and status show them ------------------------------------------------------------------------


def fail_source(running: RunningApp, *, reason: str) -> None:
    """The stored state of a source that failed an hour ago and last read well two hours ago."""
    with Session(running.engine) as session:
        [kpi] = session.exec(select(Kpi)).all()
        kpi_sources.replace_source(
            session=session,
            source=KpiSource(
                kpi_id=kpi.id or 0,
                kind="mlflow",
                experiment="churn",
                experiment_id="7",
                metric="auc",
                run_pick="latest",
                set_by=ALICE,
                set_at=NOW - timedelta(days=1),
                last_good_at=NOW - timedelta(hours=2),
                failing_since=NOW - timedelta(hours=1),
                failure=reason,
                attempts=2,
            ),
        )
        session.commit()


def test_kpi_list_and_status_show_a_failing_source_with_its_last_good_reading(
    running: RunningApp, churn: Thread
) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, f'kpi record churn "{AUC}" 0.84')
    fail_source(running, reason="MLflow answered 503 <Service Unavailable> & gave up")
    failing_since = int((NOW - timedelta(hours=1)).timestamp())
    last_good = int((NOW - timedelta(hours=2)).timestamp())

    listing = all_text(private_payload(running, "kpi list churn"))
    overview = all_text(private_payload(running, "status"))

    assert (
        f":warning: MLflow source failing since <!date^{failing_since}^{{date_short}} {{time}}|"
        f"{NOW - timedelta(hours=1):%Y-%m-%d %H:%M} UTC>: MLflow answered 503 &lt;Service Unavailable&gt; &amp; gave "
        f"up · last good reading <!date^{last_good}^{{date_short}} {{time}}|{NOW - timedelta(hours=2):%Y-%m-%d %H:%M} "
        "UTC>"
    ) in listing, listing
    assert ":electric_plug: Reads from MLflow: metric auc of the latest run in experiment churn" in listing
    assert f"{AUC} 0.84 (&gt;= 0.82) :warning: MLflow failing, last good reading <!date^{last_good}^" in overview, (
        overview
    )


def test_a_long_query_is_shown_cut_short_and_its_link_dropped_so_every_message_fits_slack(
    running: RunningApp, churn: Thread, prometheus: PrometheusUnderTest
) -> None:
    job = f"api-{uuid.uuid4().hex[:8]}"
    sampled = prometheus.set("handoff_request_latency_ms", 95.0, job=job)
    running.clock.set(sampled)
    query = f"handoff_request_latency_ms{{job='{job}'}}" + " + 0" * 465  # close to the 2000 characters allowed
    assert 1900 <= len(query) <= 2000
    names = [f"p9{n} latency of the checkout API at the edge load balancer, all regions" for n in range(5)]
    # FakeSlack refuses a payload past Slack's limits (a section over 3000 characters), as Slack does.
    for name in names:
        answer_line(running, f'kpi add churn "{name}" &lt;= 120 unit:ms')
        confirmation = answer_line(running, f'kpi source churn "{name}" prometheus query:"{query}"')
    failure = "Prometheus answered 503: " + "upstream unavailable; " * 20
    with Session(running.engine) as session:
        for source in session.exec(select(KpiSource)).all():
            source.failing_since, source.failure = sampled, failure
            session.add(source)
        session.commit()
    listing = all_text(private_payload(running, "kpi list churn"))
    detail = all_text(private_payload(running, "status churn"))

    shown = f"Prometheus: {query}"[:199] + "…"
    assert f"is now read from {shown}. It read *95 ms* (Prometheus" in confirmation, confirmation
    assert "<http" not in confirmation, "a graph link longer than a message can hold is left out, its label kept"
    for text in (listing, detail):
        assert text.count(f":electric_plug: Reads from {shown}") == 5, text
        assert query not in text
        # Every KPI's failure is there whole, the last one's too, never cut inside its `<!date^…>`.
        assert text.count(":warning: Prometheus source failing since <!date^") == 5, text
        assert text.count(": Prometheus answered 503: upstream unavailable; ") == 5, text
        assert text.count("· last good reading <!date^") == 5, text


def test_status_shows_nothing_of_a_source_that_reads_well(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, f'kpi record churn "{AUC}" 0.84')
    fail_source(running, reason="unreachable")
    with Session(running.engine) as session:
        source = session.exec(select(KpiSource)).one()
        source.failing_since, source.failure = None, None
        session.add(source)
        session.commit()

    overview = all_text(private_payload(running, "status"))

    assert f"{AUC} 0.84 (&gt;= 0.82)" in overview and ":warning: MLflow" not in overview


# --- the Add-a-KPI form ---------------------------------------------------------------------------------------------

VALID = {ids.BLOCK_KPI_NAME: AUC, ids.BLOCK_KPI_DIRECTION: ">=", ids.BLOCK_KPI_TARGET: "0.82"}


def add_kpi_form(running: RunningApp) -> dict[str, Any]:
    view = pick(running, "kpi").view
    assert view["callback_id"] == ids.VIEW_ADD_KPI
    return view


def errors_of(running: RunningApp, view: dict[str, Any], changes: dict[str, Any]) -> dict[str, str]:
    answer = submit(running, view, changes)
    assert answer["response_action"] == "errors", answer
    return dict(answer["errors"])


def test_the_form_marks_a_source_missing_what_it_needs_and_writes_nothing(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    view = add_kpi_form(running)

    mlflow = errors_of(running, view, {**VALID, ids.BLOCK_KPI_SOURCE: "mlflow", ids.BLOCK_KPI_MODEL: "churn"})
    prometheus = errors_of(running, view, {**VALID, ids.BLOCK_KPI_SOURCE: "prometheus"})

    assert mlflow == {
        ids.BLOCK_KPI_EXPERIMENT: "MLflow needs an experiment.",
        ids.BLOCK_KPI_METRIC: "MLflow needs a metric.",
        ids.BLOCK_KPI_ALIAS: (
            "A registered model and its alias go together: give both (`model:churn alias:champion`), or neither."
        ),
    }
    assert prometheus == {
        ids.BLOCK_KPI_SOURCE: (
            "Prometheus is not configured for Handoff, so no KPI can be read from it. Whoever runs Handoff can set "
            "PROMETHEUS_URL (such as http://prometheus.internal:9090), with PROMETHEUS_BEARER_TOKEN if the server "
            "asks for one."
        )
    }
    assert rows(running.engine, Kpi) == [] and source_rows(running) == []


def test_the_form_agrees_the_kpi_and_sets_its_source_as_the_command_does(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    experiment, _ = experiment_with_auc(mlflow_server, 0.84)
    view = add_kpi_form(running)
    before = len(replies(running, churn))

    closed = submit(
        running,
        view,
        {
            **VALID,
            ids.BLOCK_KPI_SOURCE: "mlflow",
            ids.BLOCK_KPI_EXPERIMENT: experiment,
            ids.BLOCK_KPI_METRIC: "auc",
            ids.BLOCK_KPI_RUN: "best",
        },
    )

    assert closed == {}
    [kpi] = rows(running.engine, Kpi)
    [source] = source_rows(running)
    assert (source.kpi_id, source.experiment, source.run_pick) == (kpi.id, experiment, "best")
    assert [r.value for r in rows(running.engine, KpiReading)] == [0.84]
    answer = private_to(running, ALICE)[-1]
    assert answer.startswith(f":white_check_mark: Agreed *{AUC}* &gt;= 0.82 for *{CHURN_V2}*."), answer
    assert f"\n:white_check_mark: *{AUC}* of *{CHURN_V2}* is now read from MLflow: metric auc of the best run" in answer
    assert len(replies(running, churn)) == before + 2  # agreed, then read from MLflow


def test_the_form_keeps_the_kpi_when_its_source_cannot_be_read_and_says_why(
    running: RunningApp, churn: Thread, mlflow_server: MlflowServer
) -> None:
    view = add_kpi_form(running)

    closed = submit(
        running,
        view,
        {
            **VALID,
            ids.BLOCK_KPI_SOURCE: "mlflow",
            ids.BLOCK_KPI_EXPERIMENT: "no-such-experiment",
            ids.BLOCK_KPI_METRIC: "auc",
        },
    )

    assert closed == {}
    assert [k.name for k in rows(running.engine, Kpi)] == [AUC]
    assert source_rows(running) == [] and rows(running.engine, KpiReading) == []
    answer = private_to(running, ALICE)[-1]
    assert f"\n:warning: Its source was not set: *{AUC}* could not be read from MLflow: " in answer, answer
