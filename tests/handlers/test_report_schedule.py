"""Parsing `report weekly`: a channel, then `off` or a day, a time and a zone in any order; clear errors."""

from __future__ import annotations

from datetime import time

import pytest

from handlers.grammar import UsageError, tokenize
from handlers.report_schedule import (
    WeeklyReportOffCommand,
    WeeklyReportSetCommand,
    WeeklyReportShowCommand,
    parse_report_weekly,
)

CHANNEL = "<#C0CHURN|churn>"


def parse(text: str) -> object:
    return parse_report_weekly(tokenize(text))


def test_nothing_shows_the_settings() -> None:
    assert parse("") == WeeklyReportShowCommand()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CHANNEL, WeeklyReportSetCommand("C0CHURN")),
        (f"{CHANNEL} fri", WeeklyReportSetCommand("C0CHURN", "fri")),
        (f"{CHANNEL} Friday 16:00", WeeklyReportSetCommand("C0CHURN", "fri", time(16, 0))),
        (f"{CHANNEL} 9.30 Europe/Berlin tue", WeeklyReportSetCommand("C0CHURN", "tue", time(9, 30), "Europe/Berlin")),
        (f"{CHANNEL} off", WeeklyReportOffCommand("C0CHURN")),
    ],
)
def test_a_channel_then_a_day_a_time_and_a_zone(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fri 09:00", "needs the channel"),
        ("general", "needs the channel"),
        (f"{CHANNEL} mon,thu", "one day of the week"),
        (f"{CHANNEL} funday", "funday"),
        (f"{CHANNEL} 25:00", "25:00"),
        (f"{CHANNEL} PST", "America/Los_Angeles"),
        (f"{CHANNEL} fri off", "stands alone"),
        (f"{CHANNEL} 09:00 10:00", "one word too many"),
        (f"{CHANNEL} 9am", "9am"),
    ],
)
def test_mistakes_say_what_was_wrong(text: str, says: str) -> None:
    with pytest.raises(UsageError) as error:
        parse(text)
    assert says in error.value.message
    assert error.value.usage_of == "report weekly"
