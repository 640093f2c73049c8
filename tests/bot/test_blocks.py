"""The Block Kit builders: valid within Slack's limits, and user text never turns into a mention or a link."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot import ids
from bot.blocks.base import MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS, Message
from bot.blocks.help import (
    render_choose_initiative,
    render_error,
    render_help,
    render_notice,
    render_problem,
)
from bot.blocks.home import render_home
from bot.blocks.modals import MODAL_TITLE, render_new_initiative_modal
from bot.blocks.status import HISTORY_SHOWN, render_detail, render_status_page
from bot.blocks.updates import render_archive_update, render_edit_update, render_kickoff, render_phase_update
from bot.errors import InvalidInput, NotAllowed, UnknownInitiative
from bot.home import HomeDashboard, WaitingOnYou
from bot.initiatives import Field, FieldChange
from bot.status import PAGE_SIZE, InitiativeDetail, InitiativeSummary, ScopeKind, StatusPage, StatusScope
from handlers.command_table import GUIDE, SUBCOMMANDS, error_answer, parse_command, problem_answer
from storage.models import GOAL_MAX, NAME_MAX, NOTE_MAX, Initiative, PhaseChange
from tests.support.blockkit import all_text, assert_valid_message, assert_valid_view
from tests.support.workspace import ALICE, BOB, CAROL, CHURN, DAVE, NOW

JIRA_URL = "https://acme.atlassian.net"
HOSTILE_NAME = "<!channel> & <@U123>"
HOSTILE_GOAL = "<!here>"
ESCAPED_NAME = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
USAGE = {topic.name: topic.usage for topic in GUIDE.topics}
DESCRIPTIONS = {topic.name: topic.summary for topic in GUIDE.topics}
FAMILIES = GUIDE.families
TOPICS = GUIDE.topic_words()
# Special parsing Slack would apply to user text if it reached mrkdwn unescaped.
FORBIDDEN = ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil.example|", "<#C666>")


def initiative(number: int = 1, **overrides: Any) -> Initiative:
    values: dict[str, Any] = {
        "id": number,
        "team_id": "T0001",
        "name": f"Initiative {number}",
        "name_key": f"initiative {number}",
        "ref_key": f"init{number}",
        "home_channel_id": CHURN,
        "ds_lead_id": ALICE,
        "eng_lead_id": BOB,
        "embedded_engineer_id": CAROL,
        "phase": "research",
        "goal": "Cut churn by 5%",
        "jira_epic_key": "DS-12",
        "jira_project_key": "DS",
        "target_date": date(2027, 3, 1),
        "created_by": ALICE,
        "created_at": NOW - timedelta(days=10),
        "updated_by": ALICE,
        "updated_at": NOW,
    }
    values.update(overrides)
    return Initiative(**values)


def hostile(**overrides: Any) -> Initiative:
    return initiative(name=HOSTILE_NAME, goal=HOSTILE_GOAL, **overrides)


def change(initiative_id: int = 1, step: int = 0, **overrides: Any) -> PhaseChange:
    values: dict[str, Any] = {
        "id": step + 1,
        "initiative_id": initiative_id,
        "from_phase": "discovery",
        "to_phase": "research",
        "changed_by": BOB,
        "changed_at": NOW - timedelta(days=3 - step),
        "note": None,
    }
    values.update(overrides)
    return PhaseChange(**values)


def summary(item: Initiative, days: int = 3) -> InitiativeSummary:
    return InitiativeSummary(item, NOW - timedelta(days=days), days)


def page_of(items: list[Initiative], *, page: int = 1, total: int | None = None, channel: str | None = None):
    total = len(items) if total is None else total
    scope = StatusScope(ScopeKind.CHANNEL, channel) if channel else StatusScope(ScopeKind.ALL)
    page_count = max(1, -(-total // PAGE_SIZE))
    return StatusPage(scope, [summary(i) for i in items], page, page_count, total)


def detail_of(item: Initiative, history: list[PhaseChange] | None = None) -> InitiativeDetail:
    history = history if history is not None else [change(item.id or 1, to_phase=item.phase, note=None)]
    return InitiativeDetail(item, history, history[-1].changed_at, 3)


def every_message(item: Initiative) -> dict[str, Message]:
    """Every message builder, fed the same initiative."""
    history = [
        change(item.id or 1, from_phase=None, to_phase="discovery", step=0, note=None),
        change(item.id or 1, step=1, note=item.goal),
    ]
    changes = [
        FieldChange(Field.NAME, "Old name", item.name),
        FieldChange(Field.GOAL, None, item.goal),
        FieldChange(Field.DS, ALICE, DAVE),
        FieldChange(Field.CHANNEL, CHURN, "C0GENERAL"),
        FieldChange(Field.JIRA, "DS-12", None),
        FieldChange(Field.DUE, date(2027, 3, 1), date(2027, 4, 1)),
    ]
    return {
        "status": render_status_page(page_of([item]), jira_url=JIRA_URL),
        "status-shared": render_status_page(page_of([item]), jira_url=None, shared_by=DAVE),
        "detail": render_detail(detail_of(item, history), jira_url=JIRA_URL),
        "detail-shared": render_detail(detail_of(item, history), jira_url=None, shared_by=DAVE),
        "kickoff": render_kickoff(item, jira_url=JIRA_URL),
        "phase": render_phase_update(item, history[-1]),
        "edit": render_edit_update(item, changes, BOB, jira_url=JIRA_URL),
        "archive": render_archive_update(item, BOB),
    }


def history_section(message: Message) -> str:
    return next(
        b["text"]["text"] for b in message.blocks if b["type"] == "section" and "*Phase history*" in b["text"]["text"]
    )


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn: mrkdwn text objects and a message's top-level `text`."""
    found: list[str] = []
    if isinstance(payload.get("text"), str):
        found.append(payload["text"])  # the Web API formats a message's `text` as mrkdwn by default

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks", []))
    return found


# --- validity ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(every_message(initiative())))
def test_every_message_builder_is_valid_block_kit(name: str) -> None:
    for item in (initiative(), hostile(), initiative(goal=None, ds_lead_id=None, jira_epic_key=None, target_date=None)):
        message = every_message(item)[name]
        payload = message.as_kwargs()
        assert payload["text"], name
        assert_valid_message(payload)


def test_help_problem_notice_and_error_messages_are_valid() -> None:
    messages = [
        render_help(GUIDE),
        problem_answer("Something was wrong.", "new"),
        render_problem("Something was wrong."),
        render_notice("Done."),
        error_answer(UnknownInitiative("x"), "status"),
        error_answer(NotAllowed("archive it", [ALICE, BOB]), "archive"),
        render_error(InvalidInput.said("due", "The target date is in the past.")),
    ]
    for message in messages:
        assert_valid_message(message.as_kwargs())


def test_the_new_initiative_modal_is_a_valid_view() -> None:
    for view in (render_new_initiative_modal(channel_id=CHURN), render_new_initiative_modal(channel_id=None)):
        assert_valid_view(view)
        assert len(view["title"]["text"]) <= 24
        assert view["callback_id"] == ids.VIEW_NEW_INITIATIVE
        block_ids = [b["block_id"] for b in view["blocks"]]
        assert len(block_ids) == len(set(block_ids))
        assert all(b["element"]["action_id"] == ids.INPUT_ACTION for b in view["blocks"])
    assert len(MODAL_TITLE) <= 24


def test_the_modal_defaults_to_the_channel_it_was_opened_in() -> None:
    in_channel = render_new_initiative_modal(channel_id=CHURN)
    from_home = render_new_initiative_modal(channel_id=None)
    channel_of = {
        "in": next(b for b in in_channel["blocks"] if b["block_id"] == ids.BLOCK_NEW_CHANNEL)["element"],
        "home": next(b for b in from_home["blocks"] if b["block_id"] == ids.BLOCK_NEW_CHANNEL)["element"],
    }
    assert channel_of["in"]["initial_conversation"] == CHURN
    assert channel_of["home"].get("default_to_current_conversation") is True
    name_input = next(b for b in in_channel["blocks"] if b["block_id"] == ids.BLOCK_NEW_NAME)
    goal_input = next(b for b in in_channel["blocks"] if b["block_id"] == ids.BLOCK_NEW_GOAL)
    assert (name_input["optional"], name_input["element"]["max_length"]) == (False, NAME_MAX)
    assert (goal_input["optional"], goal_input["element"]["max_length"]) == (True, GOAL_MAX)


# --- escaping ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(every_message(initiative())))
def test_user_text_never_becomes_a_mention_in_blocks(name: str) -> None:
    payload = every_message(hostile())[name].as_kwargs()
    joined = "\n".join(mrkdwn_texts({"blocks": payload["blocks"]}))
    for forbidden in FORBIDDEN:
        assert forbidden not in joined, f"{name}: raw {forbidden!r} in {joined!r}"
    # Our own mentions are still real mentions.
    mentions = set(re.findall(r"<@(U[0-9A-Z]+)>", joined))
    assert mentions
    assert mentions <= {ALICE, BOB, CAROL, DAVE}


@pytest.mark.parametrize("name", list(every_message(initiative())))
def test_fallback_text_never_becomes_a_mention(name: str) -> None:
    """`text` is mrkdwn too (and drives notifications), so a raw `<!channel>` there would ping the channel."""
    payload = every_message(hostile())[name].as_kwargs()
    for forbidden in FORBIDDEN:
        assert forbidden not in payload["text"], f"{name}: raw {forbidden!r} in fallback text {payload['text']!r}"
    assert "<!here>" not in json.dumps(payload, ensure_ascii=False)


@pytest.mark.parametrize("name", list(every_message(initiative())))
def test_the_hostile_name_is_shown_escaped(name: str) -> None:
    payload = every_message(hostile())[name].as_kwargs()
    blocks_mrkdwn = "\n".join(mrkdwn_texts({"blocks": payload["blocks"]}))
    plain_texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "header"]
    # The name appears escaped in mrkdwn, or literally in a plain_text header (which Slack never parses).
    assert ESCAPED_NAME in blocks_mrkdwn or HOSTILE_NAME in plain_texts


def test_a_hostile_goal_and_note_are_escaped_in_detail() -> None:
    item = hostile()
    history = [change(1, note="<!everyone> please <https://evil.example|click>")]
    payload = render_detail(detail_of(item, history), jira_url=None).as_kwargs()
    text = all_text(payload)
    assert "*Goal:* &lt;!here&gt;" in text
    assert "&lt;!everyone&gt; please &lt;https://evil.example|click&gt;" in text


def home_of(summaries: list[InitiativeSummary]) -> HomeDashboard:
    return HomeDashboard(user_id=ALICE, today=NOW.date(), waiting=WaitingOnYou(), initiatives=summaries)


def test_home_escapes_names_and_goals() -> None:
    view = render_home(home_of([summary(hostile())]))
    texts = "\n".join(mrkdwn_texts(view))
    assert ESCAPED_NAME in texts
    assert "&lt;!here&gt;" in texts
    for forbidden in FORBIDDEN:
        assert forbidden not in json.dumps(view)


def test_edit_update_escapes_old_and_new_values() -> None:
    changes = [
        FieldChange(Field.NAME, "<!here>", "<!channel>"),
        FieldChange(Field.GOAL, "a & b", None),
    ]
    message = render_edit_update(initiative(name="Plain"), changes, BOB, jira_url=None)
    section = message.blocks[0]["text"]["text"]
    assert "Name: &lt;!here&gt; → &lt;!channel&gt;" in section
    assert "Goal: a &amp; b → _none_" in section
    assert message.text == "Plain: updated name, goal"


def test_not_allowed_names_who_to_ask_without_usage() -> None:
    message = error_answer(NotAllowed("archive it", [ALICE, BOB]), "archive")
    assert message.blocks[0]["text"]["text"].endswith(f"Ask <@{ALICE}>, <@{BOB}>.")
    assert len(message.blocks) == 1  # the usage was right; the person was not


def test_problems_repeat_the_usage() -> None:
    message = problem_answer("`goal:` is given twice.", "edit")
    assert message.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Usage: `{USAGE['edit']}`"}],
    }
    assert message.text.endswith(f"Usage: {USAGE['edit']}")


# --- sizes ---------------------------------------------------------------------------------------------------------


def test_a_full_status_page_of_long_goals_fits_in_one_message() -> None:
    items = [
        initiative(n, name=("&<>" * 30)[: NAME_MAX - 3] + f"{n:03d}", goal="<&>" * (GOAL_MAX // 3) + "x")
        for n in range(PAGE_SIZE)
    ]
    for page in (page_of(items, page=2, total=PAGE_SIZE * 3), page_of(items)):
        message = render_status_page(page, jira_url=JIRA_URL)
        payload = message.as_kwargs()
        assert_valid_message(payload)
        assert len(message.blocks) <= MAX_MESSAGE_BLOCKS
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "context":
                assert all(len(e["text"]) <= 2000 for e in block["elements"])
        assert len(payload["text"]) <= 3000


def test_a_long_history_is_cut_to_the_newest_entries() -> None:
    item = initiative(goal="&" * GOAL_MAX)
    short = [change(1, step=n, note=f"step {n}", changed_at=NOW - timedelta(days=40 - n)) for n in range(25)]
    message = render_detail(detail_of(item, short), jira_url=JIRA_URL)
    assert_valid_message(message.as_kwargs())
    lines = history_section(message).splitlines()
    assert len(lines) == 1 + HISTORY_SHOWN + 1
    assert "step 24" in lines[1] and f"step {25 - HISTORY_SHOWN}" in lines[HISTORY_SHOWN]
    assert lines[-1] == f"_…and {25 - HISTORY_SHOWN} earlier_"

    long_notes = [change(1, step=n, note="<" * NOTE_MAX, changed_at=NOW - timedelta(days=40 - n)) for n in range(25)]
    message = render_detail(detail_of(item, long_notes), jira_url=JIRA_URL)
    assert_valid_message(message.as_kwargs())
    assert len(history_section(message)) <= 3000


def test_app_home_with_200_initiatives_stays_within_the_view_limit() -> None:
    many = [summary(initiative(n, goal="g" * GOAL_MAX)) for n in range(200)]
    view = render_home(home_of(many))
    assert_valid_view(view)
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert "more: `/handoff whoami` lists them all" in all_text(view)
    without_goals = render_home(home_of([summary(initiative(n, goal=None)) for n in range(200)]))
    assert_valid_view(without_goals)
    assert len(without_goals["blocks"]) <= MAX_VIEW_BLOCKS


def test_app_home_when_the_viewer_has_nothing() -> None:
    view = render_home(home_of([]))
    assert_valid_view(view)
    assert view["type"] == "home"
    assert "not a lead, embedded engineer or creator" in all_text(view)


# --- content -------------------------------------------------------------------------------------------------------


def test_help_all_lists_every_subcommand_with_an_example() -> None:
    message = render_help(GUIDE, topic="all")
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert set(USAGE) == set(SUBCOMMANDS) == set(DESCRIPTIONS)
    for subcommand in SUBCOMMANDS:
        matching = [s for s in sections if s.startswith(f"*{subcommand}*")]
        assert len(matching) == 1, subcommand
        assert f"`/handoff {subcommand}" in matching[0]
        assert subcommand in message.text


def test_every_subcommand_but_help_belongs_to_one_family() -> None:
    members = [name for family in FAMILIES for name in family.subcommands]
    assert sorted(members) == sorted(set(SUBCOMMANDS) - {"help"})


@pytest.mark.parametrize("topic", [None, "all", "nowhere", *sorted(TOPICS)])
def test_every_help_topic_is_a_valid_message(topic: str | None) -> None:
    message = render_help(GUIDE, topic=topic)
    assert_valid_message(message.as_kwargs())
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_the_choice_between_initiatives_shows_typed_mentions_readably_and_escapes_names() -> None:
    message = render_choose_initiative(
        [("<b>Churn</b>", "churn", 'checkpoint add churn "Card" owner:<@U0CAROL|carol>')], more=True
    )
    assert_valid_message(message.as_kwargs())
    text = all_text(message.as_kwargs())
    assert '`/handoff checkpoint add churn "Card" owner:@carol`' in text
    assert "*&lt;b&gt;Churn&lt;/b&gt;* (`churn`)" in text
    assert "`/handoff status` lists every initiative at home here" in text


def _as_slack_sends_it(example: str) -> str:
    """What Slack sends for a typed example: picked @people and #channels become entities."""
    example = re.sub(r"@([a-z]+)", lambda m: f"<@U0{m.group(1).upper()}|{m.group(1)}>", example)
    return re.sub(r"#([a-z]+)", lambda m: f"<#C0{m.group(1).upper()}|{m.group(1)}>", example)


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_every_help_example_parses(subcommand: str) -> None:
    for example in USAGE[subcommand].split("·"):
        text = example.strip().removeprefix("/handoff").strip()
        command = parse_command(_as_slack_sends_it(text), today=date(2027, 1, 4))
        assert command is not None


def test_status_page_buttons_carry_the_next_and_previous_page() -> None:
    items = [initiative(n) for n in range(PAGE_SIZE)]
    middle = render_status_page(page_of(items, page=2, total=PAGE_SIZE * 3, channel=CHURN), jira_url=None)
    buttons = {e["action_id"]: e for e in middle.blocks[-1]["elements"]}
    assert set(buttons) == {ids.ACTION_STATUS_PREV, ids.ACTION_STATUS_NEXT, ids.ACTION_STATUS_SHARE}
    assert json.loads(buttons[ids.ACTION_STATUS_PREV]["value"]) == {"k": "channel", "p": 1, "c": CHURN}
    assert json.loads(buttons[ids.ACTION_STATUS_NEXT]["value"]) == {"k": "channel", "p": 3, "c": CHURN}
    assert "page 2 of 3" in middle.blocks[-2]["elements"][0]["text"]
    menus = [b["accessory"] for b in middle.blocks if b["type"] == "section"]
    assert {m["action_id"] for m in menus} == {ids.ACTION_CARD_MENU}
    # Each card's steps name its initiative and the page it sits on, so the pick re-renders that page.
    assert [json.loads(m["options"][0]["value"]) for m in menus[:2]] == [
        {"s": "details", "k": "channel", "p": 2, "c": CHURN, "i": 0},
        {"s": "details", "k": "channel", "p": 2, "c": CHURN, "i": 1},
    ]


def test_a_shared_status_page_has_no_buttons_and_says_who_shared_it() -> None:
    message = render_status_page(page_of([initiative()]), jira_url=None, shared_by=DAVE)
    assert all(b["type"] != "actions" for b in message.blocks)
    assert all("accessory" not in b for b in message.blocks)
    assert f"shared by <@{DAVE}>" in all_text(message.as_kwargs())


@pytest.mark.parametrize(
    ("channel", "expected"),
    [(CHURN, "No initiatives call this channel home yet"), (None, "No active initiatives in this workspace yet")],
)
def test_empty_status_pages(channel: str | None, expected: str) -> None:
    message = render_status_page(page_of([], channel=channel), jira_url=None)
    assert_valid_message(message.as_kwargs())
    assert expected in all_text(message.as_kwargs())
    assert all(b["type"] != "actions" for b in message.blocks)  # nothing to share or page through


def test_status_line_shows_phase_days_people_and_jira() -> None:
    message = render_status_page(page_of([initiative()]), jira_url=JIRA_URL)
    text = all_text(message.as_kwargs())
    assert "*Initiative 1* `init1` · research for 3 days" in text
    assert f"DS <@{ALICE}> · Eng <@{BOB}> · Embedded <@{CAROL}> · Due 2027-03-01" in text
    assert f"<{JIRA_URL}/browse/DS-12|DS-12>" in text


def test_detail_shows_history_newest_first() -> None:
    history = [
        change(1, from_phase=None, to_phase="discovery", step=0),
        change(1, step=1, note="data access granted"),
    ]
    message = render_detail(detail_of(initiative(), history), jira_url=None)
    lines = history_section(message).splitlines()[1:]
    assert "discovery → research" in lines[0] and "data access granted" in lines[0]
    assert "created in discovery" in lines[1]
    assert "DS-12" in all_text(message.as_kwargs())


def test_kickoff_names_everyone_and_how_to_find_it_again() -> None:
    message = render_kickoff(initiative(name="Churn model", ref_key="churn"), jira_url=JIRA_URL)
    text = all_text(message.as_kwargs())
    assert message.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Churn model", "emoji": True}}
    assert f"<@{ALICE}> started a joint DS/engineering initiative" in text
    assert "Key `churn`: commands take it (`/handoff status churn`), and its checkpoints are `churn#1`" in text


def test_edit_update_describes_each_kind_of_value() -> None:
    changes = [
        FieldChange(Field.DS, ALICE, DAVE),
        FieldChange(Field.CHANNEL, CHURN, "C0GENERAL"),
        FieldChange(Field.JIRA, None, "ML-7"),
        FieldChange(Field.DUE, date(2027, 3, 1), None),
    ]
    section = render_edit_update(initiative(), changes, BOB, jira_url=JIRA_URL).blocks[0]["text"]["text"]
    assert f"DS lead: <@{ALICE}> → <@{DAVE}>" in section
    assert f"Home channel: <#{CHURN}> → <#C0GENERAL>" in section
    assert f"Jira epic: _none_ → <{JIRA_URL}/browse/ML-7|ML-7>" in section
    assert "Target date: 2027-03-01 → _none_" in section


def test_slack_dates_render_in_each_readers_time_zone() -> None:
    moment = datetime(2027, 1, 4, 23, 30, tzinfo=UTC)
    message = render_detail(InitiativeDetail(initiative(), [change(1, changed_at=moment)], moment, 0), jira_url=None)
    assert f"<!date^{int(moment.timestamp())}^{{date_short}}|2027-01-04>" in all_text(message.as_kwargs())


def test_a_sourced_readings_line_links_its_source_unless_the_link_would_not_fit() -> None:
    from datetime import UTC, datetime

    from bot.blocks.kpi_sources import source_line
    from bot.kpi_sources.outcome import SourceReading

    at = datetime(2027, 1, 4, 14, tzinfo=UTC)
    short = SourceReading(0.9, at, "prometheus:k", "http://prom.test/graph?g0.expr=up", "Prometheus at 14:00 UTC")
    long = SourceReading(
        0.9, at, "prometheus:k", "http://prom.test/graph?g0.expr=" + "x" * 2000, "Prometheus at 14:00 UTC"
    )
    assert "<http://prom.test/graph?g0.expr=up|Prometheus at 14:00 UTC>" in source_line("prometheus", short)
    assert "<http" not in source_line("prometheus", long) and "Prometheus at 14:00 UTC" in source_line(
        "prometheus", long
    )
