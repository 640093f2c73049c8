"""One rule names an initiative in every command, end to end: an exact reference key or exact name wins, then an
unambiguous prefix of a name or key; several matches get the list and change nothing.

"Churn alerts" gets the key `churn` and "Churn model v2" `churn2`: `churn` is at once the exact key of the first and
a prefix of both names, the case that used to move one initiative with `phase` and be called ambiguous by `edit`.
"""

from __future__ import annotations

import pytest

from storage.models import Phase
from tests.conftest import RunningApp
from tests.support.e2e import create, load, private_answer
from tests.support.workspace import ALICE, BOB

ALERTS = "Churn alerts"
MODEL = "Churn model v2"


@pytest.fixture
def two_churns(running: RunningApp) -> RunningApp:
    create(running, f'new "{ALERTS}" ds:<@{ALICE}|alice> eng:<@{BOB}|bob>')
    create(running, f'new "{MODEL}" ds:<@{ALICE}|alice> eng:<@{BOB}|bob>')
    assert (load(running.engine, ALERTS).ref_key, load(running.engine, MODEL).ref_key) == ("churn", "churn2")
    return running


def test_an_exact_key_wins_over_a_prefix_in_every_command(two_churns: RunningApp) -> None:
    running = two_churns

    assert "is now in *research*" in private_answer(running, "phase churn research")
    assert "Updated goal" in private_answer(running, 'edit churn goal:"Fewer false alarms"')
    assert ":white_check_mark:" in private_answer(running, 'checkpoint add churn "Alert rules reviewed"')
    assert "Churn alerts" in private_answer(running, "status churn")

    alerts, model = load(running.engine, ALERTS), load(running.engine, MODEL)
    assert (alerts.phase, alerts.goal) == (Phase.RESEARCH, "Fewer false alarms")
    assert (model.phase, model.goal) == (Phase.DISCOVERY, None)


def test_the_other_key_finds_its_initiative_in_every_command(two_churns: RunningApp) -> None:
    running = two_churns

    assert "is now in *research*" in private_answer(running, "phase churn2 research")
    assert "Updated goal" in private_answer(running, "edit churn2 goal:x")
    assert "archived" in private_answer(running, "archive churn2").lower()

    model = load(running.engine, MODEL)
    assert (model.phase, model.goal, model.archived) == (Phase.RESEARCH, "x", True)
    assert not load(running.engine, ALERTS).archived


def test_a_prefix_of_a_key_or_a_name_is_enough_when_only_one_matches(two_churns: RunningApp) -> None:
    running = two_churns

    assert "is now in *research*" in private_answer(running, 'phase "churn m" research')
    assert "Updated goal" in private_answer(running, "edit churn a goal:y")  # a name's prefix: "Churn a…"

    assert load(running.engine, MODEL).phase == Phase.RESEARCH
    assert load(running.engine, ALERTS).goal == "y"


def test_a_prefix_of_both_lists_them_with_their_keys_and_changes_nothing(two_churns: RunningApp) -> None:
    running = two_churns

    for command in ("phase chu research", "edit chu goal:z", "archive chu", 'checkpoint add chu "Shared title"'):
        answer = private_answer(running, command)
        assert "matches more than one initiative" in answer, (command, answer)
        assert f'"{ALERTS}" (`churn`)' in answer and f'"{MODEL}" (`churn2`)' in answer, (command, answer)

    for name in (ALERTS, MODEL):
        initiative = load(running.engine, name)
        assert (initiative.phase, initiative.goal, initiative.archived) == (Phase.DISCOVERY, None, False)
