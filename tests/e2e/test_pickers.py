"""Pickers that search as you type, end to end: the forms that pick an initiative or a checkpoint hold an
`external_select`, and Slack asks the running app for its options over signed HTTP (`block_suggestion`) as the menu
opens and with each keystroke; the answer comes in the ack, within Slack's 3 seconds (the driver checks every ack),
at most 100 options, those of the form's channel first, never another workspace's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot import ids
from bot.blocks.modals import render_link_issue_modal
from bot.blocks.pickers import initiative_picker
from storage.db import session_scope
from storage.models import Checkpoint, CheckpointStatus, HandoffDoc, Initiative
from tests.conftest import RunningApp
from tests.support.databases import drop_initiatives
from tests.support.e2e import load, run
from tests.support.factories import checkpoint_row, make_initiative, rows
from tests.support.slack_driver import TEAM_ID, HttpResult, Origin
from tests.support.workspace import ALICE, CHURN, GENERAL, OTHER_TEAM

BULK = 500
AT_HOME_IN_CHURN = ("Batch 497", "Batch 498", "Batch 499")
OTHER_WORKSPACE = Origin(installed_team_id=OTHER_TEAM, user_team_id=OTHER_TEAM)


# --- data and helpers -------------------------------------------------------------------------------------------


def seed(engine: Engine) -> None:
    """500 initiatives `Batch 000`..`Batch 499` (keys `b000`..), the last three at home in #churn, the rest in
    #general; and a few with names to search in: words after a space, a bracket and a hyphen, a key unlike the
    name, one archived, and one of another workspace that shares a name and key with ours."""
    with session_scope(engine) as session:
        for number in range(BULK):
            name = f"Batch {number:03d}"
            channel = CHURN if name in AT_HOME_IN_CHURN else GENERAL
            make_initiative(session, name=name, ref_key=f"b{number:03d}", home_channel_id=channel)
        make_initiative(session, name="Churn model v2", ref_key="churn", home_channel_id=CHURN)
        make_initiative(session, name="Customer churn (EU)", ref_key="customer", home_channel_id=GENERAL)
        make_initiative(session, name="Price-elasticity study", ref_key="price", home_channel_id=GENERAL)
        make_initiative(session, name="Next best action", ref_key="nba", home_channel_id=GENERAL)
        make_initiative(session, name="Churn archived", ref_key="churnold", home_channel_id=CHURN, archived=True)
        make_initiative(session, name="Churn model v2", ref_key="churn", home_channel_id=CHURN, team_id=OTHER_TEAM)


def opened_form(running: RunningApp, text: str, *, channel: str) -> dict[str, Any]:
    """Run a command that opens a form; the form as Slack stored it."""
    before = len(running.fake.calls_to("views.open"))
    _, posts = run(running, text, channel=channel)
    assert posts == [], f"answered instead of opening a form: {posts!r}"
    [call] = running.fake.calls_to("views.open")[before:]
    assert call.response["ok"] is True, call.response
    view: dict[str, Any] = call.response["view"]
    return view


def element_of(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    element: dict[str, Any] = block["element"]
    return element


def suggest(
    running: RunningApp, view: dict[str, Any], block_id: str, typed: str, *, origin: Origin | None = None
) -> list[dict[str, Any]]:
    """Ask for a picker's options as Slack does while someone types in it; the options the ack answers with."""
    element = element_of(view, block_id)
    assert element["type"] == "external_select" and element["min_query_length"] == 0
    kwargs: dict[str, Any] = {"origin": origin} if origin else {}
    result = running.slack.suggest_options(
        view, block_id=block_id, action_id=element["action_id"], value=typed, **kwargs
    )
    return answered_options(result)


def answered_options(result: HttpResult) -> list[dict[str, Any]]:
    assert result.status == 200, result.body
    assert set(result.json) == {"options"}, result.body
    options: list[dict[str, Any]] = result.json["options"]
    assert len(options) <= 100
    for option in options:
        assert set(option) == {"text", "value"} and option["text"]["type"] == "plain_text"
        assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150
    return options


def texts(options: list[dict[str, Any]]) -> list[str]:
    return [o["text"]["text"] for o in options]


def picked(option: dict[str, Any], action_id: str = ids.ACTION_PICK_INITIATIVE) -> dict[str, Any]:
    """An input block's state once an option of an external_select was picked, as a form submission carries it."""
    return {action_id: {"type": "external_select", "selected_option": option}}


def checkpoint_form(initiative: dict[str, Any], title: str) -> dict[str, dict[str, Any]]:
    return {
        ids.BLOCK_CHECKPOINT_INITIATIVE: picked(initiative),
        ids.BLOCK_CHECKPOINT_TITLE: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": title}},
        ids.BLOCK_CHECKPOINT_OWNER: {ids.INPUT_ACTION: {"type": "users_select", "selected_user": None}},
        ids.BLOCK_CHECKPOINT_DUE: {ids.INPUT_ACTION: {"type": "datepicker", "selected_date": None}},
        ids.BLOCK_CHECKPOINT_JIRA: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": None}},
    }


def doc_form(initiative: dict[str, Any], kind: dict[str, Any], url: str) -> dict[str, dict[str, Any]]:
    return {
        ids.BLOCK_DOC_INITIATIVE: picked(initiative),
        ids.BLOCK_DOC_KIND: {ids.INPUT_ACTION: {"type": "static_select", "selected_option": kind}},
        ids.BLOCK_DOC_URL: {ids.INPUT_ACTION: {"type": "url_text_input", "value": url}},
        ids.BLOCK_DOC_NOTE: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": None}},
    }


def by_name(engine: Engine, name: str, team_id: str | None = None) -> Initiative:
    found = rows(engine, Initiative, Initiative.name == name)
    return next(i for i in found if team_id is None or i.team_id == team_id)


def add_checkpoints(engine: Engine, name: str, *titles: str, **fields: Any) -> None:
    initiative = load(engine, name)
    with session_scope(engine) as session:
        first = len(rows(engine, Checkpoint, Checkpoint.initiative_id == initiative.id)) + 1
        for number, title in enumerate(titles, start=first):
            session.add(checkpoint_row(initiative.id or 0, number, title=title, **fields))


@pytest.fixture
def seeded(running: RunningApp) -> RunningApp:
    seed(running.engine)
    return running


# --- the initiative picker --------------------------------------------------------------------------------------


def test_the_checkpoint_form_searches_500_initiatives_as_you_type_this_channels_first(seeded: RunningApp) -> None:
    view = opened_form(seeded, "checkpoint add", channel=CHURN)  # four at home in #churn: nothing preselected
    picker = element_of(view, ids.BLOCK_CHECKPOINT_INITIATIVE)
    assert picker["action_id"] == ids.ACTION_PICK_INITIATIVE and "initial_option" not in picker
    assert json.loads(view["private_metadata"]) == {"c": CHURN}

    # The menu opens: at most 100, this channel's first by name, then the rest by name; none archived.
    opened = suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "")
    assert len(opened) == 100
    assert texts(opened)[:6] == [
        "Batch 497 (b497)",
        "Batch 498 (b498)",
        "Batch 499 (b499)",
        "Churn model v2 (churn)",
        "Batch 000 (b000)",
        "Batch 001 (b001)",
    ]
    assert texts(opened)[-1] == "Batch 095 (b095)"
    assert opened[3]["value"] == str(by_name(seeded.engine, "Churn model v2", TEAM_ID).id)

    # A prefix of the name, whatever its case; of any word in it (after a space, a bracket, a hyphen); of the key.
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "BATCH 15")) == [
        f"Batch 15{n} (b15{n})" for n in range(10)
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "churn")) == [
        "Churn model v2 (churn)",  # at home here
        "Customer churn (EU) (customer)",
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "eu")) == ["Customer churn (EU) (customer)"]
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "Elast")) == ["Price-elasticity study (price)"]
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "nb")) == ["Next best action (nba)"]
    assert texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "b49")) == [
        "Batch 497 (b497)",
        "Batch 498 (b498)",
        "Batch 499 (b499)",
        *[f"Batch 49{n} (b49{n})" for n in range(7)],
    ]
    # Not a substring in the middle of a word; nothing archived; LIKE's wildcards are only characters.
    for nothing in ("atch", "hurn mod", "churnold", "archived", "%", "_", "b%", "x" * 1000):
        assert suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, nothing) == [], nothing


def test_another_workspace_never_sees_our_initiatives_nor_we_theirs(seeded: RunningApp) -> None:
    view = opened_form(seeded, "checkpoint add", channel=CHURN)
    ours = suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "churn")
    assert [o["value"] for o in ours] == [
        str(by_name(seeded.engine, "Churn model v2", TEAM_ID).id),
        str(by_name(seeded.engine, "Customer churn (EU)").id),
    ]

    # The same form (the same channel id, even) asked for by the other workspace's install: only its own.
    theirs = suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "", origin=OTHER_WORKSPACE)
    assert [o["value"] for o in theirs] == [str(by_name(seeded.engine, "Churn model v2", OTHER_TEAM).id)]
    assert suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "batch", origin=OTHER_WORKSPACE) == []

    # Another company's member of a Slack Connect channel picks among the install's initiatives, not their own.
    partner = Origin(user_team_id="T0PARTNER")
    assert suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "churn", origin=partner) == ours


def test_the_101st_initiative_can_be_picked_and_gets_the_checkpoint(seeded: RunningApp) -> None:
    view = opened_form(seeded, "checkpoint add", channel=GENERAL)
    assert "Batch 150 (b150)" not in texts(suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, ""))
    [option] = [o for o in suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "batch 150")]

    result = seeded.slack.submit_view(view, checkpoint_form(option, "Model card reviewed"))
    assert (result.status, result.body) == (200, "")
    seeded.settle()

    [stored] = rows(seeded.engine, Checkpoint)
    assert (stored.initiative_id, stored.number, stored.title) == (
        by_name(seeded.engine, "Batch 150").id,
        1,
        "Model card reviewed",
    )
    [told] = seeded.fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (GENERAL, ALICE)
    assert told.args["text"] == ":white_check_mark: Added `b150#1` *Model card reviewed*."


def test_the_doc_form_picks_among_500_by_key_and_adds_the_doc(seeded: RunningApp) -> None:
    view = opened_form(seeded, "doc add", channel=GENERAL)  # many at home in #general: nothing preselected
    assert "initial_option" not in element_of(view, ids.BLOCK_DOC_INITIATIVE)
    [option] = suggest(seeded, view, ids.BLOCK_DOC_INITIATIVE, "b321")
    assert option["text"]["text"] == "Batch 321 (b321)"
    [kind] = [o for o in element_of(view, ids.BLOCK_DOC_KIND)["options"] if o["value"] == "ds-summary"]

    url = "https://wiki.example.com/batch/summary"
    result = seeded.slack.submit_view(view, doc_form(option, kind, url))
    assert (result.status, result.body) == (200, "")
    seeded.settle()

    [doc] = rows(seeded.engine, HandoffDoc)
    assert (doc.initiative_id, doc.kind, doc.url) == (by_name(seeded.engine, "Batch 321").id, "ds-summary", url)


def test_a_form_naming_its_initiative_shows_it_picked_as_the_picker_offers_it(seeded: RunningApp) -> None:
    view = opened_form(seeded, "checkpoint add b321", channel=CHURN)
    [offered] = suggest(seeded, view, ids.BLOCK_CHECKPOINT_INITIATIVE, "b321")
    assert element_of(view, ids.BLOCK_CHECKPOINT_INITIATIVE)["initial_option"] == offered

    doc_view = opened_form(seeded, "doc add b321", channel=CHURN)
    assert element_of(doc_view, ids.BLOCK_DOC_INITIATIVE)["initial_option"] == offered


def test_unreadable_values_get_an_empty_answer_or_a_form_error_and_nothing_is_written(seeded: RunningApp) -> None:
    view = opened_form(seeded, "checkpoint add", channel=CHURN)

    # A form whose metadata is not ours to read still gets its options, in name order only.
    garbled = {**view, "private_metadata": "{not json"}
    assert texts(suggest(seeded, garbled, ids.BLOCK_CHECKPOINT_INITIATIVE, "churn")) == [
        "Churn model v2 (churn)",
        "Customer churn (EU) (customer)",
    ]
    for metadata in ("[1, 2]", '{"c": 42}', '"C0CHURN"'):
        options = suggest(seeded, {**view, "private_metadata": metadata}, ids.BLOCK_CHECKPOINT_INITIATIVE, "b49")
        assert texts(options)[0] == "Batch 490 (b490)"

    # A picked value that names no initiative of this workspace keeps the form open, with what is wrong.
    theirs = str(by_name(seeded.engine, "Churn model v2", OTHER_TEAM).id)
    for value in ("abc", "", "-1", "1.5", "99999999999999999999", "١٢"):
        option = {"text": {"type": "plain_text", "text": "Forged"}, "value": value}
        refused = seeded.slack.submit_view(view, checkpoint_form(option, "Model card reviewed"))
        assert refused.json == {
            "response_action": "errors",
            "errors": {ids.BLOCK_CHECKPOINT_INITIATIVE: "Pick the initiative this checkpoint belongs to."},
        }, value
    option = {"text": {"type": "plain_text", "text": "Theirs"}, "value": theirs}
    accepted = seeded.slack.submit_view(view, checkpoint_form(option, "Model card reviewed"))
    assert (accepted.status, accepted.body) == (200, "")
    seeded.settle()
    assert rows(seeded.engine, Checkpoint) == []
    [told] = seeded.fake.calls_to("chat.postEphemeral")
    assert "initiative" in told.args["text"].lower()


# --- the checkpoint picker --------------------------------------------------------------------------------------


def link_form(engine: Engine, *names: str, channel: str = CHURN) -> dict[str, Any]:
    """The form a "Link to a checkpoint" button opens for a Jira issue mentioned in these initiatives' threads."""
    initiative_ids = [load(engine, name).id or 0 for name in names]
    return render_link_issue_modal(
        issue_key="DS-42", initiative_ids=initiative_ids, any_to_pick=True, reply_to={"c": channel, "t": "1.0"}
    )


def test_the_checkpoint_picker_offers_the_open_unlinked_checkpoints_of_the_forms_initiatives(
    seeded: RunningApp,
) -> None:
    engine = seeded.engine
    add_checkpoints(engine, "Customer churn (EU)", "Feature store access", "Model card reviewed")
    add_checkpoints(engine, "Churn model v2", "Model card reviewed", "Data-privacy review")
    add_checkpoints(engine, "Churn model v2", "Shipped", status=CheckpointStatus.DONE.value)
    add_checkpoints(engine, "Churn model v2", "Tracked", jira_key="DS-7")
    add_checkpoints(engine, "Batch 001", "Not these initiatives")
    view = link_form(engine, "Churn model v2", "Customer churn (EU)")
    picker = element_of(view, ids.BLOCK_LINK_CHECKPOINT)
    assert picker["action_id"] == ids.ACTION_PICK_CHECKPOINT

    # The initiatives at home in the form's channel first; done and linked ones are not offered.
    everything = suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "")
    assert texts(everything) == [
        "churn#1 Model card reviewed",
        "churn#2 Data-privacy review",
        "customer#1 Feature store access",
        "customer#2 Model card reviewed",
    ]
    assert everything[0]["value"] == str(rows(engine, Checkpoint, Checkpoint.title == "Model card reviewed")[1].id)
    # By reference (key and number, each a prefix), by a word of the title, by the initiative's key.
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "churn#2")) == ["churn#2 Data-privacy review"]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "#1")) == [
        "churn#1 Model card reviewed",
        "customer#1 Feature store access",
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "cust#")) == [
        "customer#1 Feature store access",
        "customer#2 Model card reviewed",
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "MODEL card")) == [
        "churn#1 Model card reviewed",
        "customer#2 Model card reviewed",
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "review")) == [
        "churn#1 Model card reviewed",
        "churn#2 Data-privacy review",
        "customer#2 Model card reviewed",
    ]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "privacy")) == ["churn#2 Data-privacy review"]
    assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "custo")) == texts(everything)[2:]
    for nothing in ("churn#3", "churn#x", "shipped", "tracked", "not these", "b001#1", "#", "%"):
        expected = texts(everything) if nothing == "#" else []
        assert texts(suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, nothing)) == expected, nothing

    # Another workspace asking with the same form gets none of ours.
    assert suggest(seeded, view, ids.BLOCK_LINK_CHECKPOINT, "", origin=OTHER_WORKSPACE) == []


def test_the_checkpoint_picker_answers_an_unreadable_form_with_no_options(seeded: RunningApp) -> None:
    add_checkpoints(seeded.engine, "Churn model v2", "Model card reviewed")
    view = link_form(seeded.engine, "Churn model v2")
    metadata = json.loads(view["private_metadata"])
    for unreadable in (
        {**metadata, "ci": "abc"},
        {**metadata, "ci": ["abc"]},
        {**metadata, "ci": [True]},
        {**metadata, "ci": [2**40]},
        {**metadata, "cw": "everything"},
        {**metadata, "cw": ["open"]},
    ):
        garbled = {**view, "private_metadata": json.dumps(unreadable)}
        assert suggest(seeded, garbled, ids.BLOCK_LINK_CHECKPOINT, "") == [], unreadable
    # Without a scope, every active initiative's open checkpoints.
    bare = {**view, "private_metadata": "not json"}
    assert texts(suggest(seeded, bare, ids.BLOCK_LINK_CHECKPOINT, "")) == ["churn#1 Model card reviewed"]


@pytest.mark.fresh_database
def test_an_unexpected_error_while_searching_answers_with_no_options(running: RunningApp) -> None:
    view = render_link_issue_modal(issue_key="DS-42", initiative_ids=[1], any_to_pick=True, reply_to={"c": CHURN})
    drop_initiatives(running.engine)
    assert suggest(running, view, ids.BLOCK_LINK_CHECKPOINT, "churn") == []
    form = {**view, "blocks": [{"type": "input", "block_id": "initiative", "element": initiative_picker()}]}
    assert suggest(running, form, "initiative", "churn") == []


def test_a_workspace_with_no_active_initiative_gets_an_answer_instead_of_an_empty_picker(running: RunningApp) -> None:
    with session_scope(running.engine) as session:
        make_initiative(session, name="Churn archived", ref_key="churnold", archived=True)
        make_initiative(session, name="Churn model v2", ref_key="churn", team_id=OTHER_TEAM)
    for text in ("checkpoint add", "doc add"):
        result, posts = run(running, text, channel=GENERAL)
        answer = result.text + "".join(json.dumps(post) for post in posts)
        assert "There are no active initiatives yet. Start one with `/handoff new`." in answer, text
    assert running.fake.calls_to("views.open") == []
