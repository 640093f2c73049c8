"""**Share in channel** on every private answer besides status, end to end: the button on the answer, the channel's
copy posted through the response_url with the same content (read again when shared), and the private copy deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot import ids
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import click, create, private_answer
from tests.support.workspace import ALICE, BOB, GENERAL

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>'


@pytest.fixture
def churn(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    for change in (
        'checkpoint add churn "Model card reviewed" due:2027-02-15',
        'kpi add churn "AUC on holdout" >= 0.82',
        'idea churn "Try gradient boosting"',
        'blocker churn "No read access" on:eng',
        "doc add churn ds-summary https://wiki.example.com/churn/summary",
    ):
        assert ":white_check_mark:" in private_answer(running, change), change


def without_share(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks as a person reads them, minus the Share button (and an actions block it sat in alone)."""
    kept = []
    for block in blocks:
        if block["type"] == "actions":
            elements = [e for e in block["elements"] if e.get("action_id") != ids.ACTION_SHARE_ANSWER]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return kept


@pytest.mark.parametrize(
    ("command", "view", "subject", "heading"),
    [
        ("checkpoints churn", "checkpoints", "churn", "Checkpoints: Churn model v2"),
        ("checkpoint list churn", "checkpoints", "churn", "Checkpoints: Churn model v2"),
        ("kpis churn", "kpis", "churn", "KPIs: Churn model v2"),
        ("kpi list churn", "kpis", "churn", "KPIs: Churn model v2"),
        ("docs churn", "checklist", "churn", "Handoff checklist: Churn model v2"),
        ("checklist churn", "checklist", "churn", "Handoff checklist: Churn model v2"),
        ("ideas churn", "ideas", "churn", "Ideas tried: Churn model v2"),
        ("ideas search boosting", "idea-search", "boosting", "Ideas matching: boosting"),
        ("blockers churn", "blockers", "churn", "Open blockers: Churn model v2"),
    ],
)
def test_share_posts_the_same_answer_in_the_channel_and_deletes_the_private_copy(
    running: RunningApp, churn: None, command: str, view: str, subject: str, heading: str
) -> None:
    private = running.slack.command(command)
    assert private.status == 200 and private.json.get("response_type", "ephemeral") == "ephemeral"
    assert private.json["blocks"][0]["text"]["text"] == heading
    [value] = button_values(private.json, ids.ACTION_SHARE_ANSWER)
    assert json.loads(value) == {"v": view, "s": subject}

    shared, deleted = click(running, ids.ACTION_SHARE_ANSWER, value, user=BOB, channel=GENERAL)

    assert (shared["response_type"], shared["replace_original"]) == ("in_channel", False)
    assert shared["text"] == private.json["text"]
    assert shared["blocks"][:-1] == without_share(private.json["blocks"])
    assert shared["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Shared by <@{BOB}>"}],
    }
    assert ids.ACTION_SHARE_ANSWER not in json.dumps(shared)
    assert deleted["delete_original"] is True


def test_the_channel_sees_the_answer_as_it_is_when_shared(running: RunningApp, churn: None) -> None:
    private = running.slack.command("blockers churn")
    [value] = button_values(private.json, ids.ACTION_SHARE_ANSWER)
    private_answer(running, "blocker resolve churn#b1", user=ALICE)

    shared, _deleted = click(running, ids.ACTION_SHARE_ANSWER, value, user=BOB)

    assert "No read access" in all_text(private.json)
    assert "Nothing blocks *Churn model v2* right now." in all_text(shared)


def test_a_share_button_whose_initiative_is_gone_or_unreadable_answers_privately(running: RunningApp) -> None:
    [gone] = click(running, ids.ACTION_SHARE_ANSWER, json.dumps({"v": "kpis", "s": "pricing"}))
    assert gone["response_type"] == "ephemeral" and 'No initiative called "pricing"' in all_text(gone)

    [unreadable] = click(running, ids.ACTION_SHARE_ANSWER, "not json")
    assert unreadable["response_type"] == "ephemeral" and "run the command again" in unreadable["text"]
