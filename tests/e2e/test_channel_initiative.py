"""This channel's initiative end to end: commands typed without the initiative in a channel that is home to one,
several or none, over signed HTTP into the real app; Slack played by FakeSlack."""

from __future__ import annotations

from typing import Any

import pytest

from storage.models import Blocker, Checkpoint, HandoffDoc, Idea, Kpi, KpiReading, StandupSettings
from tests.conftest import RunningApp
from tests.support.blockkit import all_text
from tests.support.e2e import create, load, run
from tests.support.factories import rows
from tests.support.workspace import ALICE, CAROL, CHURN, GENERAL, SECRET

CHURN_V2 = "Churn model v2"
# Carol, the embedded engineer, may change everything about it; its home is #churn.
NEW_CHURN = (
    'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol> channel:<#C0CHURN|churn>'
)
NOTE = "_Churn model v2 (`churn`), this channel's initiative_"


def answer_of(running: RunningApp, text: str, *, channel: str = CHURN, user: str = CAROL) -> dict[str, Any]:
    """The one private answer a command gets, as its payload, whether in the ack or through its response_url."""
    result, posts = run(running, text, user=user, channel=channel)
    if result.body:
        assert posts == [], "answered both in the ack and through the response_url"
        payload: dict[str, Any] = result.json
    else:
        assert len(posts) == 1, f"expected one private answer to {text!r}, got {posts!r}"
        payload = posts[0]
    assert payload.get("response_type", "ephemeral") == "ephemeral"
    return payload


def noted_answer(running: RunningApp, text: str, *, channel: str = CHURN) -> str:
    """An answer about this channel's initiative: it opens with the line saying which one it took."""
    payload = answer_of(running, text, channel=channel)
    first = payload["blocks"][0]
    assert first["type"] == "context" and first["elements"][0]["text"] == NOTE, (text, payload)
    assert payload["text"].startswith("Churn model v2 (churn), this channel's initiative\n")
    return all_text(payload)


@pytest.fixture
def churn(running: RunningApp) -> None:
    """Churn model v2 at home in #churn, and another initiative at home in #general: #churn is home to one."""
    create(running, NEW_CHURN)
    create(running, 'new "Pricing engine" ds:<@U0BOB|bob>')


# --- one initiative at home: it is the default ---------------------------------------------------------------------


def test_every_family_uses_this_channels_only_initiative_when_it_is_left_out(running: RunningApp, churn: None) -> None:
    churn_id = load(running.engine, CHURN_V2).id

    assert "is now in *research*" in noted_answer(running, 'phase research "data access granted"')
    assert load(running.engine, CHURN_V2).phase == "research"

    noted_answer(running, "edit due:2027-03-01")
    assert str(load(running.engine, CHURN_V2).target_date) == "2027-03-01"

    noted_answer(running, 'checkpoint add "Model card reviewed" due:2027-02-15')
    noted_answer(running, 'checkpoint add "Privacy review"')  # a lone quoted title that names no initiative
    assert [(c.initiative_id, c.number, c.title) for c in rows(running.engine, Checkpoint)] == [
        (churn_id, 1, "Model card reviewed"),
        (churn_id, 2, "Privacy review"),
    ]
    noted_answer(running, "checkpoint done #1")
    noted_answer(running, "checkpoint done 2")
    assert [c.status for c in rows(running.engine, Checkpoint)] == ["done", "done"]
    noted_answer(running, "checkpoint reopen 2")
    assert "Privacy review" in noted_answer(running, "checkpoints")

    noted_answer(running, 'kpi add "AUC on holdout" >= 0.82')
    noted_answer(running, 'kpi record "AUC on holdout" 0.84 "after retrain"')
    [kpi] = rows(running.engine, Kpi)
    [reading] = rows(running.engine, KpiReading)
    assert (kpi.initiative_id, kpi.name, reading.kpi_id, reading.value) == (churn_id, "AUC on holdout", kpi.id, 0.84)
    assert "AUC on holdout" in noted_answer(running, "kpis")

    noted_answer(running, 'doc add api-contract <https://wiki.example.com/churn/api> "v2 schema"')
    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.initiative_id, doc.kind, doc.url) == (churn_id, "api-contract", "https://wiki.example.com/churn/api")
    assert "https://wiki.example.com/churn/api" in noted_answer(running, "docs")
    noted_answer(running, 'checklist add fairness-review "credit decisions" for:development')
    assert "credit decisions" in noted_answer(running, "checklist")

    noted_answer(running, 'blocker "No read access to the events table" on:eng')
    [blocker] = rows(running.engine, Blocker)
    assert (blocker.initiative_id, blocker.number, blocker.direction) == (churn_id, 1, "on-eng")
    assert "No read access" in noted_answer(running, "blockers")
    noted_answer(running, "blocker resolve #b1")
    assert rows(running.engine, Blocker)[0].resolved_by == CAROL

    noted_answer(running, 'idea "Try gradient boosting"')
    noted_answer(running, 'idea outcome #i1 failed "no lift"')
    [idea] = rows(running.engine, Idea)
    assert (idea.initiative_id, idea.number, idea.outcome) == (churn_id, 1, "failed")
    assert "Try gradient boosting" in noted_answer(running, "ideas")

    noted_answer(running, "standup at 09:45 mon,wed,fri")
    noted_answer(running, "standup off")
    [standup] = rows(running.engine, StandupSettings)
    assert (standup.initiative_id, standup.enabled) == (churn_id, False)
    assert "Standup for Churn model v2" in noted_answer(running, "standup")


def test_kpi_corrections_use_this_channels_initiative_when_a_quoted_kpi_name_comes_first(
    running: RunningApp, churn: None
) -> None:
    noted_answer(running, 'kpi add "AUC on holdout" >= 0.82')
    noted_answer(running, 'kpi record "AUC on holdout" 0.84')
    noted_answer(running, 'kpi record "AUC on holdout" 0.9')

    noted_answer(running, 'kpi edit "AUC" target:0.85')
    [kpi] = rows(running.engine, Kpi)
    assert kpi.target == 0.85

    noted_answer(running, 'kpi reading remove "AUC" 2')
    assert [r.value for r in rows(running.engine, KpiReading)] == [0.9]

    noted_answer(running, 'kpi remove "AUC"')
    assert rows(running.engine, Kpi) == []


def test_a_lone_quoted_text_naming_an_initiative_exactly_opens_its_checkpoint_form(
    running: RunningApp, churn: None
) -> None:
    for text in ('checkpoint add "Pricing engine"', "checkpoint add pricing"):
        before = len(running.fake.calls_to("views.open"))
        _, posts = run(running, text, user=CAROL, channel=CHURN)
        assert posts == [], text
        [call] = running.fake.calls_to("views.open")[before:]
        assert "Pricing engine" in str(call.args["view"]), text
    assert rows(running.engine, Checkpoint) == []


def test_the_checkpoint_form_preselects_this_channels_initiative(running: RunningApp, churn: None) -> None:
    run(running, "checkpoint add", user=CAROL, channel=CHURN)
    [call] = running.fake.calls_to("views.open")
    churn_id = load(running.engine, CHURN_V2).id
    [picker] = [b for b in call.args["view"]["blocks"] if b.get("label", {}).get("text") == "Initiative"]
    assert picker["element"]["initial_option"]["value"] == str(churn_id)


def test_paused_ones_count_archived_ones_do_not_and_archive_always_needs_the_name(
    running: RunningApp, churn: None
) -> None:
    answer = all_text(answer_of(running, "archive"))
    assert "`archive` needs the initiative to archive." in answer
    assert not load(running.engine, CHURN_V2).archived

    # Paused (and cancelled) initiatives still count, as `status` in the channel still lists them.
    assert "is now in *paused*" in noted_answer(running, "phase paused")
    assert "KPIs of Churn model v2" in noted_answer(running, "kpis")

    assert ":white_check_mark:" in all_text(answer_of(running, "archive churn"))
    answer = all_text(answer_of(running, "kpis"))
    assert "`kpis` needs the initiative: no initiative has this channel as its home." in answer
    assert "Usage: `/handoff kpi list churn`" in answer


# --- several or none -----------------------------------------------------------------------------------------------


def test_several_initiatives_at_home_get_a_list_with_the_command_filled_in_and_nothing_written(
    running: RunningApp, churn: None
) -> None:
    create(running, 'new "Fraud scoring" ds:<@U0BOB|bob> eng:<@U0ALICE|alice>')  # #general: Pricing and Fraud
    posted = len(running.fake.calls_to("chat.postMessage"))

    payload = answer_of(running, 'checkpoint add "Model card" owner:<@U0CAROL|carol> due:2027-02-15', channel=GENERAL)
    text = all_text(payload)
    assert "This channel is home to several initiatives, so say which one you mean:" in text
    assert (
        '• *Fraud scoring* (`fraud`): `/handoff checkpoint add fraud "Model card" owner:@carol due:2027-02-15`' in text
    )
    assert "• *Pricing engine* (`pricing`): `/handoff checkpoint add pricing" in text
    assert "Churn model v2" not in text  # at home in #churn
    assert "<@U0CAROL|carol>" not in str(payload)

    text = all_text(answer_of(running, "checkpoint done 3", channel=GENERAL))
    assert "`/handoff checkpoint done fraud#3`" in text and "`/handoff checkpoint done pricing#3`" in text
    text = all_text(answer_of(running, "kpis", channel=GENERAL))
    assert "`/handoff kpis fraud`" in text and "`/handoff kpis pricing`" in text
    text = all_text(answer_of(running, 'idea outcome #i1 worked "lift"', channel=GENERAL))
    assert '`/handoff idea outcome fraud#i1 worked "lift"`' in text

    assert rows(running.engine, Checkpoint) == []
    assert len(running.fake.calls_to("chat.postMessage")) == posted


@pytest.mark.parametrize(
    ("text", "named", "usage"),
    [
        ("docs", "docs", "/handoff docs churn"),
        ("checkpoint done #3", "checkpoint done", "/handoff checkpoint done churn#3"),
        ('blocker "No access" on:eng', "blocker", "/handoff blocker churn"),
        ("standup off", "standup", "/handoff standup churn"),
        ("phase research", "phase", "/handoff phase churn research"),
    ],
)
def test_a_channel_home_to_none_says_the_initiative_is_needed(
    running: RunningApp, churn: None, text: str, named: str, usage: str
) -> None:
    answer = all_text(answer_of(running, text, channel=SECRET, user=ALICE))
    assert f"`{named}` needs the initiative: no initiative has this channel as its home." in answer
    assert usage in answer
    assert rows(running.engine, Blocker) == [] and rows(running.engine, StandupSettings) == []


def test_nudges_off_still_means_the_whole_channel(running: RunningApp, churn: None) -> None:
    answer = all_text(answer_of(running, "nudges off", user=ALICE))
    assert answer.startswith(f":white_check_mark: Nudges in <#{CHURN}> are off.")


# --- typos and help ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stauts", "`stauts` is not a Handoff command. Did you mean `status`?"),
        ("checkpiont add churn", "`checkpiont` is not a Handoff command. Did you mean `checkpoint`?"),
        ("kpsi", "`kpsi` is not a Handoff command. Did you mean `kpi`?"),
        ("frobnicate", "`frobnicate` is not a Handoff command."),
        ("checkpoint dnoe churn#1", '"dnoe" is not a checkpoint command. Did you mean `done`?'),
        ("kpi recrod churn AUC 0.8", '"recrod" is not a KPI command. Did you mean `record`?'),
        ("doc remvoe churn model-card", '"remvoe" is not a doc command. Did you mean `remove`?'),
        ("digest nwo", "`digest nwo` is not a digest setting. Did you mean `now`?"),
    ],
)
def test_a_typo_gets_the_nearest_command_and_the_families_not_the_whole_help(
    running: RunningApp, text: str, expected: str
) -> None:
    payload = answer_of(running, text, channel=GENERAL)
    answer = all_text(payload)
    assert expected in answer
    if text == "frobnicate":
        assert "Did you mean" not in answer
    if "Handoff command" in expected:
        assert "*kpis*  `kpi`: agreed measures of good" in answer  # the family list
        assert "Create an initiative" not in answer  # not the whole help
        assert len(str(payload)) < 3000


def test_help_alone_is_one_short_overview_of_the_families(running: RunningApp) -> None:
    payload = answer_of(running, "help", channel=GENERAL)
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == 1 and len(sections[0]) < 3000
    for family in ("initiatives", "checkpoints", "readiness", "kpis", "ideas", "blockers", "standup", "digest"):
        assert f"*{family}*" in sections[0]
    answer = all_text(payload)
    assert "`/handoff help kpi`" in answer
    assert len(answer) < 2000


@pytest.mark.parametrize(
    ("topic", "shown", "not_shown"),
    [
        ("kpi", ["/handoff kpi add churn", "/handoff kpi record churn", "/handoff kpi list churn"], ["checkpoint"]),
        ("kpis", ["/handoff kpi record churn"], ["/handoff digest"]),
        (
            "checkpoints",
            ["/handoff checkpoint done churn#3", "/handoff checkpoint mitigate churn#3", "/handoff checkpoint edit"],
            ["/handoff kpi"],
        ),
        ("digest", ["/handoff digest preview", "/handoff nudges off"], ["/handoff standup"]),
        ("nudge", ["/handoff digest at 09:30", "/handoff nudges on churn"], ["/handoff kpi"]),
        ("standup", ["/handoff standup churn off", "/handoff away 3d"], ["/handoff digest"]),
        ("blocker", ["/handoff blocker resolve churn#b1", "/handoff blockers churn"], ["/handoff idea "]),
    ],
)
def test_help_with_a_topic_shows_only_that_family(
    running: RunningApp, topic: str, shown: list[str], not_shown: list[str]
) -> None:
    payload = answer_of(running, f"help {topic}", channel=GENERAL)
    answer = all_text(payload)
    for fragment in shown:
        assert fragment in answer, fragment
    for fragment in not_shown:
        assert fragment not in answer, fragment
    assert len(answer) < 3000


def test_an_unknown_help_topic_suggests_the_nearest(running: RunningApp) -> None:
    answer = all_text(answer_of(running, "help kpsi", channel=GENERAL))
    assert "`kpsi` is not a help topic. Did you mean `kpi`?" in answer
    assert "*digest*" in answer  # and the overview
