"""`/handoff` end to end: signed slash commands over HTTP into the real app, Slack's side played by FakeSlack."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handlers import command_table, commands
from handlers.command_table import SUBCOMMANDS
from storage.models import PhaseChange
from tests.conftest import OFFLINE_JIRA, RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import create, kickoff_of, load, mrkdwn_strings, plain_strings, private_answer, row_counts, run
from tests.support.factories import seed_initiatives
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, CHURN, DAVE, GENERAL, JIRA_SITE, NOW, OLD, SECRET

CHURN_V2 = "Churn model v2"
AMBIGUOUS_CHU = '"chu" matches more than one initiative: "Churn alerts" (`churn2`), "Churn model v2" (`churn`).'
NEW_CHURN_V2 = (
    'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol> jira:ds-12 due:2027-03-01 goal:"Cut churn by 5%"'
)


# An epic can be given to any command here, which needs Jira settings (nothing here calls Jira); `new` and `edit`
# without Jira settings are tested in tests/e2e/test_without_jira.py.
pytestmark = pytest.mark.app_settings(jira=OFFLINE_JIRA)


# --- helpers ----------------------------------------------------------------------------------------------


def history(engine: Engine, initiative_id: int) -> list[tuple[str | None, str, str, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(PhaseChange).where(PhaseChange.initiative_id == initiative_id).order_by(PhaseChange.id)
        ).all()
    return [(r.from_phase, r.to_phase, r.changed_by, r.note) for r in rows]


# --- help -------------------------------------------------------------------------------------------------


def test_help_all_lists_every_subcommand_privately_in_the_ack(running: RunningApp) -> None:
    for text in ("help all", "  HELP ALL  "):
        result, posts = run(running, text)

        assert posts == [], text
        assert result.json.get("response_type", "ephemeral") == "ephemeral"
        sections = [b["text"]["text"] for b in result.json["blocks"] if b["type"] == "section"]
        assert [s.split("*")[1] for s in sections] == list(SUBCOMMANDS), text
        for name in SUBCOMMANDS:
            assert f"`/handoff {name}" in result.text
        assert result.json["text"] == "Handoff commands: " + ", ".join(SUBCOMMANDS)
    assert running.fake.calls_to("chat.postMessage") == []
    assert row_counts(running.engine) == (0, 0)


def test_each_command_is_parsed_once_whether_answered_in_the_ack_or_after_it(
    running: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    def counting(text: str, *, today: date) -> object:
        parsed.append(text)
        return command_table.parse_once(text, today=today)

    monkeypatch.setattr(commands, "parse_once", counting)
    for text in ("help", "status", "stauts", NEW_CHURN_V2, "checkpoint add churn"):
        parsed.clear()
        run(running, text)
        assert parsed == [text]


# --- new --------------------------------------------------------------------------------------------------


def test_new_posts_the_kickoff_stores_its_thread_and_confirms_privately(running: RunningApp) -> None:
    result, posts = run(running, NEW_CHURN_V2)

    assert result.body == ""  # acked empty; the work happens after the ack
    [post_call] = running.fake.calls_to("chat.postMessage")
    assert post_call.args["channel"] == GENERAL
    assert "thread_ts" not in post_call.args
    [kickoff] = running.fake.messages_in(GENERAL)
    assert kickoff.text == "New initiative: Churn model v2"
    assert kickoff.blocks is not None
    assert kickoff.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": CHURN_V2, "emoji": True}}
    body = kickoff.blocks[1]["text"]["text"]
    assert "<@U0ALICE> started a joint DS/engineering initiative." in body
    assert "*Goal:* Cut churn by 5%" in body
    assert "*DS lead:* <@U0BOB>" in body
    assert "*Engineering lead:* <@U0CAROL>" in body
    assert "*Embedded engineer:* _not set_" in body
    assert "*Phase:* discovery" in body
    assert "*Target date:* 2027-03-01" in body
    assert f"*Jira epic:* <{JIRA_SITE}/browse/DS-12|DS-12>" in body
    footer = kickoff.blocks[2]["elements"][0]["text"]
    assert footer.startswith("Key `churn`: commands take it (`/handoff status churn`)")

    initiative = load(running.engine, CHURN_V2)
    permalink = f"https://handoff-test.slack.com/archives/{GENERAL}/p{kickoff.ts.replace('.', '')}"
    assert (initiative.thread_channel_id, initiative.thread_ts, initiative.thread_permalink) == (
        GENERAL,
        kickoff.ts,
        permalink,
    )
    assert (initiative.home_channel_id, initiative.phase, initiative.created_by) == (GENERAL, "discovery", ALICE)
    assert (initiative.ds_lead_id, initiative.eng_lead_id, initiative.embedded_engineer_id) == (BOB, CAROL, None)
    assert (initiative.jira_epic_key, initiative.jira_project_key) == ("DS-12", "DS")
    assert initiative.target_date == date(2027, 3, 1)
    assert initiative.goal == "Cut churn by 5%"
    assert history(running.engine, initiative.id or 0) == [(None, "discovery", ALICE, None)]

    [confirmation] = posts
    assert confirmation["response_type"] == "ephemeral"
    assert f"Created *Churn model v2* in <#{GENERAL}>. Its <{permalink}|kickoff message>" in all_text(confirmation)

    detail = running.slack.command("status churn")
    assert f"<{permalink}|kickoff thread>" in detail.text
    assert detail.json["blocks"][0]["text"]["text"] == CHURN_V2


def test_new_with_channel_option_makes_that_channel_home(running: RunningApp) -> None:
    answer = create(running, "new Churn alerts channel:<#C0CHURN|churn>")

    assert f"in <#{CHURN}>" in answer
    [post_call] = running.fake.calls_to("chat.postMessage")
    assert post_call.args["channel"] == CHURN
    assert running.fake.messages_in(GENERAL) == []
    [kickoff] = running.fake.messages_in(CHURN)
    initiative = load(running.engine, "Churn alerts")
    assert (initiative.home_channel_id, initiative.thread_channel_id, initiative.thread_ts) == (
        CHURN,
        CHURN,
        kickoff.ts,
    )


def test_new_without_arguments_opens_the_modal_with_the_commands_trigger(running: RunningApp) -> None:
    trigger_id = running.fake.new_trigger_id()
    form = {
        "team_id": TEAM_ID,
        "channel_id": CHURN,
        "user_id": ALICE,
        "command": "/handoff",
        "text": "new",
        "api_app_id": "A0001",
        "response_url": running.fake.new_response_url(),
        "trigger_id": trigger_id,
    }
    result = running.slack.post(urlencode(form))
    running.settle()

    assert (result.status, result.body) == (200, "")
    [call] = running.fake.calls_to("views.open")
    assert call.args["trigger_id"] == trigger_id
    assert call.response["ok"] is True
    view = call.args["view"]
    assert view["type"] == "modal"
    assert view["callback_id"] == "new_initiative"
    assert [b["block_id"] for b in view["blocks"]] == [
        "name",
        "channel",
        "ds",
        "eng",
        "embedded",
        "goal",
        "jira",
        "due",
    ]
    channel_block = next(b for b in view["blocks"] if b["block_id"] == "channel")
    assert channel_block["element"]["initial_conversation"] == CHURN
    assert running.fake.calls_to("chat.postMessage") == []
    assert row_counts(running.engine) == (0, 0)


# --- status and list --------------------------------------------------------------------------------------


def test_status_shows_this_channels_initiatives_and_all_or_list_every_channel(running: RunningApp) -> None:
    create(running, "new Alpha launch")  # home: #general, where it was typed
    create(running, "new Beta pricing channel:<#C0CHURN|churn>")
    create(running, 'new "Gamma ranking"', channel=CHURN)

    in_general = running.slack.command("status", channel=GENERAL)
    assert in_general.json["blocks"][0]["text"]["text"] == "Initiatives in this channel"
    assert "*Alpha launch*" in in_general.text
    assert "Beta pricing" not in in_general.text and "Gamma ranking" not in in_general.text
    assert "1 initiative" in in_general.text

    in_churn = running.slack.command("status", channel=CHURN)
    assert "*Beta pricing*" in in_churn.text and "*Gamma ranking*" in in_churn.text
    assert "Alpha launch" not in in_churn.text
    assert "2 initiatives" in in_churn.text

    empty = running.slack.command("status", channel=SECRET)
    assert "No initiatives call this channel home yet." in empty.text

    for text in ("status all", "list"):
        everything = running.slack.command(text, channel=SECRET)
        assert everything.json["blocks"][0]["text"]["text"] == "All active initiatives"
        names = [b["text"]["text"] for b in everything.json["blocks"] if b["type"] == "section"]
        assert [n.split("*")[1] for n in names] == ["Alpha launch", "Beta pricing", "Gamma ranking"]
        assert "3 initiatives" in everything.text
        assert everything.json.get("response_type", "ephemeral") == "ephemeral"


def test_status_with_a_prefix_shows_one_initiative_in_detail(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    create(running, "new Pricing engine")

    detail = running.slack.command("status CHURN mod")

    blocks = detail.json["blocks"]
    assert blocks[0]["text"]["text"] == CHURN_V2
    assert "*Phase:* discovery since" in blocks[1]["text"]["text"]
    assert "*Goal:* Cut churn by 5%" in blocks[1]["text"]["text"]
    people = blocks[2]["text"]["text"]
    assert "*DS lead:* <@U0BOB>" in people and "*Engineering lead:* <@U0CAROL>" in people
    assert f"*Jira epic:* <{JIRA_SITE}/browse/DS-12|DS-12>" in people and "*Target date:* 2027-03-01" in people
    assert "created in discovery by <@U0ALICE>" in blocks[3]["text"]["text"]
    assert "Pricing engine" not in detail.text


def test_list_pages_fifteen_at_a_time_and_next_replaces_the_message(running: RunningApp) -> None:
    names = seed_initiatives(running.engine, 17)

    first = running.slack.command("list")

    listed = [b["text"]["text"].split("*")[1] for b in first.json["blocks"] if b["type"] == "section"]
    assert listed == names[:15]
    assert "17 initiatives · page 1 of 2" in first.text
    [next_value] = button_values(first.json, "status_next")
    assert json.loads(next_value) == {"k": "all", "p": 2}
    assert button_values(first.json, "status_prev") == []

    before = len(running.fake.response_posts)
    ack = running.slack.action("status_next", value=next_value)
    assert (ack.status, ack.body) == (200, "")
    running.settle()
    [second] = [p.body for p in running.fake.response_posts[before:]]

    assert second["replace_original"] is True
    listed = [b["text"]["text"].split("*")[1] for b in second["blocks"] if b["type"] == "section"]
    assert listed == names[15:]
    assert "17 initiatives · page 2 of 2" in all_text(second)
    assert button_values(second, "status_next") == []
    [prev_value] = button_values(second, "status_prev")
    assert json.loads(prev_value) == {"k": "all", "p": 1}


# --- phase, edit, archive ---------------------------------------------------------------------------------


def test_phase_posts_in_the_thread_and_records_history(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    kickoff = kickoff_of(running, CHURN_V2)

    answer = private_answer(running, 'phase churn research "data access granted"')

    assert ":white_check_mark: *Churn model v2* is now in *research*." in answer
    update_call = running.fake.calls_to("chat.postMessage")[-1]
    assert (update_call.args["channel"], update_call.args["thread_ts"]) == (GENERAL, kickoff.ts)
    [root, update] = running.fake.messages_in(GENERAL, thread_ts=kickoff.ts)
    assert root.ts == kickoff.ts
    assert update.thread_ts == kickoff.ts
    assert update.text == "Churn model v2: discovery → research"
    assert update.blocks is not None
    assert update.blocks[0]["text"]["text"] == (
        ":arrow_forward: <@U0ALICE> moved *Churn model v2* from *discovery* to *research*.\n> data access granted"
    )
    initiative = load(running.engine, CHURN_V2)
    assert initiative.phase == "research"
    assert history(running.engine, initiative.id or 0) == [
        (None, "discovery", ALICE, None),
        ("discovery", "research", ALICE, "data access granted"),
    ]
    detail = running.slack.command("status churn")
    assert "discovery → research by <@U0ALICE>: data access granted" in detail.text


def test_edit_posts_old_and_new_values_in_the_thread(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    kickoff = kickoff_of(running, CHURN_V2)

    answer = private_answer(running, 'edit churn due:2027-04-01 goal:"Cut churn by 6%" embedded:<@U0CAROL|carol>')

    assert "Updated target date, goal, embedded engineer of *Churn model v2*." in answer
    [_, update] = running.fake.messages_in(GENERAL, thread_ts=kickoff.ts)
    assert update.thread_ts == kickoff.ts
    assert update.blocks is not None
    assert update.blocks[0]["text"]["text"].splitlines() == [
        ":pencil2: <@U0ALICE> updated *Churn model v2*:",
        "• Target date: 2027-03-01 → 2027-04-01",
        "• Goal: Cut churn by 5% → Cut churn by 6%",
        "• Embedded engineer: _none_ → <@U0CAROL>",
    ]
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.target_date, initiative.goal, initiative.embedded_engineer_id) == (
        date(2027, 4, 1),
        "Cut churn by 6%",
        CAROL,
    )
    assert initiative.phase == "discovery"


def test_archive_hides_it_from_status_and_list(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    create(running, "new Pricing engine")
    kickoff = kickoff_of(running, CHURN_V2)

    answer = private_answer(running, "archive churn")

    assert ":white_check_mark: Archived *Churn model v2*." in answer
    [_, update] = running.fake.messages_in(GENERAL, thread_ts=kickoff.ts)
    assert update.text == "Churn model v2 was archived"
    initiative = load(running.engine, CHURN_V2)
    assert initiative.archived is True
    assert initiative.archived_at == NOW
    for text in ("status", "status all", "list"):
        listing = running.slack.command(text)
        assert "Churn model" not in listing.text, text
        assert "*Pricing engine*" in listing.text
        assert "1 initiative" in listing.text


# --- authorization ----------------------------------------------------------------------------------------


OUTSIDER_ATTEMPTS = [
    ("phase churn research", "change its phase"),
    ("archive churn", "archive it"),
    ('edit churn name:"Dave owns this"', "change its name, channel or people"),
    ("edit churn ds:<@U0DAVE|dave>", "change its name, channel or people"),
    ("edit churn channel:<#C0CHURN|churn>", "change its name, channel or people"),
]


def test_an_outsider_is_told_who_may_and_nothing_changes(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    before = load(running.engine, CHURN_V2).model_dump()
    counts = row_counts(running.engine)
    posted = len(running.fake.calls_to("chat.postMessage"))

    for text, action in OUTSIDER_ATTEMPTS:
        answer = private_answer(running, text, user=DAVE)

        expected = f"Only the initiative's leads, embedded engineer, creator or a workspace admin can {action}."
        assert expected in answer, text
        assert "Ask <@U0BOB>, <@U0CAROL>, <@U0ALICE>." in answer
        assert load(running.engine, CHURN_V2).model_dump() == before, text
        assert row_counts(running.engine) == counts
        assert len(running.fake.calls_to("chat.postMessage")) == posted


def test_a_workspace_admin_may_change_any_initiative(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)

    answer = private_answer(running, "phase churn research", user=ADMIN)

    assert "is now in *research*" in answer
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.phase, initiative.updated_by) == ("research", ADMIN)
    assert history(running.engine, initiative.id or 0)[-1] == ("discovery", "research", ADMIN, None)
    assert [c.args["user"] for c in running.fake.calls_to("users.info")].count(ADMIN) == 1


# --- bad input --------------------------------------------------------------------------------------------


BAD_INPUT = [
    ("unknown-command", "frobnicate churn", ["`frobnicate` is not a Handoff command.", "/handoff help"]),
    ("unknown-status", "status nowhere", ['No initiative called "nowhere"', "/handoff status"]),
    ("unknown-phase-ref", "phase nowhere research", ['No initiative called "nowhere"', "/handoff phase"]),
    ("unknown-archive", "archive nowhere", ['No initiative called "nowhere"', "/handoff archive"]),
    (
        "ambiguous-status",
        "status chu",
        [AMBIGUOUS_CHU, "/handoff status"],
    ),
    (
        "ambiguous-phase",
        "phase chu research",
        [AMBIGUOUS_CHU, "/handoff phase"],
    ),
    ("unknown-phase", "phase churn sideways", ['"sideways" is not a phase.', "/handoff phase"]),
    (
        "malformed-date",
        "new Forecast due:next-friday",
        ["`due:next-friday` is not a date: use YYYY-MM-DD", "/handoff new"],
    ),
    (
        "impossible-date",
        "new Forecast due:2027-02-30",
        ["`due:2027-02-30` is not a date: February 2027 has 28 days.", "/handoff new"],
    ),
    ("past-date", "new Forecast due:2027-01-03", ["The target date 2027-01-03 is in the past.", "/handoff new"]),
    (
        "nonexistent-user",
        "new Forecast ds:<@U0NOBODY|nobody>",
        ["DS lead: The user <@U0NOBODY> is not a member of this workspace.", "/handoff new"],
    ),
    ("bare-at-name", "new Forecast ds:@alice", ["Slack doesn't know a user called `@alice`.", "/handoff new"]),
    (
        "bot-user",
        "new Forecast eng:<@U0ROBOT|robot>",
        ["Engineering lead: The user <@U0ROBOT> is a bot, not a person.", "/handoff new"],
    ),
    (
        "deactivated-user",
        "new Forecast embedded:<@U0GONE|gone>",
        ["Embedded engineer: The user <@U0GONE> is deactivated.", "/handoff new"],
    ),
    (
        "duplicate-name",
        'new "CHURN   MODEL V2"',
        ['An initiative called "Churn model v2" already exists. Pick another name.', "/handoff new"],
    ),
    ("long-name", "new " + "x" * 81, ["The name is 81 characters long; the limit is 80.", "/handoff new"]),
    (
        "long-goal",
        'new Forecast goal:"' + "g" * 1001 + '"',
        ["The goal is 1001 characters long; the limit is 1000.", "/handoff new"],
    ),
    ("missing-value", "new Forecast ds:", ["`ds:` is missing its value.", "/handoff new"]),
    ("unclosed-quote", 'new "Forecast 2027', ['A double quote (") is not closed.']),
    ("bad-jira-edit", "edit churn m jira:not-a-key", ['"not-a-key" is not a Jira issue key', "/handoff edit"]),
]


def test_bad_input_gets_a_private_answer_with_usage_and_writes_nothing(running: RunningApp) -> None:
    create(running, NEW_CHURN_V2)
    create(running, "new Churn alerts")
    counts = row_counts(running.engine)
    posted = len(running.fake.calls_to("chat.postMessage"))
    before = load(running.engine, CHURN_V2).model_dump()

    problems = []
    for case, text, expected in BAD_INPUT:
        answer = private_answer(running, text)
        problems += [f"{case}: {fragment!r} not in {answer!r}" for fragment in expected if fragment not in answer]
        if "Usage:" not in answer:
            problems.append(f"{case}: no usage in {answer!r}")
        if row_counts(running.engine) != counts or load(running.engine, CHURN_V2).model_dump() != before:
            problems.append(f"{case}: the database changed")
        if len(running.fake.calls_to("chat.postMessage")) != posted:
            problems.append(f"{case}: posted a message")
    assert not problems, "\n".join(problems)


def test_a_channel_the_bot_cannot_post_in_leaves_no_initiative(running: RunningApp) -> None:
    for option, expected in [
        ("channel:<#G0SECRET|secret>", f"I can't post in <#{SECRET}>. Invite me first: in that channel, type `/invite"),
        ("channel:<#C0OLD|old>", f"<#{OLD}> is archived, so I can't post there. Pick another channel."),
    ]:
        answer = private_answer(running, f"new Secret plan {option}")

        assert expected in answer
        attempt = running.fake.calls_to("chat.postMessage")[-1]
        assert attempt.response["ok"] is False
        assert row_counts(running.engine) == (0, 0)
        for channel in (GENERAL, SECRET, OLD):
            assert running.fake.messages_in(channel) == []
    # The name is free again: nothing half-created blocks a retry in a channel that works.
    create(running, "new Secret plan")
    assert len(running.fake.messages_in(GENERAL)) == 1


# --- escaping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "reference"),
    [
        # Typed as text, Slack escapes `<`, `>` and `&` in the command.
        ("&lt;!channel&gt; &amp; &lt;@U0BOB&gt;", "<!channel> & <@U0BOB>", "&lt;!channel&gt;"),
        # A real @channel typed in the command arrives as Slack's special mention.
        ("<!channel> &amp; <@U0BOB|bob> launch", "<!channel> & <@U0BOB|bob> launch", "<!channel>"),
    ],
    ids=["escaped-text", "special-mention"],
)
def test_names_that_look_like_mentions_ping_nobody(
    running: RunningApp, typed: str, stored: str, reference: str
) -> None:
    escaped = stored.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    payloads: dict[str, dict[str, Any]] = {}

    _, [confirmation] = run(running, f"new {typed}")
    payloads["confirmation"] = confirmation
    assert load(running.engine, stored).name == stored
    [kickoff_call] = running.fake.calls_to("chat.postMessage")
    payloads["kickoff"] = kickoff_call.args
    assert kickoff_call.args["blocks"][0]["text"]["text"] == stored  # plain_text shows it literally

    payloads["status"] = running.slack.command("status").json
    payloads["list"] = running.slack.command("list").json
    payloads["detail"] = running.slack.command(f"status {reference}").json
    _, [payloads["phase confirmation"]] = run(running, f"phase {reference} research")
    _, [payloads["edit confirmation"]] = run(running, f'edit {reference} goal:"Ship it"')
    phase_call, edit_call = running.fake.calls_to("chat.postMessage")[1:]
    payloads["phase update"] = phase_call.args
    payloads["edit update"] = edit_call.args

    [share_value] = button_values(payloads["status"], "status_share")
    before = len(running.fake.response_posts)
    running.slack.action("status_share", value=share_value)
    running.settle()
    payloads["shared status"] = running.fake.response_posts[before].body

    problems = []
    for where, payload in payloads.items():
        strings = mrkdwn_strings(payload)
        if not any(escaped in s for s in strings) and stored not in plain_strings(payload):
            problems.append(f"{where}: name shown neither escaped in mrkdwn nor as plain text")
        problems += [f"{where}: raw mention in {s!r}" for s in strings if "<!channel>" in s or "<@U0BOB" in s]
    assert not problems, "\n".join(problems)


# --- Slack failing after the ack --------------------------------------------------------------------------


def test_a_rate_limited_kickoff_is_retried_after_retry_after(running: RunningApp) -> None:
    running.fake.fail_next("chat.postMessage", error="ratelimited", retry_after=1)

    result = running.slack.command("new Throttled launch")
    assert (result.status, result.body) == (200, "")
    running.settle(timeout=10)

    first, second = running.fake.calls_to("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.response["ok"] is True
    assert second.args == first.args
    [kickoff] = running.fake.messages_in(GENERAL)
    assert kickoff.text == "New initiative: Throttled launch"
    assert load(running.engine, "Throttled launch").thread_ts == kickoff.ts
    [confirmation] = running.fake.response_posts
    assert ":white_check_mark: Created *Throttled launch*" in all_text(confirmation.body)


def test_an_unexpected_slack_error_is_answered_privately_with_a_reference(running: RunningApp) -> None:
    running.fake.fail_next("users.info", error="internal_error")

    result, posts = run(running, "new Forecast ds:<@U0BOB|bob>")

    assert (result.status, result.body) == (200, "")
    [call] = running.fake.calls_to("users.info")
    assert call.response == {"ok": False, "error": "internal_error"}
    [answer] = posts
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(":x: Something went wrong on my side.")
    assert "give your admin this reference: `req-" in answer["text"]
    assert row_counts(running.engine) == (0, 0)
    assert running.fake.calls_to("chat.postMessage") == []
