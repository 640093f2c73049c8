"""Injected time: services and jobs ask a clock, so tests control "now" (and waiting) without sleeping."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FixedClock:
    """A clock that stands still until a test moves it; sleeping moves it instead of waiting."""

    def __init__(self, now: datetime):
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = now
        self._start = now
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._start).total_seconds()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += timedelta(seconds=max(0.0, seconds))

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, now: datetime) -> None:
        self._now = now


class ShiftedClock:
    """Wall time moved by an offset (the console's `:time`); sleeping moves it instead of waiting. It holds no
    lock: Bolt deep-copies what a lazy listener's request carries, and this clock is among it."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset.total_seconds()

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def set(self, now: datetime) -> None:
        self._offset = now - datetime.now(UTC)


class Pacer:
    """Keeps sends to one destination at least `interval` seconds apart, across threads: Slack takes about one
    message per second per channel, and answers bursts with 429s."""

    def __init__(self, clock: Clock, interval: float = 1.0, *, per_minute: int | None = None):
        self._clock = clock
        self._interval = interval
        # Slack also limits how fast an app posts across the whole workspace; spread sends evenly under it.
        self._spacing = 60.0 / per_minute if per_minute else 0.0
        self._next_any = float("-inf")
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_turn(self, destination: str) -> float:
        """Wait until `destination` may be sent to, and book the turn after; returns how long it waited."""
        with self._lock:
            now = self._clock.monotonic()
            turn = max(now, self._next.get(destination, now), self._next_any)
            self._next[destination] = turn + self._interval
            self._next_any = turn + self._spacing
        if turn > now:
            self._clock.sleep(turn - now)
        return max(0.0, turn - now)

    def sent(self, destination: str) -> None:
        """The send just returned: the next one waits a full interval from now. Counting from when the send began
        is not enough, as a send that travels slowly (or waited out a 429) arrives later than it left."""
        with self._lock:
            now = self._clock.monotonic()
            self._next[destination] = max(self._next.get(destination, now), now + self._interval)
            # The workspace's pace too: a send that overran its spacing (a 429 waited out inside it) must not let
            # the next one leave at once and draw a 429 of its own.
            if self._spacing and now > self._next_any:
                self._next_any = now + self._spacing

    def next_turn(self, destination: str) -> float:
        """When `destination` may next be sent to, on the clock's monotonic scale."""
        with self._lock:
            return self._next.get(destination, float("-inf"))


def local_today(clock: Clock, tz: ZoneInfo) -> date:
    return clock.now().astimezone(tz).date()
