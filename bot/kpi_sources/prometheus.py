"""Reads KPIs from a Prometheus server: PromQL instant queries over its HTTP API (`POST /api/v1/query`), many
queries in one request.

Queries are evaluated at the poll's time, not at "now": the sample time Prometheus answers is then the same for
every replica and every retry within an interval, and that time with a hash of the query is the reading's key, so
each reading is recorded once, and a query changed within an interval still records its own. Distinct queries travel
together: each is tagged with a label of its own and the tagged vectors are OR-ed, so one request answers up to
`MAX_QUERIES_PER_REQUEST` KPIs. When a combined request fails though the server was reached (a query that cannot be
combined, a slow one, a 5xx), its queries are read alone, so only the one to blame fails; a query that cannot be
combined (a scalar, a range vector, an invalid one, one whose series carry the tag label already), or a batch refused
only as a whole, is remembered to be read alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard
from urllib.parse import urlencode

import requests
from urllib3.exceptions import ProtocolError

from bot.config import PrometheusSettings
from bot.kpi_sources.http import no_answer_reason, without_credentials
from bot.kpi_sources.outcome import SourceFailure, SourceOutcome, SourceQuery, SourceReading
from bot.kpi_sources.spec import PrometheusSpec

QUERY_PATH = "/api/v1/query"
QUERY_LABEL = "handoff_query"  # tags each query's series in a combined request
MAX_QUERIES_PER_REQUEST = 100  # one slow or huge query delays only the others of its request
MAX_QUERY_CHARACTERS = 60_000  # the combined query's length; it travels in a POST body, so this is about cost
# Reading alone stops once this many queries in a row fail as their batch did: the server as a whole is slow or
# refusing, and asking each of the rest would only wait longer.
MAX_FAILURES_IN_A_ROW_ALONE = 3
QUERY_HASH_LENGTH = 12  # hex digits of the query's sha256 in a reading's key: short, and stable across releases
ERROR_PREFIX = 'invalid parameter "query": '  # how Prometheus introduces a query's parse error


@dataclass(frozen=True)
class _Rejected:
    """Prometheus refused the query itself (400 bad_data, 422 execution): the query's fault, not the server's."""

    error: str
    error_type: str


@dataclass(frozen=True)
class _Failed:
    """No answer to the query: why, and whether reading queries alone may fare better."""

    failure: SourceFailure
    # The server was reached and failed on this request alone (timed out, dropped it, 5xx, 429): a slow or heavy
    # query may be all that failed, not the server itself (refused, unknown, TLS, credentials, not Prometheus).
    retry_alone: bool = False


_Answer = dict[str, Any] | _Rejected | _Failed  # the `data` of a successful answer, or why there is none


class PrometheusReader:
    """Reads PromQL instant queries as KPI values, batching distinct queries and reading identical ones once."""

    def __init__(self, settings: PrometheusSettings, *, timeout: float, session: requests.Session | None = None):
        self.settings = settings
        self.timeout = timeout
        self.requests_made = 0
        self._session = session or requests.Session()
        self._api = settings.url.rstrip("/")
        self._public_url = without_credentials(self._api)  # for links and messages: never a password
        # Queries that broke a combined request of a poll (scalars, invalid ones, a batch Prometheus refused only as
        # a whole): asked alone from then on.
        self._read_alone: set[str] = set()

    def graph_url(self, query: str) -> str:
        """The query's graph in Prometheus's own UI."""
        return f"{self._public_url}/graph?{urlencode({'g0.expr': query, 'g0.tab': '0'})}"

    def read_all(self, queries: Sequence[SourceQuery], *, at: datetime) -> list[SourceOutcome]:
        """Evaluate every query at `at`: one outcome per query, in order; a source's failure is an outcome."""
        texts = list(dict.fromkeys(_query_text(query) for query in queries))
        results = self._evaluate(texts, at)
        outcomes = []
        for query in queries:
            result = results[_query_text(query)]
            if isinstance(result, SourceReading):
                outcomes.append(SourceOutcome(query.source_id, reading=result))
            else:
                outcomes.append(SourceOutcome(query.source_id, failure=result))
        return outcomes

    def _evaluate(self, texts: list[str], at: datetime) -> dict[str, SourceReading | SourceFailure]:
        results: dict[str, SourceReading | SourceFailure] = {}
        combinable = [text for text in texts if text not in self._read_alone]
        for chunk in _chunks(combinable):
            if len(chunk) == 1:
                results[chunk[0]] = self._read_one(chunk[0], at)
                continue
            answer = self._request(_combined(chunk), at)
            if isinstance(answer, _Failed) and not answer.retry_alone:
                results.update(dict.fromkeys(chunk, answer.failure))
            elif isinstance(answer, _Failed):
                results.update(self._read_each(chunk, at, refused_together=False))
            elif isinstance(answer, _Rejected) or answer["resultType"] != "vector":
                # One of them cannot be combined or is wrong: reading each alone says which, and why.
                results.update(self._read_each(chunk, at, refused_together=True))
            else:
                results.update(self._split(chunk, answer["result"], at))
        for text in texts:
            if text not in results:
                results[text] = self._read_one(text, at)
        return results

    def _read_each(
        self, chunk: list[str], at: datetime, *, refused_together: bool
    ) -> dict[str, SourceReading | SourceFailure]:
        """The queries of a failed combined request, each alone: only the one to blame fails, and is remembered.

        When Prometheus refused the batch itself (`refused_together`) and each query alone answers fine, the batch
        was the trouble (series identical once tagged, too many samples together): its queries are read alone from
        then on, which costs no more requests than reading each after a failed batch every poll.
        """
        results: dict[str, SourceReading | SourceFailure] = {}
        failures = failures_in_a_row = 0
        blamed = False
        for position, text in enumerate(chunk):
            answer = self._request(text, at)
            if isinstance(answer, _Failed):
                failures += 1
                failures_in_a_row += 1
                if not answer.retry_alone or failures_in_a_row == MAX_FAILURES_IN_A_ROW_ALONE:
                    results.update(dict.fromkeys(chunk[position:], answer.failure))
                    return results
                results[text] = answer.failure
                continue
            failures_in_a_row = 0
            if _cannot_be_combined(answer):
                self._read_alone.add(text)
                blamed = True
            results[text] = self._outcome(text, answer, at)
        if refused_together and not blamed and not failures:
            self._read_alone.update(chunk)
        return results

    def _read_one(self, text: str, at: datetime) -> SourceReading | SourceFailure:
        """One query in a request of its own."""
        answer = self._request(text, at)
        if isinstance(answer, _Failed):
            return answer.failure
        return self._outcome(text, answer, at)

    def _outcome(self, text: str, answer: dict[str, Any] | _Rejected, at: datetime) -> SourceReading | SourceFailure:
        """What a query asked alone gave."""
        if isinstance(answer, _Rejected):
            if answer.error_type == "execution":
                return SourceFailure(f"Prometheus could not evaluate the query: {answer.error}")
            return SourceFailure(f"Prometheus rejected the query: {answer.error}")
        result_type, result = answer["resultType"], answer["result"]
        if result_type == "vector":
            return self._reading(text, result, at)
        if result_type == "scalar":
            return self._sample(text, result)
        if result_type == "matrix":
            return SourceFailure(
                "the query returns a range vector (a selector such as [5m] at its end), and a KPI needs one number: "
                "wrap it in a function such as avg_over_time(...) or rate(...)"
            )
        return SourceFailure(f"the query returns a {result_type}, not a number")

    def _split(
        self, chunk: list[str], series: list[dict[str, Any]], at: datetime
    ) -> Iterator[tuple[str, SourceReading | SourceFailure]]:
        """Each query's own series out of a combined answer, by the label that tagged them."""
        by_query: dict[str, list[dict[str, Any]]] = {str(index): [] for index in range(len(chunk))}
        for each in series:
            by_query.setdefault(each.get("metric", {}).get(QUERY_LABEL, ""), []).append(each)
        for index, text in enumerate(chunk):
            yield text, self._reading(text, by_query[str(index)], at)

    def _reading(self, text: str, series: list[dict[str, Any]], at: datetime) -> SourceReading | SourceFailure:
        if not series:
            return SourceFailure(f"the query returned no data at {_clock_time(at)}")
        if len(series) > 1:
            return SourceFailure(
                f"the query returned {len(series)} series, and a KPI needs one: add them up with sum(...)"
                f" or pick one with a label matcher{_matcher_hint(series)}"
            )
        return self._sample(text, series[0].get("value"))

    def _sample(self, text: str, sample: Any) -> SourceReading | SourceFailure:
        """A reading from Prometheus's `[<unix time>, "<value>"]`."""
        try:
            unix_time, value = float(sample[0]), float(sample[1])
        except (TypeError, ValueError, LookupError):
            return SourceFailure(f"Prometheus answered a sample Handoff cannot read: {sample!r}")
        if math.isnan(value):
            return SourceFailure(
                "the query's value is NaN (not a number): zero divided by zero, as a ratio with no traffic, gives one"
            )
        if math.isinf(value):
            return SourceFailure(f"the query's value is {'+' if value > 0 else '-'}Inf: a division by zero gives one")
        observed_at = datetime.fromtimestamp(unix_time, UTC)
        return SourceReading(
            value=value,
            observed_at=observed_at,
            key=f"prometheus:{_query_hash(text)}:{_unix_text(unix_time)}",
            url=self.graph_url(text),
            label=f"Prometheus at {_clock_time(observed_at)}",
        )

    def _request(self, query: str, at: datetime) -> _Answer:
        """POST one instant query evaluated at `at`; its `data`, or why there is none."""
        self.requests_made += 1
        headers = {"Accept": "application/json"}
        if self.settings.bearer_token:
            headers["Authorization"] = f"Bearer {self.settings.bearer_token}"
        try:
            response = self._session.post(
                f"{self._api}{QUERY_PATH}",
                data={"query": query, "time": _unix_text(_aware(at).timestamp())},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            failure = SourceFailure(
                f"Prometheus at {self._public_url} did not answer ({no_answer_reason(error, self.timeout)})",
                transient=True,
            )
            return _Failed(failure, retry_alone=_reached(error))
        return self._answer(response)

    def _answer(self, response: requests.Response) -> _Answer:
        status = response.status_code
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) and body.get("status") == "error" else None
        if status in (401, 403):
            if self.settings.bearer_token:
                return _Failed(
                    SourceFailure(
                        f"Prometheus refused Handoff's credentials (HTTP {status}): check PROMETHEUS_BEARER_TOKEN"
                    )
                )
            return _Failed(
                SourceFailure(f"Prometheus asks for credentials (HTTP {status}): set PROMETHEUS_BEARER_TOKEN")
            )
        if status in (400, 422) and isinstance(error, str):
            return _Rejected(error.removeprefix(ERROR_PREFIX), str(body.get("errorType", "bad_data")))
        if status == 429 or status >= 500:
            failure = SourceFailure(
                f"Prometheus at {self._public_url} answered HTTP {status} ({error or response.reason})",
                transient=True,
            )
            return _Failed(failure, retry_alone=True)
        if status == 404:
            return _Failed(
                SourceFailure(
                    f"Prometheus at {self._public_url} has no query API (HTTP 404 for {QUERY_PATH}): "
                    "check PROMETHEUS_URL"
                )
            )
        if not 200 <= status < 300:
            return _Failed(
                SourceFailure(f"Prometheus at {self._public_url} answered HTTP {status} ({error or response.reason})")
            )
        data = body.get("data") if isinstance(body, dict) and body.get("status") == "success" else None
        if not _is_query_data(data):
            return _Failed(
                SourceFailure(f"{self._public_url} did not answer as Prometheus's HTTP API does: check PROMETHEUS_URL")
            )
        return data


def _is_query_data(data: Any) -> TypeGuard[dict[str, Any]]:
    """Whether `data` is a query result as the API documents it, so reading it needs no more checks."""
    if not isinstance(data, dict) or not isinstance(data.get("resultType"), str) or "result" not in data:
        return False
    if data["resultType"] in ("vector", "matrix"):
        return isinstance(data["result"], list) and all(isinstance(each, dict) for each in data["result"])
    return True


def _cannot_be_combined(answer: dict[str, Any] | _Rejected) -> bool:
    """Whether a query's answer alone shows it breaks a combined request: rejected, not a vector, or with series
    tagged already (tagging them again makes them identical, which Prometheus refuses)."""
    if isinstance(answer, _Rejected) or answer["resultType"] != "vector":
        return True
    return any(QUERY_LABEL in each.get("metric", {}) for each in answer["result"])


def _reached(error: requests.RequestException) -> bool:
    """Whether the server took the request before failing it (timed out answering, dropped the connection), as
    opposed to never being reached (refused, unknown name, TLS): then a lighter request may still get an answer."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    if isinstance(error, requests.Timeout):
        return True
    reason = error.args[0] if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, ProtocolError)


def _query_hash(text: str) -> str:
    """The query's own part of a reading's key: a changed query's readings never take an older query's key."""
    return hashlib.sha256(text.encode()).hexdigest()[:QUERY_HASH_LENGTH]


def _query_text(query: SourceQuery) -> str:
    if not isinstance(query.spec, PrometheusSpec):
        raise TypeError(f"source {query.source_id} is not a Prometheus query: {query.spec!r}")
    return query.spec.query.strip()


def _chunks(texts: list[str]) -> Iterator[list[str]]:
    """The queries in runs that go together: at most `MAX_QUERIES_PER_REQUEST`, and `MAX_QUERY_CHARACTERS` long."""
    chunk: list[str] = []
    length = 0
    for text in texts:
        if chunk and (len(chunk) == MAX_QUERIES_PER_REQUEST or length + len(text) > MAX_QUERY_CHARACTERS):
            yield chunk
            chunk, length = [], 0
        chunk.append(text)
        length += len(text)
    if chunk:
        yield chunk


def _combined(chunk: list[str]) -> str:
    """One query answering all of `chunk`, each query's series tagged with its index.

    Each query stands on lines of its own, so a `# comment` at its end cannot swallow the wrapping.
    """
    return " or ".join(
        f'label_replace((\n{text}\n), "{QUERY_LABEL}", "{index}", "", "")' for index, text in enumerate(chunk)
    )


def _matcher_hint(series: list[dict[str, Any]]) -> str:
    """` such as {instance="a"}`: a label whose value tells the series apart, if there is one."""
    labels = [each.get("metric", {}) for each in series]
    for name in sorted({name for each in labels for name in each if name != "__name__"}):
        values = [each.get(name) for each in labels]
        if len(set(values)) > 1 and values[0] is not None:
            value = str(values[0]).replace("\\", "\\\\").replace('"', '\\"')
            return f' such as {{{name}="{value}"}}'
    return ""


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _unix_text(unix_time: float) -> str:
    """Prometheus's own millisecond precision: `1767218400` or `1767218400.123`."""
    milliseconds = round(unix_time * 1000)
    seconds, rest = divmod(milliseconds, 1000)
    return f"{seconds}.{rest:03d}" if rest else str(seconds)


def _clock_time(at: datetime) -> str:
    return f"{_aware(at).astimezone(UTC):%H:%M} UTC"
