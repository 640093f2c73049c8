"""Virtual time that several threads share, for replicas posting at once without a test waiting on wall time."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.clock import FixedClock


class SharedTime(FixedClock):
    """A fixed clock for threads that run at once, as replicas do: a thread that sleeps waits until every thread
    taking part sleeps too, then time jumps to the earliest wake-up. Work between sleeps takes no time, and sleeps
    overlap as they do in real time, so two replicas that each keep a pace post twice as often as one.

    A thread that takes no part (the test's own, setting things up) moves time by sleeping, as with `FixedClock`.
    """

    def __init__(self, now: datetime):
        super().__init__(now)
        self._changed = threading.Condition()
        self._taking_part = 0
        self._wake_ups: list[datetime] = []

    def __deepcopy__(self, memo: dict[int, object]) -> SharedTime:
        return self  # Bolt deep-copies what a lazy listener's request carries; shared time must stay one

    def now(self) -> datetime:
        with self._changed:
            return super().now()

    def monotonic(self) -> float:
        with self._changed:
            return super().monotonic()

    def advance(self, delta: timedelta) -> None:
        with self._changed:
            super().advance(delta)

    def set(self, now: datetime) -> None:
        with self._changed:
            super().set(now)

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self.slept.append(seconds)
            wake_up = super().now() + timedelta(seconds=max(0.0, seconds))
            if not self._taking_part:
                super().set(max(super().now(), wake_up))
                return
            self._wake_ups.append(wake_up)
            self._move_on_when_all_sleep()
            while super().now() < wake_up:
                self._changed.wait()
            self._wake_ups.remove(wake_up)

    def take_part(self, threads: int) -> None:
        """`threads` more threads run at once from now; each calls `leave` when it is done."""
        with self._changed:
            self._taking_part += threads

    def leave(self) -> None:
        with self._changed:
            self._taking_part -= 1
            self._move_on_when_all_sleep()

    def _move_on_when_all_sleep(self) -> None:
        # A thread woken but not yet running again still has its wake-up listed: it is not asleep.
        now = super().now()
        asleep = [wake_up for wake_up in self._wake_ups if wake_up > now]
        if asleep and len(asleep) >= self._taking_part:
            super().set(min(asleep))
            self._changed.notify_all()
