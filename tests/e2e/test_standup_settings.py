"""Standup settings, questions, time away, their configuration, and participation in `status`, end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import ids
from bot.checklist import load_checklist_file
from bot.config import ConfigError, RunMode, load_settings
from bot.dates import describe_date
from storage.models import Away, StandupSettings
from tests.conftest import RunningApp, ServeApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import create, private_answer, run
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, DAVE, GENERAL

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>'
DEFAULT_QUESTIONS = ("What did the DS team work on?", "Risks to the production plan?")
USAGE = "Usage: /handoff standup churn at 09:45 mon,wed,fri"


# --- helpers ----------------------------------------------------------------------------------------------


def settings_rows(engine: Engine) -> list[StandupSettings]:
    with Session(engine) as session:
        return list(session.exec(select(StandupSettings)).all())


def away_rows(engine: Engine) -> list[tuple[str, date, date]]:
    with Session(engine) as session:
        return [(a.user_id, a.starts, a.ends) for a in session.exec(select(Away).order_by(Away.starts)).all()]


def text_input(value: str) -> dict[str, Any]:
    return {ids.INPUT_ACTION: {"type": "plain_text_input", "value": value}}


def opened_view(running: RunningApp, text: str, *, user: str = ALICE) -> dict[str, Any]:
    before = len(running.fake.calls_to("views.open"))
    _, posts = run(running, text, user=user)
    assert posts == [], f"answered instead of opening a form: {posts!r}"
    [call] = running.fake.calls_to("views.open")[before:]
    view: dict[str, Any] = call.response["view"]
    return view


def prompt_dms(running: RunningApp, user: str = CAROL) -> list[dict[str, Any]]:
    """Every standup prompt `user` got by direct message, as the fake now holds it."""
    messages = running.fake.messages_in(user)
    payloads = [{"text": m.text, "blocks": m.blocks or []} for m in messages]
    return [p for p in payloads if button_values(p, ids.ACTION_STANDUP_ANSWER)]


def prompt_on(running: RunningApp, moment: datetime) -> tuple[int, dict[str, Any]]:
    """Move the clock, run the standup job, and return the new prompt's id and message."""
    before = len(prompt_dms(running))
    running.clock.set(moment)
    running.app.standups.run_due()
    running.settle()
    prompts = prompt_dms(running)
    assert len(prompts) == before + 1, f"expected one new prompt on {moment}, got {prompts[before:]!r}"
    [value] = button_values(prompts[-1], ids.ACTION_STANDUP_ANSWER)
    return int(json.loads(value)["p"]), prompts[-1]


def answer_modal(running: RunningApp, prompt_id: int, *, user: str = CAROL) -> dict[str, Any]:
    before = len(running.fake.calls_to("views.open"))
    value = json.dumps({"p": prompt_id})
    container = {"type": "message", "message_ts": "1.0", "channel_id": user, "is_ephemeral": False}
    result = running.slack.action(ids.ACTION_STANDUP_ANSWER, value=value, user=user, channel=user, container=container)
    assert (result.status, result.body) == (200, "")
    running.settle()
    [call] = running.fake.calls_to("views.open")[before:]
    view: dict[str, Any] = call.response["view"]
    return view


def answer(running: RunningApp, prompt_id: int, *answers: str) -> None:
    view = answer_modal(running, prompt_id)
    values = {ids.block_standup_answer(i): text_input(a) for i, a in enumerate(answers)}
    result = running.slack.submit_view(view, values, user=CAROL)
    assert (result.status, result.body) == (200, "")
    running.settle()


# --- showing and changing the settings --------------------------------------------------------------------


def test_the_settings_are_shown_in_the_ack_with_the_defaults(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    result, posts = run(running, "standup churn", user=DAVE)  # anyone may look
    assert posts == [] and result.body
    shown = result.text
    assert "<@U0CAROL> is asked weekdays at 09:30 (Europe/London) by direct message" in shown
    assert all(q in shown for q in DEFAULT_QUESTIONS) and "Blockers, and who waits on whom" in shown
    assert settings_rows(running.engine) == []


@pytest.mark.parametrize("manager", [ALICE, BOB, CAROL, ADMIN])
def test_a_manager_sets_the_time_zone_and_days_and_switches_it_off_and_on(running: RunningApp, manager: str) -> None:
    create(running, NEW_CHURN)
    saved = private_answer(running, "standup churn at 09:45 Europe/Berlin mon,wed,fri", user=manager)
    assert ":white_check_mark: Saved." in saved and "Mon, Wed, Fri at 09:45 (Europe/Berlin)" in saved
    [row] = settings_rows(running.engine)
    assert (row.time, row.timezone, row.days, row.enabled) == ("09:45", "Europe/Berlin", "mon,wed,fri", True)
    assert row.configured_by == manager

    assert "off" in private_answer(running, "standup churn off", user=manager)
    assert settings_rows(running.engine)[0].enabled is False
    assert "*Standup for Churn model v2:* off." in run(running, "standup churn")[0].text

    assert "Mon, Wed, Fri at 09:45" in private_answer(running, "standup churn on", user=manager)
    [row] = settings_rows(running.engine)
    assert (row.time, row.timezone, row.days, row.enabled) == ("09:45", "Europe/Berlin", "mon,wed,fri", True)


@pytest.mark.parametrize(
    ("words", "days", "described"),
    [("daily", "mon,tue,wed,thu,fri,sat,sun", "every day"), ("weekdays", "mon,tue,wed,thu,fri", "weekdays")],
)
def test_day_words_and_a_time_alone_keep_the_zone_unpinned(
    running: RunningApp, words: str, days: str, described: str
) -> None:
    create(running, NEW_CHURN)
    assert f"{described} at 07:05 (Europe/London)" in private_answer(running, f"standup churn at 7:05 {words}")
    [row] = settings_rows(running.engine)
    assert (row.time, row.timezone, row.days) == ("07:05", None, days)


def test_others_are_refused_privately_and_told_who_can(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    for text in ("standup churn at 09:45", "standup churn off", "standup churn on", "standup churn questions"):
        refusal = private_answer(running, text, user=DAVE)
        assert "Only the initiative's leads, embedded engineer, creator or a workspace admin" in refusal, text
        assert all(f"<@{who}>" in refusal for who in (ALICE, BOB, CAROL)) and "Usage:" not in refusal
    assert settings_rows(running.engine) == []
    assert running.fake.calls_to("views.open") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("standup churn at 25:00", "`25:00` is not a time of day"),
        ("standup churn at 9:75", "`9:75` is not a time of day"),
        ("standup churn at", "needs a time"),
        ("standup churn at 09:45 Mars/Base", "`Mars/Base` is not a known time zone"),
        ("standup churn at 09:45 funday", "`funday` is not a list of days"),
        ("standup churn at 09:45 UTC Europe/Berlin", "one word too many"),
        ("standup pricing at 09:45", '"Pricing engine" has no embedded engineer'),
        ("standup pricing", '"Pricing engine" has no embedded engineer'),
        ("standup pricing questions", '"Pricing engine" has no embedded engineer'),
        ("standup nope at 09:45", 'No initiative called "nope"'),
        ("standup churn sometimes", "`sometimes` is not a standup setting"),
        ("standup churn off now", "`standup churn off` takes nothing after it"),
        ("standup churn on please", "`standup churn on` takes nothing after it"),
    ],
)
def test_bad_input_is_answered_privately_with_the_usage_and_nothing_is_written(
    running: RunningApp, text: str, problem: str
) -> None:
    create(running, NEW_CHURN)
    create(running, 'new "Pricing engine" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>')
    answer_text = private_answer(running, text)
    assert problem in answer_text and USAGE in answer_text
    assert settings_rows(running.engine) == []
    assert running.fake.calls_to("views.open") == []


# --- the questions ----------------------------------------------------------------------------------------


def test_questions_are_edited_in_a_form_and_used_by_the_next_prompt_and_its_answer_form(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    view = opened_view(running, "standup churn questions", user=CAROL)
    assert view["callback_id"] == ids.VIEW_STANDUP_QUESTIONS
    fields = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in fields] == [ids.block_standup_question(i) for i in range(6)]
    assert fields[0]["element"]["initial_value"] == DEFAULT_QUESTIONS[0]

    blank = {ids.block_standup_question(i): text_input("  ") for i in range(6)}
    refused = running.slack.submit_view(view, blank, user=CAROL)
    assert refused.json == {
        "response_action": "errors",
        "errors": {ids.block_standup_question(0): "Keep at least one question."},
    }
    running.settle()
    assert settings_rows(running.engine) == []

    wanted = {
        ids.block_standup_question(0): text_input("  Which   experiments ran? "),
        ids.block_standup_question(1): text_input(""),
        ids.block_standup_question(2): text_input("Which data did you need?"),
    }
    accepted = running.slack.submit_view(view, wanted, user=CAROL)
    assert (accepted.status, accepted.body) == (200, "")
    running.settle()
    [row] = settings_rows(running.engine)
    assert json.loads(row.questions or "null") == ["Which experiments ran?", "Which data did you need?"]
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert told.args["channel"] == GENERAL and told.args["user"] == CAROL
    assert "Saved." in all_text(told.args) and "Which data did you need?" in all_text(told.args)
    assert "Which experiments ran?" in run(running, "standup churn")[0].text

    # Tuesday 09:30 in London, Carol's own zone: the prompt asks the new questions only.
    prompt_id, prompt = prompt_on(running, datetime(2027, 1, 5, 9, 30, tzinfo=UTC))
    asked = all_text(prompt)
    assert "Which experiments ran?" in asked and "Which data did you need?" in asked
    assert not any(q in asked for q in DEFAULT_QUESTIONS)
    form = answer_modal(running, prompt_id)
    questions = [b for b in form["blocks"] if b.get("block_id", "").startswith("answer_")]
    assert [b["block_id"] for b in questions] == [ids.block_standup_answer(0), ids.block_standup_answer(1)]
    assert [b["label"]["text"] for b in questions] == ["Which experiments ran?", "Which data did you need?"]


# --- time away --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "starts", "ends"),
    [
        ("3d", date(2027, 1, 4), date(2027, 1, 6)),
        ("2w", date(2027, 1, 4), date(2027, 1, 17)),
        ("366d", date(2027, 1, 4), date(2028, 1, 4)),
        ("2027-01-11 2027-01-15", date(2027, 1, 11), date(2027, 1, 15)),
        ("2027-01-11", date(2027, 1, 11), date(2027, 1, 11)),
    ],
)
def test_time_away_is_saved_shown_and_ended(running: RunningApp, words: str, starts: date, ends: date) -> None:
    saved = private_answer(running, f"away {words}", user=CAROL)
    assert f"Away from {describe_date(starts)} to {describe_date(ends)}" in saved
    assert away_rows(running.engine) == [(CAROL, starts, ends)]
    result, posts = run(running, "away", user=CAROL)
    assert posts == [] and f"{describe_date(starts)} to {describe_date(ends)}" in result.text
    assert "no time away set" in run(running, "away", user=BOB)[0].text

    assert "Welcome back" in private_answer(running, "away off", user=CAROL)
    assert away_rows(running.engine) == []  # it had not started before today: dropped
    assert "You have no time away set." in run(running, "away", user=CAROL)[0].text


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("2027-01-15 2027-01-11", "ends before it starts"),
        ("2027-01-01 2027-01-03", "already over"),
        ("2027-01-03", "already over"),
        ("soon", "`soon` is not a date: use YYYY-MM-DD"),
        ("2027-02-30", "`2027-02-30` is not a date: February 2027 has 28 days."),
        ("367d", "1 to 366 days"),
        ("0d", "1 to 366 days"),
        ("53w", "1 to 366 days"),
        ("2027-01-11 2028-01-12", "at most 366 days"),
        ("2027-01-11 2027-01-12 2027-01-13", "takes two dates, one date"),
        ("off", "You have no time away set."),
        ("off now", "`off` is not a date: use YYYY-MM-DD"),
    ],
)
def test_bad_time_away_is_answered_privately_and_nothing_is_written(
    running: RunningApp, words: str, problem: str
) -> None:
    answer_text = private_answer(running, f"away {words}", user=CAROL)
    assert problem in answer_text and "Usage: /handoff away 2027-01-11 2027-01-15" in answer_text
    assert away_rows(running.engine) == []


def test_away_off_ends_a_period_that_already_started_yesterday(running: RunningApp) -> None:
    running.clock.set(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    private_answer(running, "away 2027-01-01 2027-01-20", user=CAROL)
    running.clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=UTC))
    assert "Welcome back" in private_answer(running, "away off", user=CAROL)
    assert away_rows(running.engine) == [(CAROL, date(2027, 1, 1), date(2027, 1, 3))]


def test_no_prompt_while_away_and_again_after(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    private_answer(running, "away 2027-01-05", user=CAROL)
    running.clock.set(datetime(2027, 1, 5, 9, 30, tzinfo=UTC))
    running.app.standups.run_due()
    running.settle()
    assert prompt_dms(running) == []
    prompt_on(running, datetime(2027, 1, 6, 9, 30, tzinfo=UTC))


# --- configuration ----------------------------------------------------------------------------------------


def offline(**env: str) -> Any:
    return load_settings(env, mode=RunMode.OFFLINE, dotenv_path=None)


def test_reminder_hours_and_posts_per_minute_default_and_accept_their_bounds() -> None:
    settings = offline()
    assert (settings.standup_reminder_hours, settings.slack_posts_per_minute) == (3, 300)
    for hours, posts in (("1", "10"), (" 12 ", "6000"), ("5", "120")):
        settings = offline(HANDOFF_STANDUP_REMINDER_HOURS=hours, HANDOFF_SLACK_POSTS_PER_MINUTE=posts)
        assert (settings.standup_reminder_hours, settings.slack_posts_per_minute) == (int(hours), int(posts))


@pytest.mark.parametrize(
    ("name", "raw", "bounds"),
    [
        ("HANDOFF_STANDUP_REMINDER_HOURS", "0", "1 to 12"),
        ("HANDOFF_STANDUP_REMINDER_HOURS", "13", "1 to 12"),
        ("HANDOFF_STANDUP_REMINDER_HOURS", "2.5", "1 to 12"),
        ("HANDOFF_STANDUP_REMINDER_HOURS", "-1", "1 to 12"),
        ("HANDOFF_SLACK_POSTS_PER_MINUTE", "9", "10 to 6000"),
        ("HANDOFF_SLACK_POSTS_PER_MINUTE", "6001", "10 to 6000"),
        ("HANDOFF_SLACK_POSTS_PER_MINUTE", "lots", "10 to 6000"),
    ],
)
def test_reminder_hours_and_posts_per_minute_out_of_bounds_are_reported(name: str, raw: str, bounds: str) -> None:
    with pytest.raises(ConfigError) as raised:
        offline(**{name: raw})
    assert raised.value.problems == [f"{name} must be a whole number from {bounds}, got {raw!r}."]


def test_holidays_come_from_the_checklist_file_with_a_workspace_override(tmp_path: Path) -> None:
    path = tmp_path / "checklist.yaml"
    path.write_text(
        "holidays: [2027-01-01, '2027-12-24']\n"
        "workspaces:\n"
        f"  {TEAM_ID}:\n    holidays: [2027-01-05]\n"
        "  T0OTHER:\n    gates: {}\n"
        "  T0NONE:\n    holidays: []\n"
    )
    checklist = offline(HANDOFF_CHECKLIST=str(path)).checklist
    assert checklist.default.holidays == {date(2027, 1, 1), date(2027, 12, 24)}
    assert checklist.for_team(TEAM_ID).holidays == {date(2027, 1, 5)}
    assert checklist.for_team("T0OTHER").holidays == checklist.default.holidays  # no list of its own: the file's
    assert checklist.for_team("T0NONE").holidays == frozenset()
    assert checklist.for_team("T0UNLISTED").holidays == checklist.default.holidays


@pytest.mark.parametrize("bad", ["'2027-02-30'", "soon", "2027-02-30", "2027-13-01"])
def test_a_bad_holiday_is_reported_as_a_problem(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "checklist.yaml"
    path.write_text(f"holidays: [2027-01-01, {bad}]\n")
    with pytest.raises(ConfigError) as raised:
        offline(HANDOFF_CHECKLIST=str(path))
    assert any("holidays" in p and str(path) in p for p in raised.value.problems), raised.value.problems


def test_the_standup_job_skips_the_workspaces_own_holidays(tmp_path: Path, serve_app: ServeApp) -> None:
    path = tmp_path / "checklist.yaml"
    path.write_text(f"holidays: [2027-01-06]\nworkspaces:\n  {TEAM_ID}:\n    holidays: [2027-01-05]\n")
    with serve_app(checklist=load_checklist_file(str(path))) as running:
        create(running, NEW_CHURN)
        running.clock.set(datetime(2027, 1, 5, 9, 30, tzinfo=UTC))  # the workspace's holiday: no prompt
        running.app.standups.run_due()
        running.settle()
        assert prompt_dms(running) == []
        prompt_on(running, datetime(2027, 1, 6, 9, 30, tzinfo=UTC))  # only the file's holiday: replaced


# --- participation in `status` ----------------------------------------------------------------------------


def test_status_shows_standup_participation_once_prompts_exist(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    none_yet = run(running, "status churn")[0].text
    assert "Standups" not in none_yet and ":sunrise:" not in none_yet

    tuesday, _ = prompt_on(running, datetime(2027, 1, 5, 9, 30, tzinfo=UTC))
    running.clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=UTC))
    answer(running, tuesday, "Feature store work", "Needed a replica")
    wednesday, _ = prompt_on(running, datetime(2027, 1, 6, 9, 30, tzinfo=UTC))
    running.clock.set(datetime(2027, 1, 6, 11, 0, tzinfo=UTC))
    answer(running, wednesday, "Retraining")
    prompt_on(running, datetime(2027, 1, 7, 9, 30, tzinfo=UTC))  # Thursday: never answered

    running.clock.set(datetime(2027, 1, 8, 9, 0, tzinfo=UTC))  # Friday, before its prompt: three days are due
    shown = run(running, "status churn")[0].text
    lines = [line for line in shown.splitlines() if "Standups:" in line]
    assert lines == [":sunrise: Standups: 2 of the last 3 answered (67%) · median 60 min to answer"]
