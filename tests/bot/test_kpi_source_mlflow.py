"""The MLflow reader against a real `mlflow server`: which run gives the reading, how few requests a poll sends,
and what each failure says. Credentials and server errors go through a small HTTP gate in front of the server."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from bot.config import MlflowSettings
from bot.kpi_sources.mlflow import MAX_KEY_LENGTH, MlflowReader, reading_key
from bot.kpi_sources.outcome import ModelVersion, SourceFailure, SourceOutcome, SourceQuery
from bot.kpi_sources.spec import MlflowSpec, RunPick
from tests.support.mlflow_server import MlflowServer
from tests.support.replicas import free_port
from tests.support.source_outcomes import failure_of, reading_of
from tests.support.workspace import NOW

TIMEOUT = 10.0
T0 = 1_800_000_000_000  # ms: runs and metrics get explicit times so "newest" never depends on the wall clock


def reader_for(url: str, **settings: Any) -> MlflowReader:
    return MlflowReader(MlflowSettings(url=url, **settings), timeout=TIMEOUT)


def query(
    spec: MlflowSpec, *, source_id: int = 1, higher_is_better: bool = True, experiment_id: str | None = None
) -> SourceQuery:
    return SourceQuery(source_id, spec, higher_is_better, experiment_id)


def read_one(reader: MlflowReader, one: SourceQuery) -> SourceOutcome:
    (outcome,) = reader.read_all([one], at=NOW)
    return outcome


def log_run(
    server: MlflowServer,
    experiment_id: str,
    metrics: Mapping[str, float],
    *,
    started_ms: int,
    step: int = 0,
    tags: Mapping[str, str] | None = None,
    finish: bool = True,
    name: str | None = None,
) -> str:
    """A run started at `started_ms` with `metrics` logged at `step` a second later; its id."""
    client = server.client()
    run = client.create_run(experiment_id, start_time=started_ms, tags=dict(tags or {}), run_name=name)
    run_id = str(run.info.run_id)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value, timestamp=started_ms + 1000, step=step)
    if finish:
        client.set_terminated(run_id, "FINISHED", end_time=started_ms + 2000)
    return run_id


@pytest.fixture
def experiment(mlflow_server: MlflowServer) -> tuple[str, str]:
    return mlflow_server.new_experiment()


@pytest.fixture
def reader(mlflow_server: MlflowServer) -> MlflowReader:
    return reader_for(mlflow_server.url)


def test_latest_reads_the_newest_finished_run_that_logged_the_metric(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.71}, started_ms=T0)
    newest = log_run(mlflow_server, experiment_id, {"auc": 0.74}, started_ms=T0 + 60_000, step=12, name="nightly")
    log_run(mlflow_server, experiment_id, {"loss": 0.3}, started_ms=T0 + 120_000)  # newer, without the metric
    log_run(mlflow_server, experiment_id, {"auc": 0.99}, started_ms=T0 + 180_000, finish=False)  # still running

    outcome = read_one(reader, query(MlflowSpec(name, "auc")))

    assert outcome.experiment_id == experiment_id  # found by name, for the caller to keep
    reading = reading_of(outcome)
    assert reading.value == 0.74
    assert reading.observed_at == datetime.fromtimestamp((T0 + 61_000) / 1000, tz=UTC)
    assert reading.key == f"mlflow:{newest}:auc:12:{T0 + 61_000}"
    assert reading.url == f"{mlflow_server.url}/#/experiments/{experiment_id}/runs/{newest}"
    assert reading.label == "MLflow run nightly (step 12)"
    assert reader.requests_made == 2  # the experiment by name, then one search


@pytest.mark.parametrize(("higher_is_better", "expected"), [(True, 0.93), (False, 0.61)])
def test_best_follows_the_kpis_direction(
    mlflow_server: MlflowServer,
    experiment: tuple[str, str],
    reader: MlflowReader,
    higher_is_better: bool,
    expected: float,
) -> None:
    name, experiment_id = experiment
    for offset, value in enumerate([0.8, 0.61, 0.93, float("nan"), 0.75]):
        log_run(mlflow_server, experiment_id, {"auc": value}, started_ms=T0 + offset * 60_000)
    log_run(mlflow_server, experiment_id, {"loss": 0.1}, started_ms=T0 + 600_000)
    log_run(mlflow_server, experiment_id, {"auc": 0.99 if higher_is_better else 0.01}, started_ms=T0, finish=False)

    spec = MlflowSpec(name, "auc", run=RunPick.BEST)
    reading = reading_of(read_one(reader, query(spec, higher_is_better=higher_is_better, experiment_id=experiment_id)))

    assert reading.value == expected
    assert reader.requests_made == 1


def test_metric_keys_with_spaces_and_slashes_are_quoted_for_mlflow(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    metric = "val loss/holdout.v2"
    log_run(mlflow_server, experiment_id, {metric: 0.4}, started_ms=T0)
    log_run(mlflow_server, experiment_id, {metric: 0.2}, started_ms=T0 + 60_000)
    log_run(mlflow_server, experiment_id, {metric: 0.3}, started_ms=T0 + 120_000)

    best, latest = reader.read_all(
        [
            query(MlflowSpec(name, metric, run=RunPick.BEST), higher_is_better=False, experiment_id=experiment_id),
            query(MlflowSpec(name, metric), source_id=2, experiment_id=experiment_id),
        ],
        at=NOW,
    )

    assert reading_of(best).value == 0.2
    assert reading_of(latest).value == 0.3


def test_a_filter_picks_among_finished_runs(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    holdout = log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0, tags={"dataset": "holdout"})
    log_run(mlflow_server, experiment_id, {"auc": 0.9}, started_ms=T0 + 60_000, tags={"dataset": "train"})
    log_run(
        mlflow_server, experiment_id, {"auc": 0.8}, started_ms=T0 + 120_000, tags={"dataset": "holdout"}, finish=False
    )

    spec = MlflowSpec(name, "auc", filter="tags.dataset = 'holdout'")
    reading = reading_of(read_one(reader, query(spec, experiment_id=experiment_id)))

    assert (reading.value, reading.key.split(":")[1]) == (0.7, holdout)


def test_a_new_step_is_a_new_reading_and_the_same_step_the_same_key(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    run_id = log_run(mlflow_server, experiment_id, {"auc": 0.7, "loss": 0.5}, started_ms=T0, step=1)
    sources = [
        query(MlflowSpec(name, "auc"), experiment_id=experiment_id),
        query(MlflowSpec(name, "loss"), source_id=2, experiment_id=experiment_id),
    ]

    first = [reading_of(outcome) for outcome in reader.read_all(sources, at=NOW)]
    again = [reading_of(outcome) for outcome in reader.read_all(sources, at=NOW)]
    mlflow_server.client().log_metric(run_id, "auc", 0.76, timestamp=T0 + 5000, step=2)
    later = [reading_of(outcome) for outcome in reader.read_all(sources, at=NOW)]

    assert [reading.value for reading in first] == [0.7, 0.5]
    assert [reading.key for reading in again] == [reading.key for reading in first]
    assert later[0].value == 0.76
    assert later[0].key == f"mlflow:{run_id}:auc:2:{T0 + 5000}" != first[0].key
    assert later[0].label.endswith("(step 2)")
    assert later[1].key == first[1].key  # loss logged nothing new


def test_kpis_on_one_experiment_share_one_search_per_poll(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7, "precision": 0.6, "recall": 0.5}, started_ms=T0)
    log_run(mlflow_server, experiment_id, {"auc": 0.8}, started_ms=T0 + 60_000)
    latest = [
        query(MlflowSpec(name, metric), source_id=source_id, experiment_id=experiment_id)
        for source_id, metric in enumerate(["auc", "precision", "recall", "auc"], start=1)
    ]

    outcomes = reader.read_all(latest, at=NOW)

    assert [reading_of(outcome).value for outcome in outcomes] == [0.8, 0.6, 0.5, 0.8]
    assert [outcome.source_id for outcome in outcomes] == [1, 2, 3, 4]
    assert reader.requests_made == 1

    best = MlflowSpec(name, "auc", run=RunPick.BEST)
    mixed = [
        *latest,
        query(best, source_id=5, experiment_id=experiment_id),
        query(best, source_id=6, experiment_id=experiment_id),
        query(best, source_id=7, experiment_id=experiment_id, higher_is_better=False),
        query(MlflowSpec(name, "auc", filter="metrics.precision > 0.5"), source_id=8, experiment_id=experiment_id),
    ]
    outcomes = reader.read_all(mixed, at=NOW)

    assert [reading_of(outcome).value for outcome in outcomes] == [0.8, 0.6, 0.5, 0.8, 0.8, 0.8, 0.7, 0.7]
    # latest (1) + best higher (1) + best lower (1) + latest with a filter (1)
    assert reader.requests_made == 1 + 4


def test_sources_set_by_name_look_each_experiment_up_once(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7, "loss": 0.2}, started_ms=T0)

    outcomes = reader.read_all([query(MlflowSpec(name, "auc")), query(MlflowSpec(name, "loss"), source_id=2)], at=NOW)

    assert [reading_of(outcome).value for outcome in outcomes] == [0.7, 0.2]
    assert {outcome.experiment_id for outcome in outcomes} == {experiment_id}
    assert reader.requests_made == 2


def test_a_latest_metric_older_than_a_full_page_of_runs_is_still_found(
    mlflow_server: MlflowServer, experiment: tuple[str, str]
) -> None:
    name, experiment_id = experiment
    reader = MlflowReader(MlflowSettings(url=mlflow_server.url), timeout=TIMEOUT, page_size=2)
    log_run(mlflow_server, experiment_id, {"drift": 0.1}, started_ms=T0)
    log_run(mlflow_server, experiment_id, {"drift": 0.2}, started_ms=T0 + 60_000)
    for offset in range(2, 5):
        log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0 + offset * 60_000)

    outcomes = reader.read_all(
        [
            query(MlflowSpec(name, "drift"), experiment_id=experiment_id),
            query(MlflowSpec(name, "nope"), source_id=2, experiment_id=experiment_id),
        ],
        at=NOW,
    )

    assert reading_of(outcomes[0]).value == 0.2
    assert failure_of(outcomes[1]).reason == f"no finished run in MLflow experiment {name} logged metric nope"
    assert reader.requests_made == 3  # the page, then one narrowed search for each metric missing from it


def test_an_unknown_experiment_is_named(reader: MlflowReader) -> None:
    failure = failure_of(read_one(reader, query(MlflowSpec("no-such-experiment", "auc"))))

    assert failure == SourceFailure("MLflow has no experiment named no-such-experiment")


def test_a_deleted_experiment_is_told_whether_found_by_name_or_by_its_stored_id(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)
    mlflow_server.client().delete_experiment(experiment_id)

    by_name, by_id, by_id_again = reader.read_all(
        [
            query(MlflowSpec(name, "auc")),
            query(MlflowSpec(name, "auc"), source_id=2, experiment_id=experiment_id),
            query(MlflowSpec(name, "loss"), source_id=3, experiment_id=experiment_id),
        ],
        at=NOW,
    )

    deleted = SourceFailure(f"experiment {name} was deleted in MLflow")
    assert failure_of(by_name) == failure_of(by_id) == failure_of(by_id_again) == deleted
    assert reader.requests_made == 3  # by name; the stored id's search, then once why it found nothing


def test_an_experiment_gone_from_mlflow_is_told(mlflow_server: MlflowServer, reader: MlflowReader) -> None:
    failure = failure_of(read_one(reader, query(MlflowSpec("churn", "auc"), experiment_id="987654")))

    assert failure == SourceFailure("MLflow has no experiment churn any more (id 987654)")


def test_a_metric_no_finished_run_logged_names_experiment_metric_and_filter(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0, tags={"dataset": "holdout"})
    log_run(mlflow_server, experiment_id, {"f1": 0.7}, started_ms=T0 + 60_000, finish=False)

    plain, filtered, best, nothing = reader.read_all(
        [
            query(MlflowSpec(name, "f1"), experiment_id=experiment_id),
            query(MlflowSpec(name, "f1", filter="tags.dataset = 'holdout'"), source_id=2, experiment_id=experiment_id),
            query(MlflowSpec(name, "f1", run=RunPick.BEST), source_id=3, experiment_id=experiment_id),
            query(MlflowSpec(name, "f1", filter="tags.dataset = 'live'"), source_id=4, experiment_id=experiment_id),
        ],
        at=NOW,
    )

    assert failure_of(plain).reason == f"no finished run in MLflow experiment {name} logged metric f1"
    assert failure_of(filtered).reason == (
        f"no finished run in MLflow experiment {name} where tags.dataset = 'holdout' logged metric f1"
    )
    assert failure_of(best).reason == f"no finished run in MLflow experiment {name} logged metric f1"
    assert failure_of(nothing).reason == f"MLflow experiment {name} has no finished run where tags.dataset = 'live' yet"
    assert not failure_of(plain).transient


def test_an_empty_experiment_has_no_finished_run_yet(experiment: tuple[str, str], reader: MlflowReader) -> None:
    name, experiment_id = experiment

    by_name, by_id = reader.read_all(
        [query(MlflowSpec(name, "auc")), query(MlflowSpec(name, "auc"), source_id=2, experiment_id=experiment_id)],
        at=NOW,
    )

    assert (
        failure_of(by_name) == failure_of(by_id) == SourceFailure(f"MLflow experiment {name} has no finished run yet")
    )


def test_a_bad_filter_quotes_mlflows_message_and_spares_the_other_sources(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)

    bad, good = reader.read_all(
        [
            query(MlflowSpec(name, "auc", filter="tags.dataset == 'holdout'"), experiment_id=experiment_id),
            query(MlflowSpec(name, "auc"), source_id=2, experiment_id=experiment_id),
        ],
        at=NOW,
    )

    failure = failure_of(bad)
    assert failure.reason.startswith("MLflow rejected the filter \"tags.dataset == 'holdout'\": Invalid comparator")
    assert "'=='" in failure.reason
    assert not failure.transient
    assert reading_of(good).value == 0.7


def test_a_metric_logged_as_nan_is_a_failure(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)
    log_run(mlflow_server, experiment_id, {"auc": float("nan")}, started_ms=T0 + 60_000, name="diverged")

    failure = failure_of(read_one(reader, query(MlflowSpec(name, "auc"), experiment_id=experiment_id)))

    assert failure.reason == f"metric auc of MLflow run diverged (step 0) in experiment {name} is NaN"


def test_a_server_that_does_not_answer_is_a_transient_failure_for_every_source() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    reader = reader_for(url)

    outcomes = reader.read_all(
        [query(MlflowSpec("churn", "auc"), experiment_id="1"), query(MlflowSpec("churn", "f1"), source_id=2)],
        at=NOW,
    )

    expected = SourceFailure(f"MLflow at {url} did not answer (connection refused)", transient=True)
    assert [failure_of(outcome) for outcome in outcomes] == [expected, expected]
    assert reader.requests_made == 1  # the second source fails alike without asking again
    assert failure_of(read_one(reader, query(MlflowSpec("churn", "auc")))) == expected
    assert reader.model_version("churn", "champion") == expected


def test_a_server_that_accepts_but_never_answers_times_out_once_per_read() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:  # connections queue up, nothing reads them
        url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        reader = MlflowReader(MlflowSettings(url=url), timeout=0.2)

        outcomes = reader.read_all(
            [
                query(MlflowSpec("churn", "auc"), experiment_id="1"),
                query(MlflowSpec("fraud", "auc"), source_id=2, experiment_id="2"),
                query(MlflowSpec("churn", "auc", run=RunPick.BEST), source_id=3, experiment_id="1"),
            ],
            at=NOW,
        )

    expected = SourceFailure(f"MLflow at {url} did not answer (timed out after 0.2 s)", transient=True)
    assert [failure_of(outcome) for outcome in outcomes] == [expected] * 3
    assert reader.requests_made == 1


@dataclass
class Gate:
    """An HTTP gate in front of the MLflow server: records every request's headers, answers `status` with MLflow's
    error body when one is set, lets requests carrying `authorization` through, and refuses the rest with 401."""

    upstream: str
    authorization: str | None = None
    status: int | None = None
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


@contextmanager
def gate_before(upstream: str, **settings: Any) -> Iterator[Gate]:
    gate = Gate(upstream, **settings)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            gate.headers.append(dict(self.headers.items()))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if gate.status is not None:
                code = "TEMPORARILY_UNAVAILABLE" if gate.status >= 500 else "REQUEST_LIMIT_EXCEEDED"
                self._send(gate.status, {"error_code": code, "message": "try later"})
            elif self.headers.get("Authorization") != gate.authorization:
                self._send(401, {"error_code": "UNAUTHENTICATED", "message": "You are not authenticated."})
            else:
                answer = requests.request(
                    self.command, gate.upstream + self.path, data=body, headers={"Content-Type": "application/json"}
                )
                self._send(answer.status_code, answer.json())

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gate.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_token_is_sent_as_a_bearer_and_a_refusal_says_which_setting_to_check(
    mlflow_server: MlflowServer, experiment: tuple[str, str]
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)
    token = "s3cret-token"
    spec = MlflowSpec(name, "auc")

    with gate_before(mlflow_server.url, authorization=f"Bearer {token}") as gate:
        reading = reading_of(read_one(reader_for(gate.url, token=token), query(spec)))
        wrong = failure_of(read_one(reader_for(gate.url, token="stale"), query(spec)))
        none = failure_of(read_one(reader_for(gate.url), query(spec)))

    assert reading.value == 0.7
    assert reading.url is not None and reading.url.startswith(gate.url)
    assert [headers.get("Authorization") for headers in gate.headers] == [f"Bearer {token}"] * 2 + [
        "Bearer stale",
        None,
    ]
    assert wrong == SourceFailure(
        "MLflow refused Handoff's credentials (HTTP 401): check MLFLOW_TRACKING_TOKEN "
        "(or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
    )
    assert none.reason.startswith(f"MLflow at {gate.url} asks for credentials (HTTP 401): set MLFLOW_TRACKING_TOKEN")
    assert "stale" not in wrong.reason


def test_a_username_and_password_are_sent_as_basic_auth(
    mlflow_server: MlflowServer, experiment: tuple[str, str]
) -> None:
    name, experiment_id = experiment
    log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)
    basic = "Basic " + base64.b64encode(b"handoff:pa55word").decode()

    with gate_before(mlflow_server.url, authorization=basic) as gate:
        reader = reader_for(gate.url, username="handoff", password="pa55word")
        reading = reading_of(read_one(reader, query(MlflowSpec(name, "auc"), experiment_id=experiment_id)))

    assert reading.value == 0.7
    assert [headers.get("Authorization") for headers in gate.headers] == [basic]
    assert "pa55word" not in repr(reader.__dict__)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (503, "failed searching the runs of experiment churn (HTTP 503): try later"),
        (429, "is limiting Handoff's requests (HTTP 429)"),
    ],
)
def test_server_errors_and_rate_limits_are_transient(mlflow_server: MlflowServer, status: int, expected: str) -> None:
    with gate_before(mlflow_server.url, status=status) as gate:
        failure = failure_of(read_one(reader_for(gate.url), query(MlflowSpec("churn", "auc"), experiment_id="1")))

    assert failure == SourceFailure(f"MLflow at {gate.url} {expected}", transient=True)


def test_a_url_that_is_not_a_tracking_server_says_so(mlflow_server: MlflowServer) -> None:
    reader = reader_for(mlflow_server.url + "/not-mlflow")

    failure = failure_of(read_one(reader, query(MlflowSpec("churn", "auc"), experiment_id="1")))

    assert failure.reason == (
        f"MLflow at {mlflow_server.url}/not-mlflow answered HTTP 404 to /api/2.0/mlflow/runs/search: is "
        "MLFLOW_TRACKING_URI the tracking server's address?"
    )


def register(server: MlflowServer, model: str, run_id: str, alias: str) -> str:
    client = server.client()
    version = client.create_model_version(model, source=f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, alias, version.version)
    return str(version.version)


def test_a_models_alias_gives_its_version_and_the_metrics_of_its_run(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    _, experiment_id = experiment
    model = f"churn model {experiment_id}"
    mlflow_server.client().create_registered_model(model)
    first = log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0)
    register(mlflow_server, model, first, "champion")
    second = log_run(mlflow_server, experiment_id, {"auc": 0.81, "f1": 0.6, "broken": float("nan")}, started_ms=T0 + 1)
    version = register(mlflow_server, model, second, "champion")

    found = reader.model_version(model, "champion")

    assert found == ModelVersion(
        model=model,
        alias="champion",
        version=version,
        run_id=second,
        metrics={"auc": 0.81, "f1": 0.6},
        url=f"{mlflow_server.url}/#/models/churn%20model%20{experiment_id}/versions/{version}",
    )
    assert version == "2"
    assert reader.requests_made == 2


def test_a_missing_model_or_alias_is_named(
    mlflow_server: MlflowServer, experiment: tuple[str, str], reader: MlflowReader
) -> None:
    _, experiment_id = experiment
    model = f"fraud-{experiment_id}"
    mlflow_server.client().create_registered_model(model)
    register(mlflow_server, model, log_run(mlflow_server, experiment_id, {"auc": 0.7}, started_ms=T0), "staging")

    assert reader.model_version(model, "champion") == SourceFailure(
        f"registered model {model} has no alias champion in MLflow"
    )
    assert reader.model_version("no-such-model", "champion") == SourceFailure(
        "MLflow has no registered model named no-such-model"
    )


def test_reading_keys_stay_within_255_characters_and_stay_distinct() -> None:
    run_id = "a" * 32
    long_metric = "m" * 250

    keys = {reading_key(run_id, long_metric, step, T0) for step in (1, 2)}

    assert all(len(key) <= MAX_KEY_LENGTH for key in keys)
    assert len(keys) == 2
    assert reading_key(run_id, long_metric, 1, T0) == reading_key(run_id, long_metric, 1, T0)
    assert reading_key(run_id, "auc", 1, T0) == f"mlflow:{run_id}:auc:1:{T0}"


def test_links_encode_names_and_never_carry_credentials() -> None:
    reader = reader_for("https://handoff:pa55word@mlflow.example.com/tracking/")

    assert reader.run_url("7", "abc") == "https://mlflow.example.com/tracking/#/experiments/7/runs/abc"
    assert reader.version_url("churn/eu model", "3") == (
        "https://mlflow.example.com/tracking/#/models/churn%2Feu%20model/versions/3"
    )
