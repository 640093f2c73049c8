"""When digests and nudges are due: local times in several time zones, weekdays, both daylight-saving changes,
the parsers behind `/handoff digest at …`, and the schedule settings read from the environment."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.problems import describe
from bot.config import (
    DEFAULT_JIRA_SYNC_MINUTES,
    DEFAULT_NUDGE_COOLDOWN_DAYS,
    DEFAULT_NUDGE_DELAY_MINUTES,
    ConfigError,
    RunMode,
    Settings,
    load_settings,
)
from bot.recurrence import (
    WEEKDAYS,
    WORKING_DAYS,
    Schedule,
    ScheduleError,
    Slot,
    describe_days,
    looks_like_days,
    parse_days,
    parse_time_of_day,
    parse_timezone,
)

BERLIN, NEW_YORK, KOLKATA = "Europe/Berlin", "America/New_York", "Asia/Kolkata"
DAILY = WEEKDAYS


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due_times(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    return [(slot.key, slot.due_at) for slot in schedule.slots_between(start, end)]


def local(slot: Slot, zone: str) -> str:
    return slot.due_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


# --- time zones ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "due_utc"),
    [
        (BERLIN, utc(2027, 1, 4, 8)),  # CET, UTC+1
        (NEW_YORK, utc(2027, 1, 4, 14)),  # EST, UTC-5
        (KOLKATA, utc(2027, 1, 4, 3, 30)),  # IST, UTC+5:30, no daylight saving
        ("UTC", utc(2027, 1, 4, 9)),
    ],
)
def test_nine_local_is_due_at_the_matching_utc_moment(zone: str, due_utc: datetime) -> None:
    schedule = Schedule(time(9, 0), zone, WORKING_DAYS)

    slots = schedule.slots_between(utc(2027, 1, 3, 12), utc(2027, 1, 5, 0))

    assert slots == [Slot("2027-01-04", due_utc)]
    assert slots[0].due_at.tzinfo == UTC
    assert slots[0].due_at.astimezone(ZoneInfo(zone)).time() == time(9, 0)


def test_schedules_on_the_same_days_time_and_zone_share_one_cron_trigger() -> None:
    # A workspace of a thousand standups at the same time must hold one trigger, not a thousand.
    berlin = Schedule(time(9, 30), "Europe/Berlin")
    assert Schedule(time(9, 30), "Europe/Berlin").trigger() is berlin.trigger()
    assert Schedule(time(9, 30), "Europe/Berlin", WEEKDAYS).trigger() is not berlin.trigger()
    assert Schedule(time(9, 30), "UTC").trigger() is not berlin.trigger()
    assert Schedule(time(9, 31), "Europe/Berlin").trigger() is not berlin.trigger()
    # Shared, and still the same fire times as before.
    after = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # a Friday; Berlin springs forward on Sunday the 29th
    fire = berlin.trigger().get_next_fire_time(None, after)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_slot_key_is_the_local_date_even_when_the_utc_date_differs() -> None:
    # 02:00 in Kolkata on Tuesday is still Monday in UTC; 21:00 in New York on Monday is Tuesday in UTC.
    early = Schedule(time(2, 0), KOLKATA, ("tue",))
    late = Schedule(time(21, 0), NEW_YORK, ("mon",))

    assert due_times(early, utc(2027, 1, 4), utc(2027, 1, 6)) == [("2027-01-05", utc(2027, 1, 4, 20, 30))]
    assert due_times(late, utc(2027, 1, 4), utc(2027, 1, 6)) == [("2027-01-04", utc(2027, 1, 5, 2))]


def test_weekday_filter_applies_to_the_local_day_not_the_utc_day() -> None:
    # Monday 01:00 in Kolkata is Sunday 19:30 UTC: it runs (a Monday there), and Sunday's local 01:00 does not.
    schedule = Schedule(time(1, 0), KOLKATA, ("mon",))

    assert due_times(schedule, utc(2027, 1, 2), utc(2027, 1, 5)) == [("2027-01-04", utc(2027, 1, 3, 19, 30))]


@pytest.mark.parametrize(
    ("days", "keys"),
    [
        (WORKING_DAYS, ["2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07", "2027-01-08"]),
        (("sat", "sun"), ["2027-01-09", "2027-01-10"]),
        (("mon", "wed", "fri"), ["2027-01-04", "2027-01-06", "2027-01-08"]),
        (DAILY, [f"2027-01-{d:02}" for d in range(4, 11)]),
    ],
)
def test_only_the_chosen_weekdays_have_slots(days: tuple[str, ...], keys: list[str]) -> None:
    schedule = Schedule(time(9, 0), BERLIN, days)

    # Monday 2027-01-04 00:00 Berlin to the next Monday 00:00 Berlin.
    assert [s.key for s in schedule.slots_between(utc(2027, 1, 3, 23), utc(2027, 1, 10, 23))] == keys


def test_slots_between_is_open_at_the_start_and_closed_at_the_end_and_oldest_first() -> None:
    schedule = Schedule(time(9, 0), "UTC", DAILY)

    assert due_times(schedule, utc(2027, 1, 4, 9), utc(2027, 1, 5, 9)) == [("2027-01-05", utc(2027, 1, 5, 9))]
    assert schedule.slots_between(utc(2027, 1, 4, 9), utc(2027, 1, 4, 9)) == []
    four_weeks = schedule.slots_between(utc(2027, 1, 1), utc(2027, 1, 29))
    assert len(four_weeks) == 28
    assert [s.due_at for s in four_weeks] == sorted(s.due_at for s in four_weeks)
    assert len(Schedule(time(9, 0), "UTC", WORKING_DAYS).slots_between(utc(2027, 1, 1), utc(2027, 1, 29))) == 20


def test_next_slot_is_the_first_one_strictly_after() -> None:
    schedule = Schedule(time(9, 0), BERLIN, WORKING_DAYS)

    assert schedule.next_slot(utc(2027, 1, 4, 7, 59)) == Slot("2027-01-04", utc(2027, 1, 4, 8))
    assert schedule.next_slot(utc(2027, 1, 4, 8)) == Slot("2027-01-05", utc(2027, 1, 5, 8))
    assert schedule.next_slot(utc(2027, 1, 8, 9)) == Slot("2027-01-11", utc(2027, 1, 11, 8))  # Friday -> Monday
    assert schedule.local_date(utc(2027, 1, 4, 23, 30)).isoformat() == "2027-01-05"


# --- daylight saving: Europe/Berlin (2027-03-28 and 2027-10-31) ----------------------------------------------------


def test_berlin_nine_oclock_keeps_local_time_across_both_changes() -> None:
    schedule = Schedule(time(9, 0), BERLIN, DAILY)

    spring = due_times(schedule, utc(2027, 3, 26), utc(2027, 3, 30))
    autumn = due_times(schedule, utc(2027, 10, 29), utc(2027, 11, 2))

    assert spring == [
        ("2027-03-26", utc(2027, 3, 26, 8)),
        ("2027-03-27", utc(2027, 3, 27, 8)),
        ("2027-03-28", utc(2027, 3, 28, 7)),  # CEST from here on
        ("2027-03-29", utc(2027, 3, 29, 7)),
    ]
    assert autumn == [
        ("2027-10-29", utc(2027, 10, 29, 7)),
        ("2027-10-30", utc(2027, 10, 30, 7)),
        ("2027-10-31", utc(2027, 10, 31, 8)),  # CET again
        ("2027-11-01", utc(2027, 11, 1, 8)),
    ]


def test_berlin_spring_forward_gap_time_still_runs_once_that_day() -> None:
    # 02:30 does not exist on 2027-03-28 (02:00 CET jumps to 03:00 CEST): it runs once, at 03:30 CEST = 01:30 UTC.
    schedule = Schedule(time(2, 30), BERLIN, DAILY)

    slots = schedule.slots_between(utc(2027, 3, 27), utc(2027, 3, 29, 12))

    assert [(s.key, s.due_at) for s in slots] == [
        ("2027-03-27", utc(2027, 3, 27, 1, 30)),
        ("2027-03-28", utc(2027, 3, 28, 1, 30)),
        ("2027-03-29", utc(2027, 3, 29, 0, 30)),
    ]
    assert local(slots[1], BERLIN) == "2027-03-28 03:30 CEST"
    assert schedule.next_slot(utc(2027, 3, 28)) == slots[1]


def test_berlin_fall_back_repeated_time_is_one_slot_that_day() -> None:
    # 02:30 happens twice on 2027-10-31 (00:30 UTC in CEST and 01:30 UTC in CET): one slot, the first of them.
    schedule = Schedule(time(2, 30), BERLIN, DAILY)

    slots = schedule.slots_between(utc(2027, 10, 30), utc(2027, 11, 1, 12))

    assert [(s.key, s.due_at) for s in slots] == [
        ("2027-10-30", utc(2027, 10, 30, 0, 30)),
        ("2027-10-31", utc(2027, 10, 31, 0, 30)),
        ("2027-11-01", utc(2027, 11, 1, 1, 30)),
    ]
    assert [s.key for s in slots].count("2027-10-31") == 1
    # The trigger's second firing names the same slot, so a claim made at the first one keeps it from running again.
    assert schedule.next_slot(utc(2027, 10, 31, 0, 30)) == Slot("2027-10-31", utc(2027, 10, 31, 1, 30))
    # A window that opens between the two firings still sees that one slot, once.
    assert due_times(schedule, utc(2027, 10, 31, 1), utc(2027, 10, 31, 23)) == [
        ("2027-10-31", utc(2027, 10, 31, 1, 30))
    ]


# --- daylight saving: America/New_York (2027-03-14 and 2027-11-07) -------------------------------------------------


def test_new_york_nine_oclock_keeps_local_time_across_both_changes() -> None:
    schedule = Schedule(time(9, 0), NEW_YORK, DAILY)

    assert due_times(schedule, utc(2027, 3, 13), utc(2027, 3, 15)) == [
        ("2027-03-13", utc(2027, 3, 13, 14)),
        ("2027-03-14", utc(2027, 3, 14, 13)),  # EDT
    ]
    assert due_times(schedule, utc(2027, 11, 6), utc(2027, 11, 8)) == [
        ("2027-11-06", utc(2027, 11, 6, 13)),
        ("2027-11-07", utc(2027, 11, 7, 14)),  # EST
    ]


def test_new_york_gap_and_repeated_hour_each_give_one_slot() -> None:
    spring = Schedule(time(2, 30), NEW_YORK, DAILY)  # 02:00 EST jumps to 03:00 EDT on 2027-03-14
    autumn = Schedule(time(1, 30), NEW_YORK, DAILY)  # 01:00-02:00 happens twice on 2027-11-07

    spring_slots = spring.slots_between(utc(2027, 3, 14), utc(2027, 3, 15))
    autumn_slots = autumn.slots_between(utc(2027, 11, 7), utc(2027, 11, 8))

    assert [(s.key, s.due_at) for s in spring_slots] == [("2027-03-14", utc(2027, 3, 14, 7, 30))]
    assert local(spring_slots[0], NEW_YORK) == "2027-03-14 03:30 EDT"
    assert [(s.key, s.due_at) for s in autumn_slots] == [("2027-11-07", utc(2027, 11, 7, 5, 30))]
    assert local(autumn_slots[0], NEW_YORK) == "2027-11-07 01:30 EDT"


def test_zones_without_daylight_saving_do_not_move() -> None:
    for zone, hour, minute in ((KOLKATA, 3, 30), ("UTC", 9, 0)):
        schedule = Schedule(time(9, 0), zone, DAILY)
        slots = schedule.slots_between(utc(2027, 3, 10), utc(2027, 11, 10))
        assert {(s.due_at.hour, s.due_at.minute) for s in slots} == {(hour, minute)}, zone
        assert len(slots) == len({s.key for s in slots})


# --- later_by (the nudges follow the digest) -----------------------------------------------------------------------


def test_later_by_within_the_day_keeps_the_days() -> None:
    assert Schedule(time(9, 0), BERLIN, WORKING_DAYS).later_by(30) == Schedule(time(9, 30), BERLIN, WORKING_DAYS)
    assert Schedule(time(9, 0), BERLIN, ("mon",)).later_by(0) == Schedule(time(9, 0), BERLIN, ("mon",))


def test_later_by_past_midnight_moves_to_the_next_day_of_each() -> None:
    assert Schedule(time(23, 30), NEW_YORK, ("fri", "sun")).later_by(45) == Schedule(
        time(0, 15), NEW_YORK, ("mon", "sat")
    )
    assert Schedule(time(23, 50), "UTC", WORKING_DAYS).later_by(30) == Schedule(
        time(0, 20), "UTC", ("tue", "wed", "thu", "fri", "sat")
    )
    assert Schedule(time(23, 0), "UTC", DAILY).later_by(720) == Schedule(time(11, 0), "UTC", DAILY)
    assert Schedule(time(0, 10), "UTC", ("mon",)).later_by(-30) == Schedule(time(23, 40), "UTC", ("sun",))


def test_nudges_after_a_late_friday_digest_fall_on_saturday_local_date() -> None:
    nudges = Schedule(time(23, 40), BERLIN, ("fri",)).later_by(30)

    assert due_times(nudges, utc(2027, 1, 8), utc(2027, 1, 10)) == [("2027-01-09", utc(2027, 1, 8, 23, 10))]


# --- describe ------------------------------------------------------------------------------------------------------


def test_describe_names_days_time_and_zone() -> None:
    assert Schedule(time(9, 5), BERLIN, WORKING_DAYS).describe() == "weekdays at 09:05 (Europe/Berlin)"
    assert Schedule(time(17, 0), "UTC", DAILY).describe() == "every day at 17:00 (UTC)"
    assert describe_days(("sat", "sun")) == "weekends"
    assert describe_days(("mon", "wed", "fri")) == "Mon, Wed, Fri"


# --- parsers -------------------------------------------------------------------------------------------------------


def test_parse_time_of_day_accepts_24_hour_forms() -> None:
    for text in ("09:30", "9:30", "9.30", "9h30", " 09:30 "):
        assert parse_time_of_day(text) == time(9, 30), text
    assert (parse_time_of_day("0:00"), parse_time_of_day("23:59")) == (time(0, 0), time(23, 59))


@pytest.mark.parametrize("text", ["24:00", "12:60", "9:5", "9:30am", "19", "", "nine", "-1:00", "009:30"])
def test_parse_time_of_day_rejects_anything_else_with_a_hint(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_time_of_day(text)
    assert describe(caught.value) == f"`{text}` is not a time of day: use 24-hour HH:MM, such as 09:30 or 17:00."


def test_parse_timezone_accepts_iana_names_and_utc() -> None:
    for zone in (BERLIN, NEW_YORK, KOLKATA, "Etc/GMT+5"):
        assert parse_timezone(f" {zone} ") == zone
    assert (parse_timezone("UTC"), parse_timezone("GMT")) == ("UTC", "UTC")


@pytest.mark.parametrize("text", ["utc", "Utc", "gmt"])
def test_parse_timezone_accepts_utc_and_gmt_in_any_case(text: str) -> None:
    # parse_timezone's own guard and result compare `name.upper()`, so `digest at 09:00 utc` is meant to work; it
    # fails because ZoneInfo(name) is looked up before the name is normalised (zone files are case-sensitive).
    assert parse_timezone(text) == "UTC"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("CET", "CET"),
        ("cet", "CET"),
        ("EST", "EST"),
        ("est5edt", "EST5EDT"),
        ("etc/gmt+1", "Etc/GMT+1"),
        ("europe/berlin", BERLIN),
        ("Japan", "Japan"),
    ],
)
def test_parse_timezone_accepts_every_zoneinfo_name_in_any_case(text: str, zone: str) -> None:
    assert parse_timezone(text) == zone


def test_parse_timezone_accepts_every_name_zoneinfo_knows() -> None:
    for zone in zoneinfo.available_timezones() - {"localtime", "Factory"}:
        assert parse_timezone(zone) == ("UTC" if zone == "GMT" else zone)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("PST", "America/Los_Angeles"),
        ("pdt", "America/Los_Angeles"),
        ("CEST", BERLIN),
        ("BST", "Europe/London"),
        ("IST", KOLKATA),
        ("AEST", "Australia/Sydney"),
        ("Berlin", BERLIN),
    ],
)
def test_parse_timezone_suggests_a_city_zone_for_an_abbreviation_or_a_city(text: str, zone: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_timezone(text)
    assert describe(caught.value) == f"`{text}` is not a time zone name; did you mean `{zone}`?"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Atlantis", "is not a time zone"),
        ("", "is not a time zone"),
        ("+01:00", "is not a time zone"),
        ("localtime", "is not a time zone"),
        ("Mars/Olympus", "is not a known time zone"),
        ("Europe/", "is not a known time zone"),
        ("../etc/passwd", "is not a known time zone"),
        ("/etc/localtime", "is not a known time zone"),
    ],
)
def test_parse_timezone_rejects_other_words_and_unknown_zones(text: str, problem: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_timezone(text)
    assert describe(caught.value) == f"`{text}` {problem}: use an IANA name such as Europe/Berlin or America/New_York."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekdays", WORKING_DAYS),
        ("Daily", DAILY),
        ("everyday", DAILY),
        ("weekends", ("sat", "sun")),
        ("mon,wed,fri", ("mon", "wed", "fri")),
        ("fri,mon, wed", ("mon", "wed", "fri")),  # sorted into week order
        ("Monday,THURSDAY", ("mon", "thu")),
        ("mon-fri", WORKING_DAYS),
        ("tues-thurs", ("tue", "wed", "thu")),
        ("fri-mon", ("mon", "fri", "sat", "sun")),  # wraps over the weekend
        ("sat-sun", ("sat", "sun")),
        ("wed-wed", ("wed",)),
        ("mon,mon,,tue", ("mon", "tue")),
        ("mon-tue,sat", ("mon", "tue", "sat")),
    ],
)
def test_parse_days_accepts_words_lists_and_ranges(text: str, expected: tuple[str, ...]) -> None:
    assert parse_days(text) == expected
    assert looks_like_days(text)


@pytest.mark.parametrize("text", ["funday", "mon,funday", "mon-", "-fri", "mon-funday", "Europe/Berlin", "09:30"])
def test_parse_days_rejects_unknown_days(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_days(text)
    assert describe(caught.value) == (
        f"`{text}` is not a list of days: use weekdays, daily, or days such as mon,wed,fri."
    )
    assert not looks_like_days(text)


@pytest.mark.parametrize("text", ["", ",", " , "])
def test_parse_days_rejects_an_empty_list(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_days(text)
    assert "names no days: use weekdays, daily, or days such as mon,wed,fri" in describe(caught.value)


# --- settings ------------------------------------------------------------------------------------------------------


def settings_from(**values: str) -> Settings:
    return load_settings(values, mode=RunMode.OFFLINE, dotenv_path=None)


def problems_from(**values: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_from(**values)
    return caught.value.problems


def test_schedule_settings_default() -> None:
    settings = settings_from()

    assert settings.catch_up_within is None  # the same local day
    assert settings.nudge_cooldown_days == DEFAULT_NUDGE_COOLDOWN_DAYS == 3
    assert settings.nudge_delay_minutes == DEFAULT_NUDGE_DELAY_MINUTES == 30
    assert settings.jira_sync_minutes == DEFAULT_JIRA_SYNC_MINUTES == 5


def test_catch_up_window_is_same_day_hours_or_zero() -> None:
    for raw in ("same-day", "SAME-DAY", "  "):  # blank is unset
        assert settings_from(HANDOFF_CATCH_UP=raw).catch_up_within is None, raw
    for raw, hours in (("6h", 6), ("6H", 6), ("12", 12), ("168h", 168), ("0", 0), ("0h", 0)):
        assert settings_from(HANDOFF_CATCH_UP=raw).catch_up_within == timedelta(hours=hours), raw


@pytest.mark.parametrize("raw", ["169h", "-1", "1.5h", "6 hours", "h", "6hh", "tomorrow", "²"])
def test_catch_up_window_rejects_anything_else(raw: str) -> None:
    assert problems_from(HANDOFF_CATCH_UP=raw) == [
        f"HANDOFF_CATCH_UP must be same-day, a number of hours up to 168 such as 6h, or 0, got {raw!r}."
    ]


@pytest.mark.parametrize(
    ("name", "field", "low", "high"),
    [
        ("HANDOFF_NUDGE_COOLDOWN_DAYS", "nudge_cooldown_days", 1, 90),
        ("HANDOFF_NUDGE_DELAY_MINUTES", "nudge_delay_minutes", 0, 720),
        ("HANDOFF_JIRA_SYNC_MINUTES", "jira_sync_minutes", 1, 1440),
    ],
)
def test_whole_number_settings_accept_their_range_and_reject_outside_it(
    name: str, field: str, low: int, high: int
) -> None:
    for good in (low, high, (low + high) // 2):
        assert getattr(settings_from(**{name: f" {good} "}), field) == good
    for bad in (str(low - 1), str(high + 1), "7.5", "ten", "-3", "³"):
        assert problems_from(**{name: bad}) == [f"{name} must be a whole number from {low} to {high}, got {bad!r}."]


def test_every_bad_schedule_setting_is_reported_at_once() -> None:
    names = (
        "HANDOFF_CATCH_UP",
        "HANDOFF_NUDGE_COOLDOWN_DAYS",
        "HANDOFF_NUDGE_DELAY_MINUTES",
        "HANDOFF_JIRA_SYNC_MINUTES",
    )

    problems = problems_from(**dict(zip(names, ("soon", "0", "721", "0"), strict=True)))

    assert [p.split(" ")[0] for p in problems] == list(names)
