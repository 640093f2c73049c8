"""Reading the days people type, against an injected today."""

from __future__ import annotations

from datetime import date

import pytest

from bot.blocks.problems import unreadable_date
from bot.dates import DateError, describe_date, group_date_words, parse_date

MONDAY = date(2027, 1, 4)
FRIDAY = date(2027, 1, 8)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("2027-03-01", date(2027, 3, 1)),
        ("2027-3-1", date(2027, 3, 1)),
        ("2028-02-29", date(2028, 2, 29)),
        ("today", MONDAY),
        ("Today", MONDAY),
        ("tomorrow", date(2027, 1, 5)),
        ("fri", FRIDAY),
        ("friday", FRIDAY),
        ("FRIDAY", FRIDAY),
        ("next friday", FRIDAY),
        ("next  fri", FRIDAY),
        ("thurs", date(2027, 1, 7)),
        ("mon", date(2027, 1, 11)),  # never today itself: a week on
        ("next mon", date(2027, 1, 11)),
        ("sun", date(2027, 1, 10)),
        ("+3d", date(2027, 1, 7)),
        ("+0d", MONDAY),
        ("+2w", date(2027, 1, 18)),
        (" +1w ", date(2027, 1, 11)),
    ],
)
def test_days_read_against_today(text: str, meant: date) -> None:
    assert parse_date(text, today=MONDAY) == meant


def test_a_weekday_is_the_next_one_after_today_even_on_that_weekday() -> None:
    assert parse_date("fri", today=FRIDAY) == date(2027, 1, 15)
    assert parse_date("next friday", today=FRIDAY) == date(2027, 1, 15)
    assert parse_date("sat", today=FRIDAY) == date(2027, 1, 9)


def test_relative_days_cross_months_and_years() -> None:
    assert parse_date("tomorrow", today=date(2026, 12, 31)) == date(2027, 1, 1)
    assert parse_date("+1w", today=date(2027, 2, 25)) == date(2027, 3, 4)


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ("2027-02-30", "`2027-02-30` is not a date: February 2027 has 28 days."),
        ("2028-02-30", "`2028-02-30` is not a date: February 2028 has 29 days."),
        ("2027-04-31", "`2027-04-31` is not a date: April 2027 has 30 days."),
        ("2027-13-01", "`2027-13-01` is not a date: there is no month 13."),
        ("2027-01-00", "`2027-01-00` is not a date: there is no day 0."),
        ("0000-01-01", "`0000-01-01` is not a date: there is no year 0."),
        (
            "31/12/2026",
            "`31/12/2026` needs the year first (day and month come in either order around the world): 2026-12-31.",
        ),
        (
            "12/31/2026",
            "`12/31/2026` needs the year first (day and month come in either order around the world): 2026-12-31.",
        ),
        (
            "05/05/2027",
            "`05/05/2027` needs the year first (day and month come in either order around the world): 2027-05-05.",
        ),
        ("03/01/2027", "`03/01/2027` could be 3 January or 1 March: write dates year first, 2027-01-03 or 2027-03-01."),
        ("1.3.2027", "`1.3.2027` could be 1 March or 3 January: write dates year first, 2027-03-01 or 2027-01-03."),
        ("31/31/2027", "`31/31/2027` is not a date: write dates year first, as YYYY-MM-DD (e.g. 2027-03-01)."),
        (
            "next",
            "`next` is not a date: use YYYY-MM-DD (2027-03-01), today, tomorrow, a weekday (fri, next fri) or "
            "a distance (+3d, +2w).",
        ),
        (
            "next week",
            "`next week` is not a date: use YYYY-MM-DD (2027-03-01), today, tomorrow, a weekday (fri, next "
            "fri) or a distance (+3d, +2w).",
        ),
    ],
)
def test_what_is_not_a_day_is_explained(text: str, explained: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text, today=MONDAY)
    assert unreadable_date(caught.value.text, caught.value) == explained


def test_an_explanation_can_quote_the_text_as_typed_with_its_option() -> None:
    with pytest.raises(DateError) as caught:
        parse_date("2027-02-30", today=MONDAY)
    assert (
        unreadable_date("due:2027-02-30", caught.value) == "`due:2027-02-30` is not a date: February 2027 has 28 days."
    )


def test_next_joins_the_word_after_it() -> None:
    assert group_date_words(["next", "mon", "next", "fri"]) == ["next mon", "next fri"]
    assert group_date_words(["tomorrow", "Next", "fri"]) == ["tomorrow", "Next fri"]
    assert group_date_words(["2027-01-11", "next"]) == ["2027-01-11", "next"]


def test_a_day_is_described_with_its_weekday() -> None:
    assert describe_date(date(2027, 3, 5)) == "Fri 5 Mar 2027"
    assert describe_date(date(2027, 1, 11)) == "Mon 11 Jan 2027"
