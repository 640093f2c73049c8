"""The one place unexpected errors land: logged with a correlation id, answered privately, never a timeout."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.logs import current_correlation_id
from bot.runtime import Runtime
from handlers.home_changes import refresh_changed_homes
from handlers.request_log import UNEXPECTED_ERROR

log = logging.getLogger("handoff.errors")
SOMETHING_WENT_WRONG = (
    ":x: Something went wrong on my side. Please try again; if it keeps happening, give your admin this "
    "reference: `{ref}`."
)


def register(app: App, runtime: Runtime) -> None:
    @app.error
    def handle_unexpected(
        error: Exception,
        body: dict[str, Any],
        context: BoltContext,
        response: BoltResponse | None,
        respond: Respond | None,
    ) -> BoltResponse | None:
        ref = current_correlation_id() or "unknown"
        log.error("unhandled error in a listener", exc_info=error, extra=_describe(error))
        context[UNEXPECTED_ERROR] = True
        runtime.metrics.unexpected_errors.inc()
        text = SOMETHING_WENT_WRONG.format(ref=ref)
        if response is not None:
            # Not acked yet: answer in the ack itself so the user never sees a timeout or dispatch_failed.
            return _ack_with_error(body, text)
        tell_user(body, respond, text)
        return None


def after_ack(func: Callable[..., None]) -> Callable[..., None]:
    """Wrap a lazy listener: Bolt only logs a lazy listener's error in one line, without a traceback, and the
    user would wait for an answer that never comes. Log it fully and tell the user, with the request's id."""

    @functools.wraps(func)  # Bolt reads the wrapped function's parameters to know what to inject
    def reported(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as error:
            log.error("unhandled error after the ack", exc_info=error, extra=_describe(error))
            text = SOMETHING_WENT_WRONG.format(ref=current_correlation_id() or "unknown")
            tell_user(kwargs.get("body") or {}, kwargs.get("respond"), text)
        refresh_changed_homes()  # once the user has their answer, whatever became of it

    return reported


def tell_user(body: dict[str, Any], respond: Respond | None, text: str) -> None:
    """Say something privately through the request's response_url, if it has one."""
    try:
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            respond(response_type="ephemeral", replace_original=False, text=text)
    except Exception:  # the answer about a failure must not fail loudly itself
        log.exception("could not tell the user about an error")


def _ack_with_error(body: dict[str, Any], text: str) -> BoltResponse:
    if body.get("type") == "view_submission":
        blocks = (body.get("view") or {}).get("blocks") or []
        block_id = next((b.get("block_id") for b in blocks if b.get("type") == "input"), None)
        if block_id:
            payload = {"response_action": "errors", "errors": {block_id: text.replace("`", "")}}
            return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
        return BoltResponse(status=200, body="")
    if body.get("type") == "block_suggestion":
        # A menu that loads its options shows nothing rather than an error it cannot display.
        return BoltResponse(status=200, body=json.dumps({"options": []}), headers={"content-type": "application/json"})
    if body.get("type") in ("block_actions", "event_callback") or "event" in body:
        return BoltResponse(status=200, body="")
    payload = {"response_type": "ephemeral", "text": text}
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})


def _describe(error: Exception) -> dict[str, Any]:
    if isinstance(error, SlackApiError):
        return {"slack_error": error.response.get("error"), "status": error.response.status_code}
    if isinstance(error, SlackClientError):
        return {"slack_client_error": type(error).__name__}
    return {"error_type": type(error).__name__}
