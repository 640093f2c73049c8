"""Every answer to a command or form that takes a date names the day it understood, with its weekday, so a
misreading shows at once: `new due:`, `edit due:`, `checkpoint add … due:`, `checkpoint edit … due:`, `away`, and
the date pickers of the new-initiative and checkpoint forms.

The clock stands at Monday 2027-01-04 09:30 UTC, the workspace's zone is UTC.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import ids
from storage.models import Away, Checkpoint
from tests.conftest import RunningApp
from tests.support.blockkit import all_text
from tests.support.e2e import create, load, private_answer, run
from tests.support.workspace import ALICE, BOB, CHURN

CHURN_V2 = "Churn model v2"
NEW_CHURN = 'new "Churn model v2" channel:<#C0CHURN|churn>'


def checkpoint_due(running: RunningApp) -> date | None:
    with Session(running.engine) as session:
        return session.exec(select(Checkpoint)).one().due_date


def away_of(running: RunningApp, user: str) -> list[tuple[date, date]]:
    with Session(running.engine) as session:
        return [(a.starts, a.ends) for a in session.exec(select(Away).where(Away.user_id == user)).all()]


def opened_form(running: RunningApp, text: str, *, channel: str = CHURN) -> dict[str, Any]:
    before = len(running.fake.calls_to("views.open"))
    _, posts = run(running, text, channel=channel)
    assert posts == []
    [call] = running.fake.calls_to("views.open")[before:]
    view: dict[str, Any] = call.response["view"]
    return view


@pytest.mark.parametrize(
    ("typed", "meant", "shown"),
    [
        ("due:2027-03-01", date(2027, 3, 1), "Mon 1 Mar 2027"),
        ("due:+2w", date(2027, 1, 18), "Mon 18 Jan 2027"),
        ("due:next friday", date(2027, 1, 8), "Fri 8 Jan 2027"),
        ("due:today", date(2027, 1, 4), "Mon 4 Jan 2027"),
    ],
)
def test_new_names_the_target_date_it_understood(running: RunningApp, typed: str, meant: date, shown: str) -> None:
    answer = create(running, f"{NEW_CHURN} {typed}")

    assert f"Target date: {shown}." in answer, answer
    assert load(running.engine, CHURN_V2).target_date == meant


def test_edit_names_the_target_date_it_understood(running: RunningApp) -> None:
    create(running, NEW_CHURN)

    answer = private_answer(running, "edit churn due:2027-4-1")

    assert "Target date: Thu 1 Apr 2027." in answer, answer
    assert load(running.engine, CHURN_V2).target_date == date(2027, 4, 1)


@pytest.mark.parametrize(
    ("typed", "meant", "shown"),
    [
        ("due:2027-02-15", date(2027, 2, 15), "Mon 15 Feb 2027"),
        ("due:tomorrow", date(2027, 1, 5), "Tue 5 Jan 2027"),
        ("due:thu", date(2027, 1, 7), "Thu 7 Jan 2027"),
    ],
)
def test_checkpoint_add_names_the_due_date_it_understood(
    running: RunningApp, typed: str, meant: date, shown: str
) -> None:
    create(running, NEW_CHURN)

    answer = private_answer(running, f'checkpoint add churn "Model card reviewed" {typed}')

    assert f"Due {shown}." in answer, answer
    assert checkpoint_due(running) == meant


def test_checkpoint_edit_names_the_due_date_it_understood(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    private_answer(running, 'checkpoint add churn "Model card reviewed"')

    answer = private_answer(running, "checkpoint edit churn#1 due:+3d")

    assert "Updated `churn#1`. Due Thu 7 Jan 2027." in answer, answer
    assert checkpoint_due(running) == date(2027, 1, 7)


@pytest.mark.parametrize(
    ("typed", "meant", "shown"),
    [
        ("away 2027-01-11 2027-01-15", (date(2027, 1, 11), date(2027, 1, 15)), "Mon 11 Jan 2027 to Fri 15 Jan 2027"),
        ("away 2w", (date(2027, 1, 4), date(2027, 1, 17)), "Mon 4 Jan 2027 to Sun 17 Jan 2027"),
        ("away fri", (date(2027, 1, 8), date(2027, 1, 8)), "Fri 8 Jan 2027 to Fri 8 Jan 2027"),
    ],
)
def test_away_names_the_days_it_understood_and_so_does_its_listing(
    running: RunningApp, typed: str, meant: tuple[date, date], shown: str
) -> None:
    answer = private_answer(running, typed, user=BOB)

    assert f"Away from {shown}" in answer, answer
    assert away_of(running, BOB) == [meant]
    assert f"Away (no standup prompts): {shown}." in private_answer(running, "away", user=BOB)


def test_the_new_initiative_forms_date_picker_is_answered_with_the_day(running: RunningApp) -> None:
    view = opened_form(running, "new")
    values = {block["block_id"]: {ids.INPUT_ACTION: {"type": block["element"]["type"]}} for block in view["blocks"]}
    values[ids.BLOCK_NEW_NAME][ids.INPUT_ACTION]["value"] = CHURN_V2
    values[ids.BLOCK_NEW_CHANNEL][ids.INPUT_ACTION]["selected_conversation"] = CHURN
    values[ids.BLOCK_NEW_DUE][ids.INPUT_ACTION]["selected_date"] = "2027-03-05"

    result = running.slack.submit_view(view, values, response_channel=CHURN)
    assert (result.status, result.body) == (200, "")
    running.settle()

    [answer] = [p.body for p in running.fake.response_posts if "Created" in all_text(p.body)]
    assert "Target date: Fri 5 Mar 2027." in all_text(answer)
    assert load(running.engine, CHURN_V2).target_date == date(2027, 3, 5)


def test_the_checkpoint_forms_date_picker_is_answered_with_the_day(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    view = opened_form(running, "checkpoint add")
    picked = next(b for b in view["blocks"] if b["block_id"] == ids.BLOCK_CHECKPOINT_INITIATIVE)["element"]
    values = {
        block["block_id"]: {block["element"]["action_id"]: {"type": block["element"]["type"]}}
        for block in view["blocks"]
    }
    values[ids.BLOCK_CHECKPOINT_INITIATIVE][picked["action_id"]]["selected_option"] = picked["initial_option"]
    values[ids.BLOCK_CHECKPOINT_TITLE][ids.INPUT_ACTION]["value"] = "Model card reviewed"
    values[ids.BLOCK_CHECKPOINT_DUE][ids.INPUT_ACTION]["selected_date"] = "2027-02-19"

    result = running.slack.submit_view(view, values)
    assert (result.status, result.body) == (200, "")
    running.settle()

    [told] = [c.args for c in running.fake.calls_to("chat.postEphemeral") if c.args["user"] == ALICE]
    assert "Added `churn#1` *Model card reviewed*. Due Fri 19 Feb 2027." in all_text(told)
    assert checkpoint_due(running) == date(2027, 2, 19)
