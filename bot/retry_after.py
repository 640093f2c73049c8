"""The one reading of a `Retry-After` header, for the Slack client, the outbox and the Jira gateway."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def retry_after_seconds(headers: Mapping[str, Any] | None, *, default: float, at_least: float) -> float:
    """The seconds a 429 or 503 asks us to wait, never below `at_least`; `default` when the header is missing or
    not a number. Looked up in any letter case: slack_sdk keeps the server's spelling, and gives each value as a
    list."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        seconds = float(value) if value is not None else default
    except (TypeError, ValueError):
        seconds = default
    return max(at_least, seconds if math.isfinite(seconds) else default)
