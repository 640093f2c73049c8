"""Structured logging: one JSON object per line, tagged with the current request or job id.

Secrets are masked by value (every token in `Settings.secrets`) and by shape (anything that looks like a Slack
token), so a library that logs a request URL or an exception that repeats a header cannot leak one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_SLACK_TOKEN_SHAPE = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]+")
_REDACTED = "[redacted]"
_STANDARD_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def new_correlation_id(prefix: str = "req") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def current_correlation_id() -> str | None:
    return _correlation_id.get()


@contextmanager
def correlation(correlation_id: str) -> Iterator[str]:
    """Tag every log line written inside the block (in this thread or task) with `correlation_id`."""
    token = _correlation_id.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _correlation_id.reset(token)


def bind_correlation_id(correlation_id: str) -> None:
    """Tag the rest of this thread's work; Bolt runs each listener in a fresh pool thread."""
    _correlation_id.set(correlation_id)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return _SLACK_TOKEN_SHAPE.sub(_REDACTED, text)


class JsonLineFormatter(logging.Formatter):
    def __init__(self, redact: Redactor):
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        correlation_id = getattr(record, "correlation_id", None) or _correlation_id.get()
        if correlation_id:
            entry["id"] = correlation_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_FIELDS and key != "correlation_id" and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._redact(json.dumps(entry, ensure_ascii=False))


def configure_logging(level: int | str = logging.INFO, *, secrets: Iterable[str] = (), stream=None) -> None:
    """Route every logger (ours, Bolt's, slack_sdk's, waitress's) through one JSON-line handler."""
    level_number = logging.getLevelNamesMapping()[level] if isinstance(level, str) else level
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter(Redactor(secrets)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level_number)
    # slack_sdk logs whole request bodies at DEBUG, which would put user text and payloads in the logs.
    logging.getLogger("slack_sdk").setLevel(max(level_number, logging.INFO))
    # Alembic announces its plugins and every migration at INFO on each start and each `handoff run`: noise unless
    # someone is debugging.
    logging.getLogger("alembic").setLevel(level_number if level_number <= logging.DEBUG else logging.WARNING)
