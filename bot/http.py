"""HTTP mode: Bolt behind its WSGI adapter, served by waitress, plus a health check."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine

from storage.db import database_is_reachable

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
SERVER_THREADS = 8

StartResponse = Callable[..., Any]


class HandoffWsgiApp:
    """Routes `POST /slack/events` to Bolt (which verifies every signature) and `GET /healthz` to a DB check."""

    def __init__(self, bolt: App, engine: Engine):
        self._slack = SlackRequestHandler(bolt, path=EVENTS_PATH)
        self._engine = engine

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health(start_response)
        return self._slack(environ, start_response)

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        healthy = database_is_reachable(self._engine)
        status = "200 OK" if healthy else "503 Service Unavailable"
        body = json.dumps({"ok": healthy, "database": "reachable" if healthy else "unreachable"}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def create_server(
    wsgi_app: HandoffWsgiApp, *, host: str, port: int, threads: int = SERVER_THREADS, **options: Any
) -> Any:
    """A waitress server, not started; `.run()` serves until `.close()`. `options` are waitress adjustments."""
    from waitress.server import create_server as waitress_server

    return waitress_server(wsgi_app, host=host, port=port, threads=threads, ident="handoff", **options)
