"""Reference keys of names in any language, end to end: made from the first word (Latin accents folded to ASCII,
other scripts kept), shown in the kickoff and every status card, and usable in commands and `key#3` references."""

from __future__ import annotations

import pytest

from storage.initiatives import ref_key_base
from tests.conftest import RunningApp
from tests.support.e2e import create, kickoff_of, load, private_answer
from tests.support.workspace import GENERAL

PREVISION, UBERSETZUNG, NIHONGO = "Prévision des ventes 📈", "Übersetzung Modell", "日本語モデル"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (PREVISION, "prevision"),
        (UBERSETZUNG, "ubersetzung"),
        (NIHONGO, "日本語モデル"),
        ("Straße der Modelle", "strasse"),
        ("Łódź demand", "lodz"),
        ("Прогноз оттока", "прогноз"),
        ("📈 Forecast", "forecast"),
        ("A/B test of ranking", "test"),  # a lone letter is never the key
        ("A/B", "ab"),
        ("📈📈", "initiative"),
        ("Churn model v2", "churn"),
        # 16 columns, a wide character counting two: eight of a long Japanese word.
        ("顧客離反予測モデルの改善", "顧客離反予測モデ"),
    ],
)
def test_a_key_is_the_first_word_folded_to_ascii_or_kept_in_its_own_script(name: str, key: str) -> None:
    assert ref_key_base(name) == key


def test_non_ascii_names_get_keys_shown_everywhere_and_usable_in_commands(running: RunningApp) -> None:
    for name in (PREVISION, UBERSETZUNG, NIHONGO):
        create(running, f'new "{name}" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>')
    keys = {name: load(running.engine, name).ref_key for name in (PREVISION, UBERSETZUNG, NIHONGO)}
    assert keys == {PREVISION: "prevision", UBERSETZUNG: "ubersetzung", NIHONGO: "日本語モデル"}

    kickoff = kickoff_of(running, NIHONGO)
    assert (kickoff.blocks or [])[-1]["elements"][0]["text"].startswith(
        "Key `日本語モデル`: commands take it (`/handoff status 日本語モデル`), "
        "and its checkpoints are `日本語モデル#1`"
    )
    channel_cards = private_answer(running, "status")
    workspace_cards = private_answer(running, "list")
    for name, key in keys.items():
        assert f"*{name}* `{key}` · discovery for 0 days" in channel_cards
        assert f"*{name}* `{key}` · discovery for 0 days" in workspace_cards
    assert "*Key:* `ubersetzung`" in private_answer(running, "status ubersetzung")

    added = private_answer(running, 'checkpoint add 日本語モデル "Model card reviewed"')
    assert added.startswith(":white_check_mark: Added `日本語モデル#1` *Model card reviewed*.")
    done = private_answer(running, "checkpoint done 日本語モデル#1")
    assert "`日本語モデル#1` *Model card reviewed* is done." in done
    assert "Logged `prevision#i1`" in private_answer(running, 'idea prevision "Seasonal naive baseline"')
    assert "`prevision#i1` worked." in private_answer(running, "idea outcome Prévision#i1 worked")
    assert "Reported `ubersetzung#b1`" in private_answer(running, 'blocker Übersetzung "No GPU quota"')
    assert "Resolved `ubersetzung#b1`." in private_answer(running, "blocker resolve Übersetzung#b1")
    assert load(running.engine, NIHONGO).home_channel_id == GENERAL
