"""Each status card's "Next step…" menu, end to end over signed HTTP: every step opens its form, each form is
submitted through the command's own step (thread post, private answer, database), fields are marked inline, the
menu is reset after each pick, and a menu never lets anyone do what the command refuses them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot import ids
from storage.models import Blocker, Checkpoint, HandoffDoc, KpiReading, PhaseChange, StandupSettings
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, assert_valid_message, assert_valid_view, button_values
from tests.support.e2e import Thread, blocks_of, kickoff_of, load, private_answer, replies, row_counts, run
from tests.support.factories import rows
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, DAVE, GENERAL

CHURN_V2 = "Churn model v2"
# Alice creates it and is its embedded engineer; Bob leads DS and Carol engineering; Dave has no part in it.
NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol> embedded:<@U0ALICE|alice> due:2027-03-01'
STEPS = ["details", "phase", "edit", "checkpoint", "doc", "kpi", "reading", "blocker", "standup", "archive"]
LABELS = [
    "Details",
    "Change phase",
    "Edit",
    "Add checkpoint",
    "Add doc",
    "Add a KPI",
    "Record a KPI reading",
    "Report a blocker",
    "Standup settings",
    "Archive",
]
KEEP = object()


@pytest.fixture
def churn(running: RunningApp) -> Thread:
    _, posts = run(running, NEW_CHURN)
    assert "Created" in all_text(posts[0]), posts
    kickoff = kickoff_of(running, CHURN_V2)
    return Thread(kickoff.channel, kickoff.ts, load(running.engine, CHURN_V2).thread_permalink or "")


# --- helpers ----------------------------------------------------------------------------------------------


def status_payload(running: RunningApp, text: str = "status", *, user: str = ALICE) -> dict[str, Any]:
    result = running.slack.command(text, user=user, channel=GENERAL)
    assert result.status == 200 and result.body, result.body
    return result.json


def menu_in(payload: dict[str, Any]) -> dict[str, Any]:
    [menu] = [b["accessory"] for b in payload["blocks"] if b.get("accessory", {}).get("type") == "static_select"]
    return menu


def option_value(payload: dict[str, Any], step: str) -> str:
    menu = menu_in(payload)
    [value] = [o["value"] for o in menu["options"] if json.loads(o["value"])["s"] == step]
    return value


class Picked:
    """What picking a step did: the views it opened and what it answered through the pick's response_url."""

    def __init__(self, views: list[dict[str, Any]], posts: list[dict[str, Any]]):
        self.views = views
        self.posts = posts

    @property
    def view(self) -> dict[str, Any]:
        [view] = self.views
        assert_valid_view(view)
        return view

    @property
    def answers(self) -> list[dict[str, Any]]:
        """The private answers, the menu's reset left out."""
        return [p for p in self.posts if p.get("replace_original") is not True]

    @property
    def resets(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p.get("replace_original") is True]


def pick(running: RunningApp, step: str, *, user: str = ALICE, payload: dict[str, Any] | None = None) -> Picked:
    """Pick a step on the card of `status` (or on `payload`) as `user`."""
    value = option_value(payload or status_payload(running, user=user), step)
    views, posts = len(running.fake.calls_to("views.open")), len(running.fake.response_posts)
    result = running.slack.select(ids.ACTION_CARD_MENU, value, user=user, channel=GENERAL)
    assert (result.status, result.body) == (200, "")
    running.settle()
    opened = [c.response["view"] for c in running.fake.calls_to("views.open")[views:] if c.response["ok"]]
    answered = [p.body for p in running.fake.response_posts[posts:]]
    for post in answered:
        assert_valid_message(post)
    return Picked(opened, answered)


def form_state(view: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """`view.state.values` as Slack sends it: each input as the form showed it, with `changes` by block id (a text,
    an option's value, a list of values for checkboxes, None to empty it). A block id the view lacks is added as a
    text input: a crafted submission."""
    changes = dict(changes or {})
    values: dict[str, dict[str, Any]] = {}

    def option(value: str | None) -> dict[str, Any] | None:
        return None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}

    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        given = changes.pop(block_id, KEEP)
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if kind in ("plain_text_input", "url_text_input"):
            state["value"] = element.get("initial_value") if given is KEEP else given
        elif kind in ("static_select", "external_select", "radio_buttons"):
            state["selected_option"] = element.get("initial_option") if given is KEEP else option(given)
        elif kind == "checkboxes":
            chosen = element.get("initial_options", []) if given is KEEP else [option(v) for v in given]
            state["selected_options"] = chosen
        else:
            field, initial = {
                "users_select": ("selected_user", "initial_user"),
                "conversations_select": ("selected_conversation", "initial_conversation"),
                "datepicker": ("selected_date", "initial_date"),
                "timepicker": ("selected_time", "initial_time"),
            }[kind]
            state[field] = element.get(initial) if given is KEEP else given
        values[block_id] = {element["action_id"]: state}
    for block_id, value in changes.items():
        values[block_id] = {ids.INPUT_ACTION: {"type": "plain_text_input", "value": value}}
    return values


def submit(
    running: RunningApp, view: dict[str, Any], changes: dict[str, Any] | None = None, *, user: str = ALICE
) -> dict[str, Any]:
    """Submit a form; the ack's body (`{}` when the form closed)."""
    result = running.slack.submit_view(view, form_state(view, changes), user=user)
    assert result.status == 200, result.body
    running.settle()
    return result.json


def private_to(running: RunningApp, user: str) -> list[str]:
    """The text of every private answer `user` got in #general, oldest first."""
    return [
        all_text({"text": m.text, "blocks": m.blocks})
        for m in running.fake.messages_in(GENERAL)
        if m.ephemeral_to == user
    ]


def thread_texts(running: RunningApp, thread: Thread) -> list[str]:
    return [blocks_of(m)[0]["text"]["text"] for m in replies(running, thread)]


def first_line(command_answer: str) -> str:
    return command_answer.splitlines()[0]


# --- the menu ---------------------------------------------------------------------------------------------


def test_every_card_and_the_detail_offer_the_next_steps_and_shared_copies_do_not(
    running: RunningApp, churn: Thread
) -> None:
    run(running, 'new "Pricing engine"')
    page = status_payload(running)
    cards = [b for b in page["blocks"] if b["type"] == "section"]
    # Two blocks a card, as before: the menu takes the place the Details button had.
    assert len(page["blocks"]) == 1 + 2 * 2 + 1 + 1
    churn_id = load(running.engine, CHURN_V2).id
    for card in cards:
        menu = card["accessory"]
        assert (menu["type"], menu["action_id"], menu["placeholder"]["text"]) == (
            "static_select",
            ids.ACTION_CARD_MENU,
            "Next step…",
        )
        assert [o["text"]["text"] for o in menu["options"]] == LABELS
        assert all(len(o["value"]) <= 150 for o in menu["options"])
    churn_card = next(c for c in cards if CHURN_V2 in c["text"]["text"])
    assert [json.loads(o["value"]) for o in churn_card["accessory"]["options"]] == [
        {"s": step, "k": "channel", "p": 1, "c": GENERAL, "i": churn_id} for step in STEPS
    ]

    detail = status_payload(running, "status churn")
    assert [o["text"]["text"] for o in menu_in(detail)["options"]] == LABELS[1:]  # it is the details already
    assert json.loads(menu_in(detail)["options"][0]["value"]) == {"s": "phase", "k": "detail", "p": 1, "i": churn_id}

    share = button_values(page, ids.ACTION_STATUS_SHARE)[0]
    running.slack.action(ids.ACTION_STATUS_SHARE, value=share)
    running.settle()
    shared = next(p.body for p in running.fake.response_posts if p.body.get("response_type") == "in_channel")
    assert not any("accessory" in b for b in shared["blocks"])


def test_details_answers_with_the_detail_and_every_pick_resets_the_menu(running: RunningApp, churn: Thread) -> None:
    page = status_payload(running)

    for _ in range(2):  # the reset lets the same step be picked again
        picked = pick(running, "details", payload=page)

        [detail] = picked.answers
        assert (detail["response_type"], detail["replace_original"]) == ("ephemeral", False)
        assert detail["blocks"][0]["text"]["text"] == CHURN_V2
        assert "*DS lead:* <@U0BOB>" in all_text(detail)
        [reset] = picked.resets
        assert reset["blocks"] == status_payload(running)["blocks"]  # the page as it is now, its menus unpicked

    # A step picked on the detail view re-renders the detail view.
    picked = pick(running, "edit", payload=status_payload(running, "status churn"))
    [reset] = picked.resets
    assert reset["blocks"][0]["text"]["text"] == CHURN_V2
    assert picked.answers == []


def test_a_pick_on_the_channel_view_resets_the_channel_view_with_its_buttons(
    running: RunningApp, churn: Thread
) -> None:
    front_door = status_payload(running, "")  # `/handoff` alone in the churn's home channel

    picked = pick(running, "details", payload=front_door)

    [reset] = picked.resets
    assert reset["blocks"] == status_payload(running, "")["blocks"]
    assert ids.ACTION_SHOW_HELP in button_actions(reset), "the channel view's own buttons stay"


def button_actions(payload: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_pick_the_app_cannot_read_is_logged_and_ignored(running: RunningApp, churn: Thread) -> None:
    posts, views = len(running.fake.response_posts), len(running.fake.calls_to("views.open"))
    for value in ("nonsense", '{"s":"launch","i":1}', '{"s":"phase"}'):
        result = running.slack.select(ids.ACTION_CARD_MENU, value)
        assert (result.status, result.body) == (200, "")
    running.settle()
    assert len(running.fake.response_posts) == posts
    assert len(running.fake.calls_to("views.open")) == views


# --- change phase -----------------------------------------------------------------------------------------


def test_change_phase_lists_the_phases_and_what_the_next_gate_misses_and_a_lead_may_force(
    running: RunningApp, churn: Thread
) -> None:
    view = pick(running, "phase", user=BOB).view

    assert view["callback_id"] == ids.VIEW_CHANGE_PHASE
    text = all_text(view)
    assert "*Churn model v2* is in *discovery*." in text
    [phase_block] = [b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_PHASE_TARGET]
    assert [o["text"]["text"] for o in phase_block["element"]["options"]][:3] == [
        "discovery (now)",
        "research",
        "summary",
    ]
    assert ids.BLOCK_PHASE_REASON in [b.get("block_id") for b in view["blocks"]]  # Bob leads: he may force

    # Research has no gate in the default checklist: the move goes through with its note.
    assert (
        submit(running, view, {ids.BLOCK_PHASE_TARGET: "research", ids.BLOCK_PHASE_NOTE: "kickoff done"}, user=BOB)
        == {}
    )
    assert load(running.engine, CHURN_V2).phase == "research"
    assert thread_texts(running, churn)[-1] == (
        f":arrow_forward: <@{BOB}> moved *Churn model v2* from *discovery* to *research*.\n> kickoff done"
    )
    assert private_to(running, BOB)[-1].startswith(":white_check_mark: *Churn model v2* is now in *research*.")

    view = pick(running, "phase", user=BOB).view
    assert view["blocks"][1]["elements"][0]["text"] == (
        "Still missing before *development*: DS summary, Agreed KPI with a target, Interface/API contract"
    )
    counts, posted = row_counts(running.engine), len(replies(running, churn))
    same = submit(running, view, {ids.BLOCK_PHASE_TARGET: "research"}, user=BOB)
    assert same == {
        "response_action": "errors",
        "errors": {ids.BLOCK_PHASE_TARGET: '"Churn model v2" is already in research.'},
    }
    gated = submit(running, view, {ids.BLOCK_PHASE_TARGET: "development"}, user=BOB)
    assert gated == {
        "response_action": "errors",
        "errors": {
            ids.BLOCK_PHASE_TARGET: "Still missing before development: DS summary, Agreed KPI with a target, "
            'Interface/API contract. To move anyway, say why under "Reason to move anyway".'
        },
    }
    too_long = submit(
        running, view, {ids.BLOCK_PHASE_TARGET: "development", ids.BLOCK_PHASE_REASON: "x" * 501}, user=BOB
    )
    assert too_long == {
        "response_action": "errors",
        "errors": {ids.BLOCK_PHASE_REASON: "The reason is 501 characters long; the limit is 500."},
    }
    assert (row_counts(running.engine), len(replies(running, churn))) == (counts, posted)

    forced = submit(
        running,
        view,
        {ids.BLOCK_PHASE_TARGET: "development", ids.BLOCK_PHASE_REASON: "pilot for one customer"},
        user=BOB,
    )

    assert forced == {}
    assert load(running.engine, CHURN_V2).phase == "development"
    last = rows(running.engine, PhaseChange)[-1]
    assert (last.to_phase, last.forced, last.note) == ("development", True, "pilot for one customer")
    assert ":warning: Forced past the readiness checklist" in thread_texts(running, churn)[-1]
    assert private_to(running, BOB)[-1].startswith(
        ":white_check_mark: *Churn model v2* is now in *development*. Forced past: DS summary"
    )


def test_a_non_lead_sees_no_force_field_and_cannot_force_with_a_crafted_submission(
    running: RunningApp, churn: Thread
) -> None:
    view = pick(running, "phase", user=ALICE).view  # the creator and embedded engineer: she leads neither team
    assert ids.BLOCK_PHASE_REASON not in [b.get("block_id") for b in view["blocks"]]

    refused = submit(running, view, {ids.BLOCK_PHASE_TARGET: "development"})
    assert refused["errors"][ids.BLOCK_PHASE_TARGET].endswith(
        "Only the DS lead, the engineering lead or a workspace admin can move it anyway; add the missing items, or "
        'waive them with /handoff checklist churn waive <item> "<reason>".'
    )

    before, posted = row_counts(running.engine), len(replies(running, churn))
    crafted = submit(running, view, {ids.BLOCK_PHASE_TARGET: "development", ids.BLOCK_PHASE_REASON: "trust me"})

    assert crafted == {}
    command = private_answer(running, 'phase churn development --force "trust me"')
    assert first_line(private_to(running, ALICE)[-1]) == first_line(command)
    assert "can force it past a gate" in command
    assert (row_counts(running.engine), len(replies(running, churn))) == (before, posted)
    assert load(running.engine, CHURN_V2).phase == "discovery"

    # A workspace admin sees the field.
    assert ids.BLOCK_PHASE_REASON in [b.get("block_id") for b in pick(running, "phase", user=ADMIN).view["blocks"]]


def test_change_phase_opens_at_once_when_slack_rate_limits_the_admin_check(running: RunningApp, churn: Thread) -> None:
    # Handoff has never looked the admin up; Slack answers `users.info` with a 429 asking to wait 30 s.
    running.fake.fail_next("users.info", error="ratelimited", retry_after=30)
    before = len(running.fake.calls)

    view = pick(running, "phase", user=ADMIN).view

    methods = [c.method for c in running.fake.calls[before:]]
    assert methods[: methods.index("views.open")].count("users.info") == 1  # asked once, not waited out
    assert ids.BLOCK_PHASE_REASON not in [b.get("block_id") for b in view["blocks"]]  # unknown: the leads' field only
    assert ids.BLOCK_PHASE_REASON in [b.get("block_id") for b in pick(running, "phase", user=BOB).view["blocks"]]


def test_someone_with_no_part_in_it_gets_the_commands_refusal_to_move_or_archive_it(
    running: RunningApp, churn: Thread
) -> None:
    before, posted = row_counts(running.engine), len(replies(running, churn))
    for step, changes, command in (
        ("phase", {ids.BLOCK_PHASE_TARGET: "research"}, "phase churn research"),
        ("archive", {}, "archive churn"),
    ):
        view = pick(running, step, user=DAVE).view
        assert submit(running, view, changes, user=DAVE) == {}
        refusal = private_answer(running, command, user=DAVE)
        assert "Only the initiative's leads, embedded engineer, creator or a workspace admin can" in refusal
        assert first_line(private_to(running, DAVE)[-1]) == first_line(refusal)
    assert (row_counts(running.engine), len(replies(running, churn))) == (before, posted)
    assert not load(running.engine, CHURN_V2).archived


# --- edit -------------------------------------------------------------------------------------------------


def test_edit_is_filled_in_sends_only_what_changed_and_clears_an_emptied_field(
    running: RunningApp, churn: Thread
) -> None:
    run(running, 'new "Pricing engine" channel:<#C0CHURN|churn>')
    view = pick(running, "edit").view

    assert view["callback_id"] == ids.VIEW_EDIT_INITIATIVE
    shown = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert shown[ids.BLOCK_NEW_NAME]["initial_value"] == CHURN_V2
    assert shown[ids.BLOCK_NEW_CHANNEL]["initial_conversation"] == GENERAL
    assert shown[ids.BLOCK_NEW_DS]["initial_user"] == BOB
    assert shown[ids.BLOCK_NEW_ENG]["initial_user"] == CAROL
    assert shown[ids.BLOCK_NEW_EMBEDDED]["initial_user"] == ALICE
    assert shown[ids.BLOCK_NEW_DUE]["initial_date"] == "2027-03-01"
    assert "initial_value" not in shown[ids.BLOCK_NEW_GOAL]

    before, posted = row_counts(running.engine), len(replies(running, churn))
    assert submit(running, view) == {
        "response_action": "errors",
        "errors": {ids.BLOCK_NEW_NAME: "Nothing changed: change a field, or Cancel."},
    }
    assert submit(running, view, {ids.BLOCK_NEW_NAME: "Pricing engine", ids.BLOCK_NEW_DUE: "2026-12-01"}) == {
        "response_action": "errors",
        "errors": {
            ids.BLOCK_NEW_NAME: 'An initiative called "Pricing engine" already exists. Pick another name.',
            ids.BLOCK_NEW_DUE: "The target date 2026-12-01 is in the past.",
        },
    }
    assert (row_counts(running.engine), len(replies(running, churn))) == (before, posted)

    saved = submit(running, view, {ids.BLOCK_NEW_GOAL: "Cut churn by 6%", ids.BLOCK_NEW_EMBEDDED: None})

    assert saved == {}
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.goal, initiative.embedded_engineer_id, initiative.ds_lead_id) == ("Cut churn by 6%", None, BOB)
    update = thread_texts(running, churn)[-1]
    assert "Goal" in update and "Cut churn by 6%" in update and "Embedded engineer" in update
    assert "DS lead" not in update  # only what changed was sent
    assert private_to(running, ALICE)[-1].startswith(
        ":white_check_mark: Updated embedded engineer, goal of *Churn model v2*."
    )


def test_edit_by_someone_with_no_part_in_it_changes_no_people(running: RunningApp, churn: Thread) -> None:
    view = pick(running, "edit", user=DAVE).view
    before = row_counts(running.engine)

    assert submit(running, view, {ids.BLOCK_NEW_DS: DAVE}, user=DAVE) == {}

    refusal = private_answer(running, "edit churn ds:<@U0DAVE|dave>", user=DAVE)
    assert first_line(private_to(running, DAVE)[-1]) == first_line(refusal)
    assert "can change its name, channel or people" in refusal
    assert load(running.engine, CHURN_V2).ds_lead_id == BOB
    assert row_counts(running.engine) == before


# --- checkpoints and docs -----------------------------------------------------------------------------------


def test_add_checkpoint_and_add_doc_open_their_forms_with_the_initiative_picked(
    running: RunningApp, churn: Thread
) -> None:
    churn_id = str(load(running.engine, CHURN_V2).id)
    view = pick(running, "checkpoint").view
    assert view["callback_id"] == ids.VIEW_ADD_CHECKPOINT
    assert submit(running, view, {ids.BLOCK_CHECKPOINT_TITLE: "Model card reviewed"}) == {}
    [checkpoint] = rows(running.engine, Checkpoint)
    assert (str(checkpoint.initiative_id), checkpoint.title) == (churn_id, "Model card reviewed")
    assert "Model card reviewed" in thread_texts(running, churn)[-1]
    assert "Model card reviewed" in private_to(running, ALICE)[-1]

    view = pick(running, "doc").view
    assert view["callback_id"] == ids.VIEW_ADD_DOC
    url = "https://wiki.example.com/churn/summary"
    assert submit(running, view, {ids.BLOCK_DOC_KIND: "ds-summary", ids.BLOCK_DOC_URL: url}) == {}
    [doc] = rows(running.engine, HandoffDoc)
    assert (str(doc.initiative_id), doc.kind, doc.url) == (churn_id, "ds-summary", url)
    assert "DS summary" in private_to(running, ALICE)[-1]


def test_report_a_blocker_opens_the_blocker_form_with_the_initiative_picked(running: RunningApp, churn: Thread) -> None:
    churn_id = str(load(running.engine, CHURN_V2).id)
    view = pick(running, "blocker").view
    assert view["callback_id"] == ids.VIEW_REPORT_BLOCKER
    [picker] = [b["element"] for b in view["blocks"] if b.get("block_id") == ids.BLOCK_BLOCKER_INITIATIVE]
    assert picker["initial_option"]["value"] == churn_id

    assert submit(running, view, {ids.BLOCK_BLOCKER_TEXT: "No read access to the events table"}) == {}

    [blocker] = rows(running.engine, Blocker)
    assert (str(blocker.initiative_id), blocker.text) == (churn_id, "No read access to the events table")
    assert "No read access to the events table" in thread_texts(running, churn)[-1]


# --- KPI readings -------------------------------------------------------------------------------------------


def test_record_a_kpi_reading_picks_one_of_its_kpis_and_checks_the_value(running: RunningApp, churn: Thread) -> None:
    picked = pick(running, "reading")
    assert picked.answers == []  # no command to type: the form that agrees a KPI opens instead
    assert picked.view["callback_id"] == ids.VIEW_ADD_KPI
    assert picked.view["blocks"][0]["text"]["text"].startswith("No KPI is agreed yet for *Churn model v2*")

    run(running, 'kpi add churn "AUC on holdout" &gt;= 0.82')
    view = pick(running, "reading").view
    assert view["callback_id"] == ids.VIEW_RECORD_READING
    [kpi_block] = [b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_READING_KPI]
    assert kpi_block["element"]["initial_option"]["value"] == "AUC on holdout"

    assert submit(running, view, {ids.BLOCK_READING_VALUE: "high"}) == {
        "response_action": "errors",
        "errors": {
            ids.BLOCK_READING_VALUE: '"high" is not a number; the value must be one, like 0.82 or 120.',
        },
    }
    assert rows(running.engine, KpiReading) == []

    assert submit(running, view, {ids.BLOCK_READING_VALUE: "0,84", ids.BLOCK_READING_NOTE: "after retrain"}) == {}

    [reading] = rows(running.engine, KpiReading)
    assert (reading.value, reading.note, reading.recorded_by) == (0.84, "after retrain", ALICE)
    assert private_to(running, ALICE)[-1].startswith(":white_check_mark: Recorded 0.84 (`0,84` read as 0.84)")


# --- standup settings ---------------------------------------------------------------------------------------


def test_standup_settings_are_filled_in_and_saved_through_the_standup_command(
    running: RunningApp, churn: Thread
) -> None:
    view = pick(running, "standup").view

    assert view["callback_id"] == ids.VIEW_STANDUP_SETTINGS
    shown = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert shown[ids.BLOCK_STANDUP_ENABLED]["initial_option"]["value"] == "on"
    assert shown[ids.BLOCK_STANDUP_TIME]["initial_time"] == "09:30"
    assert [o["value"] for o in shown[ids.BLOCK_STANDUP_DAYS]["initial_options"]] == ["mon", "tue", "wed", "thu", "fri"]
    assert shown[ids.BLOCK_STANDUP_ZONE]["initial_value"] == "Europe/Berlin"  # Alice's own
    assert shown[ids.block_standup_question(0)]["initial_value"] == "What did the DS team work on?"

    def errors(changes: dict[str, Any]) -> dict[str, str]:
        return submit(running, view, changes)["errors"]

    assert errors({}) == {ids.BLOCK_STANDUP_ENABLED: "Nothing changed: change a field, or Cancel."}
    assert errors({ids.BLOCK_STANDUP_DAYS: []}) == {ids.BLOCK_STANDUP_DAYS: "Pick at least one day."}
    assert "Mars/Olympus" in errors({ids.BLOCK_STANDUP_ZONE: "Mars/Olympus"})[ids.BLOCK_STANDUP_ZONE]
    assert rows(running.engine, StandupSettings) == []

    saved = submit(
        running,
        view,
        {
            ids.BLOCK_STANDUP_TIME: "10:15",
            ids.BLOCK_STANDUP_DAYS: ["mon", "wed"],
            ids.block_standup_question(1): "What data did they need?",
        },
    )

    assert saved == {}
    [settings] = rows(running.engine, StandupSettings)
    assert (settings.enabled, settings.time, settings.days, settings.timezone) == (True, "10:15", "mon,wed", None)
    assert json.loads(settings.questions or "[]")[1] == "What data did they need?"
    answer = private_to(running, ALICE)[-1]
    assert answer.startswith(":white_check_mark: Saved. *Standup for Churn model v2:*")
    assert "Mon, Wed at 10:15 (Europe/Berlin)" in answer

    # Off, from the same form.
    assert submit(running, pick(running, "standup").view, {ids.BLOCK_STANDUP_ENABLED: "off"}) == {}
    [settings] = rows(running.engine, StandupSettings)
    assert (settings.enabled, settings.time) == (False, "10:15")

    # Someone with no part in it gets the command's refusal.
    assert submit(running, pick(running, "standup", user=DAVE).view, {ids.BLOCK_STANDUP_TIME: "11:00"}, user=DAVE) == {}
    refusal = private_answer(running, "standup churn at 11:00", user=DAVE)
    assert first_line(private_to(running, DAVE)[-1]) == first_line(refusal)
    assert rows(running.engine, StandupSettings)[0].time == "10:15"


def test_standup_settings_without_an_embedded_engineer_say_how_to_name_one(running: RunningApp, churn: Thread) -> None:
    run(running, "edit churn embedded:none")
    picked = pick(running, "standup")
    assert picked.views == []
    [answer] = picked.answers
    assert '"Churn model v2" has no embedded engineer to ask' in all_text(answer)


# --- archive ------------------------------------------------------------------------------------------------


def test_archive_asks_first_then_archives_with_undo(running: RunningApp, churn: Thread) -> None:
    view = pick(running, "archive").view

    assert view["callback_id"] == ids.VIEW_ARCHIVE
    assert view["submit"]["text"] == "Archive"
    assert "Archive *Churn model v2*?" in all_text(view)
    assert "its history is kept, and *Undo*" in all_text(view)
    assert not load(running.engine, CHURN_V2).archived

    assert submit(running, view) == {}

    assert load(running.engine, CHURN_V2).archived
    assert "archived" in thread_texts(running, churn)[-1]
    [answer] = [m for m in running.fake.messages_in(GENERAL) if m.ephemeral_to == ALICE][-1:]
    assert answer.text.startswith(":white_check_mark: Archived *Churn model v2*")
    assert button_values({"blocks": answer.blocks}, ids.ACTION_UNDO)
