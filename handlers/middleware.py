"""A correlation id and one log line for every request Slack sends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.logs import bind_correlation_id, new_correlation_id
from handlers.tenancy import find_tenant

log = logging.getLogger("handoff.requests")


def register(app: App) -> None:
    @app.middleware
    def correlate_and_log(body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        bind_correlation_id(new_correlation_id())
        started = time.perf_counter()
        response = next()
        log.info(
            "slack request",
            extra={
                "kind": describe_request(body),
                "team": find_tenant(context),
                "user": _user_of(body),
                "status": getattr(response, "status", None),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


def describe_request(body: dict[str, Any]) -> str:
    if "command" in body:
        subcommand = (body.get("text") or "").split(" ", 1)[0] or "help"
        return f"command {body['command']} {subcommand}"
    kind = body.get("type", "unknown")
    if kind == "block_actions":
        action_ids = ",".join(a.get("action_id", "") for a in body.get("actions", []))
        return f"action {action_ids}"
    if kind in ("view_submission", "view_closed"):
        return f"{kind} {(body.get('view') or {}).get('callback_id', '')}"
    if kind == "event_callback":
        return f"event {(body.get('event') or {}).get('type', '')}"
    return str(kind)


def _user_of(body: dict[str, Any]) -> str | None:
    if body.get("user_id"):
        return str(body["user_id"])
    if isinstance(body.get("user"), dict):
        return body["user"].get("id")
    event_user = (body.get("event") or {}).get("user")
    return event_user if isinstance(event_user, str) else (event_user or {}).get("id")
