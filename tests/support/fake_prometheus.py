"""A local stand-in for Prometheus's HTTP API (`/api/v1/query`), for tests on machines without the `prometheus`
binary, and for what a real server will not do on demand (ask for a bearer token, answer 503 to some queries,
hang on a slow one, refuse a request loading more samples than a limit a test sets).

``FakePrometheus`` serves instant queries over real HTTP on 127.0.0.1 with Prometheus's documented response shapes
(vector, scalar, matrix; `{"status": "error", "errorType": "bad_data", ...}` with 400 for a query it cannot parse,
and 422 `execution` for one it cannot evaluate, in Prometheus's own words for the cases it knows), evaluated over
series a test sets. Each value set is a sample at the fake's clock time, and a query at time T sees each series'
latest sample at or before T within Prometheus's 5-minute lookback, as the real server does with scraped samples.
It understands the PromQL subset Handoff and its tests use: selectors with label matchers, range selectors, number
and string literals, `sum` (with `by`), `scalar`, `vector`, `label_replace` and `or`.

Stdlib only.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOKBACK_SECONDS = 300.0  # Prometheus's default --query.lookback-delta
SCRAPE_JOB = "handoff-tests"
FUNCTIONS = ("sum", "scalar", "vector", "label_replace")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution"
# How Prometheus answers a status a test asks for: errorType and error, or a plain-text body from a proxy.
CANNED_ERRORS: dict[int, tuple[str, str] | str] = {
    422: ("execution", TOO_MANY_SAMPLES),
    429: "Too Many Requests\n",
    500: ("internal", "unexpected error"),
    502: "Bad Gateway\n",
    503: ("timeout", "query timed out in query execution"),
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


class PromQLError(Exception):
    def __init__(self, position: int, message: str):
        super().__init__(message)
        self.position = position


class ExecutionError(Exception):
    """A query that parses but cannot be evaluated: Prometheus answers 422 with errorType `execution`."""


@dataclass
class _Value:
    kind: str  # vector | scalar | matrix | string
    series: list[tuple[dict[str, str], Any]] = field(default_factory=list)  # vector: value; matrix: samples
    scalar: float = 0.0
    text: str = ""
    matchers: list[tuple[str, str, str]] | None = None  # a selector's own, for a range selector after it


class FakePrometheus:
    """Prometheus's query API over series a test sets; with `bearer_token`, a proxy in front asking for it."""

    real = False

    def __init__(self, *, bearer_token: str | None = None, clock: Callable[[], float] = time.time):
        self.bearer_token = bearer_token
        self.clock = clock
        # As `--query.max-samples`: a query loading more samples than this is refused with 422.
        self.max_samples: int | None = None
        self.requests: list[RecordedRequest] = []
        self.url = ""
        self._lock = threading.Lock()
        self._samples: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        self._status: int | None = None
        self._status_only_for: str | None = None
        self._hang_on: str | None = None
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakePrometheus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            prometheus = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()  # a hanging answer ends with the fake
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def set(self, metric: str, value: float, **labels: str) -> datetime:
        """A sample of `metric{labels}` now (as scraped: with `job` and `instance` unless set); the time it is at."""
        return self.set_series([(metric, value, labels)])

    def set_series(self, series: Sequence[tuple[str, float, Mapping[str, str]]]) -> datetime:
        """A sample of each (metric, value, labels) now; the time they are at."""
        at = round(self.clock(), 3)
        with self._lock:
            for metric, value, labels in series:
                scraped = {"__name__": metric, "job": SCRAPE_JOB, "instance": self.url.removeprefix("http://")}
                key = tuple(sorted({**scraped, **labels}.items()))
                samples = self._samples.setdefault(key, [])
                samples[:] = [sample for sample in samples if sample[0] < at] + [(at, float(value))]
        return datetime.fromtimestamp(at, UTC)

    def answer_with(self, status: int | None, *, only_for: str | None = None) -> None:
        """Answer every query (or those containing `only_for`) with HTTP `status` (see `CANNED_ERRORS`) until called
        again with None."""
        self._status, self._status_only_for = status, only_for

    def hang_on(self, text: str | None) -> None:
        """Give no answer, until the fake stops, to a query containing `text` ("" for all): a query too slow to wait
        for; None answers all again."""
        self._hang_on = text

    @property
    def queries(self) -> list[RecordedRequest]:
        return [each for each in self.requests if each.path == "/api/v1/query"]

    def evaluate(self, query: str, at: float) -> _Value:
        with self._lock:
            samples = {labels: list(values) for labels, values in self._samples.items()}
        return _Evaluator(query, at, samples, max_samples=self.max_samples).run()


class _Handler(BaseHTTPRequestHandler):
    prometheus: FakePrometheus
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = parse_qs(urlsplit(self.path).query)
        form.update(parse_qs(body, keep_blank_values=True))
        self._handle(form)

    def _handle(self, raw_form: dict[str, list[str]]) -> None:
        fake = self.prometheus
        path = urlsplit(self.path).path
        form = {name: values[-1] for name, values in raw_form.items()}
        fake.requests.append(RecordedRequest(self.command, path, dict(self.headers.items()), form))
        if fake.bearer_token is not None and self.headers.get("Authorization") != f"Bearer {fake.bearer_token}":
            return self._send(401, "Unauthorized\n", "text/plain; charset=utf-8", {"WWW-Authenticate": "Bearer"})
        if path == "/-/ready":
            return self._send(200, "Prometheus Server is Ready.\n", "text/plain; charset=utf-8")
        if path != "/api/v1/query":
            return self._send(404, "404 page not found\n", "text/plain; charset=utf-8")
        query = form.get("query", "")
        if fake._hang_on is not None and fake._hang_on in query:
            fake._stopping.wait()
            return
        if fake._status is not None and (fake._status_only_for is None or fake._status_only_for in query):
            canned = CANNED_ERRORS.get(fake._status, ("internal", "unexpected error"))
            if isinstance(canned, str):
                return self._send(fake._status, canned, "text/plain; charset=utf-8")
            return self._error(fake._status, *canned)
        try:
            at = _parse_time(form.get("time"), fake.clock)
        except ValueError:
            return self._error(
                400, "bad_data", f'invalid parameter "time": cannot parse "{form["time"]}" to a valid timestamp'
            )
        try:
            value = fake.evaluate(form.get("query", ""), at)
        except PromQLError as error:
            line, column = _line_column(form.get("query", ""), error.position)
            return self._error(400, "bad_data", f'invalid parameter "query": {line}:{column}: parse error: {error}')
        except ExecutionError as error:
            return self._error(422, "execution", str(error))
        self._send(200, json.dumps({"status": "success", "data": _data(value, at)}), "application/json")

    def _error(self, status: int, error_type: str, error: str) -> None:
        body = {"status": "error", "errorType": error_type, "error": error}
        self._send(status, json.dumps(body), "application/json")

    def _send(self, status: int, body: str, content_type: str, headers: dict[str, str] | None = None) -> None:
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _parse_time(raw: str | None, clock: Callable[[], float]) -> float:
    if raw is None:
        return round(clock(), 3)
    try:
        return round(float(raw), 3)
    except ValueError:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


def _line_column(query: str, position: int) -> tuple[int, int]:
    before = query[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _number(value: float) -> str:
    """A sample value as Prometheus writes it: `2`, `1.5`, `NaN`, `+Inf`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _data(value: _Value, at: float) -> dict[str, Any]:
    if value.kind == "scalar":
        return {"resultType": "scalar", "result": [at, _number(value.scalar)]}
    if value.kind == "string":
        return {"resultType": "string", "result": [at, value.text]}
    if value.kind == "matrix":
        result = [
            {"metric": labels, "values": [[t, _number(v)] for t, v in samples]} for labels, samples in value.series
        ]
        return {"resultType": "matrix", "result": result}
    return {
        "resultType": "vector",
        "result": [{"metric": labels, "value": [at, _number(v)]} for labels, v in value.series],
    }


_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    |(?P<duration>(?<=\[)\d+(?:ms|[smhdwy]))
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<op>=~|!~|!=|=|[(){}\[\],])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(query: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            if query[position] in "\"'":
                raise PromQLError(position, "unterminated quoted string")
            raise PromQLError(position, f"unexpected character: {query[position]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(query)))
    return tokens


class _Evaluator:
    """Parses and evaluates in one pass: the subset is small enough not to need a tree."""

    def __init__(
        self,
        query: str,
        at: float,
        samples: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]],
        *,
        max_samples: int | None = None,
    ):
        self.query = query
        self.at = at
        self.samples = samples
        self.max_samples = max_samples
        self.loaded = 0  # samples the query's selectors loaded so far
        self.tokens = _tokens(query)
        self.index = 0

    def run(self) -> _Value:
        if self.peek().kind == "end":
            raise PromQLError(0, "no expression found in input")
        value = self.expression()
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token)
        return value

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text or token.kind not in ("op", "ident"):
            raise self.unexpected(token)
        return token

    def unexpected(self, token: _Token) -> PromQLError:
        if token.kind == "end":
            opened = sum(1 if t.text == "(" else -1 if t.text == ")" else 0 for t in self.tokens if t.kind == "op")
            if opened > 0:
                return PromQLError(len(self.query), "unclosed left parenthesis")
            return PromQLError(len(self.query), "unexpected end of input")
        if token.text == ")":
            return PromQLError(token.position + 1, "unexpected right parenthesis ')'")
        if token.kind == "ident":
            return PromQLError(token.position, f'unexpected identifier "{token.text}"')
        return PromQLError(token.position, f"unexpected {token.text!r}")

    def expression(self) -> _Value:
        start = self.peek().position
        value = self.operand()
        while self.peek().kind == "ident" and self.peek().text.lower() == "or":
            self.take()
            other = self.operand()
            if value.kind != "vector" or other.kind != "vector":
                raise PromQLError(start, 'set operator "or" not allowed in binary scalar expression')
            seen = {_signature(labels) for labels, _ in value.series}
            value = _Value("vector", value.series + [s for s in other.series if _signature(s[0]) not in seen])
        return value

    def operand(self) -> _Value:
        token = self.take()
        if token.text == "(" and token.kind == "op":
            value = self.expression()
            self.expect(")")
            if self.peek().text == "[":
                raise PromQLError(self.peek().position, "ranges only allowed for vector selectors")
            return value
        if token.kind == "number" or (token.kind == "ident" and token.text.lower() in ("nan", "inf")):
            return _Value("scalar", scalar=float(token.text))
        if token.kind == "string":
            return _Value("string", text=json.loads(token.text) if token.text[0] == '"' else token.text[1:-1])
        if token.kind == "ident" and (self.peek().text == "(" or (token.text == "sum" and self.peek().text == "by")):
            return self.call(token)
        if token.kind == "ident" or token.text == "{":
            return self.range_of(self.selector(token))
        raise self.unexpected(token)

    def range_of(self, value: _Value) -> _Value:
        if self.peek().text != "[":
            return value
        self.take()
        token = self.take()
        if token.kind != "duration":
            raise self.unexpected(token)
        self.expect("]")
        number, unit = re.fullmatch(r"(\d+)(\D+)", token.text).groups()  # type: ignore[union-attr]
        return self.select_range(value, int(number) * DURATION_UNITS[unit])

    def call(self, name: _Token) -> _Value:
        if name.text not in FUNCTIONS:
            raise PromQLError(name.position, f'unknown function with name "{name.text}"')
        grouping = self.grouping() if name.text == "sum" else None
        self.expect("(")
        arguments: list[tuple[int, _Value]] = []
        while self.peek().text != ")" or self.peek().kind != "op":
            if arguments:
                self.expect(",")
            arguments.append((self.peek().position, self.expression()))
        self.expect(")")
        if name.text == "sum" and grouping is None:
            grouping = self.grouping()
        return self.apply(name, arguments, grouping or [])

    def grouping(self) -> list[str] | None:
        if self.peek().text != "by":
            return None
        self.take()
        self.expect("(")
        names = []
        while self.peek().text != ")":
            if names:
                self.expect(",")
            names.append(self.take().text)
        self.expect(")")
        return names

    def apply(self, name: _Token, arguments: list[tuple[int, _Value]], grouping: list[str]) -> _Value:
        kinds = {"sum": ["vector"], "scalar": ["vector"], "vector": ["scalar"]}
        expected = kinds.get(name.text, ["vector", "string", "string", "string", "string"])
        if len(arguments) != len(expected):
            raise PromQLError(
                name.position,
                f'expected {len(expected)} argument(s) in call to "{name.text}", got {len(arguments)}',
            )
        for (position, value), kind in zip(arguments, expected, strict=True):
            if value.kind != kind:
                wanted = "instant vector" if kind == "vector" else kind
                got = "range vector" if value.kind == "matrix" else value.kind
                if name.text == "sum":
                    raise PromQLError(position, f"expected type {wanted} in aggregation expression, got {got}")
                raise PromQLError(position, f'expected type {wanted} in call to function "{name.text}", got {got}')
        first = arguments[0][1]
        if name.text == "sum":
            groups: dict[tuple[tuple[str, str], ...], float] = {}
            for labels, value in first.series:
                key = tuple((label, labels[label]) for label in grouping if label in labels)
                groups[key] = groups.get(key, 0.0) + value
            return _Value("vector", [(dict(key), total) for key, total in groups.items()])
        if name.text == "scalar":
            return _Value("scalar", scalar=first.series[0][1] if len(first.series) == 1 else math.nan)
        if name.text == "vector":
            return _Value("vector", [({}, first.scalar)])
        destination, replacement, source, regex = (value.text for _, value in arguments[1:])
        replaced = []
        for labels, value in first.series:
            match = re.fullmatch(regex, labels.get(source, ""))
            if match is not None:
                new = match.expand(re.sub(r"\$(\d+)", r"\\\1", replacement))
                labels = {**labels, destination: new}
                if not new:
                    del labels[destination]
            replaced.append((labels, value))
        if len({tuple(sorted(labels.items())) for labels, _ in replaced}) < len(replaced):
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        return _Value("vector", replaced)

    def selector(self, first: _Token) -> _Value:
        matchers: list[tuple[str, str, str]] = []
        if first.kind == "ident":
            matchers.append(("__name__", "=", first.text))
            if self.peek().text == "{":
                self.take()
                matchers += self.matchers()
        else:
            matchers += self.matchers()
        series = []
        for labels_key, samples in self.samples.items():
            labels = dict(labels_key)
            if all(_matches(labels.get(name, ""), op, text) for name, op, text in matchers):
                recent = [value for t, value in samples if self.at - LOOKBACK_SECONDS < t <= self.at]
                if recent:
                    series.append((labels, recent[-1]))
        self.load(len(series))
        return _Value("vector", series, matchers=matchers)

    def matchers(self) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        while True:
            token = self.take()
            if token.text == "}":
                return found
            if token.kind == "end":
                raise PromQLError(len(self.query), "unexpected end of input inside braces")
            if found:
                if token.text != ",":
                    raise self.unexpected(token)
                token = self.take()
                if token.text == "}":
                    return found
            operator, value = self.take(), self.take()
            if token.kind != "ident" or operator.text not in ("=", "!=", "=~", "!~"):
                raise self.unexpected(operator if token.kind == "ident" else token)
            if value.kind != "string":
                raise PromQLError(value.position, f"unexpected character inside braces: {value.text[:1]!r}")
            found.append(
                (token.text, operator.text, json.loads(value.text) if value.text[0] == '"' else value.text[1:-1])
            )

    def select_range(self, value: _Value, seconds: float) -> _Value:
        assert value.matchers is not None
        matchers = value.matchers
        series = []
        for labels_key, samples in self.samples.items():
            labels = dict(labels_key)
            if all(_matches(labels.get(name, ""), op, text) for name, op, text in matchers):
                window = [(t, v) for t, v in samples if self.at - seconds < t <= self.at]
                if window:
                    series.append((labels, window))
        self.load(sum(len(window) for _, window in series))
        return _Value("matrix", series)

    def load(self, count: int) -> None:
        self.loaded += count
        if self.max_samples is not None and self.loaded > self.max_samples:
            raise ExecutionError(TOO_MANY_SAMPLES)


def _matches(value: str, operator: str, text: str) -> bool:
    if operator == "=":
        return value == text
    if operator == "!=":
        return value != text
    found = re.fullmatch(text, value) is not None
    return found if operator == "=~" else not found


def _signature(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """What `or` matches series on: every label but the metric name."""
    return tuple(sorted((name, value) for name, value in labels.items() if name != "__name__"))
