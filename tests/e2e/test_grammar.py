"""What people really type, end to end: a space after an option's colon, dates in words, time zone abbreviations.

The clock stands at Monday 2027-01-04 09:30 UTC, the workspace's zone is UTC.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from storage.models import Away, ChannelSettings, Checkpoint
from tests.conftest import OFFLINE_JIRA, RunningApp
from tests.e2e.test_initiatives import NEW_CHURN_V2
from tests.support.e2e import create, load, private_answer
from tests.support.workspace import ALICE, BOB, GENERAL

CHURN_V2 = "Churn model v2"


# `NEW_CHURN_V2` gives an epic, which needs Jira settings (nothing here calls Jira).
pytestmark = pytest.mark.app_settings(jira=OFFLINE_JIRA)


def away_rows(running: RunningApp) -> list[tuple[str, date, date]]:
    with Session(running.engine) as session:
        return [(a.user_id, a.starts, a.ends) for a in session.exec(select(Away).order_by(Away.starts)).all()]


def digest_settings(running: RunningApp) -> ChannelSettings | None:
    with Session(running.engine) as session:
        return session.exec(select(ChannelSettings).where(ChannelSettings.channel_id == GENERAL)).first()


# --- a space after the colon -------------------------------------------------------------------------------------


def test_edit_with_a_space_after_the_colon_sets_the_date_and_shows_it(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, "edit churn due: 2027-03-15")

    assert "Updated target date of *Churn model v2*. Target date: Mon 15 Mar 2027." in answer, answer
    assert load(running.engine, CHURN_V2).target_date == date(2027, 3, 15)


def test_edit_with_a_space_before_a_picked_person_sets_that_person(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    assert load(running.engine, CHURN_V2).ds_lead_id == BOB

    # Slack sends a picked @alice, escaped, as `<@U0ALICE|alice>`.
    answer = private_answer(running, "edit churn ds: <@U0ALICE|alice>")

    assert "Updated ds lead of *Churn model v2*." in answer, answer
    assert load(running.engine, CHURN_V2).ds_lead_id == ALICE


def test_a_person_echoed_in_an_error_reads_as_a_name_not_as_slack_syntax(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, "edit churn due:2027-03-15 <@U0ALICE|alice>")

    assert '"@alice" comes after the options' in answer, answer
    assert "U0ALICE|" not in answer and "&lt;@" not in answer
    assert load(running.engine, CHURN_V2).target_date == date(2027, 3, 1)


def test_new_and_checkpoint_add_take_options_with_a_space_after_the_colon(running: RunningApp) -> None:
    answer = create(running, 'new "Churn model v2" ds: <@U0BOB|bob> due: tomorrow goal: "Cut churn"')
    assert "Target date: Tue 5 Jan 2027." in answer, answer
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.ds_lead_id, initiative.target_date, initiative.goal) == (BOB, date(2027, 1, 5), "Cut churn")

    added = private_answer(running, 'checkpoint add churn "Model card reviewed" owner: <@U0BOB|bob> due: fri')

    assert "Due Fri 8 Jan 2027." in added, added
    with Session(running.engine) as session:
        checkpoint = session.exec(select(Checkpoint)).one()
    assert (checkpoint.owner_id, checkpoint.due_date) == (BOB, date(2027, 1, 8))


# --- dates in words ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant", "shown"),
    [
        ("due:tomorrow", date(2027, 1, 5), "Tue 5 Jan 2027"),
        ("due:next friday", date(2027, 1, 8), "Fri 8 Jan 2027"),
        ('due:"next friday"', date(2027, 1, 8), "Fri 8 Jan 2027"),
        ("due:mon", date(2027, 1, 11), "Mon 11 Jan 2027"),
        ("due:+2w", date(2027, 1, 18), "Mon 18 Jan 2027"),
    ],
)
def test_edit_reads_dates_in_words_and_shows_the_day_it_understood(
    running: RunningApp, typed: str, meant: date, shown: str
) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, f"edit churn {typed}")

    assert f"Target date: {shown}." in answer, answer
    assert load(running.engine, CHURN_V2).target_date == meant


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("due:2027-02-30", "`due:2027-02-30` is not a date: February 2027 has 28 days."),
        ("due:2027-13-01", "`due:2027-13-01` is not a date: there is no month 13."),
        ("due:31/12/2027", "`due:31/12/2027` needs the year first"),
        ("due:03/01/2027", "could be 3 January or 1 March: write dates year first, 2027-01-03 or 2027-03-01."),
    ],
)
def test_an_impossible_or_ambiguous_date_is_explained_and_nothing_changes(
    running: RunningApp, typed: str, problem: str
) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, f"edit churn {typed}")

    assert problem in answer and "Usage:" in answer, answer
    assert load(running.engine, CHURN_V2).target_date == date(2027, 3, 1)


def test_checkpoint_edit_shows_the_due_date_it_understood(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    private_answer(running, 'checkpoint add churn "Model card reviewed" due:2027-02-15')

    answer = private_answer(running, "checkpoint edit churn#1 due: next wed")

    assert "Updated `churn#1`. Due Wed 6 Jan 2027." in answer, answer


# --- time away ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "starts", "ends", "shown"),
    [
        ("away tomorrow", date(2027, 1, 5), date(2027, 1, 5), "Away from Tue 5 Jan 2027 to Tue 5 Jan 2027"),
        ("away next wed next fri", date(2027, 1, 6), date(2027, 1, 8), "Away from Wed 6 Jan 2027 to Fri 8 Jan 2027"),
        ("away tomorrow +1w", date(2027, 1, 5), date(2027, 1, 11), "Away from Tue 5 Jan 2027 to Mon 11 Jan 2027"),
    ],
)
def test_away_reads_dates_in_words(running: RunningApp, typed: str, starts: date, ends: date, shown: str) -> None:
    answer = private_answer(running, typed, user=BOB)

    assert shown in answer, answer
    assert away_rows(running) == [(BOB, starts, ends)]


def test_away_explains_an_impossible_date_and_writes_nothing(running: RunningApp) -> None:
    answer = private_answer(running, "away 2027-02-29", user=BOB)

    assert "`2027-02-29` is not a date: February 2027 has 28 days." in answer, answer
    assert away_rows(running) == []


# --- time zones ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "zone"), [("CET", "CET"), ("cet", "CET"), ("europe/berlin", "Europe/Berlin")])
def test_digest_takes_every_zone_name_zoneinfo_knows(running: RunningApp, typed: str, zone: str) -> None:
    answer = private_answer(running, f"digest at 09:30 {typed}")

    assert ":white_check_mark:" in answer and f"({zone})" in answer, answer
    settings = digest_settings(running)
    assert settings is not None
    assert (settings.digest_time, settings.digest_timezone) == ("09:30", zone)


@pytest.mark.parametrize(("typed", "zone"), [("PST", "America/Los_Angeles"), ("cest", "Europe/Berlin")])
def test_digest_suggests_a_city_zone_for_an_abbreviation_and_writes_nothing(
    running: RunningApp, typed: str, zone: str
) -> None:
    answer = private_answer(running, f"digest at 09:30 {typed}")

    assert f"`{typed}` is not a time zone name; did you mean `{zone}`?" in answer and "Usage:" in answer, answer
    assert digest_settings(running) is None


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("status <@U0ALICE|alice>", 'No initiative called "@alice"'),
        ("checkpoint done <@U0ALICE|alice>", '"@alice"'),
        ('blocker churn "No access" on:<#C0GENERAL|general>', '"#general" is not a direction'),
        ("edit churn jira: <@U0ALICE|alice>", '"@alice" is not a Jira issue key'),
    ],
)
def test_answers_quote_picked_people_and_channels_as_names(running: RunningApp, typed: str, shown: str) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, typed)

    assert shown in answer, answer
    assert "&lt;@" not in answer and "&lt;#" not in answer and "|alice" not in answer
