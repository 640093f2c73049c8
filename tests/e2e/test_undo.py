"""Undo and `unarchive`, end to end: the answer to `archive`, `checkpoint remove` and `doc remove` carries an Undo
button that puts back what was taken, for the same people who may take it, told in the thread; `unarchive` finds
archived initiatives by key or name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot import ids
from storage.models import Checkpoint, HandoffDoc
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import click, create, kickoff_of, load, private_answer, run
from tests.support.workspace import ALICE, BOB, DAVE, GENERAL

CHURN_V2 = "Churn model v2"
NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>'
SUMMARY_URL = "https://wiki.example.com/churn/summary"


@pytest.fixture
def churn(running: RunningApp) -> None:
    create(running, NEW_CHURN)


def answer_with_undo(running: RunningApp, text: str, *, user: str = ALICE) -> tuple[dict[str, Any], str]:
    """The private answer to a change, and the value of its Undo button."""
    _ack, posts = run(running, text, user=user)
    [answer] = posts
    assert answer["response_type"] == "ephemeral"
    [value] = button_values(answer, ids.ACTION_UNDO)
    return answer, value


def thread_lines(running: RunningApp) -> list[str]:
    kickoff = kickoff_of(running, CHURN_V2)
    return [m.text for m in running.fake.messages_in(GENERAL, thread_ts=kickoff.ts)[1:]]


def the_checkpoints(running: RunningApp) -> list[Checkpoint]:
    with Session(running.engine) as session:
        return list(session.exec(select(Checkpoint).order_by(col(Checkpoint.number))).all())


def the_docs(running: RunningApp) -> list[HandoffDoc]:
    with Session(running.engine) as session:
        return list(session.exec(select(HandoffDoc).order_by(col(HandoffDoc.id))).all())


# --- archive and unarchive ----------------------------------------------------------------------------------------


def test_archive_answers_with_undo_which_unarchives_for_the_same_people(running: RunningApp, churn: None) -> None:
    answer, value = answer_with_undo(running, "archive churn")
    assert all_text(answer).startswith(":white_check_mark: Archived *Churn model v2*.")
    assert "`/handoff unarchive churn` brings it back" in all_text(answer)
    assert json.loads(value) == {"u": "unarchive", "s": "churn"}
    assert load(running.engine, CHURN_V2).archived

    [refused] = click(running, ids.ACTION_UNDO, value, user=DAVE)
    assert (refused["response_type"], refused["replace_original"]) == ("ephemeral", False)
    assert "can unarchive it" in all_text(refused) and load(running.engine, CHURN_V2).archived

    [undone] = click(running, ids.ACTION_UNDO, value, user=BOB)
    assert (undone["response_type"], undone["replace_original"]) == ("ephemeral", True)
    assert undone["text"] == ":white_check_mark: Unarchived *Churn model v2*; it is back in status and lists."
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.archived, initiative.archived_at, initiative.updated_by) == (False, None, BOB)
    assert "*Churn model v2* `churn`" in running.slack.command("list").text
    assert thread_lines(running) == ["Churn model v2 was archived", "Churn model v2 was unarchived"]

    [again] = click(running, ids.ACTION_UNDO, value, user=BOB)
    assert again["replace_original"] is False and '"Churn model v2" is not archived.' in all_text(again)


def test_unarchive_finds_archived_initiatives_by_key_or_name_and_tells_the_thread(
    running: RunningApp, churn: None
) -> None:
    create(running, "new Pricing engine")
    private_answer(running, "archive churn")
    private_answer(running, "archive pricing")
    edit = private_answer(running, 'edit "Churn model v2" goal:x')
    assert '"Churn model v2" is archived; `/handoff unarchive churn` brings it back first.' in edit

    refused = private_answer(running, "unarchive churn", user=DAVE)
    assert "can unarchive it" in refused and load(running.engine, CHURN_V2).archived

    assert private_answer(running, "unarchive churn").startswith(":white_check_mark: Unarchived *Churn model v2*")
    assert private_answer(running, "unarchive pric").startswith(":white_check_mark: Unarchived *Pricing engine*")
    assert not load(running.engine, "Pricing engine").archived
    assert thread_lines(running)[-1] == "Churn model v2 was unarchived"
    assert '"Churn model v2" is not archived.' in private_answer(running, "unarchive Churn model v2")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("unarchive", "`unarchive` needs the archived initiative to bring back."),
        ("unarchive search", 'No initiative called "search"'),
    ],
)
def test_unarchive_mistakes_get_a_private_answer_with_the_usage(
    running: RunningApp, churn: None, text: str, problem: str
) -> None:
    answer = private_answer(running, text)
    assert problem in answer and "/handoff unarchive churn" in answer


# --- checkpoint remove and doc remove ----------------------------------------------------------------------------


def test_undo_of_checkpoint_remove_puts_it_back_with_its_number(running: RunningApp, churn: None) -> None:
    private_answer(running, 'checkpoint add churn "Model card reviewed"')
    answer, value = answer_with_undo(running, "checkpoint remove churn#1")
    assert "Removed `churn#1`. Its number is not reused. *Undo* puts it back." in all_text(answer)
    assert json.loads(value) == {"u": "checkpoint", "s": str(the_checkpoints(running)[0].id)}

    [refused] = click(running, ids.ACTION_UNDO, value, user=DAVE)
    assert refused["replace_original"] is False and "can restore checkpoints" in all_text(refused)
    assert the_checkpoints(running)[0].removed_at is not None

    [undone] = click(running, ids.ACTION_UNDO, value, user=BOB)
    assert undone["replace_original"] is True
    assert undone["text"] == ":white_check_mark: `churn#1` *Model card reviewed* is back on the list."
    [restored] = the_checkpoints(running)
    assert (restored.number, restored.removed_by, restored.removed_at) == (1, None, None)
    assert "`churn#1`" in running.slack.command("checkpoints churn").text
    assert thread_lines(running)[-2:] == ["Churn model v2: churn#1 removed", "Churn model v2: churn#1 restored"]
    assert "Added `churn#2`" in private_answer(running, 'checkpoint add churn "Shadow traffic"')

    [again] = click(running, ids.ACTION_UNDO, value, user=BOB)
    assert "on the list already" in all_text(again)


def test_undo_of_doc_remove_puts_it_back_unless_added_again(running: RunningApp, churn: None) -> None:
    private_answer(running, f"doc add churn ds-summary <{SUMMARY_URL}>", user=DAVE)
    _answer, value = answer_with_undo(running, "doc remove churn ds-summary")
    [doc] = the_docs(running)
    assert json.loads(value) == {"u": "doc", "s": str(doc.id)}

    [undone] = click(running, ids.ACTION_UNDO, value, user=DAVE)  # who added it may put it back
    assert undone["text"] == ":white_check_mark: The DS summary doc of *Churn model v2* is back."
    assert [(d.removed_by, d.removed_at) for d in the_docs(running)] == [(None, None)]
    assert ":white_check_mark: *DS summary*" in running.slack.command("docs churn").text
    assert thread_lines(running)[-1] == "Churn model v2: DS summary restored"

    _answer, value = answer_with_undo(running, "doc remove churn ds-summary")
    private_answer(running, f"doc add churn ds-summary <{SUMMARY_URL}>")
    [refused] = click(running, ids.ACTION_UNDO, value, user=ALICE)
    assert refused["replace_original"] is False and "was added again since" in all_text(refused)
    assert [d.removed_at is None for d in the_docs(running)] == [False, True]
