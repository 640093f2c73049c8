"""Checkpoint edge cases end to end: the real app over HTTP, Slack played by FakeSlack and Jira Cloud by FakeJira,
both reached through the real clients. Link unfurls typed in the composer, the add-checkpoint form, `jira:new`
without an epic, and Jira refusing a change for good, at once or later from the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from handlers.jira_jobs import run_jira_sync
from storage.db import session_scope
from storage.models import Initiative
from tests.conftest import RunningApp
from tests.e2e.test_checkpoints import (
    CHURN_V2,
    MODEL_CARD,
    add,
    checkpoint,
    checkpoints,
    churn,
    fake_jira,
    jira_writes,
    pushes,
    running,
    sleeps,
)
from tests.support.e2e import Thread, blocks_of, create, kickoff_of, load, private_answer, replies, run
from tests.support.fake_jira import FakeJira
from tests.support.workspace import ALICE, BOB, CAROL, CHURN, GENERAL

# Pytest finds a fixture by name in the module of the test that asks for it, so the shared ones are imported;
# listing them here tells linters that the imports are used.
__all__ = ["churn", "fake_jira", "running", "sleeps"]

COMPOSER_UNFURL_ID = f"{BOB}-909b5454-75f8-4ac4-b325-1b40e230bbd8-gryl3kb80b3wm49ihzoo35fyqoq08n2y"


# --- helpers ----------------------------------------------------------------------------------------------


def opened_view(running: RunningApp, text: str, *, channel: str = GENERAL) -> dict[str, Any]:
    """Run a command that opens a form; returns the form as Slack stored it."""
    before = len(running.fake.calls_to("views.open"))
    _, posts = run(running, text, channel=channel)
    assert posts == [], f"answered instead of opening a form: {posts!r}"
    [call] = running.fake.calls_to("views.open")[before:]
    assert call.response["ok"] is True
    view: dict[str, Any] = call.response["view"]
    return view


def initiative_option(running: RunningApp, view: dict[str, Any], name: str) -> dict[str, Any]:
    """The initiative picker's option for `name`, as the app offers it while the menu opens and Slack hands it back
    once picked."""
    picker = next(b for b in view["blocks"] if b["block_id"] == ids.BLOCK_CHECKPOINT_INITIATIVE)["element"]
    offered = running.slack.suggest_options(
        view, block_id=ids.BLOCK_CHECKPOINT_INITIATIVE, action_id=picker["action_id"], value=""
    )
    [option] = [o for o in offered.json["options"] if o["text"]["text"].startswith(f"{name} (")]
    return dict(option)


def checkpoint_form(
    *,
    initiative: dict[str, Any] | None,
    title: str | None = None,
    owner: str | None = None,
    due: str | None = None,
    jira: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The add-checkpoint form's `view.state.values` as Slack sends it: every input, unset ones as null."""

    def field(element: dict[str, Any]) -> dict[str, Any]:
        return {ids.INPUT_ACTION: element}

    return {
        ids.BLOCK_CHECKPOINT_INITIATIVE: {
            ids.ACTION_PICK_INITIATIVE: {"type": "external_select", "selected_option": initiative}
        },
        ids.BLOCK_CHECKPOINT_TITLE: field({"type": "plain_text_input", "value": title}),
        ids.BLOCK_CHECKPOINT_OWNER: field({"type": "users_select", "selected_user": owner}),
        ids.BLOCK_CHECKPOINT_DUE: field({"type": "datepicker", "selected_date": due}),
        ids.BLOCK_CHECKPOINT_JIRA: field({"type": "plain_text_input", "value": jira}),
    }


def ephemerals_to(running: RunningApp, user: str) -> list[dict[str, Any]]:
    return [c.args for c in running.fake.calls_to("chat.postEphemeral") if c.args["user"] == user]


def first_line(payload: dict[str, Any]) -> str:
    text: str = payload["blocks"][0]["text"]["text"]
    return text


# --- unfurls ----------------------------------------------------------------------------------------------


def test_a_jira_link_typed_in_the_composer_is_unfurled_by_its_unfurl_id(
    running: RunningApp, fake_jira: FakeJira
) -> None:
    url = f"{fake_jira.url}/browse/DS-42"
    # What Slack sends while a link sits in the message box: no real channel or message yet.
    event = {
        "type": "link_shared",
        "channel": "COMPOSER",
        "is_bot_user_member": True,
        "user": BOB,
        "message_ts": COMPOSER_UNFURL_ID,
        "unfurl_id": COMPOSER_UNFURL_ID,
        "source": "composer",
        "links": [{"domain": "127.0.0.1", "url": url}],
        "event_ts": "1799055000.000100",
    }

    assert running.slack.event(event, event_id="EvCOMPOSER1").status == 200
    running.settle()

    [call] = running.fake.calls_to("chat.unfurl")
    assert call.response == {"ok": True}
    assert "channel" not in call.args and "ts" not in call.args
    assert (call.args["unfurl_id"], call.args["source"]) == (COMPOSER_UNFURL_ID, "composer")
    assert list(call.args["unfurls"]) == [url]
    section, facts = call.args["unfurls"][url]["blocks"]
    assert section["text"]["text"] == f"<{url}|DS-42> *{MODEL_CARD}*"
    assert facts["elements"][0]["text"] == "Status: *To Do* · Assignee: Priya Patel"


# --- the add-checkpoint form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel"),
    [("checkpoint add", GENERAL), ("checkpoint add churn", CHURN)],
    ids=["no-arguments-in-the-home-channel", "initiative-named-elsewhere"],
)
def test_the_form_adds_the_checkpoint_posts_in_the_thread_and_links_the_issue(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, text: str, channel: str
) -> None:
    view = opened_view(running, text, channel=channel)

    assert view["callback_id"] == ids.VIEW_ADD_CHECKPOINT
    assert [b["block_id"] for b in view["blocks"]] == ["initiative", "title", "owner", "due", "jira"]
    picker = view["blocks"][0]["element"]
    assert picker["initial_option"] == initiative_option(running, view, CHURN_V2)  # preselected, by channel or by name
    assert json.loads(view["private_metadata"]) == {"c": channel}

    values = checkpoint_form(
        initiative=initiative_option(running, view, CHURN_V2),
        title="  Model card   reviewed ",
        owner=CAROL,
        due="2027-02-15",
        jira="ds-42",
    )
    result = running.slack.submit_view(view, values)
    assert (result.status, result.body) == (200, "")
    running.settle()

    [stored] = checkpoints(running.engine)
    assert (stored.number, stored.title, stored.owner_id, stored.due_date, stored.created_by) == (
        1,
        "Model card reviewed",
        CAROL,
        date(2027, 2, 15),
        ALICE,
    )
    assert (stored.jira_key, stored.jira_status, stored.status) == ("DS-42", "To Do", "open")
    browse = f"{fake_jira.url}/browse/DS-42"
    [post] = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":pushpin: <@{ALICE}> added checkpoint `churn#1` *Model card reviewed* · owner <@{CAROL}> · due 2027-02-15"
        f" · linked <{browse}|DS-42> (To Do)"
    )
    [link] = fake_jira.issue("DS-42").remote_links
    assert link["object"]["url"] == churn.permalink
    # The form has no response_url: the answer is an ephemeral message where the command was typed.
    [told] = ephemerals_to(running, ALICE)
    assert told["channel"] == channel
    assert first_line(told) == (
        f":white_check_mark: Added `churn#1` *Model card reviewed*. Linked <{browse}|DS-42>. Due Mon 15 Feb 2027."
    )
    assert running.fake.messages_in(ALICE) == []


CHECKPOINT_FORM_ERRORS: list[tuple[bool, dict[str, str], dict[str, str]]] = [
    (
        True,
        {"title": "Model card reviewed", "due": "2027-01-03"},
        {"due": "The due date 2027-01-03 is in the past."},
    ),
    (
        True,
        {"title": "Model card reviewed", "jira": "DS42"},
        {"jira": '"DS42" is not a Jira issue key; use the form DS-42, or new.'},
    ),
    (
        True,
        {"title": "   ", "due": "2026-12-31", "jira": "nope"},
        {
            "title": "The checkpoint needs a title.",
            "due": "The due date 2026-12-31 is in the past.",
            "jira": '"nope" is not a Jira issue key; use the form DS-42, or new.',
        },
    ),
    (
        False,
        {"title": "x" * 201},
        {
            "initiative": "Pick the initiative this checkpoint belongs to.",
            "title": "The title is 201 characters long; the limit is 200.",
        },
    ),
]


def test_invalid_form_fields_are_marked_inline_and_nothing_is_written(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    fake_jira.reset_requests()

    for picked_initiative, fields, errors in CHECKPOINT_FORM_ERRORS:
        view = opened_view(running, "checkpoint add")
        chosen = initiative_option(running, view, CHURN_V2) if picked_initiative else None
        result = running.slack.submit_view(view, checkpoint_form(initiative=chosen, **fields))
        running.settle()

        assert result.status == 200
        assert result.json == {"response_action": "errors", "errors": errors}
    assert checkpoints(running.engine) == []
    assert replies(running, churn) == []
    assert running.fake.calls_to("chat.postEphemeral") == []
    assert jira_writes(fake_jira) == []


def test_a_form_naming_an_issue_jira_does_not_have_is_answered_privately_and_writes_nothing(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    view = opened_view(running, "checkpoint add")
    fake_jira.reset_requests()

    # Whether the issue exists takes a call to Jira, too slow for the ack: the form closes and the answer follows.
    form = checkpoint_form(initiative=initiative_option(running, view, CHURN_V2), title="Ghost", jira="DS-404")
    result = running.slack.submit_view(view, form)
    assert (result.status, result.body) == (200, "")
    running.settle()

    [told] = ephemerals_to(running, ALICE)
    assert told["channel"] == GENERAL
    assert first_line(told) == (
        ":warning: Jira has no issue DS-404, or Handoff's Jira account cannot see it. Nothing was added."
    )
    assert checkpoints(running.engine) == []
    assert replies(running, churn) == []
    assert jira_writes(fake_jira) == []


# --- jira:new without an epic -----------------------------------------------------------------------------


def test_jira_new_for_an_initiative_with_a_project_but_no_epic_creates_a_top_level_issue(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    # Slack can only set a project through an epic (`jira:DS-12`); the schema also allows a project alone,
    # and `jira:new` has to cope with it.
    with session_scope(running.engine) as session:
        initiative = session.exec(select(Initiative).where(Initiative.ref_key == "churn")).one()
        initiative.jira_epic_key = None
        session.add(initiative)

    answer = add(running, 'churn "Feature store backfill v2" jira:new')

    created = fake_jira.issue("DS-44")
    assert (created.project, created.summary, created.issue_type, created.parent, created.epic_link) == (
        "DS",
        "Feature store backfill v2",
        "Task",
        None,
        None,
    )
    [creation] = [r for r in fake_jira.requests if (r.method, r.path) == ("POST", "/rest/api/3/issue")]
    assert creation.body == {
        "fields": {"project": {"key": "DS"}, "summary": "Feature store backfill v2", "issuetype": {"name": "Task"}}
    }
    assert f"Created <{fake_jira.url}/browse/DS-44|DS-44>." in answer
    [stored] = checkpoints(running.engine)
    assert (stored.jira_key, stored.jira_status) == ("DS-44", "To Do")
    [post] = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":pushpin: <@{ALICE}> added checkpoint `churn#1` *Feature store backfill v2*"
        f" · created <{fake_jira.url}/browse/DS-44|DS-44> (To Do)"
    )


def test_jira_new_for_an_initiative_without_a_jira_project_is_refused_privately(
    running: RunningApp, fake_jira: FakeJira
) -> None:
    create(running, 'new "Pricing engine"')
    thread = kickoff_of(running, "Pricing engine")
    assert load(running.engine, "Pricing engine").jira_project_key is None
    fake_jira.reset_requests()
    posts_before = len(running.fake.calls_to("chat.postMessage"))

    _, [answer] = run(running, 'checkpoint add pricing "Price elasticity study" jira:new')

    assert first_line(answer) == (
        ":warning: `jira:new` creates the issue in the initiative's Jira project, and Pricing engine has none yet."
        " Set its epic first: `/handoff edit pricing jira:DS-12`."
    )
    assert checkpoints(running.engine) == []
    assert len(running.fake.calls_to("chat.postMessage")) == posts_before
    assert running.fake.messages_in(thread.channel, thread_ts=thread.ts) == [thread]
    assert fake_jira.requests == []  # refused before Jira was asked anything


# --- Jira refusing a change for good ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refusal", "explanation"),
    [
        (
            {"errorMessages": [], "errors": {"resolution": "Resolution is required."}},
            "resolution: Resolution is required.",
        ),
        # A workflow validator's message, written by a Jira admin, is shown as written, not read as mrkdwn.
        (
            {"errorMessages": ["Story points must be <= 13 & >= 1."], "errors": {}},
            "Story points must be &lt;= 13 &amp; &gt;= 1.",
        ),
    ],
    ids=["field-error", "validator-message"],
)
def test_a_transition_jira_refuses_leaves_the_checkpoint_as_it_was(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, refusal: dict[str, Any], explanation: str
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.fail_next("/rest/api/3/issue/DS-42/transitions", status=400, method="POST", body=refusal)

    _, [answer] = run(running, "checkpoint done churn#1")

    assert first_line(answer) == (
        f":warning: Jira refused to update DS-42: {explanation} The checkpoint was left as it was."
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.done_at, stored.jira_status) == ("open", None, None, "To Do")
    issue = fake_jira.issue("DS-42")
    assert (issue.status, issue.comments) == ("To Do", [])
    assert fake_jira.count("/rest/api/3/issue/DS-42/transitions", method="POST") == 1
    assert len(replies(running, churn)) == 1  # only the "added" post
    assert pushes(running.engine) == []


def test_an_issue_that_moved_but_whose_comment_jira_refused_counts_as_done(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    refusal = {"errorMessages": [], "errors": {"comment": "Comment body is not valid!"}}
    fake_jira.fail_next("/rest/api/3/issue/DS-42/comment", status=400, method="POST", body=refusal)

    _, [answer] = run(running, "checkpoint done churn#1")

    warning = ":warning: DS-42 moved in Jira, but Jira refused the comment: comment: Comment body is not valid!"
    assert first_line(answer) == f":white_check_mark: `churn#1` *Model card reviewed* is done.\n{warning}"
    _, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":white_check_mark: <@{ALICE}> marked `churn#1` *Model card reviewed* done"
        f" · <{fake_jira.url}/browse/DS-42|DS-42> (Done)\n{warning}"
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.jira_status, stored.jira_status_category) == (
        "done",
        ALICE,
        "Done",
        "done",
    )
    issue = fake_jira.issue("DS-42")
    assert (issue.status, issue.comments) == ("Done", [])
    assert fake_jira.count("/rest/api/3/issue/DS-42/transitions", method="POST") == 1
    assert pushes(running.engine) == []


@pytest.mark.parametrize(
    ("break_the_push", "reason"),
    [
        (
            lambda jira: jira.set_transitions("DS-42", [("21", "Start progress", "In Progress")]),
            "I can't move DS-42 into a Done status. From its current status Jira offers: Start progress → In Progress.",
        ),
        (
            lambda jira: jira.delete_issue("DS-42"),
            "Jira has no issue DS-42, or Handoff's Jira account cannot see it.",
        ),
    ],
    ids=["no-done-transition", "issue-deleted"],
)
def test_a_queued_push_jira_refuses_for_good_is_reported_to_the_person_and_the_thread_once(
    running: RunningApp,
    fake_jira: FakeJira,
    churn: Thread,
    break_the_push: Callable[[FakeJira], None],
    reason: str,
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.go_down()
    assert "will be updated when it does" in private_answer(running, "checkpoint done churn#1")
    [push] = pushes(running.engine)
    assert push.state == "pending"
    fake_jira.come_back()
    break_the_push(fake_jira)
    running.clock.advance(timedelta(minutes=2))

    report = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (report.pushes_delivered, report.pushes_failed, report.changes_posted) == (0, 1, 0)
    expected = (
        f":warning: I couldn't update <{fake_jira.url}/browse/DS-42|DS-42> in Jira to mark it done (for `churn#1`): "
        f"{reason}\nThe checkpoint in Slack and the issue in Jira now disagree; please fix the issue in Jira."
    )
    _added, _done, failure = replies(running, churn)
    assert failure.text == "Jira update failed for DS-42"
    assert blocks_of(failure)[0]["text"]["text"] == expected
    [direct] = running.fake.messages_in(ALICE)
    assert direct.text == "Jira update failed for DS-42"
    assert blocks_of(direct)[0]["text"]["text"] == expected
    [push] = pushes(running.engine)
    assert (push.state, push.last_error, push.reported_at) == ("failed", reason, running.clock.now())
    assert checkpoint(running.engine, 1).status == "done"  # Slack keeps what the person said

    running.clock.advance(timedelta(hours=2))
    again = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (again.pushes_delivered, again.pushes_failed) == (0, 0)
    assert len(replies(running, churn)) == 3
    assert len(running.fake.messages_in(ALICE)) == 1
    assert [(p.state, p.reported_at) for p in pushes(running.engine)] == [("failed", push.reported_at)]
