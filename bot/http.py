"""HTTP mode: Bolt behind its WSGI adapter, served by waitress, with health, readiness and metrics."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import make_wsgi_app
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine

from bot.metrics import Metrics
from storage.db import database_is_reachable, newest_revision, schema_revision

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
JIRA_WEBHOOK_PATH = "/jira/webhook"
MAX_WEBHOOK_BODY = 5 * 1024 * 1024
SERVER_THREADS = 8
SWITCH_INTERVAL_S = 0.0005  # how long a thread may hold the interpreter lock while others wait (default 5 ms)

StartResponse = Callable[..., Any]


class HandoffWsgiApp:
    """Routes `POST /slack/events` to Bolt (which verifies every signature), `GET /healthz` (alive: the database
    answers), `GET /readyz` (ready for traffic), `GET /metrics` (Prometheus text format) and `POST /jira/webhook`
    to the Jira webhook receiver (`(secret, headers, body) -> answer with status and body`)."""

    def __init__(
        self,
        bolt: App,
        engine: Engine,
        *,
        metrics: Metrics | None = None,
        jira_webhook: Callable[..., Any] | None = None,
    ):
        self._slack = SlackRequestHandler(bolt, path=EVENTS_PATH)
        self._engine = engine
        self._jira_webhook = jira_webhook
        self._metrics = make_wsgi_app(metrics.registry) if metrics is not None else None
        self._draining = threading.Event()
        self._migrated = False  # once the schema was seen at this code's revision, only the database is asked

    def drain(self) -> None:
        """Shutting down: answer readiness probes with 503 so the load balancer stops sending new requests."""
        self._draining.set()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health(start_response)
        if path == READY_PATH:
            return self._ready(start_response)
        if path == METRICS_PATH and self._metrics is not None:
            return self._metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == JIRA_WEBHOOK_PATH and self._jira_webhook is not None:
            return self._webhook(environ, start_response)
        return self._slack(environ, start_response)

    def _webhook(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_WEBHOOK_BODY:
            return _json(start_response, "413 Payload Too Large", {"error": "body too large"})
        body = environ["wsgi.input"].read(length) if length else b""
        secret = (parse_qs(environ.get("QUERY_STRING", "")).get("secret") or [None])[0]
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        assert self._jira_webhook is not None
        answer = self._jira_webhook(secret, headers, body)
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(answer.status, "Error")
        return _json(start_response, f"{answer.status} {reason}", answer.body)

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        healthy = database_is_reachable(self._engine)
        status = "200 OK" if healthy else "503 Service Unavailable"
        return _json(start_response, status, {"ok": healthy, "database": "reachable" if healthy else "unreachable"})

    def _ready(self, start_response: StartResponse) -> Iterable[bytes]:
        if self._draining.is_set():
            return _json(start_response, "503 Service Unavailable", {"ready": False, "reason": "shutting down"})
        reason = self._database_problem()
        if reason is not None:
            return _json(start_response, "503 Service Unavailable", {"ready": False, "reason": reason})
        return _json(start_response, "200 OK", {"ready": True})

    def _database_problem(self) -> str | None:
        if self._migrated:
            return None if database_is_reachable(self._engine) else "database unreachable"
        try:
            revision = schema_revision(self._engine)
        except Exception:
            return "database unreachable"
        expected = newest_revision()
        if revision != expected:
            return f"schema at revision {revision or 'none'}, expected {expected}: run `handoff migrate`"
        self._migrated = True
        return None


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def create_server(
    wsgi_app: HandoffWsgiApp, *, host: str, port: int, threads: int = SERVER_THREADS, **options: Any
) -> Any:
    """A waitress server, not started; `.run()` serves until `.close()`. `options` are waitress adjustments."""
    from waitress.server import create_server as waitress_server

    # A thread with a request to read or an ack to send waits for the interpreter lock while another thread
    # renders a page; with Python's default of 5 ms, each such wait adds up to 5 ms to an answer of about 2 ms.
    sys.setswitchinterval(SWITCH_INTERVAL_S)

    return waitress_server(wsgi_app, host=host, port=port, threads=threads, ident="handoff", **options)
