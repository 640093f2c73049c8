"""The Prometheus reader against a real `prometheus` server scraping a test exporter (when the binary is installed)
and against the fake of its query API, with the same assertions; what only the fake can do (ask for a bearer token,
answer 503 or hang on one query, refuse a batch for its samples) against the fake alone."""

from __future__ import annotations

import hashlib
import math
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.config import PrometheusSettings
from bot.kpi_sources.outcome import SourceFailure, SourceQuery
from bot.kpi_sources.prometheus import MAX_FAILURES_IN_A_ROW_ALONE, MAX_QUERIES_PER_REQUEST, PrometheusReader
from bot.kpi_sources.spec import PrometheusSpec
from tests.support.fake_prometheus import FakePrometheus
from tests.support.prometheus_server import PrometheusUnderTest
from tests.support.replicas import free_port
from tests.support.source_outcomes import failure_of, reading_of


@pytest.fixture(params=["prometheus", "fake"])
def server(request: pytest.FixtureRequest) -> Iterator[PrometheusUnderTest]:
    """The run's Prometheus (real when installed), then a fake: the fake must pass what the real server passes."""
    if request.param == "fake":
        with FakePrometheus() as fake:
            yield fake
        return
    shared: PrometheusUnderTest = request.getfixturevalue("prometheus")
    if not shared.real:
        pytest.skip("the prometheus binary is not installed: the fake stands in for it, and its own run covers this")
    yield shared


@pytest.fixture
def fake() -> Iterator[FakePrometheus]:
    with FakePrometheus() as server:
        yield server


def reader_for(url: str, *, token: str | None = None, timeout: float = 5.0) -> PrometheusReader:
    return PrometheusReader(PrometheusSettings(url=url, bearer_token=token), timeout=timeout)


def new_metric() -> str:
    return f"handoff_kpi_{uuid.uuid4().hex[:10]}"


def query(text: str, source_id: int = 1) -> SourceQuery:
    return SourceQuery(source_id=source_id, spec=PrometheusSpec(text), higher_is_better=True)


def key_of(text: str, at: datetime) -> str:
    """A reading's key: the query's sha256 (first 12 hex digits) and the sample time."""
    return f"prometheus:{hashlib.sha256(text.encode()).hexdigest()[:12]}:{int(at.timestamp())}"


def next_second(at: datetime) -> datetime:
    """A whole second at or after `at`, as a poll's aligned time is: the values visible at `at` still are."""
    return at.replace(microsecond=0) + (timedelta(seconds=1) if at.microsecond else timedelta())


def test_one_series_is_a_reading_at_the_time_asked(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 0.93, model="churn"))
    reader = reader_for(server.url)

    [outcome] = reader.read_all([query(metric, source_id=7)], at=at)

    reading = reading_of(outcome)
    assert outcome.source_id == 7
    assert reading.value == pytest.approx(0.93)
    assert reading.observed_at == at
    assert reading.key == key_of(metric, at)
    assert reading.url == f"{server.url}/graph?g0.expr={metric}&g0.tab=0"
    assert reading.label == f"Prometheus at {at:%H:%M} UTC"
    assert reader.requests_made == 1


def test_the_same_aligned_time_gives_the_same_key_and_a_later_one_another(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 12.0))
    reader = reader_for(server.url)

    first = reading_of(reader.read_all([query(metric)], at=at)[0])
    again = reading_of(reader_for(server.url).read_all([query(metric)], at=at)[0])  # another replica, same interval
    later = reading_of(reader.read_all([query(metric)], at=at + timedelta(seconds=1))[0])

    assert (again.key, again.value, again.observed_at) == (first.key, first.value, first.observed_at)
    assert later.key == key_of(metric, at + timedelta(seconds=1)) != first.key


def test_a_changed_query_read_at_the_same_time_has_a_key_of_its_own(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 12.0, region="eu"))
    reader = reader_for(server.url)

    before = reading_of(reader.read_all([query(metric)], at=at)[0])
    changed = reading_of(reader.read_all([query(f"sum({metric})")], at=at)[0])  # the source's query, edited
    spaced = reading_of(reader.read_all([query(f"  sum({metric})\n")], at=at)[0])

    assert before.key != changed.key, "the edited query's reading would be taken for the old one's and dropped"
    assert (before.key, changed.key) == (key_of(metric, at), key_of(f"sum({metric})", at))
    assert spaced.key == changed.key  # the query as it runs: surrounding blanks are not another query
    assert len(changed.key) <= 255


def test_a_scalar_is_a_reading(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 41.5))

    [outcome] = reader_for(server.url).read_all([query(f"scalar({metric})")], at=at)

    reading = reading_of(outcome)
    assert reading.value == 41.5
    assert reading.key == key_of(f"scalar({metric})", at)


def test_a_query_without_data_fails_saying_so(server: PrometheusUnderTest) -> None:
    at = next_second(server.set(new_metric(), 1.0))

    [outcome] = reader_for(server.url).read_all([query(new_metric())], at=at)

    failure = failure_of(outcome)
    assert failure.reason == f"the query returned no data at {at:%H:%M} UTC"
    assert not failure.transient


def test_several_series_fail_with_how_many_and_how_to_pick_one(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set_series([(metric, 1.0, {"region": "eu"}), (metric, 2.0, {"region": "us"})]))

    [outcome] = reader_for(server.url).read_all([query(metric)], at=at)

    assert failure_of(outcome).reason == (
        "the query returned 2 series, and a KPI needs one: add them up with sum(...) or pick one with a label "
        'matcher such as {region="eu"}'
    )
    summed = reader_for(server.url).read_all([query(f"sum({metric})")], at=at)[0]
    assert reading_of(summed).value == 3.0


def test_an_invalid_query_fails_quoting_prometheus(server: PrometheusUnderTest) -> None:
    at = next_second(server.set(new_metric(), 1.0))

    [outcome] = reader_for(server.url).read_all([query("sum(")], at=at)

    failure = failure_of(outcome)
    assert failure.reason == "Prometheus rejected the query: 1:5: parse error: unclosed left parenthesis"
    assert not failure.transient


@pytest.mark.parametrize(("value", "said"), [(math.nan, "NaN (not a number)"), (math.inf, "+Inf")])
def test_a_value_that_is_not_a_number_fails(server: PrometheusUnderTest, value: float, said: str) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, value))

    [outcome] = reader_for(server.url).read_all([query(metric)], at=at)

    assert failure_of(outcome).reason.startswith(f"the query's value is {said}")


def test_a_range_vector_fails_saying_how_to_make_it_one_number(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 1.0))

    [outcome] = reader_for(server.url).read_all([query(f"{metric}[5m]")], at=at)

    assert "range vector" in failure_of(outcome).reason
    assert "avg_over_time(...)" in failure_of(outcome).reason


def test_distinct_queries_are_read_in_one_request_and_identical_ones_once(server: PrometheusUnderTest) -> None:
    metrics = [new_metric() for _ in range(5)]
    at = next_second(
        server.set_series([(metric, float(number), {"team": "ds"}) for number, metric in enumerate(metrics)])
    )
    queries = [query(metric, source_id=number) for number, metric in enumerate(metrics)]
    queries.append(query(f"  {metrics[2]} ", source_id=99))  # the same query as source 2's
    queries.append(query(new_metric(), source_id=100))  # no data: reported alone, the others still read
    reader = reader_for(server.url)

    outcomes = reader.read_all(queries, at=at)

    assert reader.requests_made == 1
    assert [outcome.source_id for outcome in outcomes] == [0, 1, 2, 3, 4, 99, 100]
    assert [reading_of(outcome).value for outcome in outcomes[:6]] == [0.0, 1.0, 2.0, 3.0, 4.0, 2.0]
    assert [reading_of(outcome).key for outcome in outcomes[:6]] == [key_of(m, at) for m in [*metrics, metrics[2]]]
    assert reading_of(outcomes[5]).url == reader.graph_url(metrics[2])
    assert failure_of(outcomes[6]).reason == f"the query returned no data at {at:%H:%M} UTC"

    same = reader_for(server.url)
    assert [reading_of(o).value for o in same.read_all([query(metrics[1], source_id=n) for n in range(3)], at=at)] == [
        1.0,
        1.0,
        1.0,
    ]
    assert same.requests_made == 1


def test_a_batch_with_a_bad_query_and_a_scalar_still_reads_the_others(server: PrometheusUnderTest) -> None:
    good, other, scalar = new_metric(), new_metric(), new_metric()
    at = next_second(server.set_series([(good, 1.0, {}), (other, 2.0, {}), (scalar, 3.0, {})]))
    queries = [query(good, 1), query("sum(", 2), query(other, 3), query(f"scalar({scalar})", 4)]
    reader = reader_for(server.url)

    outcomes = reader.read_all(queries, at=at)

    assert reading_of(outcomes[0]).value == 1.0
    assert (
        failure_of(outcomes[1]).reason == "Prometheus rejected the query: 1:5: parse error: unclosed left parenthesis"
    )
    assert reading_of(outcomes[2]).value == 2.0
    assert reading_of(outcomes[3]).value == 3.0
    assert reader.requests_made == 1 + 4  # the combined request failed, then each query alone said why

    again = reader.read_all(queries, at=at)

    assert [outcome.reading.value if outcome.reading else None for outcome in again] == [1.0, None, 2.0, 3.0]
    assert reader.requests_made == 5 + 1 + 2  # the two that cannot be combined are read alone from now on


def test_a_query_whose_series_differ_only_in_the_tag_label_is_remembered_to_be_read_alone(
    server: PrometheusUnderTest,
) -> None:
    good, tagged, other = new_metric(), new_metric(), new_metric()
    at = next_second(
        server.set_series(
            [
                (good, 1.0, {}),
                (tagged, 2.0, {"handoff_query": "checkout"}),
                (tagged, 3.0, {"handoff_query": "search"}),
                (other, 4.0, {}),
            ]
        )
    )
    queries = [query(good, 1), query(tagged, 2), query(other, 3)]
    reader = reader_for(server.url)

    outcomes = reader.read_all(queries, at=at)

    assert reading_of(outcomes[0]).value == 1.0
    assert failure_of(outcomes[1]).reason == (
        "the query returned 2 series, and a KPI needs one: add them up with sum(...) or pick one with a label "
        'matcher such as {handoff_query="checkout"}'
    )
    assert reading_of(outcomes[2]).value == 4.0
    assert reader.requests_made == 1 + 3  # tagged alike, its series made the combined request fail

    again = reader.read_all(queries, at=at)

    assert [outcome.reading.value if outcome.reading else None for outcome in again] == [1.0, None, 4.0]
    assert reader.requests_made == 4 + 1 + 1  # it is read alone from now on, the others together


def test_a_batch_refused_only_as_a_whole_is_read_alone_from_then_on(fake: FakePrometheus) -> None:
    metrics = [new_metric() for _ in range(3)]
    at = next_second(fake.set_series([(metric, float(number), {}) for number, metric in enumerate(metrics)]))
    fake.max_samples = 2  # each query loads one sample, the three together three
    queries = [query(metric, number) for number, metric in enumerate(metrics)]
    reader = reader_for(fake.url)

    outcomes = reader.read_all(queries, at=at)

    assert [reading_of(outcome).value for outcome in outcomes] == [0.0, 1.0, 2.0]
    assert reader.requests_made == 1 + 3
    assert fake.queries[0].form["query"].count("label_replace") == 3

    again = reader.read_all(queries, at=at)

    assert [reading_of(outcome).value for outcome in again] == [0.0, 1.0, 2.0]
    assert reader.requests_made == 4 + 3, "the combined request would be refused again, every poll"
    assert all("label_replace" not in request.form["query"] for request in fake.queries[4:])


def test_a_query_too_slow_to_answer_fails_alone_and_the_others_of_its_batch_are_read(fake: FakePrometheus) -> None:
    good, slow, other = new_metric(), new_metric(), new_metric()
    at = next_second(fake.set_series([(good, 1.0, {}), (slow, 2.0, {}), (other, 3.0, {})]))
    fake.hang_on(slow)
    queries = [query(good, 1), query(f"sum({slow})", 2), query(other, 3)]
    reader = reader_for(fake.url, timeout=0.2)

    outcomes = reader.read_all(queries, at=at)

    assert reading_of(outcomes[0]).value == 1.0
    assert failure_of(outcomes[1]) == SourceFailure(
        f"Prometheus at {fake.url} did not answer (timed out after 0.2 s)", transient=True
    )
    assert reading_of(outcomes[2]).value == 3.0
    assert reader.requests_made == 1 + 3

    fake.hang_on(None)  # quick again: a timeout is no reason to read it alone from now on
    again = reader.read_all(queries, at=at)

    assert [reading_of(outcome).value for outcome in again] == [1.0, 2.0, 3.0]
    assert reader.requests_made == 4 + 1


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (503, "HTTP 503 (query timed out in query execution)"),
        (429, "HTTP 429 (Too Many Requests)"),
        (502, "HTTP 502 (Bad Gateway)"),
    ],
)
def test_a_query_the_server_fails_on_fails_alone_and_the_others_of_its_batch_are_read(
    fake: FakePrometheus, status: int, said: str
) -> None:
    good, slow, other = new_metric(), new_metric(), new_metric()
    at = next_second(fake.set_series([(good, 1.0, {}), (slow, 2.0, {}), (other, 3.0, {})]))
    fake.answer_with(status, only_for=slow)
    reader = reader_for(fake.url)

    outcomes = reader.read_all([query(good, 1), query(slow, 2), query(other, 3)], at=at)

    assert reading_of(outcomes[0]).value == 1.0
    assert failure_of(outcomes[1]) == SourceFailure(f"Prometheus at {fake.url} answered {said}", transient=True)
    assert reading_of(outcomes[2]).value == 3.0
    assert reader.requests_made == 1 + 3


def test_a_server_too_slow_for_every_query_is_not_asked_for_each_alone(fake: FakePrometheus) -> None:
    at = next_second(fake.set(new_metric(), 1.0))
    fake.hang_on("")
    reader = reader_for(fake.url, timeout=0.2)

    outcomes = reader.read_all([query(f"up{{n='{n}'}}", n) for n in range(10)], at=at)

    assert [failure_of(outcome) for outcome in outcomes] == [
        SourceFailure(f"Prometheus at {fake.url} did not answer (timed out after 0.2 s)", transient=True)
    ] * 10
    assert reader.requests_made == 1 + MAX_FAILURES_IN_A_ROW_ALONE


def test_many_queries_go_in_chunks(server: PrometheusUnderTest) -> None:
    metric = new_metric()
    at = next_second(server.set(metric, 5.0, shard="0"))
    count = 2 * MAX_QUERIES_PER_REQUEST + 1
    reader = reader_for(server.url)

    outcomes = reader.read_all([query(f'{metric}{{shard="{n}"}}', n) for n in range(count)], at=at)

    assert reader.requests_made == 3
    assert reading_of(outcomes[0]).value == 5.0
    assert all(outcome.failure is not None for outcome in outcomes[1:])


def test_the_request_is_a_form_post_evaluated_at_the_time_asked(fake: FakePrometheus) -> None:
    metric = new_metric()
    at = next_second(fake.set(metric, 1.0))

    reader_for(fake.url).read_all([query(metric)], at=at)

    [request] = fake.queries
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {"query": metric, "time": str(int(at.timestamp()))}
    assert "Authorization" not in request.headers


def test_a_bearer_token_is_sent_and_a_refusal_names_the_setting(fake: FakePrometheus) -> None:
    fake.bearer_token = "prom-token-123"
    metric = new_metric()
    at = next_second(fake.set(metric, 1.0))

    [ok] = reader_for(fake.url, token="prom-token-123").read_all([query(metric)], at=at)
    [wrong] = reader_for(fake.url, token="expired-token").read_all([query(metric)], at=at)
    [none] = reader_for(fake.url).read_all([query(metric)], at=at)

    assert reading_of(ok).value == 1.0
    assert fake.queries[0].headers["Authorization"] == "Bearer prom-token-123"
    assert failure_of(wrong) == SourceFailure(
        "Prometheus refused Handoff's credentials (HTTP 401): check PROMETHEUS_BEARER_TOKEN"
    )
    assert "expired-token" not in failure_of(wrong).reason
    assert failure_of(none) == SourceFailure("Prometheus asks for credentials (HTTP 401): set PROMETHEUS_BEARER_TOKEN")


def test_an_unreachable_server_is_a_transient_failure_for_every_query() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    reader = reader_for(url)

    outcomes = reader.read_all([query("up", 1), query("sum(up)", 2)], at=datetime(2027, 1, 4, 9, tzinfo=UTC))

    assert [failure_of(outcome) for outcome in outcomes] == [
        SourceFailure(f"Prometheus at {url} did not answer (connection refused)", transient=True)
    ] * 2
    assert reader.requests_made == 1


def test_a_server_that_never_answers_times_out_as_a_transient_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        [outcome] = reader_for(url, timeout=0.2).read_all([query("up")], at=datetime(2027, 1, 4, 9, tzinfo=UTC))

    assert failure_of(outcome) == SourceFailure(
        f"Prometheus at {url} did not answer (timed out after 0.2 s)", transient=True
    )


@pytest.mark.parametrize(
    ("status", "said"),
    [(503, "HTTP 503 (query timed out in query execution)"), (429, "HTTP 429 (Too Many Requests)")],
)
def test_unavailable_or_rate_limited_is_transient(fake: FakePrometheus, status: int, said: str) -> None:
    at = next_second(fake.set(new_metric(), 1.0))
    fake.answer_with(status)
    reader = reader_for(fake.url)

    outcomes = reader.read_all([query("up", 1), query("sum(up)", 2)], at=at)

    assert [failure_of(outcome) for outcome in outcomes] == [
        SourceFailure(f"Prometheus at {fake.url} answered {said}", transient=True)
    ] * 2
    assert reader.requests_made == 1 + 2  # the server answered: each query alone might have fared better


def test_a_url_without_the_query_api_names_the_setting(fake: FakePrometheus) -> None:
    at = next_second(fake.set(new_metric(), 1.0))

    [outcome] = reader_for(f"{fake.url}/not-prometheus/").read_all([query("up")], at=at)

    assert failure_of(outcome) == SourceFailure(
        f"Prometheus at {fake.url}/not-prometheus has no query API (HTTP 404 for /api/v1/query): check PROMETHEUS_URL"
    )


def test_the_graph_link_has_the_query_and_never_the_credentials() -> None:
    reader = reader_for("https://handoff:s3cret@prometheus.internal:9090/prom/")

    link = reader.graph_url('sum(rate(http_requests_total{code=~"5.."}[5m]))')

    assert "s3cret" not in link
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "prometheus.internal:9090", "/prom/graph")
    assert parse_qs(parts.query) == {"g0.expr": ['sum(rate(http_requests_total{code=~"5.."}[5m]))'], "g0.tab": ["0"]}


def test_a_query_prometheus_cannot_evaluate_fails_quoting_it(fake: FakePrometheus) -> None:
    at = next_second(fake.set(new_metric(), 1.0))
    fake.answer_with(422)

    outcomes = reader_for(fake.url).read_all([query("up", 1), query("sum(up)", 2)], at=at)

    assert [failure_of(outcome) for outcome in outcomes] == [
        SourceFailure(
            "Prometheus could not evaluate the query: "
            "query processing would load too many samples into memory in query execution"
        )
    ] * 2


class _NotPrometheus(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html>Grafana</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_something_else_than_prometheus_at_the_url_names_the_setting() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotPrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        [outcome] = reader_for(url).read_all([query("up")], at=datetime(2027, 1, 4, 9, tzinfo=UTC))
    finally:
        server.shutdown()
        server.server_close()

    assert failure_of(outcome) == SourceFailure(
        f"{url} did not answer as Prometheus's HTTP API does: check PROMETHEUS_URL"
    )


def test_credentials_in_the_url_are_basic_auth_and_never_in_a_link_or_message(fake: FakePrometheus) -> None:
    metric = new_metric()
    at = next_second(fake.set(metric, 1.0))
    with_credentials = fake.url.replace("http://", "http://handoff:s3cret@")

    [read] = reader_for(with_credentials).read_all([query(metric)], at=at)
    fake.answer_with(503)
    [failed] = reader_for(with_credentials).read_all([query(metric)], at=at)

    assert fake.queries[0].headers["Authorization"] == "Basic aGFuZG9mZjpzM2NyZXQ="  # handoff:s3cret
    assert reading_of(read).url == f"{fake.url}/graph?g0.expr={metric}&g0.tab=0"
    assert failure_of(failed).reason.startswith(f"Prometheus at {fake.url} answered HTTP 503")


def test_nothing_to_read_asks_nothing(fake: FakePrometheus) -> None:
    reader = reader_for(fake.url)

    assert reader.read_all([], at=datetime(2027, 1, 4, 9, tzinfo=UTC)) == []
    assert reader.requests_made == 0
    assert fake.requests == []
