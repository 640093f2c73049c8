"""Calendar days as people type them, read against the workspace's today: one reader for every date Handoff takes.

Accepted: ISO `2027-03-01` (also `2027-3-1`), `today`, `tomorrow`, a weekday (`fri`, `friday`, `next friday`: the
next such day after today, never today itself), and a distance `+3d` / `+2w`. A date written with slashes or dots
is refused, because `03/01/2027` is 3 January in most of the world and 1 March in the US; the answer names the
year-first form, or both readings when either is possible.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, timedelta

from bot.recurrence import DAY_ALIASES, WEEKDAYS

ISO_LIKE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DAY_FIRST_OR_MONTH_FIRST = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
DISTANCE = re.compile(r"^\+(\d{1,4})([dw])$")
NEXT = "next"
EXAMPLES = "YYYY-MM-DD (2027-03-01), today, tomorrow, a weekday (fri, next fri) or a distance (+3d, +2w)"


class DateError(ValueError):
    """Text that is not a day Handoff can read; `reason` is a plain phrase saying why ("is not a date: ...")."""

    def __init__(self, text: str, reason: str):
        super().__init__(text, reason)
        self.text = text
        self.reason = reason


def parse_date(text: str, *, today: date) -> date:
    """The day `text` names, counting from `today` (the workspace's calendar day)."""
    word = " ".join(text.lower().split())
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    weekday = _weekday(word.removeprefix(f"{NEXT} ") if word.startswith(f"{NEXT} ") else word)
    if weekday is not None:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    if distance := DISTANCE.match(word):
        return today + timedelta(days=int(distance.group(1)) * (7 if distance.group(2) == "w" else 1))
    if iso := ISO_LIKE.match(word):
        return _calendar_day(text, int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    if slashed := DAY_FIRST_OR_MONTH_FIRST.match(word):
        raise _ambiguous(text, int(slashed.group(1)), int(slashed.group(2)), int(slashed.group(3)))
    raise DateError(text, f"is not a date: use {EXAMPLES}.")


def takes_next_word(word: str) -> bool:
    """`next` is half a date: `next friday` typed without quotes arrives as two words."""
    return word.lower() == NEXT


def group_date_words(words: Sequence[str]) -> list[str]:
    """Words as dates: `next` joins the word after it (`away next mon next fri` is two dates)."""
    grouped: list[str] = []
    index = 0
    while index < len(words):
        if takes_next_word(words[index]) and index + 1 < len(words):
            grouped.append(f"{words[index]} {words[index + 1]}")
            index += 2
        else:
            grouped.append(words[index])
            index += 1
    return grouped


def describe_date(day: date) -> str:
    """How a day is shown back to whoever set it: `Fri 5 Mar 2027`, weekday included so a misreading shows."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _weekday(word: str) -> int | None:
    name = DAY_ALIASES.get(word, word)
    return WEEKDAYS.index(name) if name in WEEKDAYS else None


def _calendar_day(text: str, year: int, month: int, day: int) -> date:
    if year < 1:
        raise DateError(text, "is not a date: there is no year 0.")
    if not 1 <= month <= 12:
        raise DateError(text, f"is not a date: there is no month {month}.")
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        if day == 0:
            raise DateError(text, "is not a date: there is no day 0.")
        raise DateError(text, f"is not a date: {calendar.month_name[month]} {year} has {length} days.")
    return date(year, month, day)


def _ambiguous(text: str, first: int, second: int, year: int) -> DateError:
    readings = []
    for day, month in ((first, second), (second, first)):
        try:
            readings.append(_calendar_day(text, year, month, day))
        except DateError:
            continue
    if len(set(readings)) == 2:
        one, other = readings
        return DateError(
            text,
            f"could be {one.day} {one:%B} or {other.day} {other:%B}: write dates year first, "
            f"{one.isoformat()} or {other.isoformat()}.",
        )
    if readings:
        return DateError(
            text, f"needs the year first (day and month come in either order around the world): {readings[0]}."
        )
    return DateError(text, f"is not a date: write dates year first, as YYYY-MM-DD (e.g. {year}-03-01).")
