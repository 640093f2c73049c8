"""One log line and the request metrics for every request Slack sends, once it is answered."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse

from bot import ids
from bot.runtime import Runtime
from handlers.tenancy import find_tenant

log = logging.getLogger("handoff.requests")
# Set by the error handler: the request was answered, but with "something went wrong".
UNEXPECTED_ERROR = "handoff_unexpected_error"


def answered(runtime: Runtime, request: BoltRequest, response: BoltResponse, seconds: float) -> None:
    """One log line and the request metrics for a request Slack sent, once it is answered."""
    body, context = request.body, request.context
    runtime.metrics.observe_ack(metric_kind(body), _outcome(response, context), seconds)
    if not log.isEnabledFor(logging.INFO):
        return  # the line's fields cost a few calls a request; a server logging warnings never shows them
    log.info(
        "slack request",
        extra={
            "kind": describe_request(body),
            "team": find_tenant(context),
            "user": _user_of(body),
            "status": response.status,
            "ms": round(seconds * 1000, 1),
        },
    )


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


def metric_kind(body: dict[str, Any]) -> str:
    """`describe_request` with only the values Handoff knows (its subcommands, action and view ids), so what users
    type never becomes a label of its own: Prometheus keeps one series per label value."""
    if "command" in body:
        from handlers.command_table import ALIASES, BY_WORD  # loaded with the listeners, by the request itself

        word = ((body.get("text") or "").split(maxsplit=1) or ["help"])[0].lower()
        word = ALIASES[word][0] if word in ALIASES else word
        return f"command {word if word in BY_WORD else 'unknown'}"
    kind = str(body.get("type", "unknown"))
    if kind == "block_actions":
        known = [a.get("action_id") for a in body.get("actions", []) if a.get("action_id") in ids.ACTIONS]
        return f"action {known[0] if known else 'unknown'}"
    if kind in ("view_submission", "view_closed"):
        callback_id = (body.get("view") or {}).get("callback_id")
        return f"{kind} {callback_id if callback_id in ids.VIEWS else 'unknown'}"
    return describe_request(body)  # event types and the other kinds are Slack's own, a short list


def _outcome(response: BoltResponse, context: BoltContext) -> str:
    if context.get(UNEXPECTED_ERROR):
        return "error"
    return "ok" if response.status < 400 else "refused"


def _user_of(body: dict[str, Any]) -> str | None:
    if body.get("user_id"):
        return str(body["user_id"])
    if isinstance(body.get("user"), dict):
        return body["user"].get("id")
    event_user = (body.get("event") or {}).get("user")
    return event_user if isinstance(event_user, str) else (event_user or {}).get("id")
