"""When a recurring post is due (a channel's digest and nudges, a standup prompt): local times, weekdays, time zones
and slots.

APScheduler's cron trigger computes the fire times, so the live scheduler and the catch-up after downtime agree
to the second. A slot is named by its local date: on the night clocks fall back, a time in the repeated hour
fires twice in the trigger but names one slot, so it runs once; on the night they spring forward, a time in the
skipped hour runs an hour later in wall-clock terms, at the same distance from midnight in UTC.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.errors import Problem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKING_DAYS = WEEKDAYS[:5]
DAY_WORDS = {"weekdays": WORKING_DAYS, "daily": WEEKDAYS, "everyday": WEEKDAYS, "weekends": WEEKDAYS[5:]}
DAY_ALIASES = {
    "monday": "mon",
    "tuesday": "tue",
    "tues": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "thur": "thu",
    "thurs": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
# Abbreviations people use that are not zone names (or name another place), each with the city zone most meant.
ZONE_OF_ABBREVIATION = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "AST": "America/Halifax",
    "ADT": "America/Halifax",
    "NST": "America/St_Johns",
    "NDT": "America/St_Johns",
    "BRT": "America/Sao_Paulo",
    "ART": "America/Argentina/Buenos_Aires",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "WEST": "Europe/Lisbon",
    "CEST": "Europe/Berlin",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "SAST": "Africa/Johannesburg",
    "WAT": "Africa/Lagos",
    "CAT": "Africa/Maputo",
    "EAT": "Africa/Nairobi",
    "GST": "Asia/Dubai",
    "PKT": "Asia/Karachi",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "PHT": "Asia/Manila",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AWST": "Australia/Perth",
    "ACST": "Australia/Adelaide",
    "ACDT": "Australia/Adelaide",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
MAX_CATCH_UP_SLOTS_DAYS = 7  # how far back a start looks for slots it missed


class ScheduleError(ValueError):
    """A time, time zone or list of days the user typed that cannot be a schedule: `kind` says why, `data` holds
    what was typed (and a suggestion); `bot/blocks/problems.py` words it."""

    def __init__(self, kind: Problem, /, **data: Any):
        super().__init__(kind.value, data)
        self.kind = kind
        self.data: Mapping[str, Any] = data


@dataclass(frozen=True)
class Slot:
    """One run of a recurring job: its key (the local date) and when it is due."""

    key: str
    due_at: datetime  # UTC


@dataclass(frozen=True)
class Schedule:
    """Every `days` at `at` local time in `timezone`."""

    at: time
    timezone: str
    days: tuple[str, ...] = WORKING_DAYS

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def later_by(self, minutes: int) -> Schedule:
        """The same days, `minutes` later; a time pushed past midnight moves to the next day of each."""
        moved = datetime.combine(date(2000, 1, 3), self.at) + timedelta(minutes=minutes)  # 2000-01-03 is a Monday
        shift = (moved.date() - date(2000, 1, 3)).days
        days = tuple(WEEKDAYS[(WEEKDAYS.index(d) + shift) % 7] for d in self.days)
        return Schedule(moved.time(), self.timezone, tuple(d for d in WEEKDAYS if d in days))

    def trigger(self) -> CronTrigger:
        return _cron_trigger(self.days, self.at.hour, self.at.minute, self.timezone)

    def slots_between(self, start: datetime, end: datetime) -> list[Slot]:
        """Every slot due in `(start, end]`, oldest first, one per local date."""
        trigger = self.trigger()
        slots: dict[str, Slot] = {}
        previous: datetime | None = None
        moment = trigger.get_next_fire_time(None, start.astimezone(UTC) + timedelta(microseconds=1))
        while moment is not None and moment <= end:
            due = moment.astimezone(UTC)
            key = moment.date().isoformat()
            slots.setdefault(key, Slot(key, due))
            previous = moment
            # Step in UTC: wall-clock arithmetic on the repeated hour would land before `moment` again.
            moment = trigger.get_next_fire_time(previous, due + timedelta(seconds=1))
        return list(slots.values())

    def next_slot(self, after: datetime) -> Slot | None:
        moment = self.trigger().get_next_fire_time(None, after.astimezone(UTC) + timedelta(microseconds=1))
        return None if moment is None else Slot(moment.date().isoformat(), moment.astimezone(UTC))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def describe(self) -> str:
        return f"{describe_days(self.days)} at {self.at.strftime('%H:%M')} ({self.timezone})"


@functools.lru_cache(maxsize=4096)
def _trigger(schedule: Schedule) -> CronTrigger:
    """Built once per schedule: the sweep asks every channel's schedule every minute, and a trigger is stateless."""
    return CronTrigger(
        day_of_week=",".join(schedule.days), hour=schedule.at.hour, minute=schedule.at.minute, timezone=schedule.tz
    )


def describe_days(days: tuple[str, ...]) -> str:
    for word in ("weekdays", "daily", "weekends"):
        if days == DAY_WORDS[word]:
            return "every day" if word == "daily" else word
    return ", ".join(d.capitalize() for d in days)


def parse_time_of_day(text: str) -> time:
    """`09:30`, `9:30`, `9.30` or `9h30`, on a 24-hour clock."""
    match = TIME_OF_DAY.match(text.strip())
    if match is None:
        raise ScheduleError(Problem.NOT_A_TIME_OF_DAY, text=text)
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(text: str) -> str:
    """Any name zoneinfo knows, in any case (`Europe/Berlin`, `cet`, `Etc/GMT+1`), spelled as zoneinfo spells it."""
    name = text.strip()
    if name.upper() in ("UTC", "GMT"):
        return "UTC"
    known = _zone_names().get(name.lower())
    if known is not None:
        return known
    suggestion = ZONE_OF_ABBREVIATION.get(name.upper())
    if suggestion is not None:
        raise ScheduleError(Problem.ZONE_SUGGESTION, name=name, suggestion=suggestion)
    cities = _zones_by_city().get(name.lower().replace(" ", "_"), ())
    if len(cities) == 1:
        raise ScheduleError(Problem.ZONE_SUGGESTION, name=name, suggestion=cities[0])
    if "/" not in name:
        raise ScheduleError(Problem.NOT_A_ZONE_NAME, name=name)
    raise ScheduleError(Problem.UNKNOWN_ZONE, name=name)


def looks_like_timezone(text: str) -> bool:
    """A zone name, or an abbreviation or city that gets a suggestion: such a word is never meant as days."""
    word = text.strip()
    return word.lower() in _zone_names() or word.upper() in ZONE_OF_ABBREVIATION or word.lower() in _zones_by_city()


@functools.cache
def _zone_names() -> dict[str, str]:
    # `localtime` names whatever the host is set to, and `Factory` is tzdata's placeholder zone: neither is a place.
    names = zoneinfo.available_timezones() - {"localtime", "Factory"}
    return {name.lower(): name for name in names}


@functools.cache
def _zones_by_city() -> dict[str, tuple[str, ...]]:
    """`berlin` → (`Europe/Berlin`,): the last part of each zone name, for suggesting the zone a city is in."""
    cities: dict[str, list[str]] = {}
    for name in sorted(_zone_names().values()):
        if "/" in name and not name.startswith("Etc/"):
            cities.setdefault(name.rsplit("/", 1)[1].lower(), []).append(name)
    return {city: tuple(zones) for city, zones in cities.items()}


def parse_days(text: str) -> tuple[str, ...]:
    """`weekdays`, `daily`, `weekends`, or days such as `mon,wed,fri` (also `mon-fri`)."""
    word = text.strip().lower()
    if word in DAY_WORDS:
        return DAY_WORDS[word]
    chosen: set[str] = set()
    for part in filter(None, (p.strip() for p in word.split(","))):
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first.strip(), text), _day(last.strip(), text)
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            chosen.update(WEEKDAYS[i : j + 1] if i <= j else WEEKDAYS[i:] + WEEKDAYS[: j + 1])
        else:
            chosen.add(_day(part, text))
    if not chosen:
        raise ScheduleError(Problem.NO_DAYS, text=text)
    return tuple(d for d in WEEKDAYS if d in chosen)


def looks_like_days(text: str) -> bool:
    try:
        parse_days(text)
    except ScheduleError:
        return False
    return True


def _day(text: str, whole: str) -> str:
    day = DAY_ALIASES.get(text, text)
    if day not in WEEKDAYS:
        raise ScheduleError(Problem.NOT_DAYS, text=whole)
    return day


# A cron trigger is about 3 KiB of compiled fields and never changes once built, so every job and catch-up on the
# same days, time and zone shares one: a workspace of a thousand standups holds a few triggers, not a thousand.
@functools.lru_cache(maxsize=256)
def _cron_trigger(days: tuple[str, ...], hour: int, minute: int, timezone: str) -> CronTrigger:
    return CronTrigger(day_of_week=",".join(days), hour=hour, minute=minute, timezone=ZoneInfo(timezone))
