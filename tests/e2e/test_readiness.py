"""Readiness end to end: handoff docs, each initiative's checklist, phase gates, KPIs and the ideas log.

Signed slash commands, button clicks and form submissions go over HTTP into the real app; Slack is played by
FakeSlack and reached through the real slack_sdk client. No Jira is configured, so nothing here waits on it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import ids
from storage.models import ChecklistEntry, HandoffDoc, Idea, Initiative, Kpi, KpiReading, PhaseChange
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import Thread, blocks_of, kickoff_of, load, mrkdwn_strings, plain_strings, replies, run
from tests.support.factories import rows
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, CHURN, DAVE, GENERAL, NOW

CHURN_V2 = "Churn model v2"
NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>'
SUMMARY_URL = "https://wiki.example.com/churn/summary"
CONTRACT_URL = "https://wiki.example.com/churn/api-contract"
FAIRNESS_URL = "https://wiki.example.com/churn/fairness"
AUC = "AUC on holdout"
ADD_AUC = 'kpi add churn "AUC on holdout" &gt;= 0.82 unit:% owner:<@U0BOB|bob>'
# The production gate of the default checklist, as `phase --force` lists what it was forced past.
PRODUCTION_DOCS = (
    "model-card",
    "dependencies",
    "privacy-review",
    "serving-budget",
    "test-evidence",
    "monitoring-plan",
    "runbook",
)
DOC_FORM_BLOCKS = [ids.BLOCK_DOC_INITIATIVE, ids.BLOCK_DOC_KIND, ids.BLOCK_DOC_URL, ids.BLOCK_DOC_NOTE]
DEVELOPMENT_ITEMS = [
    ":x: *DS summary* (`ds-summary`)",
    "      _Approach, results, limitations and odds of success, agreed by both teams._ "
    "`/handoff doc add churn ds-summary &lt;url&gt;`",
    ":x: *Agreed KPI with a target* (`kpi`)",
    "      _The measure that defines good, with its target._ "
    '`/handoff kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`',
    ":x: *Interface/API contract* (`api-contract`)",
    "      _Input and output schema between the teams._ `/handoff doc add churn api-contract &lt;url&gt;`",
]


# --- fixtures and helpers ---------------------------------------------------------------------------------


@pytest.fixture
def churn(running: RunningApp) -> Thread:
    """`Churn model v2` made with `/handoff new` in #general by Alice: ref `churn`, DS lead Bob, engineering lead
    Carol, in discovery. Its kickoff message is the thread every update goes to."""
    confirmation = answer_line(running, NEW_CHURN)
    assert confirmation.startswith(":white_check_mark: Created *Churn model v2*"), confirmation
    kickoff = kickoff_of(running, CHURN_V2)
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.ref_key, initiative.phase) == ("churn", "discovery")
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink=initiative.thread_permalink or "")


def private_payload(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> dict[str, Any]:
    """The one private answer a command gets, whether in the ack or through its response_url."""
    result, posts = run(running, text, user=user, channel=channel)
    if result.body:
        assert posts == [], f"answered both in the ack and through the response_url: {posts!r}"
        payload = result.json
    else:
        assert len(posts) == 1, f"expected one private answer to {text!r}, got {posts!r}"
        payload = posts[0]
    assert payload.get("response_type", "ephemeral") == "ephemeral", payload
    return payload


def sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload.get("blocks") or [] if b["type"] == "section"]


def answer_line(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> str:
    """The first section of the private answer: the confirmation or the problem, as the person reads it."""
    return sections(private_payload(running, text, user=user, channel=channel))[0]


def thread_lines(running: RunningApp, thread: Thread) -> list[str]:
    """The first section of every reply in the initiative's thread, oldest first."""
    return [blocks_of(m)[0]["text"]["text"] for m in replies(running, thread)]


def new_thread_lines(running: RunningApp, thread: Thread, text: str, *, user: str = ALICE) -> tuple[str, list[str]]:
    """Run a command; its private answer and what it added to the thread."""
    before = len(replies(running, thread))
    answer = answer_line(running, text, user=user)
    return answer, thread_lines(running, thread)[before:]


def slack_day(moment: datetime) -> str:
    """How a date is written for Slack to show in each reader's time zone."""
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{moment:%Y-%m-%d}>"


def typed_link(url: str) -> str:
    """A URL as Slack puts it in slash-command text: linked in angle brackets, its `&` escaped."""
    return "<" + url.replace("&", "&amp;") + ">"


def snapshot(engine: Engine) -> list[dict[str, Any]]:
    """Every row a readiness command could write, so a refused command can be shown to have written nothing."""
    with Session(engine) as session:
        return [
            {"table": model.__name__, **row.model_dump()}
            for model in (Initiative, PhaseChange, HandoffDoc, ChecklistEntry, Kpi, KpiReading, Idea)
            for row in session.exec(select(model)).all()
        ]


def posted(running: RunningApp) -> int:
    return len(running.fake.calls_to("chat.postMessage"))


def add_doc(running: RunningApp, kind: str, url: str, *, user: str = ALICE) -> None:
    confirmation = answer_line(running, f"doc add churn {kind} {typed_link(url)}", user=user)
    assert confirmation.startswith(":white_check_mark: Added the "), confirmation


def ready_for_development(running: RunningApp) -> None:
    """The development gate's three items: the DS summary, the API contract and a KPI."""
    add_doc(running, "ds-summary", SUMMARY_URL, user=BOB)
    add_doc(running, "api-contract", CONTRACT_URL, user=CAROL)
    assert answer_line(running, ADD_AUC).startswith(":white_check_mark: Agreed *AUC on holdout*")


def section_with(payload: dict[str, Any], fragment: str) -> str:
    [found] = [s for s in sections(payload) if fragment in s]
    return found


def opened_form(running: RunningApp, before: int) -> dict[str, Any]:
    """The one form opened since `before` views.open calls, as Slack stored it."""
    [call] = running.fake.calls_to("views.open")[before:]
    assert call.response["ok"] is True, call.response
    view: dict[str, Any] = call.response["view"]
    return view


def element_of(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b["block_id"] == block_id]
    element: dict[str, Any] = block["element"]
    return element


def option_of(view: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    """A picker's option, as Slack hands it back once picked."""
    [option] = [o for o in element_of(view, block_id)["options"] if o["value"] == value]
    return dict(option)


def offered_initiative(running: RunningApp, view: dict[str, Any], initiative_id: int | None) -> dict[str, Any]:
    """The initiative picker's option for this initiative, as the app offers it while the menu opens."""
    picker = element_of(view, ids.BLOCK_DOC_INITIATIVE)
    result = running.slack.suggest_options(
        view, block_id=ids.BLOCK_DOC_INITIATIVE, action_id=picker["action_id"], value=""
    )
    [option] = [o for o in result.json["options"] if o["value"] == str(initiative_id)]
    return dict(option)


def doc_form(
    *, initiative: dict[str, Any] | None, kind: dict[str, Any] | None, url: str | None, note: str | None = None
) -> dict[str, dict[str, Any]]:
    """The doc form's `view.state.values` as Slack sends it: every input, unset ones as null."""
    return {
        ids.BLOCK_DOC_INITIATIVE: {
            ids.ACTION_PICK_INITIATIVE: {"type": "external_select", "selected_option": initiative}
        },
        ids.BLOCK_DOC_KIND: {ids.INPUT_ACTION: {"type": "static_select", "selected_option": kind}},
        ids.BLOCK_DOC_URL: {ids.INPUT_ACTION: {"type": "url_text_input", "value": url}},
        ids.BLOCK_DOC_NOTE: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": note}},
    }


# --- docs -------------------------------------------------------------------------------------------------


def test_docs_answers_privately_in_the_ack_with_each_missing_item_and_how_to_add_it(
    running: RunningApp, churn: Thread
) -> None:
    result, posts = run(running, "docs churn")

    assert posts == []  # read-only: answered in the ack itself
    payload = result.json
    assert payload.get("response_type", "ephemeral") == "ephemeral"
    assert payload["text"] == "Handoff checklist of Churn model v2: development 0/3"
    assert payload["blocks"][0]["text"]["text"] == "Handoff checklist: Churn model v2"
    assert sections(payload) == ["\n".join(["*To enter development:* 0/3 ready", *DEVELOPMENT_ITEMS])]
    [button, share] = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["text"]["text"]) == (ids.ACTION_ADD_DOC, "Add a doc")
    assert (share["action_id"], share["text"]["text"]) == (ids.ACTION_SHARE_ANSWER, "Share in channel")
    assert json.loads(button["value"]) == {"i": load(running.engine, CHURN_V2).id}
    assert posted(running) == 1  # the kickoff only


def test_docs_shows_the_current_and_next_gate_satisfied_waived_and_missing(running: RunningApp, churn: Thread) -> None:
    ready_for_development(running)
    assert answer_line(running, "phase churn development").endswith("is now in *development*.")
    running.clock.advance(timedelta(days=2))
    waived_at = running.clock.now()
    assert answer_line(running, 'checklist churn waive privacy-review "aggregated counts only"').startswith(
        ":white_check_mark: Waived"
    )

    payload = private_payload(running, "docs churn")

    assert payload["text"] == "Handoff checklist of Churn model v2: development 3/3; production 1/7"
    text = "\n".join(sections(payload))
    assert text.startswith("*To enter development:* 3/3 ready\n:white_check_mark: *DS summary* (`ds-summary`)")
    assert (
        f"      <{SUMMARY_URL}|{SUMMARY_URL}> · <@{BOB}>, {slack_day(NOW)}\n"
        f':white_check_mark: *Agreed KPI with a target* (`kpi`) · "{AUC}"\n'
        f":white_check_mark: *Interface/API contract* (`api-contract`)\n"
        f"      <{CONTRACT_URL}|{CONTRACT_URL}> · <@{CAROL}>, {slack_day(NOW)}\n"
        "*To enter production:* 1/7 ready, 1 waived\n"
        ":x: *Model card* (`model-card`)\n"
        "      _Architecture, training and evaluation data, metrics including slices, limitations._ "
        "`/handoff doc add churn model-card &lt;url&gt;`\n"
    ) in text
    assert (
        ":heavy_minus_sign: *Data-privacy/PII review* (`privacy-review`)\n"
        f"      waived by <@{ALICE}> on {slack_day(waived_at)}: aggregated counts only\n"
    ) in text
    assert text.endswith(
        f":white_check_mark: *Named owners on both teams* (`owners`) · DS <@{BOB}>, engineering <@{CAROL}>"
    )
    assert "Phase: development" in all_text(payload)


# --- doc add and doc remove -------------------------------------------------------------------------------


def test_doc_add_confirms_privately_tells_the_thread_once_and_satisfies_the_item(
    running: RunningApp, churn: Thread
) -> None:
    confirmation, posts = new_thread_lines(
        running, churn, f'doc add churn ds-summary {typed_link(SUMMARY_URL)} "v2, agreed in review"', user=BOB
    )

    assert confirmation == ":white_check_mark: Added the DS summary of *Churn model v2*. Ready 1/3 for development."
    assert posts == [
        f":page_facing_up: <@{BOB}> added the *DS summary* of *Churn model v2*: <{SUMMARY_URL}|{SUMMARY_URL}>\n"
        "> v2, agreed in review"
    ]
    assert replies(running, churn)[-1].text == "Churn model v2: DS summary added"
    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.kind, doc.url, doc.note, doc.added_by, doc.added_at, doc.removed_at) == (
        "ds-summary",
        SUMMARY_URL,
        "v2, agreed in review",
        BOB,
        NOW,
        None,
    )
    listing = "\n".join(sections(private_payload(running, "docs churn")))
    assert listing.startswith(
        "*To enter development:* 1/3 ready\n:white_check_mark: *DS summary* (`ds-summary`)\n"
        f"      <{SUMMARY_URL}|{SUMMARY_URL}> · <@{BOB}>, {slack_day(NOW)} · v2, agreed in review\n"
        ":x: *Agreed KPI with a target* (`kpi`)"
    )


def test_doc_remove_tells_the_thread_and_the_item_is_missing_again(running: RunningApp, churn: Thread) -> None:
    add_doc(running, "ds-summary", SUMMARY_URL, user=BOB)
    running.clock.advance(timedelta(hours=3))

    # Someone who neither added the doc nor manages the initiative may not take it off.
    before = snapshot(running.engine)
    refused = answer_line(running, "doc remove churn ds-summary", user=DAVE)
    assert refused == (
        ":warning: Only the initiative's leads, embedded engineer, creator or a workspace admin can remove docs "
        f"others added. Ask <@{BOB}>, <@{CAROL}>, <@{ALICE}>."
    )
    assert snapshot(running.engine) == before

    confirmation, posts = new_thread_lines(running, churn, "doc remove churn ds-summary")

    assert confirmation == ":white_check_mark: Removed the DS summary doc of *Churn model v2*."
    assert posts == [
        f":wastebasket: <@{ALICE}> removed the *DS summary* doc of *Churn model v2* (<{SUMMARY_URL}|{SUMMARY_URL}>)."
    ]
    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.removed_by, doc.removed_at) == (ALICE, NOW + timedelta(hours=3))
    listing = sections(private_payload(running, "docs churn"))
    assert listing == ["\n".join(["*To enter development:* 0/3 ready", *DEVELOPMENT_ITEMS])]


def test_a_link_with_a_query_string_stays_one_link(running: RunningApp, churn: Thread) -> None:
    url = "https://wiki.example.com/view?page=churn&rev=7"

    _, posts = new_thread_lines(running, churn, f"doc add churn api-contract {typed_link(url)}")

    [doc] = rows(running.engine, HandoffDoc)
    assert doc.url == url  # stored as typed, not as Slack escaped it
    shown = "https://wiki.example.com/view?page=churn&amp;rev=7"
    assert posts == [
        f":page_facing_up: <@{ALICE}> added the *Interface/API contract* of *Churn model v2*: <{shown}|{shown}>"
    ]
    listing = "\n".join(sections(private_payload(running, "docs churn")))
    assert f"      <{shown}|{shown}> · <@{ALICE}>, {slack_day(NOW)}" in listing


@pytest.mark.parametrize(
    ("text", "channel", "initiative_picked", "kind_picked"),
    [
        ("doc", GENERAL, True, None),
        ("doc add", GENERAL, True, None),
        ("doc add", CHURN, False, None),
        ("doc add churn", CHURN, True, None),
        ("doc add churn model-card", CHURN, True, "model-card"),
    ],
    ids=["doc-alone", "add-in-the-home-channel", "add-elsewhere", "initiative-only", "initiative-and-kind"],
)
def test_doc_add_with_too_few_arguments_opens_the_form_with_what_was_given(
    running: RunningApp, churn: Thread, text: str, channel: str, initiative_picked: bool, kind_picked: str | None
) -> None:
    before = snapshot(running.engine)
    opened = len(running.fake.calls_to("views.open"))

    result, posts = run(running, text, channel=channel)

    assert (result.body, posts) == ("", [])  # no answer: the form is the answer
    view = opened_form(running, opened)
    assert view["callback_id"] == ids.VIEW_ADD_DOC
    assert [b["block_id"] for b in view["blocks"]] == DOC_FORM_BLOCKS
    assert json.loads(view["private_metadata"]) == {"c": channel}
    initiative_picker = element_of(view, ids.BLOCK_DOC_INITIATIVE)
    churn_option = offered_initiative(running, view, load(running.engine, CHURN_V2).id)
    assert initiative_picker.get("initial_option") == (churn_option if initiative_picked else None)
    kind_picker = element_of(view, ids.BLOCK_DOC_KIND)
    assert [o["value"] for o in kind_picker["options"]] == [
        "ds-summary",
        "api-contract",
        *PRODUCTION_DOCS,
        "owners",
    ]
    assert kind_picker.get("initial_option", {}).get("value") == kind_picked
    assert snapshot(running.engine) == before
    assert posted(running) == 1


# --- the doc form -----------------------------------------------------------------------------------------


def test_the_add_a_doc_button_opens_the_form_for_its_initiative_and_the_form_adds_the_doc(
    running: RunningApp, churn: Thread
) -> None:
    # A second initiative at home in #general: the form can only know which one from the button.
    assert answer_line(running, 'new "Pricing engine"').startswith(":white_check_mark: Created")
    listing = private_payload(running, "docs churn", channel=CHURN)
    [value] = button_values(listing, ids.ACTION_ADD_DOC)
    opened = len(running.fake.calls_to("views.open"))

    click = running.slack.action(
        ids.ACTION_ADD_DOC,
        value=value,
        user=BOB,
        channel=CHURN,
        container={"type": "message", "message_ts": "1.0", "channel_id": CHURN, "is_ephemeral": True},
    )
    assert (click.status, click.body) == (200, "")
    running.settle()

    view = opened_form(running, opened)
    assert view["callback_id"] == ids.VIEW_ADD_DOC
    churn_option = offered_initiative(running, view, load(running.engine, CHURN_V2).id)
    assert element_of(view, ids.BLOCK_DOC_INITIATIVE)["initial_option"] == churn_option
    assert "initial_option" not in element_of(view, ids.BLOCK_DOC_KIND)
    assert json.loads(view["private_metadata"]) == {"c": CHURN}
    summary = option_of(view, ids.BLOCK_DOC_KIND, "ds-summary")
    assert summary["text"]["text"] == "DS summary (ds-summary)"

    # A link that is not http(s) keeps the form open with the problem under the link field.
    before, before_posts = snapshot(running.engine), posted(running)
    for bad_url in ("ftp://files.example.com/summary.pdf", "javascript:alert(1)"):
        refused = running.slack.submit_view(
            view, doc_form(initiative=churn_option, kind=summary, url=bad_url), user=BOB
        )
        running.settle()
        assert refused.status == 200
        assert refused.json == {
            "response_action": "errors",
            "errors": {"url": f'"{bad_url}" is not a web link; a doc is an http:// or https:// URL.'},
        }
    assert snapshot(running.engine) == before
    assert posted(running) == before_posts
    assert running.fake.calls_to("chat.postEphemeral") == []

    accepted = running.slack.submit_view(
        view,
        doc_form(initiative=churn_option, kind=summary, url=SUMMARY_URL, note="Signed off by both teams & legal"),
        user=BOB,
    )
    assert (accepted.status, accepted.body) == (200, "")
    running.settle()

    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.initiative_id, doc.kind, doc.url, doc.note, doc.added_by) == (
        load(running.engine, CHURN_V2).id,
        "ds-summary",
        SUMMARY_URL,
        "Signed off by both teams & legal",
        BOB,
    )
    assert thread_lines(running, churn) == [
        f":page_facing_up: <@{BOB}> added the *DS summary* of *Churn model v2*: <{SUMMARY_URL}|{SUMMARY_URL}>\n"
        "> Signed off by both teams &amp; legal"
    ]
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (CHURN, BOB)
    assert (
        told.args["text"] == ":white_check_mark: Added the DS summary of *Churn model v2*. Ready 1/3 for development."
    )


def test_the_form_opened_by_doc_add_adds_the_doc_in_the_home_channel(running: RunningApp, churn: Thread) -> None:
    opened = len(running.fake.calls_to("views.open"))
    assert run(running, "doc add")[1] == []
    view = opened_form(running, opened)
    # The only initiative at home in #general, where the command was typed, is picked already.
    churn_option = element_of(view, ids.BLOCK_DOC_INITIATIVE)["initial_option"]

    result = running.slack.submit_view(
        view,
        doc_form(initiative=churn_option, kind=option_of(view, ids.BLOCK_DOC_KIND, "api-contract"), url=CONTRACT_URL),
        user=CAROL,
    )
    assert (result.status, result.body) == (200, "")
    running.settle()

    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.kind, doc.url, doc.note, doc.added_by) == ("api-contract", CONTRACT_URL, None, CAROL)
    assert thread_lines(running, churn) == [
        f":page_facing_up: <@{CAROL}> added the *Interface/API contract* of *Churn model v2*: "
        f"<{CONTRACT_URL}|{CONTRACT_URL}>"
    ]
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (GENERAL, CAROL)
    assert told.args["text"].startswith(":white_check_mark: Added the Interface/API contract of *Churn model v2*.")


# --- the initiative's own checklist -----------------------------------------------------------------------


def test_checklist_waive_add_and_remove_change_what_the_initiative_needs(running: RunningApp, churn: Thread) -> None:
    waiver, posts = new_thread_lines(running, churn, 'checklist churn waive privacy-review "aggregated counts only"')
    assert waiver == ":white_check_mark: Waived *Data-privacy/PII review* for *Churn model v2*."
    assert posts == [
        f":heavy_minus_sign: <@{ALICE}> waived *Data-privacy/PII review* for *Churn model v2*\n> aggregated counts only"
    ]

    addition, posts = new_thread_lines(
        running, churn, 'checklist churn add fairness-review "credit decisions" for:production', user=BOB
    )
    assert addition == (
        ":white_check_mark: Added *Fairness review* (`fairness-review`) to the checklist of *Churn model v2*. "
        "A doc satisfies it: `/handoff doc add churn fairness-review &lt;url&gt;`."
    )
    assert posts == [
        f":heavy_plus_sign: <@{BOB}> added *Fairness review* (`fairness-review`) to the checklist of "
        "*Churn model v2*, needed to enter production\n> credit decisions"
    ]
    entries = [(e.item_key, e.action, e.gate, e.reason, e.created_by) for e in rows(running.engine, ChecklistEntry)]
    assert entries == [
        ("privacy-review", "waive", None, "aggregated counts only", ALICE),
        ("fairness-review", "add", "production", "credit decisions", BOB),
    ]

    # The added item is a doc kind of this initiative now.
    confirmation, posts = new_thread_lines(running, churn, f"doc add churn fairness-review {typed_link(FAIRNESS_URL)}")
    assert (
        confirmation == ":white_check_mark: Added the Fairness review of *Churn model v2*. Ready 0/3 for development."
    )
    assert posts == [
        f":page_facing_up: <@{ALICE}> added the *Fairness review* of *Churn model v2*: <{FAIRNESS_URL}|{FAIRNESS_URL}>"
    ]
    detail = "\n".join(sections(private_payload(running, "status churn")))
    assert "*To enter production:* 2/8 ready, 1 waived" in detail
    assert (
        ":heavy_minus_sign: *Data-privacy/PII review* (`privacy-review`)\n"
        f"      waived by <@{ALICE}> on {slack_day(NOW)}: aggregated counts only"
    ) in detail
    assert (
        f":white_check_mark: *Fairness review* (`fairness-review`) · added for this initiative by <@{BOB}>\n"
        f"      <{FAIRNESS_URL}|{FAIRNESS_URL}> · <@{ALICE}>, {slack_day(NOW)}"
    ) in detail

    lifted, posts = new_thread_lines(running, churn, "checklist churn remove privacy-review")
    assert lifted == ":white_check_mark: Undid this initiative's change to *Data-privacy/PII review*."
    assert posts == [
        f":leftwards_arrow_with_hook: <@{ALICE}> lifted the waiver of *Data-privacy/PII review* for *Churn model v2*."
    ]
    dropped, posts = new_thread_lines(running, churn, "checklist churn remove fairness-review")
    assert dropped == ":white_check_mark: Undid this initiative's change to *Fairness review*."
    assert posts == [f":leftwards_arrow_with_hook: <@{ALICE}> dropped *Fairness review* for *Churn model v2*."]
    assert rows(running.engine, ChecklistEntry) == []
    detail = "\n".join(sections(private_payload(running, "status churn")))
    assert "*To enter production:* 1/8 ready\n" in detail
    assert "Fairness review" not in detail
    assert ":x: *Data-privacy/PII review* (`privacy-review`)" in detail


NOT_A_MANAGER = [
    ('checklist churn waive privacy-review "aggregated counts only"', "waive checklist items"),
    ('checklist churn add fairness-review "credit decisions"', "change its checklist"),
    ("checklist churn remove runbook", "change its checklist"),
    ('kpi add churn "Latency p99" &lt;= 120 unit:ms', "agree KPIs"),
]


def test_someone_who_does_not_manage_the_initiative_cannot_change_its_checklist_or_kpis(
    running: RunningApp, churn: Thread
) -> None:
    # An item the initiative waived, so that `remove` gets as far as asking who may.
    assert answer_line(running, 'checklist churn waive runbook "batch scoring, nothing to roll back"').startswith(
        ":white_check_mark:"
    )
    before, before_posts = snapshot(running.engine), posted(running)

    for text, action in NOT_A_MANAGER:
        refused = answer_line(running, text, user=DAVE)

        assert refused == (
            f":warning: Only the initiative's leads, embedded engineer, creator or a workspace admin can {action}. "
            f"Ask <@{BOB}>, <@{CAROL}>, <@{ALICE}>."
        ), text
        assert snapshot(running.engine) == before, text
        assert posted(running) == before_posts, text


# --- phase gates ------------------------------------------------------------------------------------------


def test_a_phase_gate_refuses_while_items_are_missing_and_opens_once_they_are_done(
    running: RunningApp, churn: Thread
) -> None:
    before, before_posts = snapshot(running.engine), posted(running)

    refused = private_payload(running, "phase churn development")

    assert sections(refused) == [
        ":warning: *Churn model v2* can't move to *development* yet: 3 required items are missing.\n"
        "• *DS summary* (`ds-summary`): `/handoff doc add churn ds-summary &lt;url&gt;`\n"
        '• *Agreed KPI with a target* (`kpi`): `/handoff kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`\n'
        "• *Interface/API contract* (`api-contract`): `/handoff doc add churn api-contract &lt;url&gt;`\n"
        'To waive an item: `/handoff checklist churn waive &lt;item&gt; "&lt;reason&gt;"`. To move anyway (leads and '
        'workspace admins): `/handoff phase churn development --force "&lt;reason&gt;"`.'
    ]
    assert "Usage:" in all_text(refused)
    assert load(running.engine, CHURN_V2).phase == "discovery"
    assert snapshot(running.engine) == before
    assert posted(running) == before_posts

    add_doc(running, "ds-summary", SUMMARY_URL, user=BOB)
    add_doc(running, "api-contract", CONTRACT_URL, user=CAROL)
    one_left = answer_line(running, "phase churn development")
    assert one_left.startswith(
        ":warning: *Churn model v2* can't move to *development* yet: 1 required item is missing.\n"
        '• *Agreed KPI with a target* (`kpi`): `/handoff kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`\n'
        "To waive an item:"
    )
    assert load(running.engine, CHURN_V2).phase == "discovery"

    answer_line(running, ADD_AUC)
    moved, posts = new_thread_lines(running, churn, 'phase churn development "summary signed off"')

    assert moved == ":white_check_mark: *Churn model v2* is now in *development*."
    assert posts == [
        f":arrow_forward: <@{ALICE}> moved *Churn model v2* from *discovery* to *development*.\n> summary signed off"
    ]
    assert load(running.engine, CHURN_V2).phase == "development"
    last = rows(running.engine, PhaseChange)[-1]
    assert (last.from_phase, last.to_phase, last.forced, last.forced_items, last.note) == (
        "discovery",
        "development",
        False,
        None,
        "summary signed off",
    )


def test_a_lead_forces_a_gate_and_status_shows_what_is_missing_until_it_is_done(
    running: RunningApp, churn: Thread
) -> None:
    ready_for_development(running)
    answer_line(running, "phase churn development")

    forced, posts = new_thread_lines(
        running, churn, 'phase churn production --force "pilot for one customer"', user=BOB
    )

    assert forced == (
        ":white_check_mark: *Churn model v2* is now in *production*. Forced past: Model card, Dependencies, "
        "Data-privacy/PII review, Serving budget, Pre-production test evidence, Monitoring plan, Rollback/runbook; "
        "`status` shows them until they are done."
    )
    assert posts == [
        f":arrow_forward: <@{BOB}> moved *Churn model v2* from *development* to *production*.\n"
        ":warning: Forced past the readiness checklist, still missing: " + ", ".join(PRODUCTION_DOCS) + ".\n"
        "> pilot for one customer"
    ]
    last = rows(running.engine, PhaseChange)[-1]
    assert (last.to_phase, last.changed_by, last.forced, last.forced_items, last.note) == (
        "production",
        BOB,
        True,
        ", ".join(PRODUCTION_DOCS),
        "pilot for one customer",
    )

    def warnings() -> tuple[list[str], list[str]]:
        """The forced warning in the home channel's overview and in the detail view."""
        overview = private_payload(running, "status", channel=GENERAL)
        detail = private_payload(running, "status churn")
        in_overview = [line for s in sections(overview) for line in s.splitlines() if ":warning:" in line]
        return in_overview, [s for s in sections(detail) if ":warning:" in s]

    expected = (
        f":warning: Forced past the checklist by <@{BOB}>: pilot for one customer · still missing: Model card, "
        "Dependencies, Data-privacy/PII review, Serving budget, Pre-production test evidence and 2 more"
    )
    assert warnings() == ([expected], [expected])

    for kind in PRODUCTION_DOCS[:-1]:
        add_doc(running, kind, f"https://wiki.example.com/churn/{kind}")
    only_runbook = (
        f":warning: Forced past the checklist by <@{BOB}>: pilot for one customer · still missing: Rollback/runbook"
    )
    assert warnings() == ([only_runbook], [only_runbook])

    add_doc(running, "runbook", "https://wiki.example.com/churn/runbook")
    assert warnings() == ([], [])


def test_an_item_added_after_a_forced_move_is_not_blamed_on_the_force(running: RunningApp, churn: Thread) -> None:
    answer_line(running, 'phase churn development --force "pilot for one customer"', user=BOB)
    ready_for_development(running)
    overview = section_with(private_payload(running, "status"), "*Churn model v2*")
    assert ":warning:" not in overview

    # An item the development gate needs from now on: the phase was entered before anyone asked for it.
    answer_line(running, 'checklist churn add bias-review "credit decisions" for:development')

    expected = ":warning: Still missing from a phase already entered: Bias review"
    overview = section_with(private_payload(running, "status"), "*Churn model v2*")
    assert [line for line in overview.splitlines() if ":warning:" in line] == [expected]
    detail = private_payload(running, "status churn")
    assert [s for s in sections(detail) if ":warning:" in s] == [expected]


def test_only_the_leads_or_an_admin_may_force_a_gate_and_an_em_dash_counts_as_force(
    running: RunningApp, churn: Thread
) -> None:
    # Dave joins as the embedded engineer: he manages the initiative but leads neither team.
    answer_line(running, "edit churn embedded:<@U0DAVE|dave>")
    before, before_posts = snapshot(running.engine), posted(running)

    for user in (ALICE, DAVE):  # the creator and the embedded engineer
        refused = answer_line(running, 'phase churn development --force "demo for the board"', user=user)

        assert refused == (
            ":warning: Only the initiative's DS lead, engineering lead or a workspace admin can force it past a gate. "
            f"Ask <@{BOB}>, <@{CAROL}>."
        ), user
        assert snapshot(running.engine) == before
        assert posted(running) == before_posts

    # macOS turns a typed `--` into an em dash.
    moved, posts = new_thread_lines(running, churn, 'phase churn development —force "demo for the board"', user=CAROL)

    assert moved.startswith(":white_check_mark: *Churn model v2* is now in *development*. Forced past: DS summary, ")
    assert posts == [
        f":arrow_forward: <@{CAROL}> moved *Churn model v2* from *discovery* to *development*.\n"
        ":warning: Forced past the readiness checklist, still missing: ds-summary, kpi, api-contract.\n"
        "> demo for the board"
    ]
    assert load(running.engine, CHURN_V2).phase == "development"

    # A workspace admin may force too.
    answer_line(running, "phase churn discovery")
    by_admin = answer_line(running, 'phase churn development --force "board demo, take two"', user=ADMIN)
    assert by_admin.startswith(":white_check_mark: *Churn model v2* is now in *development*. Forced past:")


# --- status -----------------------------------------------------------------------------------------------


def test_the_status_overview_shows_readiness_for_the_next_phase_and_the_kpis(
    running: RunningApp, churn: Thread
) -> None:
    def overview() -> list[str]:
        return section_with(private_payload(running, "status"), "*Churn model v2*").splitlines()[1:]

    assert overview() == [
        "Ready 0/3 for development · missing: DS summary, Agreed KPI with a target, Interface/API contract"
    ]

    add_doc(running, "ds-summary", SUMMARY_URL)
    assert overview() == ["Ready 1/3 for development · missing: Agreed KPI with a target, Interface/API contract"]

    answer_line(running, 'checklist churn waive api-contract "scores are written to a table, no API"')
    answer_line(running, ADD_AUC)
    assert overview() == [
        "Ready 2/2 for development · 1 waived",
        "KPIs: AUC on holdout: no reading",
    ]

    answer_line(running, 'kpi record churn "AUC on holdout" 0.84')
    answer_line(running, 'kpi add churn "Latency p99" &lt;= 120 unit:ms')
    answer_line(running, 'kpi record churn "Latency p99" 180')
    assert overview() == [
        "Ready 2/2 for development · 1 waived",
        "KPIs: AUC on holdout 0.84% (&gt;= 0.82%) · Latency p99 180 ms (&lt;= 120 ms) :red_circle:",
    ]

    answer_line(running, "phase churn development")
    assert overview()[0] == (
        "Ready 1/8 for production · missing: Model card, Dependencies, Data-privacy/PII review, Serving budget, "
        "Pre-production test evidence and 2 more"
    )


def test_kpis_without_a_reading_for_the_stale_days_are_flagged(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, 'kpi record churn "AUC on holdout" 0.84')
    fresh_line = (
        f":white_check_mark: *{AUC}* target &gt;= 0.82% · latest *0.84%* on {slack_day(NOW)} by <@{ALICE}> "
        f"· owner <@{BOB}>"
    )

    running.clock.advance(timedelta(days=13, hours=23))
    assert section_with(private_payload(running, "status"), "KPIs:").endswith(
        "KPIs: AUC on holdout 0.84% (&gt;= 0.82%)"
    )
    assert sections(private_payload(running, "kpis churn")) == [fresh_line]

    running.clock.advance(timedelta(hours=2))  # 14 days and an hour since the reading
    assert section_with(private_payload(running, "status"), "KPIs:").endswith(
        "KPIs: AUC on holdout 0.84% (&gt;= 0.82%) · :hourglass: 1 stale"
    )
    assert sections(private_payload(running, "kpis churn")) == [
        fresh_line + " · :hourglass: stale (no reading for 14 days or more)"
    ]
    detail = section_with(private_payload(running, "status churn"), "*KPIs*")
    assert detail == "*KPIs*\n" + fresh_line + " · :hourglass: stale (no reading for 14 days or more)"

    answer_line(running, 'kpi record churn "AUC on holdout" 0.85')
    assert section_with(private_payload(running, "status"), "KPIs:").endswith(
        "KPIs: AUC on holdout 0.85% (&gt;= 0.82%)"
    )


# --- KPIs -------------------------------------------------------------------------------------------------


def test_kpi_add_tells_the_thread_and_a_breach_raises_one_alert_until_it_recovers(
    running: RunningApp, churn: Thread
) -> None:
    agreed, posts = new_thread_lines(running, churn, ADD_AUC)

    assert agreed == (
        f":white_check_mark: Agreed *{AUC}* &gt;= 0.82% for *Churn model v2*. "
        'Record readings with `/handoff kpi record churn "AUC on holdout" &lt;value&gt;`, '
        "or with *Record a KPI reading* in the *Next step…* menu of its status card."
    )
    assert posts == [f":dart: <@{ALICE}> agreed a KPI for *Churn model v2*: *{AUC}* &gt;= 0.82% · owner <@{BOB}>"]
    [kpi] = rows(running.engine, Kpi)
    assert (kpi.name, kpi.direction, kpi.target, kpi.unit, kpi.owner_id, kpi.created_by) == (
        AUC,
        ">=",
        0.82,
        "%",
        BOB,
        ALICE,
    )

    alert = (
        f":rotating_light: *{AUC}* of *Churn model v2* is below its 0.82% target: {{value}}. "
        f"Owner: <@{BOB}>.\nRecorded by <@{CAROL}>{{note}}"
    )
    recovery = (
        f":white_check_mark: *{AUC}* of *Churn model v2* meets its 0.82% target again: {{value}}, "
        f"recorded by <@{CAROL}>."
    )
    met, missed = (
        ":white_check_mark: Recorded {shown} for *" + AUC + "*; it meets its 0.82% target.",
        (":red_circle: Recorded {shown} for *" + AUC + "*; it is below its 0.82% target."),
    )
    # (what is typed after the KPI's name, how the value is shown, the answer, what the thread hears)
    readings = [
        ("0.85", "0.85%", met, []),
        (
            '0.80 "drift after the holiday"',
            "0.8%",
            missed,
            [alert.format(value="0.8%", note=": drift after the holiday")],
        ),
        ("0.79", "0.79%", missed, []),  # still in breach: the thread already knows
        ("0.83", "0.83%", met, [recovery.format(value="0.83%")]),
        ("0.81", "0.81%", missed, [alert.format(value="0.81%", note="")]),  # a new breach
    ]
    for typed, shown, answer, expected_posts in readings:
        confirmation, posts = new_thread_lines(running, churn, f'kpi record churn "{AUC}" {typed}', user=CAROL)

        assert confirmation == answer.format(shown=shown), typed
        assert posts == expected_posts, typed
    stored = [(r.value, r.note, r.recorded_by) for r in rows(running.engine, KpiReading)]
    assert stored == [
        (0.85, None, CAROL),
        (0.80, "drift after the holiday", CAROL),
        (0.79, None, CAROL),
        (0.83, None, CAROL),
        (0.81, None, CAROL),
    ]
    alerts = [m for m in replies(running, churn) if m.text == "Churn model v2: KPI AUC on holdout below target"]
    assert len(alerts) == 2


def test_kpi_list_shows_latest_against_target_the_trend_and_when_it_was_measured(
    running: RunningApp, churn: Thread
) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, 'kpi add churn "Latency p99" &lt;= 120 unit:ms')
    for value in ("0.85", "0.80", "0.79", "0.83", "0.81", "0.78"):
        running.clock.advance(timedelta(days=1))
        answer_line(running, f'kpi record churn "{AUC}" {value}', user=CAROL)

    listing = private_payload(running, "kpi list churn")

    assert listing["text"] == "KPIs of Churn model v2: 2 KPIs, 1 off target"
    assert listing["blocks"][0]["text"]["text"] == "KPIs: Churn model v2"
    measured = NOW + timedelta(days=6)
    assert sections(listing) == [
        f":red_circle: *{AUC}* target &gt;= 0.82% · latest *0.78%* on {slack_day(measured)} by <@{CAROL}> "
        f"· trend 0.8 → 0.79 → 0.83 → 0.81 → 0.78 :arrow_lower_right: worse · owner <@{BOB}>\n"
        ":grey_question: *Latency p99* target &lt;= 120 ms · no reading yet"
    ]
    assert private_payload(running, "kpis churn") == listing

    answer_line(running, 'kpi record churn "Latency p99" 95')
    answer_line(running, 'kpi record churn "Latency p99" 90')
    latency = sections(private_payload(running, "kpis churn"))[0].splitlines()[-1]
    assert latency == (
        f":white_check_mark: *Latency p99* target &lt;= 120 ms · latest *90 ms* on {slack_day(measured)} by <@{ALICE}> "
        "· trend 95 → 90 :arrow_upper_right: better"
    )


# --- ideas ------------------------------------------------------------------------------------------------


def test_ideas_are_logged_given_outcomes_listed_newest_first_and_searched_across_initiatives(
    running: RunningApp, churn: Thread
) -> None:
    logged, posts = new_thread_lines(running, churn, 'idea churn "Try gradient boosting"')
    assert logged == (
        ":white_check_mark: Logged `churn#i1`. When you know how it went: "
        '`/handoff idea outcome churn#i1 worked|failed|dropped "note"`.'
    )
    assert posts == [f":bulb: <@{ALICE}> logged `churn#i1`: Try gradient boosting"]
    assert replies(running, churn)[-1].text == "Idea churn#i1 logged"

    running.clock.advance(timedelta(days=1))
    second = answer_line(running, 'idea churn "Add tenure features"', user=BOB)
    assert second.startswith(":white_check_mark: Logged `churn#i2`.")
    answer_line(running, 'new "Pricing engine"')
    running.clock.advance(timedelta(days=1))
    elsewhere = answer_line(running, 'idea pricing "Gradient BOOSTING on price elasticity"', user=CAROL)
    assert elsewhere.startswith(":white_check_mark: Logged `pricing#i1`.")

    running.clock.advance(timedelta(days=1))
    outcome, posts = new_thread_lines(running, churn, 'idea outcome churn#i1 failed "no lift over the baseline"')
    assert outcome == ":white_check_mark: `churn#i1` failed."
    assert posts == [f":x: <@{ALICE}> marked `churn#i1` *failed*: Try gradient boosting\n> no lift over the baseline"]
    [first, _, _] = rows(running.engine, Idea)
    assert (first.outcome, first.outcome_note, first.outcome_by, first.outcome_at) == (
        "failed",
        "no lift over the baseline",
        ALICE,
        NOW + timedelta(days=3),
    )

    result, answered_later = run(running, "ideas churn")
    assert answered_later == []
    listing = result.json
    assert listing["text"] == "Ideas of Churn model v2: 2"
    assert sections(listing) == [
        f"`churn#i2` Add tenure features\n"
        f"      :hourglass: _open_ · <@{BOB}>, {slack_day(NOW + timedelta(days=1))}\n"
        f"`churn#i1` Try gradient boosting\n"
        f"      :x: *failed* · <@{ALICE}>, {slack_day(NOW)} · no lift over the baseline"
    ]
    assert "2 ideas, newest first" in all_text(listing)

    found = private_payload(running, "ideas search boosting")
    assert found["text"] == "2 ideas matching boosting"
    assert sections(found) == [
        "`pricing#i1` (Pricing engine) Gradient BOOSTING on price elasticity\n"
        f"      :hourglass: _open_ · <@{CAROL}>, {slack_day(NOW + timedelta(days=2))}\n"
        "`churn#i1` (Churn model v2) Try gradient boosting\n"
        f"      :x: *failed* · <@{ALICE}>, {slack_day(NOW)} · no lift over the baseline"
    ]


# --- bad input --------------------------------------------------------------------------------------------


DOC_USAGE = "Usage: `/handoff doc add churn model-card https://wiki.example.com/churn/card"
BAD_INPUT = [
    (
        "ftp-link",
        "doc add churn ds-summary <ftp://files.example.com/summary.pdf>",
        ['"ftp://files.example.com/summary.pdf" is not a web link; a doc is an http:// or https:// URL.', DOC_USAGE],
    ),
    (
        "javascript-link",
        "doc add churn ds-summary javascript:alert(1)",
        ['"javascript:alert(1)" is not a web link; a doc is an http:// or https:// URL.', DOC_USAGE],
    ),
    (
        "unknown-doc-kind",
        f"doc add churn slides {typed_link(SUMMARY_URL)}",
        [
            '"slides" is not a doc kind. Kinds: `ds-summary`, `api-contract`, `model-card`, `dependencies`, '
            "`privacy-review`, `serving-budget`, `test-evidence`, `monitoring-plan`, `runbook`, `owners`.",
            DOC_USAGE,
        ],
    ),
    (
        "duplicate-doc",
        f"doc add churn ds-summary {typed_link(SUMMARY_URL)}",
        ["That link is already the ds-summary doc of *Churn model v2*."],
    ),
    ("unknown-doc-command", "doc attach churn", ['"attach" is not a doc command. Doc commands: add, remove.']),
    ("doc-remove-no-kind", "doc remove churn", ["`doc remove` needs the initiative and the kind"]),
    (
        "doc-remove-missing",
        "doc remove churn model-card",
        ["*Churn model v2* has no model-card doc. `docs churn` lists them."],
    ),
    ("docs-unknown", "docs nowhere", ['No initiative called "nowhere"', "/handoff docs churn"]),
    (
        "waive-unknown-item",
        'checklist churn waive slides "not needed"',
        [
            '"slides" is not a checklist item here. Known: `ds-summary`, `kpi`, `api-contract`, `model-card`, '
            "`dependencies`, `privacy-review`, `serving-budget`, `test-evidence`, `monitoring-plan`, `runbook`, "
            "`owners`.",
            "/handoff checklist churn waive privacy-review",
        ],
    ),
    ("waive-without-reason", "checklist churn waive privacy-review", ["`checklist waive` needs the reason"]),
    (
        "add-for-unknown-phase",
        'checklist churn add fairness-review "credit decisions" for:someday',
        ["`for:someday` is not a phase."],
    ),
    (
        "add-existing-item",
        'checklist churn add model-card "again"',
        ["`model-card` is already on the checklist of *Churn model v2*."],
    ),
    (
        "remove-unchanged-item",
        "checklist churn remove model-card",
        ['"model-card" is not a waived or added item here. Known: none.'],
    ),
    (
        "kpi-non-numeric-target",
        'kpi add churn "Latency p99" &lt;= fast unit:ms',
        ['"fast" is not a number; the target must be one, like 0.82 or 120.', "Usage: `/handoff kpi add churn"],
    ),
    (
        "kpi-unknown-direction",
        'kpi add churn "Latency p99" &gt; 120',
        [
            '"&gt;" is not a direction; use `>=` (higher is better) or `<=` (lower is better).',
            "Usage: `/handoff kpi add churn",
        ],
    ),
    (
        "kpi-no-target",
        'kpi add churn "Latency p99" &lt;=',
        ["`kpi add` needs a target after the direction, like `>= 0.82`."],
    ),
    (
        "kpi-duplicate-name",
        'kpi add churn "auc ON holdout" &gt;= 0.9',
        ['*Churn model v2* already has a KPI called "auc ON holdout".'],
    ),
    (
        "kpi-non-numeric-value",
        f'kpi record churn "{AUC}" high',
        ['"high" is not a number; the value must be one, like 0.82 or 120.', "Usage: `/handoff kpi record churn"],
    ),
    (
        "kpi-unknown-name",
        'kpi record churn "Precision" 0.7',
        ['*Churn model v2* has no KPI called "Precision". Its KPIs: "AUC on holdout".', "/handoff kpi record"],
    ),
    (
        "kpi-unknown-action",
        "kpi plot churn",
        ['"plot" is not a KPI command. KPI commands: add, record, list, chart, edit, remove, reading remove, source.'],
    ),
    (
        "idea-bad-outcome",
        'idea outcome churn#i1 meh "so-so"',
        ['"meh" is not an outcome; use `worked`, `failed`, `dropped`.', "/handoff idea outcome churn#i2"],
    ),
    ("idea-unknown", "idea outcome churn#i9 worked", ['No idea "churn#i9". `ideas churn` lists the ideas of']),
    ("idea-without-text", "idea churn", ["Say what the idea is, in quotes after the initiative."]),
    ("ideas-search-nothing", "ideas search x", ["Give at least one word of two letters or more"]),
    ("force-without-reason", "phase churn development --force", ["`--force` needs the reason, in quotes"]),
]


def test_bad_input_gets_a_private_answer_with_usage_and_writes_nothing(running: RunningApp, churn: Thread) -> None:
    add_doc(running, "ds-summary", SUMMARY_URL)
    answer_line(running, ADD_AUC)
    answer_line(running, 'idea churn "Try gradient boosting"')
    before, before_posts = snapshot(running.engine), posted(running)
    opened = len(running.fake.calls_to("views.open"))

    problems = []
    for case, text, expected in BAD_INPUT:
        answer = all_text(private_payload(running, text))
        problems += [f"{case}: {fragment!r} not in {answer!r}" for fragment in expected if fragment not in answer]
        if "Usage:" not in answer:
            problems.append(f"{case}: no usage in {answer!r}")
        if snapshot(running.engine) != before:
            problems.append(f"{case}: the database changed")
            before = snapshot(running.engine)
        if posted(running) != before_posts:
            problems.append(f"{case}: posted a message")
            before_posts = posted(running)
    assert not problems, "\n".join(problems)
    assert len(running.fake.calls_to("views.open")) == opened


# --- escaping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "typed_unit", "stored_unit"),
    [
        # Typed as text, Slack escapes `<`, `>` and `&` in the command.
        ("&lt;!channel&gt; &amp; &lt;@U0BOB&gt;", "<!channel> & <@U0BOB>", "&lt;!channel&gt;&amp;", "<!channel>&"),
        # A real @channel or @bob typed in the command arrives as Slack's own mention syntax.
        ("<!channel> &amp; <@U0BOB|bob>", "<!channel> & <@U0BOB|bob>", "&amp;<@U0BOB|bob>", "&<@U0BOB|bob>"),
    ],
    ids=["escaped-text", "special-mention"],
)
def test_user_text_that_looks_like_a_mention_pings_nobody(
    running: RunningApp, typed: str, stored: str, typed_unit: str, stored_unit: str
) -> None:
    # Bob is nobody's lead here, so any `<@U0BOB` in a message came from the text people typed.
    assert answer_line(running, 'new "Churn model v2" eng:<@U0CAROL|carol>').startswith(":white_check_mark:")

    def escaped(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    fields = {
        "doc note": f"note {stored}",
        "KPI name": f"kpi {stored}",
        "KPI unit": stored_unit,
        "reading note": f"reading {stored}",
        "idea": f"idea {stored}",
        "outcome note": f"outcome {stored}",
        "waiver reason": f"waiver {stored}",
        "added item reason": f"addition {stored}",
        "force reason": f"force {stored}",
    }
    payloads: dict[str, dict[str, Any]] = {}

    def send(where: str, text: str, *, user: str = ALICE) -> None:
        thread_before = posted(running)
        payloads[where] = private_payload(running, text, user=user)
        for n, call in enumerate(running.fake.calls_to("chat.postMessage")[thread_before:]):
            payloads[f"{where}: thread post {n + 1}"] = call.args

    kpi = f'"kpi {typed}"'
    send("doc add", f'doc add churn ds-summary {typed_link(SUMMARY_URL)} "note {typed}"')
    send("kpi add", f"kpi add churn {kpi} &gt;= 0.82 unit:{typed_unit}")
    send("first reading", f"kpi record churn {kpi} 0.9")
    send("breaching reading", f'kpi record churn {kpi} 0.5 "reading {typed}"')
    send("idea", f'idea churn "idea {typed}"')
    send("outcome", f'idea outcome churn#i1 worked "outcome {typed}"')
    send("waiver", f'checklist churn waive privacy-review "waiver {typed}"')
    send("addition", f'checklist churn add fairness-review "addition {typed}" for:production')
    send("force", f'phase churn development --force "force {typed}"', user=ADMIN)
    send("docs", "docs churn")
    send("status", "status")
    send("status detail", "status churn")
    send("kpi list", "kpis churn")
    send("ideas", "ideas churn")
    send("ideas search", "ideas search idea")
    send("unknown KPI", f'kpi record churn "missing {typed}" 1')
    send("unknown item", f'checklist churn waive "item {typed}" "why"')

    shown_in = {
        "doc note": ["doc add: thread post 1", "docs", "status detail"],
        "KPI name": [
            "kpi add",
            "kpi add: thread post 1",
            "breaching reading",
            "breaching reading: thread post 1",
            "docs",
            "status",
            "status detail",
            "kpi list",
            "unknown KPI",
        ],
        "KPI unit": ["kpi add", "kpi add: thread post 1", "breaching reading: thread post 1", "status", "kpi list"],
        "reading note": ["breaching reading: thread post 1"],
        "idea": ["idea: thread post 1", "outcome: thread post 1", "ideas", "ideas search"],
        "outcome note": ["outcome: thread post 1", "ideas", "ideas search"],
        "waiver reason": ["waiver: thread post 1", "docs", "status detail"],
        "added item reason": ["addition: thread post 1", "docs", "status detail"],
        "force reason": ["force: thread post 1", "status", "status detail"],
    }
    problems = []
    for field, wheres in shown_in.items():
        value = fields[field]
        for where in wheres:
            payload = payloads[where]
            if not any(escaped(value) in s for s in mrkdwn_strings(payload)) and value not in plain_strings(payload):
                problems.append(f"{field} not shown, escaped, in {where}")
    for where, payload in payloads.items():
        # Case-blind: an unknown item's key is echoed lowercased, and `<@u0bob>` must not slip through either.
        problems += [
            f"{where}: raw mention in {s!r}"
            for s in mrkdwn_strings(payload)
            if "<!channel>" in s.lower() or "<@u0bob" in s.lower()
        ]
    assert not problems, "\n".join(problems)
    assert fields["KPI name"] in [k.name for k in rows(running.engine, Kpi)]
