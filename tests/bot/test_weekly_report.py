"""The weekly report's settings: defaults, what a change keeps, turning it off, and the week a slot reports on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlmodel import Session

from bot.channel_settings import set_schedule
from bot.errors import InvalidInput
from bot.initiatives import Actor
from bot.weekly_report import set_weekly_report, turn_off_weekly_report, weekly_report_plan, weekly_report_plans
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CHURN, GENERAL, NOW

ZONE = "UTC"


def test_a_channel_never_set_has_no_weekly_report(session: Session) -> None:
    plan = weekly_report_plan(session=session, team_id=TEAM_ID, channel_id=CHURN, default_timezone=ZONE)
    assert not plan.on
    assert weekly_report_plans(session=session, default_timezone=ZONE) == []


def test_set_without_day_time_or_zone_is_monday_at_nine_in_the_digest_zone(session: Session) -> None:
    set_schedule(
        session=session,
        actor=Actor(TEAM_ID, BOB),
        channel_id=CHURN,
        at=time(8, 0),
        timezone="Europe/Berlin",
        days=None,
        now=NOW,
        default_timezone=ZONE,
    )
    plan = set_weekly_report(
        session=session,
        actor=Actor(TEAM_ID, ALICE),
        channel_id=CHURN,
        day=None,
        at=None,
        timezone=None,
        now=NOW,
        default_timezone=ZONE,
    )
    assert plan.on and plan.configured_by == ALICE
    assert (plan.schedule.days, plan.schedule.at, plan.schedule.timezone) == (("mon",), time(9, 0), "Europe/Berlin")
    assert [p.channel_id for p in weekly_report_plans(session=session, default_timezone=ZONE)] == [CHURN]


def test_a_change_keeps_what_it_leaves_out_and_off_turns_it_off(session: Session) -> None:
    actor = Actor(TEAM_ID, ALICE)
    common = {"session": session, "actor": actor, "channel_id": GENERAL, "now": NOW, "default_timezone": ZONE}
    set_weekly_report(day="fri", at=time(16, 0), timezone="America/New_York", **common)  # type: ignore[arg-type]
    plan = set_weekly_report(day=None, at=time(15, 30), timezone=None, **common)  # type: ignore[arg-type]
    assert (plan.schedule.days, plan.schedule.at, plan.schedule.timezone) == (
        ("fri",),
        time(15, 30),
        "America/New_York",
    )
    off = turn_off_weekly_report(**common)  # type: ignore[arg-type]
    assert not off.on
    assert weekly_report_plans(session=session, default_timezone=ZONE) == []
    with pytest.raises(InvalidInput):
        turn_off_weekly_report(**common)  # type: ignore[arg-type]


def test_a_slot_reports_on_the_seven_local_days_before_its_own(session: Session) -> None:
    plan = set_weekly_report(
        session=session,
        actor=Actor(TEAM_ID, ALICE),
        channel_id=GENERAL,
        day="mon",
        at=time(0, 30),
        timezone="Asia/Tokyo",
        now=NOW,
        default_timezone=ZONE,
    )
    # Sunday 15:30 UTC is already Monday 00:30 in Tokyo.
    assert plan.window_start(datetime(2027, 1, 10, 15, 30, tzinfo=UTC)) == date(2027, 1, 4)
