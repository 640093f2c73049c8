"""`POST /jira/webhook?secret=…`: Jira tells us of an issue change at once; the thread hears of it right after.

The secret is compared in constant time; the answer is sent before anything is posted in Slack, so Jira's
webhook timeout never depends on Slack. A delivery that lacks the issue's state costs one request to Jira,
with little patience for rate limits: whatever happens, Jira gets a 2xx and does not retry forever.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.logs import correlation, new_correlation_id
from bot.runtime import Runtime

log = logging.getLogger(__name__)
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
# Jira waits only seconds for a webhook's answer; an issue fetch that would wait longer is left to the sync.
FETCH_PATIENCE_SECONDS = 2.0


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, object]


WebhookReceiver = Callable[[str | None, dict[str, str], bytes], WebhookAnswer]


def make_webhook_receiver(runtime: Runtime, client: WebClient, executor: Executor) -> WebhookReceiver:
    """The receiver behind the HTTP route: secret check, once-only application, posting in the background."""

    def receive(secret: str | None, headers: dict[str, str], body: bytes) -> WebhookAnswer:
        with correlation(new_correlation_id("jira")):
            jira = runtime.settings.jira
            if jira is None or not jira.webhook_secret:
                return WebhookAnswer(404, {"error": "the Jira webhook is not enabled (set JIRA_WEBHOOK_SECRET)"})
            if not secret or not hmac.compare_digest(secret.encode(), jira.webhook_secret.encode()):
                log.warning("Jira webhook with a wrong secret")
                return WebhookAnswer(401, {"error": "wrong or missing secret"})
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                return WebhookAnswer(400, {"error": "the body is not JSON"})
            if not isinstance(payload, dict):
                return WebhookAnswer(400, {"error": "the body is not a JSON object"})
            # The Jira side loads with the first webhook that gets this far, not with every server.
            from bot.jira_sync import apply_webhook
            from handlers.jira_jobs import post_status_changes

            delivery = {k.lower(): v for k, v in headers.items()}.get(DELIVERY_HEADER.lower())
            result = apply_webhook(
                sessions=runtime.session,
                payload=payload,
                delivery_id=delivery,
                now=runtime.clock.now(),
                site_url=jira.url,
                gateway=runtime.jira.with_patience(FETCH_PATIENCE_SECONDS) if runtime.jira else None,
            )
            log.info(
                "Jira webhook",
                extra={"duplicate": result.duplicate, "ignored": result.ignored, "changes": result.status_changes},
            )
            if result.status_changes:
                executor.submit(post_status_changes, runtime, client)
            answer: dict[str, object] = {
                "ok": True,
                "duplicate": result.duplicate,
                "status_changes": result.status_changes,
            }
            if result.ignored:
                answer["ignored"] = result.ignored  # shown in the sender's delivery log (e.g. Jira Automation's)
            return WebhookAnswer(200, answer)

    return receive
