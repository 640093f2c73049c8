"""The "Add a KPI" step of a status card's menu, end to end over signed HTTP: the form agrees a KPI through the same
step as `/handoff kpi add` (the KPI row, the thread's post, the private answer), marks what that command would refuse
before it closes, refuses whom the command refuses, and opens in place of a reading when no KPI is agreed yet."""

from __future__ import annotations

from typing import Any

from bot import ids
from storage.models import Kpi
from tests.conftest import RunningApp
from tests.e2e.test_card_menu import churn, first_line, pick, private_to, submit, thread_texts
from tests.support.e2e import Thread, private_answer, replies, run
from tests.support.factories import rows
from tests.support.workspace import ALICE, BOB, DAVE, ROBOT

__all__ = ["churn"]  # the fixture, shared with the menu's other tests

AUC = "AUC on holdout"
VALID = {ids.BLOCK_KPI_NAME: AUC, ids.BLOCK_KPI_DIRECTION: ">=", ids.BLOCK_KPI_TARGET: "0,82"}


def add_kpi_form(running: RunningApp, *, user: str = ALICE) -> dict[str, Any]:
    picked = pick(running, "kpi", user=user)
    assert picked.answers == []
    [reset] = picked.resets
    assert reset["blocks"], "the card is shown afresh, its menu unpicked"
    return picked.view


def errors_of(running: RunningApp, view: dict[str, Any], changes: dict[str, Any]) -> dict[str, str]:
    answer = submit(running, view, changes)
    assert answer["response_action"] == "errors", answer
    return answer["errors"]


def test_add_a_kpi_comes_before_the_reading_and_opens_its_form(running: RunningApp, churn: Thread) -> None:
    view = add_kpi_form(running)

    assert view["callback_id"] == ids.VIEW_ADD_KPI
    assert (view["title"]["text"], view["submit"]["text"]) == ("Add a KPI", "Agree")
    assert (
        view["blocks"][0]["text"]["text"] == "A KPI for *Churn model v2*: the agreed measure of good, with its target."
    )
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        ids.BLOCK_KPI_NAME,
        ids.BLOCK_KPI_DIRECTION,
        ids.BLOCK_KPI_TARGET,
        ids.BLOCK_KPI_UNIT,
        ids.BLOCK_KPI_OWNER,
        ids.BLOCK_KPI_SOURCE,
        ids.BLOCK_KPI_EXPERIMENT,
        ids.BLOCK_KPI_METRIC,
        ids.BLOCK_KPI_RUN,
        ids.BLOCK_KPI_FILTER,
        ids.BLOCK_KPI_MODEL,
        ids.BLOCK_KPI_ALIAS,
        ids.BLOCK_KPI_QUERY,
    ]
    assert [inputs[b]["optional"] for b in inputs] == [False, False, False] + [True] * 10
    direction = inputs[ids.BLOCK_KPI_DIRECTION]["element"]
    assert direction["type"] == "static_select"
    assert [(o["text"]["text"], o["value"]) for o in direction["options"]] == [
        ("Higher is better (>=)", ">="),
        ("Lower is better (<=)", "<="),
    ]
    assert inputs[ids.BLOCK_KPI_TARGET]["element"]["type"] == "plain_text_input"  # read as the command reads it
    assert inputs[ids.BLOCK_KPI_OWNER]["element"]["type"] == "users_select"


def test_the_form_agrees_the_kpi_as_the_command_does(running: RunningApp, churn: Thread) -> None:
    view = add_kpi_form(running)
    posted = len(replies(running, churn))

    agreed = submit(running, view, {**VALID, ids.BLOCK_KPI_UNIT: " % ", ids.BLOCK_KPI_OWNER: BOB})

    assert agreed == {}
    [kpi] = rows(running.engine, Kpi)
    assert (kpi.name, kpi.direction, kpi.target, kpi.unit, kpi.owner_id, kpi.created_by) == (
        AUC,
        ">=",
        0.82,
        "%",
        BOB,
        ALICE,
    )
    assert len(replies(running, churn)) == posted + 1
    assert thread_texts(running, churn)[-1] == (
        f":dart: <@{ALICE}> agreed a KPI for *Churn model v2*: *{AUC}* &gt;= 0.82% · owner <@{BOB}>"
    )
    assert first_line(private_to(running, ALICE)[-1]) == (
        f":white_check_mark: Agreed *{AUC}* &gt;= 0.82% for *Churn model v2* (`0,82` read as 0.82). "
        f'Record readings with `/handoff kpi record churn "{AUC}" &lt;value&gt;`, '
        "or with *Record a KPI reading* in the *Next step…* menu of its status card."
    )

    # With a KPI agreed, the reading step opens the reading form for it.
    reading = pick(running, "reading").view
    assert reading["callback_id"] == ids.VIEW_RECORD_READING


def test_the_form_marks_what_the_command_would_refuse_and_writes_nothing(running: RunningApp, churn: Thread) -> None:
    run(running, f'kpi add churn "{AUC}" &gt;= 0.8')
    view = add_kpi_form(running)
    kpis, posted = len(rows(running.engine, Kpi)), len(replies(running, churn))

    # Each message is the command's own, as its answer shows it.
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "auc ON holdout"}) == {
        ids.BLOCK_KPI_NAME: 'Churn model v2 already has a KPI called "auc ON holdout".'
    }
    command = private_answer(running, 'kpi add churn "auc ON holdout" &gt;= 0.9')
    assert '*Churn model v2* already has a KPI called "auc ON holdout".' in command
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "   "}) == {
        ids.BLOCK_KPI_NAME: 'The KPI needs a name, in quotes: e.g. `"AUC on holdout"`.'
    }
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "x" * 81}) == {
        ids.BLOCK_KPI_NAME: "The name is 81 characters long; the limit is 80."
    }
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "Recall", ids.BLOCK_KPI_TARGET: "high"}) == {
        ids.BLOCK_KPI_TARGET: '"high" is not a number; the target must be one, like 0.82 or 120.'
    }
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "Users", ids.BLOCK_KPI_TARGET: "1,000"}) == {
        ids.BLOCK_KPI_TARGET: '"1,000" could mean 1000 or 1.000; type the target as `1000` or `1.000`.'
    }
    assert errors_of(
        running, view, {**VALID, ids.BLOCK_KPI_NAME: "Latency", ids.BLOCK_KPI_UNIT: "milliseconds at p95"}
    ) == {ids.BLOCK_KPI_UNIT: "A unit is 1 to 16 characters, like `%` or `ms`."}
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "Recall", ids.BLOCK_KPI_DIRECTION: None}) == {
        ids.BLOCK_KPI_DIRECTION: "Pick whether higher or lower is better."
    }
    # A crafted submission with a direction the command does not take.
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: "Recall", ids.BLOCK_KPI_DIRECTION: ">"}) == {
        ids.BLOCK_KPI_DIRECTION: '">" is not a direction; use `>=` (higher is better) or `<=` (lower is better).'
    }
    # Several at once, each on its own field.
    assert errors_of(running, view, {**VALID, ids.BLOCK_KPI_NAME: AUC, ids.BLOCK_KPI_TARGET: "high"}) == {
        ids.BLOCK_KPI_NAME: f'Churn model v2 already has a KPI called "{AUC}".',
        ids.BLOCK_KPI_TARGET: '"high" is not a number; the target must be one, like 0.82 or 120.',
    }

    assert (len(rows(running.engine, Kpi)), len(replies(running, churn))) == (kpis, posted)


def test_whom_kpi_add_refuses_the_form_refuses_with_the_same_answer(running: RunningApp, churn: Thread) -> None:
    posted = len(replies(running, churn))

    # Dave has no part in the initiative: only its managers may agree KPIs.
    view = add_kpi_form(running, user=DAVE)
    assert submit(running, view, VALID, user=DAVE) == {}
    refusal = private_answer(running, f'kpi add churn "{AUC}" &gt;= 0,82', user=DAVE)
    assert "agree KPIs" in refusal
    assert first_line(private_to(running, DAVE)[-1]) == first_line(refusal)

    # A bot cannot own a KPI, picked in the form or mentioned in the command.
    view = add_kpi_form(running)
    assert submit(running, view, {**VALID, ids.BLOCK_KPI_OWNER: ROBOT}) == {}
    refusal = private_answer(running, f'kpi add churn "{AUC}" &gt;= 0,82 owner:<@{ROBOT}|robot>')
    assert first_line(private_to(running, ALICE)[-1]) == first_line(refusal)

    assert rows(running.engine, Kpi) == []
    assert len(replies(running, churn)) == posted


def test_a_reading_without_a_kpi_opens_the_form_that_agrees_one(running: RunningApp, churn: Thread) -> None:
    picked = pick(running, "reading")

    assert picked.answers == []
    view = picked.view
    assert view["callback_id"] == ids.VIEW_ADD_KPI
    assert view["blocks"][0]["text"]["text"] == (
        "No KPI is agreed yet for *Churn model v2*, so there is nothing to record a reading of: agree one here first."
    )

    assert submit(running, view, {**VALID, ids.BLOCK_KPI_DIRECTION: "<=", ids.BLOCK_KPI_TARGET: "120"}) == {}

    [kpi] = rows(running.engine, Kpi)
    assert (kpi.name, kpi.direction, kpi.target) == (AUC, "<=", 120.0)
    assert pick(running, "reading").view["callback_id"] == ids.VIEW_RECORD_READING
