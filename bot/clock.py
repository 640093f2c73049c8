"""Injected time: services and jobs ask a clock, so tests control "now" without sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime):
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, now: datetime) -> None:
        self._now = now


def local_today(clock: Clock, tz: ZoneInfo) -> date:
    return clock.now().astimezone(tz).date()
