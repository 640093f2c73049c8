"""Shortcuts end to end: a message's "More actions" (`message_action`) opens a form prefilled from the message that
links back to it, and the form's result lands in the initiative's thread with that link; the lightning-bolt menu
(`shortcut`) opens the new-initiative form. Over signed HTTP against FakeSlack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import ids
from bot.blocks.capture_forms import NO_LINK
from bot.blocks.problems import field_error
from bot.errors import FieldProblem, Problem
from bot.fake_slack import FakeMessage
from handlers.capture_forms import PICK_FOR_BLOCKER, PICK_FOR_IDEA
from handlers.modal_openers import NO_INITIATIVES
from storage.models import BLOCKER_MAX, CHECKPOINT_TITLE_MAX, Blocker, BlockerDirection, Checkpoint, HandoffDoc, Idea
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, assert_valid_message, assert_valid_view
from tests.support.e2e import Thread, blocks_of, create, kickoff_of, load, private_answer, replies
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, DAVE, GENERAL, ROBOT

CHURN_V2 = "Churn model v2"
NEW_CHURN = f'new "{CHURN_V2}" ds:<@U0BOB|bob> eng:<@U0CAROL|carol>'
NEW_FRAUD = 'new "Fraud alerts" ds:<@U0BOB|bob>'
# A message as Slack sends its text: entities in angle brackets, `&`, `<`, `>` escaped.
ENTITIES = (
    "No access to <#C0CHURN|churn> events &amp; logs &lt;prod&gt;, ask <@U0BOB> or see "
    "<https://wiki.example.com/access?team=ds&amp;env=prod|the wiki> <!here>"
)
ENTITIES_READ = (
    "No access to #churn events & logs <prod>, ask @bob or see "
    "the wiki (https://wiki.example.com/access?team=ds&env=prod) @here"
)


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def churn(running: RunningApp) -> Thread:
    """`Churn model v2` (ref `churn`), at home in #general, created by Alice: Bob leads DS, Carol eng."""
    create(running, NEW_CHURN)
    kickoff = kickoff_of(running, CHURN_V2)
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink="")


def said(running: RunningApp, text: str, *, user: str = CAROL, thread: Thread | None = None) -> FakeMessage:
    """A message someone posted in #general (in `thread` when given), as the fake Slack holds it."""
    return running.fake.add_message(GENERAL, text, user=user, thread_ts=thread.ts if thread else None)


def as_payload(message: FakeMessage, **extra: Any) -> dict[str, Any]:
    """The message as a `message_action` carries it: a person's has `user`, one in a thread its `thread_ts`."""
    payload: dict[str, Any] = {"text": message.text, "ts": message.ts, **extra}
    if "bot_id" not in extra:
        payload["user"] = message.user
    if message.thread_ts:
        payload["thread_ts"] = message.thread_ts
    return payload


def permalink_of(running: RunningApp, message: FakeMessage) -> str:
    return str(running.fake.calls_to("chat.getPermalink")[-1].response["permalink"])


def shortcut_form(
    running: RunningApp, callback_id: str, message: dict[str, Any], *, user: str = ALICE
) -> dict[str, Any]:
    """Use a message shortcut; the one form it opened, checked against Block Kit's rules."""
    before = len(running.fake.calls_to("views.open"))
    result = running.slack.message_shortcut(callback_id, message, user=user)
    assert (result.status, result.body) == (200, "")
    running.settle()
    [call] = running.fake.calls_to("views.open")[before:]
    view: dict[str, Any] = call.response["view"]
    assert_valid_view(view)
    return view


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return dict(block["element"])


def context_text(view: dict[str, Any]) -> str:
    return "\n".join(e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"])


def picked(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The submitted state of a picker left as the form preselected it."""
    chosen = element(view, block_id)
    return {chosen["action_id"]: {"type": chosen["type"], "selected_option": chosen.get("initial_option")}}


def typed(view: dict[str, Any], block_id: str, value: str | None = None) -> dict[str, Any]:
    """The submitted state of a text input: `value`, or what the form prefilled."""
    chosen = element(view, block_id)
    text = chosen.get("initial_value") if value is None else value
    return {chosen["action_id"]: {"type": chosen["type"], "value": text}}


def option(value: str) -> dict[str, Any]:
    return {ids.INPUT_ACTION: {"type": "static_select", "selected_option": {"value": value}}}


def submit(running: RunningApp, view: dict[str, Any], values: dict[str, Any], *, user: str = ALICE) -> dict[str, Any]:
    """Submit a form; the ack's body (inline errors), or {} when it closed."""
    result = running.slack.submit_view(view, values, user=user)
    assert result.status == 200, result.body
    running.settle()
    return result.json if result.body else {}


def private_answers(running: RunningApp, user: str) -> list[str]:
    return [all_text(c.args) for c in running.fake.calls_to("chat.postEphemeral") if c.args["user"] == user]


def rows(engine: Engine, model: type) -> list[Any]:
    with Session(engine) as session:
        return list(session.exec(select(model).order_by(col(model.id))).all())


def last_reply(running: RunningApp, thread: Thread) -> dict[str, Any]:
    reply = replies(running, thread)[-1]
    payload = {"text": reply.text, "blocks": blocks_of(reply)}
    assert_valid_message(payload)
    return payload


# --- Log as blocker -----------------------------------------------------------------------------------------


def test_log_as_blocker_from_a_message_in_a_thread_reports_it_for_its_author(
    running: RunningApp, churn: Thread
) -> None:
    create(running, NEW_FRAUD)  # #general is home to two: the initiative comes from the thread
    message = said(running, ENTITIES, thread=churn)

    view = shortcut_form(running, ids.SHORTCUT_LOG_BLOCKER, as_payload(message))

    assert view["callback_id"] == ids.VIEW_REPORT_BLOCKER
    churn_id = load(running.engine, CHURN_V2).id
    assert element(view, ids.BLOCK_BLOCKER_INITIATIVE)["initial_option"]["value"] == str(churn_id)
    assert element(view, ids.BLOCK_BLOCKER_INITIATIVE)["action_id"] == ids.ACTION_PICK_INITIATIVE
    assert element(view, ids.BLOCK_BLOCKER_TEXT)["initial_value"] == ENTITIES_READ
    link = permalink_of(running, message)
    assert f"thread_ts={churn.ts}" in link
    assert context_text(view) == f"From <{link.replace('&', '&amp;')}|this message>, reported by <@{CAROL}>."
    assert json.loads(view["private_metadata"]) == {"c": GENERAL, "s": link, "r": CAROL}
    directions = element(view, ids.BLOCK_BLOCKER_DIRECTION)
    assert [o["value"] for o in directions["options"]] == ["eng", "ds", "platform"]

    values = {
        ids.BLOCK_BLOCKER_INITIATIVE: picked(view, ids.BLOCK_BLOCKER_INITIATIVE),
        ids.BLOCK_BLOCKER_TEXT: typed(view, ids.BLOCK_BLOCKER_TEXT),
        ids.BLOCK_BLOCKER_DIRECTION: option("eng"),
    }
    assert submit(running, view, values) == {}

    [blocker] = rows(running.engine, Blocker)
    assert (blocker.text, blocker.reported_by, blocker.direction) == (
        ENTITIES_READ,
        CAROL,
        BlockerDirection.ON_ENG.value,
    )
    update = last_reply(running, churn)
    shown = all_text(update)
    assert f"<@{CAROL}> reported a blocker, `churn#b1`" in shown
    assert "&lt;prod&gt;" in shown and "<prod>" not in shown  # what was typed is shown, escaped
    assert f"From <{link.replace('&', '&amp;')}|this message>, logged by <@{ALICE}>." in shown
    [answer] = private_answers(running, ALICE)
    assert "Reported `churn#b1`" in answer


def test_a_bots_message_is_reported_by_the_person_using_the_shortcut(running: RunningApp, churn: Thread) -> None:
    message = said(running, "Nightly load failed: table events_v2 missing", user="B0CRON")
    payload = as_payload(message, bot_id="B0CRON", subtype="bot_message", username="cron")

    view = shortcut_form(running, ids.SHORTCUT_LOG_BLOCKER, payload, user=BOB)

    # A top-level message in the home of one initiative: that one is preselected.
    assert element(view, ids.BLOCK_BLOCKER_INITIATIVE)["initial_option"]["value"] == str(
        load(running.engine, CHURN_V2).id
    )
    assert "reported by" not in context_text(view)
    assert "r" not in json.loads(view["private_metadata"])
    values = {
        ids.BLOCK_BLOCKER_INITIATIVE: picked(view, ids.BLOCK_BLOCKER_INITIATIVE),
        ids.BLOCK_BLOCKER_TEXT: typed(view, ids.BLOCK_BLOCKER_TEXT),
    }
    assert submit(running, view, values, user=BOB) == {}

    [blocker] = rows(running.engine, Blocker)
    assert (blocker.reported_by, blocker.direction) == (BOB, None)
    shown = all_text(last_reply(running, churn))
    assert f"<@{BOB}> reported a blocker" in shown and "logged by" not in shown
    assert permalink_of(running, message).replace("&", "&amp;") in shown


def test_the_blocker_form_says_what_is_wrong_inline_and_writes_nothing(running: RunningApp, churn: Thread) -> None:
    message = said(running, "the feature store is down")
    view = shortcut_form(running, ids.SHORTCUT_LOG_BLOCKER, as_payload(message))
    initiative = picked(view, ids.BLOCK_BLOCKER_INITIATIVE)

    empty = submit(
        running,
        view,
        {ids.BLOCK_BLOCKER_INITIATIVE: initiative, ids.BLOCK_BLOCKER_TEXT: typed(view, ids.BLOCK_BLOCKER_TEXT, "  ")},
    )
    assert empty == {
        "response_action": "errors",
        "errors": {ids.BLOCK_BLOCKER_TEXT: field_error(FieldProblem("text", Problem.BLOCKER_TEXT_MISSING))},
    }
    too_long = "x" * (BLOCKER_MAX + 1)
    long_answer = submit(
        running,
        view,
        {
            ids.BLOCK_BLOCKER_INITIATIVE: initiative,
            ids.BLOCK_BLOCKER_TEXT: typed(view, ids.BLOCK_BLOCKER_TEXT, too_long),
        },
    )
    assert long_answer["errors"] == {
        ids.BLOCK_BLOCKER_TEXT: f"The blocker is {BLOCKER_MAX + 1} characters long; the limit is {BLOCKER_MAX}."
    }
    nothing_picked = submit(running, view, {ids.BLOCK_BLOCKER_TEXT: typed(view, ids.BLOCK_BLOCKER_TEXT)})
    assert nothing_picked["errors"] == {ids.BLOCK_BLOCKER_INITIATIVE: PICK_FOR_BLOCKER}

    assert rows(running.engine, Blocker) == []
    assert len(replies(running, churn)) == 0
    assert private_answers(running, ALICE) == []


# --- Add as checkpoint --------------------------------------------------------------------------------------


def test_add_as_checkpoint_prefills_the_title_cut_to_its_limit(running: RunningApp, churn: Thread) -> None:
    long_text = "Model card reviewed by &amp; signed off with <@U0BOB>\n\n" + "details " * 40
    message = said(running, long_text, thread=churn)

    view = shortcut_form(running, ids.SHORTCUT_ADD_CHECKPOINT, as_payload(message))

    assert view["callback_id"] == ids.VIEW_ADD_CHECKPOINT
    title = element(view, ids.BLOCK_CHECKPOINT_TITLE)["initial_value"]
    assert title.startswith("Model card reviewed by & signed off with @bob details details")
    assert len(title) == CHECKPOINT_TITLE_MAX and title.endswith("…")
    link = permalink_of(running, message)
    assert link.replace("&", "&amp;") in context_text(view)
    assert json.loads(view["private_metadata"])["s"] == link

    values = {
        ids.BLOCK_CHECKPOINT_INITIATIVE: picked(view, ids.BLOCK_CHECKPOINT_INITIATIVE),
        ids.BLOCK_CHECKPOINT_TITLE: typed(view, ids.BLOCK_CHECKPOINT_TITLE, "Model card reviewed"),
    }
    assert submit(running, view, values, user=BOB) == {}

    [checkpoint] = rows(running.engine, Checkpoint)
    assert checkpoint.title == "Model card reviewed"
    shown = all_text(last_reply(running, churn))
    assert "`churn#1`" in shown and link.replace("&", "&amp;") in shown
    [answer] = private_answers(running, BOB)
    assert "Added `churn#1`" in answer


def test_a_shortcut_form_refuses_what_the_command_would(running: RunningApp, churn: Thread) -> None:
    """Dave leads nothing and created nothing: `checkpoint add` refuses him, and so does the shortcut's form."""
    refused_command = private_answer(running, 'checkpoint add churn "Model card reviewed"', user=DAVE)
    message = said(running, "Model card reviewed")
    view = shortcut_form(running, ids.SHORTCUT_ADD_CHECKPOINT, as_payload(message), user=DAVE)
    values = {
        ids.BLOCK_CHECKPOINT_INITIATIVE: picked(view, ids.BLOCK_CHECKPOINT_INITIATIVE),
        ids.BLOCK_CHECKPOINT_TITLE: typed(view, ids.BLOCK_CHECKPOINT_TITLE),
    }
    assert submit(running, view, values, user=DAVE) == {}

    assert rows(running.engine, Checkpoint) == []
    assert replies(running, churn) == []
    [answer] = private_answers(running, DAVE)
    first_line = refused_command.splitlines()[0]
    assert first_line in answer, (first_line, answer)


# --- Log as idea --------------------------------------------------------------------------------------------


def test_log_as_idea_reads_the_message_and_links_back_to_it(running: RunningApp, churn: Thread) -> None:
    message = said(running, "What if we try <https://xgboost.ai|gradient boosting> &amp; drop <#C0OLD>?", user=BOB)

    view = shortcut_form(running, ids.SHORTCUT_LOG_IDEA, as_payload(message), user=CAROL)

    assert view["callback_id"] == ids.VIEW_LOG_IDEA
    text = element(view, ids.BLOCK_IDEA_TEXT)["initial_value"]
    assert text == "What if we try gradient boosting (https://xgboost.ai) & drop #C0OLD?"
    link = permalink_of(running, message)
    assert context_text(view) == f"From <{link}|this message>."  # the author only matters for a blocker

    empty = submit(
        running,
        view,
        {
            ids.BLOCK_IDEA_INITIATIVE: picked(view, ids.BLOCK_IDEA_INITIATIVE),
            ids.BLOCK_IDEA_TEXT: typed(view, ids.BLOCK_IDEA_TEXT, ""),
        },
        user=CAROL,
    )
    assert empty["errors"] == {ids.BLOCK_IDEA_TEXT: field_error(FieldProblem("text", Problem.IDEA_TEXT_MISSING))}
    nothing_picked = submit(running, view, {ids.BLOCK_IDEA_TEXT: typed(view, ids.BLOCK_IDEA_TEXT)}, user=CAROL)
    assert nothing_picked["errors"] == {ids.BLOCK_IDEA_INITIATIVE: PICK_FOR_IDEA}
    assert rows(running.engine, Idea) == []

    values = {
        ids.BLOCK_IDEA_INITIATIVE: picked(view, ids.BLOCK_IDEA_INITIATIVE),
        ids.BLOCK_IDEA_TEXT: typed(view, ids.BLOCK_IDEA_TEXT),
    }
    assert submit(running, view, values, user=CAROL) == {}

    [idea] = rows(running.engine, Idea)
    assert (idea.text, idea.author_id) == (text, CAROL)
    shown = all_text(last_reply(running, churn))
    assert f"<@{CAROL}> logged `churn#i1`" in shown and f"From <{link}|this message>." in shown
    [answer] = private_answers(running, CAROL)
    assert "Logged `churn#i1`" in answer


# --- Attach as doc ------------------------------------------------------------------------------------------


def test_attach_as_doc_takes_the_first_link_in_the_message(running: RunningApp, churn: Thread) -> None:
    text = "Card is up: <https://wiki.example.com/churn/card?v=2&amp;lang=en|model card>, old one <https://old.example.com>"
    message = said(running, text, thread=churn)

    view = shortcut_form(running, ids.SHORTCUT_ATTACH_DOC, as_payload(message))

    assert view["callback_id"] == ids.VIEW_ADD_DOC
    url = "https://wiki.example.com/churn/card?v=2&lang=en"
    assert element(view, ids.BLOCK_DOC_URL)["initial_value"] == url
    assert NO_LINK not in context_text(view)
    values = {
        ids.BLOCK_DOC_INITIATIVE: picked(view, ids.BLOCK_DOC_INITIATIVE),
        ids.BLOCK_DOC_KIND: option("model-card"),
        ids.BLOCK_DOC_URL: typed(view, ids.BLOCK_DOC_URL),
    }
    assert submit(running, view, values) == {}

    [doc] = rows(running.engine, HandoffDoc)
    assert (doc.kind, doc.url) == ("model-card", url)
    link = permalink_of(running, message)
    assert f"From <{link.replace('&', '&amp;')}|this message>." in all_text(last_reply(running, churn))
    [answer] = private_answers(running, ALICE)
    assert "Added the Model card" in answer


def test_attach_as_doc_without_a_link_opens_with_the_link_empty_and_says_so(running: RunningApp, churn: Thread) -> None:
    message = said(running, "the model card is on the wiki somewhere")
    view = shortcut_form(running, ids.SHORTCUT_ATTACH_DOC, as_payload(message))
    assert "initial_value" not in element(view, ids.BLOCK_DOC_URL)
    assert NO_LINK in context_text(view)


def test_a_doc_attached_after_its_initiative_was_archived_is_refused(running: RunningApp, churn: Thread) -> None:
    message = said(running, "<https://wiki.example.com/churn/runbook>")
    view = shortcut_form(running, ids.SHORTCUT_ATTACH_DOC, as_payload(message))
    assert "Archived" in private_answer(running, "archive churn")  # meanwhile, the initiative is archived

    values = {
        ids.BLOCK_DOC_INITIATIVE: picked(view, ids.BLOCK_DOC_INITIATIVE),
        ids.BLOCK_DOC_KIND: option("runbook"),
        ids.BLOCK_DOC_URL: typed(view, ids.BLOCK_DOC_URL),
    }
    assert submit(running, view, values) == {}

    assert rows(running.engine, HandoffDoc) == []
    [answer] = private_answers(running, ALICE)
    assert f'"{CHURN_V2}" is archived' in answer


# --- where the initiative comes from, and none at all --------------------------------------------------------


def test_a_message_in_a_channel_home_to_several_preselects_nothing(running: RunningApp, churn: Thread) -> None:
    create(running, NEW_FRAUD)
    message = said(running, "try a smaller model")
    view = shortcut_form(running, ids.SHORTCUT_LOG_IDEA, as_payload(message))
    picker = element(view, ids.BLOCK_IDEA_INITIATIVE)
    assert picker["type"] == "external_select" and "initial_option" not in picker
    assert json.loads(view["private_metadata"])["c"] == GENERAL  # the picker puts this channel's first


def test_a_shortcut_with_no_initiative_to_pick_says_how_to_start_one(running: RunningApp) -> None:
    message = said(running, "we should track this")
    before = len(running.fake.response_posts)
    result = running.slack.message_shortcut(ids.SHORTCUT_LOG_BLOCKER, as_payload(message))
    assert (result.status, result.body) == (200, "")
    running.settle()
    [post] = [p.body for p in running.fake.response_posts[before:]]
    assert post["response_type"] == "ephemeral"
    assert "There are no active initiatives yet" in all_text(post) and NO_INITIATIVES.split(".")[0] in all_text(post)
    assert running.fake.calls_to("views.open") == []


# --- New initiative ---------------------------------------------------------------------------------------


def test_the_new_initiative_shortcut_opens_the_creation_form(running: RunningApp) -> None:
    result = running.slack.global_shortcut(ids.SHORTCUT_NEW_INITIATIVE, user=BOB)
    assert (result.status, result.body) == (200, "")
    running.settle()
    [call] = running.fake.calls_to("views.open")
    view = call.response["view"]
    assert_valid_view(view)
    assert view["callback_id"] == ids.VIEW_NEW_INITIATIVE
    channel_select = element(view, ids.BLOCK_NEW_CHANNEL)
    assert "initial_conversation" not in channel_select  # a global shortcut comes from no channel

    values = {
        ids.BLOCK_NEW_NAME: {ids.INPUT_ACTION: {"type": "plain_text_input", "value": "Fraud alerts"}},
        ids.BLOCK_NEW_CHANNEL: {ids.INPUT_ACTION: {"type": "conversations_select", "selected_conversation": GENERAL}},
    }
    created = running.slack.submit_view(view, values, user=BOB, response_channel=GENERAL)
    assert (created.status, created.body) == (200, "")
    running.settle()
    fraud = load(running.engine, "Fraud alerts")
    assert (fraud.home_channel_id, fraud.created_by) == (GENERAL, BOB)


def test_every_shortcut_has_a_listener(running: RunningApp, churn: Thread) -> None:
    """Each declared shortcut opens a form of its own kind; none is left unanswered."""
    expected = {
        ids.SHORTCUT_LOG_BLOCKER: ids.VIEW_REPORT_BLOCKER,
        ids.SHORTCUT_ADD_CHECKPOINT: ids.VIEW_ADD_CHECKPOINT,
        ids.SHORTCUT_LOG_IDEA: ids.VIEW_LOG_IDEA,
        ids.SHORTCUT_ATTACH_DOC: ids.VIEW_ADD_DOC,
    }
    assert set(expected) == set(ids.MESSAGE_SHORTCUTS)
    message = said(running, "see <https://wiki.example.com/x>")
    for callback_id, view_id in expected.items():
        view = shortcut_form(running, callback_id, as_payload(message))
        assert view["callback_id"] == view_id


def test_a_message_slack_gives_no_permalink_for_still_opens_its_form(running: RunningApp, churn: Thread) -> None:
    message = said(running, "labels are late again")
    running.fake.fail_next("chat.getPermalink", error="channel_not_found")
    view = shortcut_form(running, ids.SHORTCUT_LOG_IDEA, as_payload(message))
    assert context_text(view) == "From a message."
    values = {
        ids.BLOCK_IDEA_INITIATIVE: picked(view, ids.BLOCK_IDEA_INITIATIVE),
        ids.BLOCK_IDEA_TEXT: typed(view, ids.BLOCK_IDEA_TEXT),
    }
    assert submit(running, view, values) == {}
    assert "this message" not in all_text(last_reply(running, churn))
    [idea] = rows(running.engine, Idea)
    assert idea.text == "labels are late again"


# --- nothing slow before the form opens (its trigger is good once, for 3 seconds) ---------------------------


def test_mentions_of_people_not_cached_ask_slack_nothing_before_the_form_opens(
    running: RunningApp, churn: Thread
) -> None:
    # Bob leads DS, so Handoff has his profile; Dave, the admin and Robot it has never looked up.
    message = said(running, f"<@{BOB}> <@{DAVE}> <@{ADMIN}> and <@{ROBOT}> say labels are late", thread=churn)
    running.fake.fail_next("users.info", error="ratelimited", retry_after=30, times=3)
    before = len(running.fake.calls)

    view = shortcut_form(running, ids.SHORTCUT_LOG_BLOCKER, as_payload(message))

    methods = [c.method for c in running.fake.calls[before:]]
    assert "users.info" not in methods[: methods.index("views.open")]
    assert element(view, ids.BLOCK_BLOCKER_TEXT)["initial_value"] == (
        f"@bob @{DAVE} @{ADMIN} and @{ROBOT} say labels are late"
    )


def test_a_rate_limited_permalink_is_not_waited_for_and_the_form_opens_without_it(
    running: RunningApp, churn: Thread
) -> None:
    message = said(running, "labels are late again")
    running.fake.fail_next("chat.getPermalink", error="ratelimited", retry_after=30)
    before = len(running.fake.calls_to("chat.getPermalink"))

    view = shortcut_form(running, ids.SHORTCUT_LOG_IDEA, as_payload(message))

    assert context_text(view) == "From a message."
    assert len(running.fake.calls_to("chat.getPermalink")) == before + 1  # asked once, not again after 30 s


def test_a_permalink_slack_is_too_slow_to_give_still_opens_the_form(running: RunningApp, churn: Thread) -> None:
    message = said(running, "labels are late again")
    running.fake.answer_slowly("chat.getPermalink", 1.5)  # past the quick client's 1 s timeout: an OSError

    view = shortcut_form(running, ids.SHORTCUT_LOG_IDEA, as_payload(message))

    assert context_text(view) == "From a message."
