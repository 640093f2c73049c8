"""Reads KPIs from an MLflow tracking server over its REST API (`/api/2.0/mlflow/...`), the way MLflow's own
client does, with `requests` alone: experiments by name, finished runs through `runs/search`, and the version a
registered model's alias points at.

One poll sends at most one `runs/search` per KPI and usually far fewer: every `latest` KPI on the same experiment
and filter shares one search (each picks its metric from the same newest runs), and every `best` KPI on the same
experiment, filter, metric and direction shares one. A source's failure is a `SourceFailure` in its outcome, worded
for the person who can fix it; nothing here raises for what the server says or fails to say.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from bot.config import MlflowSettings
from bot.kpi_sources.http import no_answer_reason, without_credentials
from bot.kpi_sources.outcome import ModelVersion, SourceFailure, SourceOutcome, SourceQuery, SourceReading
from bot.kpi_sources.spec import MlflowSpec, RunPick

API_PREFIX = "/api/2.0/mlflow/"
# Enough newest runs that a `latest` metric is almost always among them; a metric missing from a full page gets
# one search of its own, so an experiment with many runs of other kinds is still read right.
RUNS_PAGE_SIZE = 50
FINISHED_RUNS = "attributes.status = 'FINISHED'"
NEWEST_FIRST = "attributes.start_time DESC"
# MLflow stores an infinite metric as the largest float, so this bound keeps every run that logged the metric.
LOWEST_STORED_METRIC = "-1.7976931348623157e308"
MAX_KEY_LENGTH = 255  # kpi_reading.source_key
RUN_NAME_SHOWN = 60

# MLflow's error codes (`databricks_pb2.ErrorCode`) as they arrive in an error body's `error_code`.
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
DELETED = "deleted"  # an experiment's lifecycle_stage once deleted (restorable until garbage-collected)

CREDENTIALS_HINT = "check MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"


class _ErrorAnswer(Exception):
    """MLflow answered a request with something other than a JSON object and HTTP 200."""

    def __init__(self, endpoint: str, status: int | None, error_code: str | None, message: str | None):
        super().__init__(f"{endpoint}: HTTP {status} {error_code} {message}")
        self.endpoint = endpoint
        self.status = status
        self.error_code = error_code
        self.message = message


class _NoAnswer(Exception):
    """No answer at all: connection refused, name not resolved, timed out."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _RunSearch:
    """One `runs/search`: the finished runs of an experiment matching the user's filter, in one order."""

    experiment_id: str
    filter: str | None
    order_by: str
    logged: str | None = None  # only runs that logged this metric: a `latest` metric missing from a full page


@dataclass(frozen=True)
class _Runs:
    runs: list[dict[str, Any]]
    page_full: bool  # more runs may match than were returned


@dataclass
class _ReadState:
    """What one `read_all` learnt: searches made (shared by the queries they answer), and whether MLflow is down."""

    searches: dict[_RunSearch, _Runs | SourceFailure] = field(default_factory=dict)
    gone: dict[str, SourceFailure | None] = field(default_factory=dict)  # why an experiment id found no runs
    # Once the server did not answer, the other sources of the read fail alike without waiting out a timeout each.
    no_answer: _NoAnswer | None = None


@dataclass(frozen=True)
class _Experiment:
    id: str
    found_now: bool  # looked up by name in this read, so it is known to exist and be active


class MlflowReader:
    """Reads sourced KPIs from one MLflow tracking server; counts the HTTP requests it sends."""

    def __init__(
        self,
        settings: MlflowSettings,
        *,
        timeout: float,
        session: requests.Session | None = None,
        page_size: int = RUNS_PAGE_SIZE,
    ):
        self._api = settings.url.rstrip("/") + API_PREFIX
        self.url = without_credentials(settings.url.rstrip("/"))  # what people see in messages and links
        self._timeout = timeout
        self._session = session or requests.Session()
        self._headers = _authorization(settings)
        self._has_credentials = bool(self._headers)
        self._page_size = page_size
        self.requests_made = 0

    def run_url(self, experiment_id: str, run_id: str) -> str:
        """The run's page in the MLflow UI."""
        return f"{self.url}/#/experiments/{quote(experiment_id, safe='')}/runs/{quote(run_id, safe='')}"

    def version_url(self, model: str, version: str) -> str:
        """A registered model version's page in the MLflow UI."""
        return f"{self.url}/#/models/{quote(model, safe='')}/versions/{quote(version, safe='')}"

    def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]:
        """One outcome per query, in order; MLflow's time is the metric's own, so `at` changes nothing here."""
        specs = [_mlflow_spec(query) for query in queries]
        state = _ReadState()
        experiments = self._experiments(queries, specs, state)
        outcomes = []
        for query, spec, experiment in zip(queries, specs, experiments, strict=True):
            if isinstance(experiment, SourceFailure):
                outcomes.append(SourceOutcome(query.source_id, failure=experiment))
                continue
            found = self._read(query, spec, experiment, state)
            if isinstance(found, SourceFailure):
                outcomes.append(SourceOutcome(query.source_id, failure=found, experiment_id=experiment.id))
            else:
                outcomes.append(SourceOutcome(query.source_id, reading=found, experiment_id=experiment.id))
        return outcomes

    def model_version(self, model: str, alias: str) -> ModelVersion | SourceFailure:
        """The version `alias` points at, with the latest value of each metric its run logged."""
        try:
            answer = self._call("GET", "registered-models/alias", params={"name": model, "alias": alias})
        except _NoAnswer as error:
            return self._unreachable(error)
        except _ErrorAnswer as error:
            if error.error_code == RESOURCE_DOES_NOT_EXIST and "alias" not in (error.message or "").lower():
                return SourceFailure(f"MLflow has no registered model named {model}")
            if error.error_code in (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE):
                return SourceFailure(f"registered model {model} has no alias {alias} in MLflow")
            return self._refused(error, f"reading model {model} @{alias}")
        version_info = answer.get("model_version")
        if not isinstance(version_info, dict) or "version" not in version_info:
            return self._unreadable("registered-models/alias")
        version = str(version_info["version"])
        run_id = str(version_info.get("run_id") or "") or None
        metrics: dict[str, float] = {}
        if run_id is not None:
            try:
                run = self._call("GET", "runs/get", params={"run_id": run_id}).get("run", {})
            except _NoAnswer as error:
                return self._unreachable(error)
            except _ErrorAnswer as error:
                if error.error_code != RESOURCE_DOES_NOT_EXIST:  # a version may outlive its run: no metrics then
                    return self._refused(error, f"reading the run of model {model} version {version}")
                run = {}
            for entry in _metric_entries(run):
                value = _number(entry.get("value"))
                if value is not None and math.isfinite(value):
                    metrics[str(entry["key"])] = value
        return ModelVersion(
            model=model,
            alias=alias,
            version=version,
            run_id=run_id,
            metrics=metrics,
            url=self.version_url(model, version),
        )

    def _experiments(
        self, queries: Sequence[SourceQuery], specs: Sequence[MlflowSpec], state: _ReadState
    ) -> list[_Experiment | SourceFailure]:
        """Each query's experiment: its id as stored, or looked up by name, once per name."""
        by_name: dict[str, _Experiment | SourceFailure] = {}
        found: list[_Experiment | SourceFailure] = []
        for query, spec in zip(queries, specs, strict=True):
            if query.experiment_id is not None:
                found.append(_Experiment(query.experiment_id, found_now=False))
                continue
            if spec.experiment not in by_name:
                by_name[spec.experiment] = self._experiment_named(spec.experiment, state)
            found.append(by_name[spec.experiment])
        return found

    def _experiment_named(self, name: str, state: _ReadState) -> _Experiment | SourceFailure:
        try:
            answer = self._call("GET", "experiments/get-by-name", params={"experiment_name": name}, state=state)
        except _NoAnswer as error:
            return self._unreachable(error)
        except _ErrorAnswer as error:
            if error.error_code == RESOURCE_DOES_NOT_EXIST:
                return SourceFailure(f"MLflow has no experiment named {name}")
            return self._refused(error, f"looking up experiment {name}")
        experiment = answer.get("experiment")
        if not isinstance(experiment, dict) or not experiment.get("experiment_id"):
            return self._unreadable("experiments/get-by-name")
        if experiment.get("lifecycle_stage") == DELETED:
            return SourceFailure(f"experiment {name} was deleted in MLflow")
        return _Experiment(str(experiment["experiment_id"]), found_now=True)

    def _read(
        self,
        query: SourceQuery,
        spec: MlflowSpec,
        experiment: _Experiment,
        state: _ReadState,
    ) -> SourceReading | SourceFailure:
        run_filter = (spec.filter or "").strip() or None
        if spec.run is RunPick.BEST:
            direction = "DESC" if query.higher_is_better else "ASC"
            search = _RunSearch(experiment.id, run_filter, f"{_metric_identifier(spec.metric)} {direction}")
        else:
            search = _RunSearch(experiment.id, run_filter, NEWEST_FIRST)
        found = self._search(search, spec, state)
        if isinstance(found, SourceFailure):
            return found
        run = _first_with(found.runs, spec.metric)
        if run is None and found.page_full and spec.run is RunPick.LATEST:
            narrowed = self._search(_RunSearch(experiment.id, run_filter, NEWEST_FIRST, spec.metric), spec, state)
            if isinstance(narrowed, SourceFailure):
                return narrowed
            run = _first_with(narrowed.runs, spec.metric)
        if run is not None:
            return self._reading(run, spec, experiment.id)
        if not found.runs and not experiment.found_now:
            if experiment.id not in state.gone:
                state.gone[experiment.id] = self._experiment_gone(experiment.id, spec.experiment, state)
            if (failure := state.gone[experiment.id]) is not None:
                return failure
        return _no_run(spec, any_run=bool(found.runs))

    def _search(self, search: _RunSearch, spec: MlflowSpec, state: _ReadState) -> _Runs | SourceFailure:
        if search not in state.searches:
            state.searches[search] = self._search_runs(search, spec, state)
        return state.searches[search]

    def _search_runs(self, search: _RunSearch, spec: MlflowSpec, state: _ReadState) -> _Runs | SourceFailure:
        clauses = [FINISHED_RUNS]
        if search.filter:
            clauses.append(search.filter)
        if search.logged is not None:
            clauses.append(f"{_metric_identifier(search.logged)} >= {LOWEST_STORED_METRIC}")
        page_size = 1 if search.logged is not None else self._page_size
        body = {
            "experiment_ids": [search.experiment_id],
            "filter": " AND ".join(clauses),
            "run_view_type": "ACTIVE_ONLY",
            "max_results": page_size,
            "order_by": [search.order_by],
        }
        try:
            answer = self._call("POST", "runs/search", json=body, state=state)
        except _NoAnswer as error:
            return self._unreachable(error)
        except _ErrorAnswer as error:
            if error.error_code == INVALID_PARAMETER_VALUE and search.filter:
                return SourceFailure(f'MLflow rejected the filter "{search.filter}": {error.message}')
            return self._refused(error, f"searching the runs of experiment {spec.experiment}")
        runs = answer.get("runs", [])
        if not isinstance(runs, list):
            return self._unreadable("runs/search")
        runs = [run for run in runs if isinstance(run, dict)]
        return _Runs(runs, page_full=bool(answer.get("next_page_token")))

    def _experiment_gone(self, experiment_id: str, name: str, state: _ReadState) -> SourceFailure | None:
        """Why a stored experiment id found no runs at all, if the experiment is deleted or gone (else None)."""
        try:
            answer = self._call("GET", "experiments/get", params={"experiment_id": experiment_id}, state=state)
        except _NoAnswer as error:
            return self._unreachable(error)
        except _ErrorAnswer as error:
            if error.error_code == RESOURCE_DOES_NOT_EXIST:
                return SourceFailure(f"MLflow has no experiment {name} any more (id {experiment_id})")
            return self._refused(error, f"looking up experiment {name}")
        experiment = answer.get("experiment")
        if isinstance(experiment, dict) and experiment.get("lifecycle_stage") == DELETED:
            return SourceFailure(f"experiment {name} was deleted in MLflow")
        return None

    def _reading(self, run: dict[str, Any], spec: MlflowSpec, experiment_id: str) -> SourceReading | SourceFailure:
        info = run.get("info", {})
        run_id = str(info.get("run_id") or info.get("run_uuid") or "")
        entry = next(entry for entry in _metric_entries(run) if entry.get("key") == spec.metric)
        value = _number(entry.get("value"))
        step = _integer(entry.get("step"))
        timestamp_ms = _integer(entry.get("timestamp"))
        name = str(info.get("run_name") or "")[:RUN_NAME_SHOWN] or run_id[:7]
        label = f"MLflow run {name} (step {step})"
        if value is None or not math.isfinite(value):
            shown = entry.get("value")
            return SourceFailure(f"metric {spec.metric} of {label} in experiment {spec.experiment} is {shown}")
        return SourceReading(
            value=value,
            observed_at=datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC),
            key=reading_key(run_id, spec.metric, step, timestamp_ms),
            url=self.run_url(experiment_id, run_id) if run_id else None,
            label=label,
        )

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        state: _ReadState | None = None,
    ) -> dict[str, Any]:
        """One request to the REST API; its JSON object, or _ErrorAnswer / _NoAnswer."""
        if state is not None and state.no_answer is not None:
            raise _NoAnswer(state.no_answer.reason)
        self.requests_made += 1
        try:
            response = self._session.request(
                method, self._api + endpoint, params=params, json=json, headers=self._headers, timeout=self._timeout
            )
        except requests.RequestException as error:
            no_answer = _NoAnswer(no_answer_reason(error, self._timeout))
            if state is not None:
                state.no_answer = no_answer
            raise no_answer from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        error_code = message = None
        if isinstance(answer, dict):
            error_code = str(answer.get("error_code") or "") or None
            message = str(answer.get("message") or "") or None
        raise _ErrorAnswer(endpoint, response.status_code, error_code, message)

    def _unreachable(self, error: _NoAnswer) -> SourceFailure:
        return SourceFailure(f"MLflow at {self.url} did not answer ({error.reason})", transient=True)

    def _unreadable(self, endpoint: str) -> SourceFailure:
        return SourceFailure(f"MLflow at {self.url} gave an answer to {API_PREFIX}{endpoint} that Handoff cannot read")

    def _refused(self, error: _ErrorAnswer, doing: str) -> SourceFailure:
        """What an error answer means to whoever runs Handoff or owns the source."""
        said = f": {error.message}" if error.message else ""
        if error.status in (401, 403):
            if not self._has_credentials:
                return SourceFailure(
                    f"MLflow at {self.url} asks for credentials (HTTP {error.status}): set MLFLOW_TRACKING_TOKEN "
                    "(or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
                )
            return SourceFailure(f"MLflow refused Handoff's credentials (HTTP {error.status}): {CREDENTIALS_HINT}")
        if error.status == 429:
            return SourceFailure(f"MLflow at {self.url} is limiting Handoff's requests (HTTP 429)", transient=True)
        if error.status is not None and error.status >= 500:
            return SourceFailure(f"MLflow at {self.url} failed {doing} (HTTP {error.status}){said}", transient=True)
        if error.error_code is None:
            return SourceFailure(
                f"MLflow at {self.url} answered HTTP {error.status} to {API_PREFIX}{error.endpoint}: is "
                "MLFLOW_TRACKING_URI the tracking server's address?"
            )
        return SourceFailure(f"MLflow refused {doing} (HTTP {error.status}, {error.error_code}){said}")


def reading_key(run_id: str, metric: str, step: int, timestamp_ms: int) -> str:
    """`mlflow:<run>:<metric>:<step>:<timestamp>`, the metric hashed when the whole would pass 255 characters."""
    key = f"mlflow:{run_id}:{metric}:{step}:{timestamp_ms}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(metric.encode()).hexdigest()
    key = f"mlflow:{run_id}:sha256-{digest}:{step}:{timestamp_ms}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "mlflow:sha256-" + hashlib.sha256(f"{run_id}:{metric}:{step}:{timestamp_ms}".encode()).hexdigest()


def _mlflow_spec(query: SourceQuery) -> MlflowSpec:
    if not isinstance(query.spec, MlflowSpec):
        raise TypeError(f"source {query.source_id} is not an MLflow source: {query.spec!r}")
    return query.spec


def _metric_identifier(metric: str) -> str:
    """`metrics.<key>` in MLflow's search grammar; backticks let keys with spaces, dots or slashes through."""
    return f"metrics.`{metric}`"


def _metric_entries(run: dict[str, Any]) -> list[dict[str, Any]]:
    entries = run.get("data", {}).get("metrics", [])
    return (
        [entry for entry in entries if isinstance(entry, dict) and "key" in entry] if isinstance(entries, list) else []
    )


def _first_with(runs: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    return next((run for run in runs if any(entry.get("key") == metric for entry in _metric_entries(run))), None)


def _no_run(spec: MlflowSpec, *, any_run: bool) -> SourceFailure:
    where = f" where {spec.filter.strip()}" if spec.filter and spec.filter.strip() else ""
    if not any_run:
        return SourceFailure(f"MLflow experiment {spec.experiment} has no finished run{where} yet")
    return SourceFailure(f"no finished run in MLflow experiment {spec.experiment}{where} logged metric {spec.metric}")


def _number(value: Any) -> float | None:
    """A metric value: a JSON number, or the strings protobuf's JSON uses for NaN and the infinities."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int:
    """A step or timestamp: int64 fields may arrive as JSON numbers or, from protobuf's JSON, as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _authorization(settings: MlflowSettings) -> dict[str, str]:
    """The header MLflow's own client sends: basic auth for a username and password, else the bearer token."""
    if settings.username and settings.password:
        pair = f"{settings.username}:{settings.password}".encode()
        return {"Authorization": "Basic " + base64.standard_b64encode(pair).decode()}
    if settings.token:
        return {"Authorization": f"Bearer {settings.token}"}
    return {}
