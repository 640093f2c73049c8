"""Typing gets friendlier: a mistyped alias, action or setting is answered with the nearest one, privately, and
nothing is written; also where the initiative is left out in its home channel."""

from __future__ import annotations

import pytest

from storage.models import Blocker, Idea, StandupSettings
from tests.conftest import RunningApp
from tests.support.e2e import create, private_answer, row_counts
from tests.support.factories import rows
from tests.support.workspace import CAROL, CHURN, GENERAL

NEW_CHURN = 'new "Churn model v2" embedded:<@U0CAROL|carol> channel:<#C0CHURN|churn>'


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        ("checkpionts churn", GENERAL, "`checkpionts` is not a Handoff command. Did you mean `checkpoints`?"),
        ("nudgse off", GENERAL, "`nudgse` is not a Handoff command. Did you mean `nudge`?"),
        ("kpsi churn", GENERAL, "`kpsi` is not a Handoff command. Did you mean `kpi`?"),
        ("checkpoint dnoe #1", CHURN, '"dnoe" is not a checkpoint command. Did you mean `done`?'),
        (
            "idea outcmoe churn#i1 worked",
            GENERAL,
            'No initiative called "outcmoe" in this workspace. Did you mean `outcome`?',
        ),
        ("idea outcmoe #i1 worked", CHURN, 'No initiative called "outcmoe" in this workspace. Did you mean `outcome`?'),
        (
            "blocker reslove churn#b1",
            GENERAL,
            'No initiative called "reslove" in this workspace. Did you mean `resolve`?',
        ),
        (
            "standup churn of",
            GENERAL,
            "`of` is not a standup setting: use at, on, off or questions. Did you mean `off`?",
        ),
        (
            "checklist waiv privacy-review",
            CHURN,
            'No initiative called "waiv privacy-review" in this workspace. Did you mean `waive`?',
        ),
        ("standup of", CHURN, 'No initiative called "of" in this workspace. Did you mean `off`?'),
    ],
)
def test_a_mistyped_word_gets_the_nearest_one_and_changes_nothing(
    running: RunningApp, text: str, channel: str, expected: str
) -> None:
    create(running, NEW_CHURN)
    before = row_counts(running.engine)

    answer = private_answer(running, text, channel=channel, user=CAROL)

    assert expected in answer, answer
    assert row_counts(running.engine) == before
    assert rows(running.engine, Idea) == [] and rows(running.engine, Blocker) == []
    assert all(s.enabled for s in rows(running.engine, StandupSettings))


@pytest.mark.parametrize(
    ("text", "unknown"),
    [('idea pricing "Try boosting"', "pricing"), ('checkpoint add churm "Model card"', "churm")],
)
def test_an_unknown_initiative_that_is_no_typo_of_an_action_gets_no_suggestion(
    running: RunningApp, text: str, unknown: str
) -> None:
    answer = private_answer(running, text)

    assert f'No initiative called "{unknown}" in this workspace.' in answer, answer
    assert "Did you mean" not in answer
