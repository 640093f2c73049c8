"""`/handoff checkpoint …` end to end with Jira: the real app over HTTP, Slack played by FakeSlack and Jira Cloud
by FakeJira, both driven through the real clients (slack_sdk's WebClient and the `jira` library)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import ids
from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings
from handlers.jira_jobs import run_jira_sync
from storage.models import Checkpoint, CheckpointStatus, JiraPush, JiraStatusChange
from tests.conftest import RunningApp, ServeApp
from tests.support.blockkit import all_text, button_values, nodes
from tests.support.e2e import (
    Thread,
    blocks_of,
    kickoff_of,
    load,
    mrkdwn_strings,
    plain_strings,
    private_answer,
    replies,
    run,
)
from tests.support.fake_jira import FakeJira
from tests.support.workspace import ALICE, BOB, CAROL, DAVE, GENERAL

WEBHOOK_SECRET = "s3cret-0123456789abcdef"
JIRA_EMAIL = "handoff-bot@example.com"
JIRA_TOKEN = "cloud-api-token-0123456789"
CHURN_V2 = "Churn model v2"
NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol> jira:DS-12'
MODEL_CARD = "Model card review"


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def fake_jira(clock: FixedClock) -> Iterator[FakeJira]:
    """Jira Cloud with the churn epic and two tasks; it keeps the app's time, so `updated` moves with the clock."""
    jira = FakeJira("cloud", email=JIRA_EMAIL, api_token=JIRA_TOKEN)
    jira.clock = clock.now
    jira.add_issue("DS-12", CHURN_V2, issue_type="Epic")
    jira.add_issue("DS-42", MODEL_CARD, parent="DS-12", assignee="Priya Patel")
    jira.add_issue("DS-43", "Feature store backfill", parent="DS-12", status="In Progress")
    with jira:
        yield jira


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the Jira gateway asked for (a 429's Retry-After): recorded, never slept."""
    return []


@pytest.fixture
def running(serve_app: ServeApp, fake_jira: FakeJira, sleeps: list[float]) -> Iterator[RunningApp]:
    """Like conftest's `running`, with Jira configured and pointed at the fake."""
    jira = JiraSettings(
        url=fake_jira.url, auth=JiraAuth.CLOUD, email=JIRA_EMAIL, api_token=JIRA_TOKEN, webhook_secret=WEBHOOK_SECRET
    )
    with serve_app(jira=jira, jira_sleep=sleeps.append) as running_app:
        yield running_app


@pytest.fixture
def churn(running: RunningApp) -> Thread:
    """`Churn model v2` created through `/handoff new`: ref `churn`, Jira project DS, epic DS-12."""
    answer = private_answer(running, NEW_CHURN)
    assert ":white_check_mark: Created" in answer, answer
    kickoff = kickoff_of(running, CHURN_V2)
    initiative = load(running.engine, CHURN_V2)
    assert (initiative.ref_key, initiative.jira_project_key) == ("churn", "DS")
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink=initiative.thread_permalink or "")


# --- helpers ----------------------------------------------------------------------------------------------


def checkpoints(engine: Engine) -> list[Checkpoint]:
    """Every checkpoint row, removed ones included."""
    with Session(engine) as session:
        return list(session.exec(select(Checkpoint).order_by(col(Checkpoint.id))).all())


def checkpoint(engine: Engine, number: int) -> Checkpoint:
    [found] = [c for c in checkpoints(engine) if c.number == number]
    return found


def pushes(engine: Engine) -> list[JiraPush]:
    with Session(engine) as session:
        return list(session.exec(select(JiraPush).order_by(col(JiraPush.id))).all())


def jira_writes(jira: FakeJira) -> list[str]:
    """Every request that would change something in Jira."""
    return [f"{r.method} {r.path}" for r in jira.requests if r.method in ("POST", "PUT", "DELETE")]


def adf_text(document: dict[str, Any]) -> str:
    """What a person reads in an ADF document (Jira Cloud's comment format)."""
    return "".join(n["text"] for n in nodes(document) if isinstance(n, dict) and n.get("type") == "text")


def add(running: RunningApp, text: str, *, user: str = ALICE) -> str:
    answer = private_answer(running, f"checkpoint add {text}", user=user)
    assert ":white_check_mark: Added" in answer, answer
    return answer


def post_webhook(
    running: RunningApp,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    delivery: str | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    """Deliver a Jira webhook the way Jira does: JSON, the secret in the URL, its delivery id in a header."""
    base = running.slack.url.removesuffix("/slack/events")
    url = f"{base}/jira/webhook" + (f"?secret={secret}" if secret is not None else "")
    headers = {"Content-Type": "application/json"}
    if delivery:
        headers["X-Atlassian-Webhook-Identifier"] = delivery
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --- add --------------------------------------------------------------------------------------------------


def test_add_links_an_existing_issue_posts_in_the_thread_and_links_back(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    answer = add(running, 'churn "Model card reviewed" owner:<@U0CAROL|carol> due:2027-02-15 jira:ds-42')

    browse = f"{fake_jira.url}/browse/DS-42"
    assert f"Added `churn#1` *Model card reviewed*. Linked <{browse}|DS-42>." in answer
    [post] = replies(running, churn)
    line = blocks_of(post)[0]["text"]["text"]
    assert line == (
        f":pushpin: <@{ALICE}> added checkpoint `churn#1` *Model card reviewed* · owner <@{CAROL}> · due 2027-02-15"
        f" · linked <{browse}|DS-42> (To Do)"
    )
    assert post.text == "Churn model v2: checkpoint churn#1 added"

    [link] = fake_jira.issue("DS-42").remote_links
    assert link["globalId"] == f"handoff-slack-thread={churn.permalink}"
    assert link["object"]["url"] == churn.permalink
    assert link["object"]["title"] == "Slack: Churn model v2 (Handoff)"

    [stored] = checkpoints(running.engine)
    assert (stored.number, stored.title, stored.owner_id, stored.due_date) == (
        1,
        "Model card reviewed",
        CAROL,
        date(2027, 2, 15),
    )
    assert (stored.jira_key, stored.jira_summary, stored.jira_status, stored.jira_status_category) == (
        "DS-42",
        MODEL_CARD,
        "To Do",
        "new",
    )
    assert (stored.jira_assignee, stored.status, stored.created_by) == ("Priya Patel", "open", ALICE)

    # A Jira issue tracks one checkpoint.
    answer = private_answer(running, 'checkpoint add churn "Second card" jira:DS-42')
    assert "DS-42 is already linked to churn#1" in answer
    assert len(checkpoints(running.engine)) == 1
    assert len(fake_jira.issue("DS-42").remote_links) == 1


def test_add_jira_new_creates_the_issue_under_the_epic_and_links_it(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    answer = add(running, 'churn "Feature   store backfill v2" jira:new')

    created = fake_jira.issue("DS-44")  # the next number in the project
    assert (created.summary, created.parent, created.issue_type, created.status) == (
        "Feature store backfill v2",
        "DS-12",
        "Task",
        "To Do",
    )
    assert f"Created <{fake_jira.url}/browse/DS-44|DS-44>." in answer
    [link] = created.remote_links
    assert link["object"]["url"] == churn.permalink
    [post] = replies(running, churn)
    assert f"created <{fake_jira.url}/browse/DS-44|DS-44> (To Do)" in blocks_of(post)[0]["text"]["text"]
    [stored] = checkpoints(running.engine)
    assert (stored.title, stored.jira_key, stored.jira_status) == ("Feature store backfill v2", "DS-44", "To Do")


def test_add_with_an_issue_jira_does_not_have_writes_nothing(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    answer = private_answer(running, 'checkpoint add churn "Ghost" jira:DS-404')

    assert "Jira has no issue DS-404, or Handoff's Jira account cannot see it. Nothing was added." in answer
    assert "Usage: /handoff checkpoint add" in answer
    assert checkpoints(running.engine) == []
    assert replies(running, churn) == []
    assert jira_writes(fake_jira) == []


def test_an_issue_in_a_done_status_is_linked_as_a_done_checkpoint(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    fake_jira.add_issue("DS-50", "Already shipped", status="Done")

    add(running, 'churn "Shipped thing" jira:DS-50')

    [stored] = checkpoints(running.engine)
    assert (stored.status, stored.done_by, stored.jira_status) == ("done", ALICE, "Done")


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem", "usage"),
    [
        ('checkpoint add nosuch "Model card"', 'No initiative called "nosuch"', "checkpoint add churn"),
        ('checkpoint add churn "Model card" due:2027-02-30', "`due:2027-02-30` is not a date", "checkpoint add churn"),
        ('checkpoint add churn "Model card" due:2027-01-03', "The due date 2027-01-03 is in the past.", "add churn"),
        ('checkpoint add churn "Model card" owner:@carol', "Slack doesn't know a user called `@carol`", "add churn"),
        ('checkpoint add churn "Model card" jira:DS42', '"DS42" is not a Jira issue key', "checkpoint add churn"),
        ('checkpoint add churn "' + "x" * 201 + '"', "The title is 201 characters long; the limit is 200.", "add"),
        ("checkpoint done churn#99", 'No checkpoint "churn#99".', "checkpoint done churn#3"),
        ("checkpoint edit churn#99 due:2027-03-01", 'No checkpoint "churn#99".', "checkpoint edit churn#3"),
        ("checkpoint done churn", "A checkpoint reference looks like `churn#3`", "checkpoint done churn#3"),
        ("checkpoint finish churn#1", '"finish" is not a checkpoint command.', "checkpoint add churn"),
        ("checkpoint mitigate churn#1", "Say what the mitigation plan is", "checkpoint mitigate churn#3"),
    ],
    ids=[
        "unknown-initiative",
        "bad-date",
        "past-date",
        "bare-at-name",
        "bad-key",
        "long-title",
        "unknown-ref",
        "unknown-ref-edit",
        "not-a-ref",
        "unknown-action",
        "no-plan",
    ],
)
def test_bad_input_is_answered_privately_with_usage_and_writes_nothing(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, text: str, problem: str, usage: str
) -> None:
    posts_before = len(running.fake.calls_to("chat.postMessage"))
    fake_jira.reset_requests()

    answer = private_answer(running, text)

    assert problem in answer
    assert "Usage: /handoff" in answer and usage in answer
    assert checkpoints(running.engine) == []
    assert len(running.fake.calls_to("chat.postMessage")) == posts_before
    assert jira_writes(fake_jira) == []


# --- permissions ------------------------------------------------------------------------------------------


def test_an_outsider_cannot_add_or_remove_but_the_owner_can_mark_done(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Dave\'s dashboard" owner:<@U0DAVE|dave> jira:DS-42')

    refused = private_answer(running, 'checkpoint add churn "Sneaky"', user=DAVE)
    assert "add checkpoints" in refused and f"<@{ALICE}>" in refused and "Usage:" not in refused
    refused = private_answer(running, "checkpoint remove churn#1", user=DAVE)
    assert "remove checkpoints" in refused
    refused = private_answer(running, "checkpoint edit churn#1 due:2027-03-01", user=DAVE)
    assert "edit checkpoints" in refused
    assert [(c.number, c.removed_at, c.due_date) for c in checkpoints(running.engine)] == [(1, None, None)]

    answer = private_answer(running, "checkpoint done churn#1", user=DAVE)

    assert "`churn#1` *Dave's dashboard* is done." in answer
    assert checkpoint(running.engine, 1).done_by == DAVE
    assert fake_jira.issue("DS-42").status == "Done"

    # Owning one checkpoint gives no say over another.
    add(running, 'churn "Carol\'s part" owner:<@U0CAROL|carol>')
    refused = private_answer(running, "checkpoint done churn#2", user=DAVE)
    assert "mark its checkpoints done" in refused and f"<@{CAROL}>" in refused
    assert checkpoint(running.engine, 2).status == "open"


# --- list -------------------------------------------------------------------------------------------------


def test_list_is_answered_privately_in_the_ack(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    add(running, 'churn "Model card reviewed" owner:<@U0CAROL|carol> due:2027-02-15 jira:DS-42')
    add(running, 'churn "Shadow traffic"')
    private_answer(running, "checkpoint done churn#2")

    for text in ("checkpoint list churn", "checkpoints churn", "checkpoint list Churn model v2"):
        result, posts = run(running, text, user=DAVE)  # anyone may look

        assert posts == [], text
        assert result.json.get("response_type", "ephemeral") == "ephemeral"
        assert result.json["text"] == "Checkpoints of Churn model v2: 1/2 done"
        assert result.json["blocks"][0]["text"]["text"] == "Checkpoints: Churn model v2"
        body = result.json["blocks"][1]["text"]["text"]
        first, second = body.split("\n")
        assert first == (
            f":white_circle: `churn#1` *Model card reviewed* · open · <@{CAROL}> · due 2027-02-15"
            f" · <{fake_jira.url}/browse/DS-42|DS-42> (To Do)"
        )
        assert second == f":white_check_mark: `churn#2` *Shadow traffic* · done · done 2027-01-04 by <@{ALICE}>"

    result, posts = run(running, "checkpoint list nosuch")
    assert posts == [] and 'No initiative called "nosuch"' in result.text and "checkpoint list churn" in result.text


# --- done and reopen --------------------------------------------------------------------------------------


def test_done_moves_the_issue_comments_in_jira_and_posts_in_the_thread(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')

    answer = private_answer(running, "checkpoint done churn#1")

    assert "`churn#1` *Model card reviewed* is done." in answer
    issue = fake_jira.issue("DS-42")
    assert issue.status == "Done"
    [comment] = issue.comments
    assert comment["api_version"] == "3"
    assert comment["body"] == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Marked done in Slack by Alice Data (Handoff, Churn model v2). "},
                    {
                        "type": "text",
                        "text": "Open the Slack thread",
                        "marks": [{"type": "link", "attrs": {"href": churn.permalink}}],
                    },
                ],
            }
        ],
    }
    _, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":white_check_mark: <@{ALICE}> marked `churn#1` *Model card reviewed* done"
        f" · <{fake_jira.url}/browse/DS-42|DS-42> (Done)"
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.jira_status, stored.jira_status_category) == (
        "done",
        ALICE,
        "Done",
        "done",
    )
    assert "already done" in private_answer(running, "checkpoint done churn#1")

    answer = private_answer(running, "checkpoint reopen churn#1")

    assert "`churn#1` *Model card reviewed* is reopened." in answer
    issue = fake_jira.issue("DS-42")
    assert issue.status == "To Do"
    assert adf_text(issue.comments[-1]["body"]).startswith("Reopened in Slack by Alice Data")
    *_, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"].startswith(f":leftwards_arrow_with_hook: <@{ALICE}> reopened `churn#1`")
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.done_at, stored.jira_status) == ("open", None, None, "To Do")
    assert "nothing to reopen" in private_answer(running, "checkpoint reopen churn#1")
    assert pushes(running.engine) == []


def test_done_without_a_done_transition_lists_what_jira_offers_and_changes_nothing(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.set_transitions("DS-42", [("5", "Start <progress>", "In Progress"), ("6", "Review", "In Review")])

    answer = private_answer(running, "checkpoint done churn#1")

    assert (
        "I can't move DS-42 into a Done status. From its current status Jira offers: "
        "Start &lt;progress&gt; → In Progress, Review → In Review." in answer
    )
    assert "the checkpoint was left as it was" in answer
    assert checkpoint(running.engine, 1).status == "open"
    assert fake_jira.issue("DS-42").status == "To Do"
    assert fake_jira.issue("DS-42").comments == []
    assert len(replies(running, churn)) == 1  # only the "added" post
    assert pushes(running.engine) == []


def test_a_rate_limited_transition_is_waited_out_without_sleeping(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, sleeps: list[float]
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.fail_next("/rest/api/3/issue/DS-42/transitions", status=429, retry_after=3, method="POST")

    assert "is done." in private_answer(running, "checkpoint done churn#1")

    assert sleeps == [3.0]
    assert fake_jira.issue("DS-42").status == "Done"
    assert pushes(running.engine) == []


def test_done_while_jira_is_down_is_kept_and_delivered_later(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.go_down()

    answer = private_answer(running, "checkpoint done churn#1")

    assert "is done." in answer
    assert "Jira didn't answer, so DS-42 will be updated when it does." in answer
    assert checkpoint(running.engine, 1).status == "done"
    [push] = pushes(running.engine)
    assert (push.issue_key, push.action, push.state, push.actor_id, push.attempts) == (
        "DS-42",
        "done",
        "pending",
        ALICE,
        1,
    )
    assert push.thread_url == churn.permalink
    _, post = replies(running, churn)
    assert "will be updated when it does" in blocks_of(post)[0]["text"]["text"]
    assert "1 change waiting for Jira" in running.slack.command("checkpoint list churn").text

    fake_jira.come_back()
    running.clock.advance(timedelta(minutes=2))
    report = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (report.pushes_delivered, report.pushes_failed, report.changes_posted) == (1, 0, 0)
    issue = fake_jira.issue("DS-42")
    assert issue.status == "Done"
    [comment] = issue.comments
    assert adf_text(comment["body"]).startswith("Marked done in Slack by Alice Data")
    [push] = pushes(running.engine)
    assert push.state == "delivered"
    assert checkpoint(running.engine, 1).jira_status == "Done"
    assert len(replies(running, churn)) == 2  # nothing more to tell the thread


def test_done_when_the_issue_was_already_moved_in_jira_only_comments(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=1))
    fake_jira.set_status("DS-42", "Done")  # someone was quicker in Jira; no sync has run yet

    answer = private_answer(running, "checkpoint done churn#1")

    assert "`churn#1` *Model card reviewed* is done." in answer
    issue = fake_jira.issue("DS-42")
    assert issue.status == "Done"
    [comment] = issue.comments
    assert adf_text(comment["body"]).startswith("Marked done in Slack by Alice Data")
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.jira_status, stored.jira_status_category) == ("done", "Done", "done")
    assert pushes(running.engine) == []


def test_a_comment_that_failed_after_the_transition_is_retried_without_moving_the_issue_again(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.fail_next("/rest/api/3/issue/DS-42/comment", status=500, method="POST")

    answer = private_answer(running, "checkpoint done churn#1")

    assert "will be updated when it does" in answer
    assert fake_jira.issue("DS-42").status == "Done"
    assert fake_jira.issue("DS-42").comments == []
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.jira_status) == ("done", "Done")
    [push] = pushes(running.engine)
    assert (push.action, push.state, push.transitioned) == ("done", "pending", True)

    running.clock.advance(timedelta(minutes=2))
    report = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (report.pushes_delivered, report.pushes_failed, report.changes_posted) == (1, 0, 0)
    [comment] = fake_jira.issue("DS-42").comments
    assert adf_text(comment["body"]).startswith("Marked done in Slack by Alice Data")
    assert fake_jira.count("/rest/api/3/issue/DS-42/transitions", method="POST") == 1
    assert len(replies(running, churn)) == 2  # "added" and "done"; no warning that Slack and Jira disagree


# --- Jira failing while adding ---------------------------------------------------------------------------


def test_add_while_jira_is_down_adds_nothing(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    fake_jira.go_down()

    answer = private_answer(running, 'checkpoint add churn "Model card reviewed" jira:DS-42')

    assert f"Jira at {fake_jira.url} did not answer. Nothing was added; try again." in answer
    assert checkpoints(running.engine) == []
    assert replies(running, churn) == []


def test_a_link_back_jira_could_not_take_waits_in_the_outbox(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    fake_jira.fail_next("/rest/api/3/issue/DS-42/remotelink", status=502, method="POST")

    answer = add(running, 'churn "Model card reviewed" jira:DS-42')

    assert "Jira didn't answer; DS-42 will be linked to this thread when it does." in answer
    assert checkpoint(running.engine, 1).jira_key == "DS-42"
    assert fake_jira.issue("DS-42").remote_links == []
    [push] = pushes(running.engine)
    assert (push.action, push.state, push.thread_url) == ("remote_link", "pending", churn.permalink)

    running.clock.advance(timedelta(minutes=2))
    assert run_jira_sync(running.app.runtime, running.app.bolt.client).pushes_delivered == 1

    [link] = fake_jira.issue("DS-42").remote_links
    assert link["object"]["url"] == churn.permalink
    assert [p.state for p in pushes(running.engine)] == ["delivered"]


# --- edit, remove, mitigate -------------------------------------------------------------------------------


def test_edit_changes_due_owner_and_relinks_jira(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    add(running, 'churn "Model card reviewed" owner:<@U0CAROL|carol> due:2027-02-15 jira:DS-42')

    answer = private_answer(running, "checkpoint edit churn#1 due:2027-03-01 owner:<@U0BOB|bob> jira:DS-43")

    assert ":white_check_mark: Updated `churn#1`." in answer
    browse = f"{fake_jira.url}/browse"
    _, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == "\n".join(
        [
            f":pencil2: <@{ALICE}> updated `churn#1` *Model card reviewed*:",
            "• Due date: 2027-02-15 → 2027-03-01",
            f"• Owner: <@{CAROL}> → <@{BOB}>",
            f"• Jira issue: <{browse}/DS-42|DS-42> → <{browse}/DS-43|DS-43>",
        ]
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.due_date, stored.owner_id, stored.jira_key) == (date(2027, 3, 1), BOB, "DS-43")
    assert (stored.jira_summary, stored.jira_status, stored.jira_status_category) == (
        "Feature store backfill",
        "In Progress",
        "indeterminate",
    )
    [link] = fake_jira.issue("DS-43").remote_links
    assert link["object"]["url"] == churn.permalink

    # A key Jira does not know changes nothing; clearing the link needs no Jira at all.
    answer = private_answer(running, "checkpoint edit churn#1 jira:DS-404 due:2027-03-02")
    assert "Jira has no issue DS-404" in answer and "Nothing was changed." in answer
    assert checkpoint(running.engine, 1).due_date == date(2027, 3, 1)
    assert "Those values are already set" in private_answer(running, "checkpoint edit churn#1 owner:<@U0BOB|bob>")
    assert ":white_check_mark: Updated" in private_answer(running, "checkpoint edit churn#1 jira:none")
    stored = checkpoint(running.engine, 1)
    assert (stored.jira_key, stored.jira_status) == (None, None)
    assert len(replies(running, churn)) == 3


def test_remove_hides_the_checkpoint_and_its_number_is_not_reused(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed"')
    add(running, 'churn "Shadow traffic" jira:DS-42')

    answer = private_answer(running, "checkpoint remove churn#2")

    assert ":white_check_mark: Removed `churn#2`. Its number is not reused." in answer
    *_, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":wastebasket: <@{ALICE}> removed checkpoint `churn#2` *Shadow traffic*."
    )
    assert checkpoint(running.engine, 2).removed_by == ALICE
    assert "churn#2" not in running.slack.command("checkpoint list churn").text
    assert 'No checkpoint "churn#2"' in private_answer(running, "checkpoint done churn#2")

    answer = add(running, 'churn "Shadow traffic, again" jira:DS-42')  # the removed one no longer holds DS-42

    assert "Added `churn#3`" in answer
    assert [(c.number, c.removed_at is None) for c in checkpoints(running.engine)] == [(1, True), (2, False), (3, True)]


def test_mitigation_is_only_for_a_missed_checkpoint(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    add(running, 'churn "Model card reviewed" owner:<@U0DAVE|dave> due:2027-01-10')
    add(running, 'churn "Shadow traffic" due:2027-01-08')
    private_answer(running, "checkpoint done churn#2")

    answer = private_answer(running, 'checkpoint mitigate churn#1 "Ship with the v1 schema"')
    assert "churn#1 is not missed (due 2027-01-10); mitigation plans are for missed checkpoints." in answer
    assert checkpoint(running.engine, 1).mitigation is None

    running.clock.advance(timedelta(days=7))  # 2027-01-11: churn#1 is missed, churn#2 was done in time
    listing = running.slack.command("checkpoint list churn").text
    assert ":red_circle: `churn#1` *Model card reviewed* · missed" in listing
    assert "_No mitigation plan yet_" in listing

    assert "churn#2 is done" in private_answer(running, 'checkpoint mitigate churn#2 "Nothing to do"')
    answer = private_answer(running, 'checkpoint mitigate churn#1 "Ship with the v1 schema; v2 in March"', user=DAVE)

    assert ":white_check_mark: Recorded the mitigation plan for `churn#1`." in answer
    *_, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":rotating_light: <@{DAVE}> recorded a mitigation plan for `churn#1` *Model card reviewed* (due 2027-01-10):"
        "\n> Ship with the v1 schema; v2 in March"
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.mitigation, stored.mitigated_by, stored.mitigated_at) == (
        "Ship with the v1 schema; v2 in March",
        DAVE,
        running.clock.now(),
    )
    listing = running.slack.command("checkpoint list churn").text
    assert f"Mitigation by <@{DAVE}>: Ship with the v1 schema; v2 in March" in listing
    assert "1/2 done · 1 missed" in listing


# --- escaping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # Typed as text, Slack escapes `<`, `>` and `&` in the command.
        ('"&lt;!channel&gt; &amp; &lt;@U0BOB&gt;"', "<!channel> & <@U0BOB>"),
        # A real @channel typed in the command arrives as Slack's special mention.
        ('"<!channel> &amp; <@U0BOB|bob> launch"', "<!channel> & <@U0BOB|bob> launch"),
    ],
    ids=["escaped-text", "special-mention"],
)
def test_titles_that_look_like_mentions_ping_nobody(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, typed: str, stored: str
) -> None:
    escaped = stored.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    payloads: dict[str, dict[str, Any]] = {}

    _, [payloads["add confirmation"]] = run(running, f"checkpoint add churn {typed} due:2027-01-10 jira:new")
    assert checkpoint(running.engine, 1).title == stored
    assert fake_jira.issue("DS-44").summary == stored  # Jira gets the title as typed, not escaped
    payloads["list"] = running.slack.command("checkpoint list churn").json
    _, [payloads["done confirmation"]] = run(running, "checkpoint done churn#1")
    _, [payloads["reopen confirmation"]] = run(running, "checkpoint reopen churn#1")
    _, [payloads["edit confirmation"]] = run(running, "checkpoint edit churn#1 due:2027-01-12")
    running.clock.advance(timedelta(days=10))
    _, [payloads["mitigate confirmation"]] = run(running, 'checkpoint mitigate churn#1 "Plan for <!here>"')
    running.clock.advance(timedelta(minutes=1))
    entry = fake_jira.set_status("DS-44", "Done")
    assert post_webhook(running, fake_jira.webhook_payload("DS-44", entry))[0] == 200
    running.settle()
    _, [payloads["remove confirmation"]] = run(running, "checkpoint remove churn#1")
    for index, call in enumerate(running.fake.calls_to("chat.postMessage")[1:]):
        payloads[f"thread post {index}"] = call.args
    assert len(payloads) == 7 + 7  # add, done, reopen, edit, mitigate, Jira status change, remove

    problems = []
    for where, payload in payloads.items():
        strings = mrkdwn_strings(payload)
        names_it = where not in ("edit confirmation", "mitigate confirmation", "remove confirmation")  # refs only
        if names_it and not any(escaped in s for s in strings) and stored not in plain_strings(payload):
            problems.append(f"{where}: title shown neither escaped in mrkdwn nor as plain text")
        problems += [
            f"{where}: raw mention in {s!r}" for s in strings if "<!channel>" in s or "<@U0BOB" in s or "<!here>" in s
        ]
    assert not problems, "\n".join(problems)


# --- Jira keys in conversation ----------------------------------------------------------------------------


def message_event(thread: Thread, text: str, *, user: str = BOB, **extra: Any) -> dict[str, Any]:
    """A person's reply in the initiative's thread, as Slack sends it."""
    ts = f"{float(thread.ts) + 1 + len(text) / 1000:.6f}"
    return {
        "type": "message",
        "channel": thread.channel,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread.ts,
        **extra,
    }


def test_a_tracked_key_in_the_thread_gets_one_reply_with_a_link_button(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed"')
    add(running, 'churn "Backfill" jira:DS-43')
    initiative = load(running.engine, CHURN_V2)

    event = message_event(churn, "Is DS-42 blocked on legal? DS-43 is done-ish; OPS-7 is not ours")
    assert running.slack.event(event, event_id="EvMENTION1").status == 200
    running.settle()

    reply, linked_reply = replies(running, churn)[2:]
    assert reply.thread_ts == linked_reply.thread_ts == churn.ts
    assert blocks_of(reply)[0]["text"]["text"] == (
        f":white_circle: <{fake_jira.url}/browse/DS-42|DS-42> *{MODEL_CARD}* · To Do · Priya Patel"
    )
    [value] = button_values({"blocks": reply.blocks}, ids.ACTION_LINK_ISSUE)
    assert json.loads(value) == {"k": "DS-42", "i": [initiative.id]}
    # An issue that already tracks a checkpoint says which, and offers no button.
    assert blocks_of(linked_reply)[1]["elements"][0]["text"] == "Tracks checkpoint `churn#2`"
    assert button_values({"blocks": linked_reply.blocks}, ids.ACTION_LINK_ISSUE) == []

    # Slack retries the same event; people keep talking about the same issue; a bot's post is no conversation.
    running.slack.event(event, event_id="EvMENTION1", retry_num=1)
    running.slack.event(message_event(churn, "DS-42 again, and <!here>"), event_id="EvMENTION2")
    running.slack.event(message_event(churn, "DS-43 from a bot", bot_id="B0OTHER"), event_id="EvMENTION3")
    running.slack.event(message_event(churn, "DS-43 edited", subtype="message_changed"), event_id="EvMENTION4")
    running.settle()
    assert len(replies(running, churn)) == 4
    assert len(running.fake.calls_to("chat.postMessage")) == 5  # kickoff, two "added", the two replies

    # A top-level message in the home channel starts its own thread, which gets its own reply.
    top = running.fake.add_message(GENERAL, "DS-42 needs a reviewer", user=CAROL)
    top_event = {"type": "message", "channel": GENERAL, "user": CAROL, "text": top.text, "ts": top.ts}
    running.slack.event(top_event, event_id="EvMENTION5")
    running.settle()
    [top_reply] = [m for m in running.fake.messages_in(GENERAL, thread_ts=top.ts) if m.ts != top.ts]
    assert top_reply.text.startswith(f"DS-42 {MODEL_CARD}")

    # The button opens the picker of open, unlinked checkpoints; picking one links the issue.
    before = len(running.fake.calls_to("views.open"))
    container = {"type": "message", "message_ts": reply.ts, "thread_ts": churn.ts, "channel_id": churn.channel}
    result = running.slack.action(ids.ACTION_LINK_ISSUE, value=value, user=CAROL, container=container)
    assert (result.status, result.body) == (200, "")
    running.settle()
    [opened] = running.fake.calls_to("views.open")[before:]
    view = opened.response["view"]  # as Slack stored it, which is what it sends with each options request
    picker = next(n for n in nodes(view) if isinstance(n, dict) and n.get("action_id") == ids.ACTION_PICK_CHECKPOINT)
    assert picker["type"] == "external_select"
    offered = running.slack.suggest_options(
        view, block_id=ids.BLOCK_LINK_CHECKPOINT, action_id=ids.ACTION_PICK_CHECKPOINT, value="", user=CAROL
    )
    options = offered.json["options"]
    assert [o["text"]["text"] for o in options] == ["churn#1 Model card reviewed"]  # churn#2 is linked
    picked = {"type": "external_select", "selected_option": options[0]}
    running.slack.submit_view(view, {ids.BLOCK_LINK_CHECKPOINT: {ids.ACTION_PICK_CHECKPOINT: picked}}, user=CAROL)
    running.settle()

    assert checkpoint(running.engine, 1).jira_key == "DS-42"
    update = blocks_of(replies(running, churn)[-1])[0]["text"]["text"]
    assert update.startswith(f":pencil2: <@{CAROL}> updated `churn#1`")
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"], told.args["thread_ts"]) == (churn.channel, CAROL, churn.ts)
    assert "Updated `churn#1`" in all_text(told.args)
    assert len(fake_jira.issue("DS-42").remote_links) == 1


def test_a_mention_jira_could_not_answer_is_replied_to_when_it_comes_up_again(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed"')
    fake_jira.fail_next("/rest/api/3/issue/DS-42", status=502, retry_after=None)
    running.slack.event(message_event(churn, "DS-42 status?"), event_id="EvDOWN1")
    running.settle()
    assert len(replies(running, churn)) == 1  # just the "added" update

    running.fake.fail_next("chat.postMessage", error="fatal_error", status=500)
    running.slack.event(message_event(churn, "DS-42, anyone?"), event_id="EvDOWN2")
    running.settle()
    assert len(replies(running, churn)) == 1

    running.slack.event(message_event(churn, "DS-42 once more"), event_id="EvDOWN3")
    running.slack.event(message_event(churn, "DS-42 and again"), event_id="EvDOWN4")
    running.settle()
    [_added, reply] = replies(running, churn)
    assert reply.text.startswith(f"DS-42 {MODEL_CARD}")


def test_a_link_to_the_jira_site_is_unfurled(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    url = f"{fake_jira.url}/browse/DS-42"
    shared = running.fake.add_message(GENERAL, f"see <{url}> and <https://example.com/x>", user=BOB)
    event = {
        "type": "link_shared",
        "channel": GENERAL,
        "user": BOB,
        "message_ts": shared.ts,
        "links": [
            {"domain": "127.0.0.1", "url": url},
            {"domain": "example.com", "url": "https://example.com/x"},
            {"domain": "127.0.0.1", "url": f"{fake_jira.url}/browse/DS-404"},
        ],
    }

    assert running.slack.event(event, event_id="EvLINK1").status == 200
    running.settle()
    running.slack.event(event, event_id="EvLINK1", retry_num=1)
    running.settle()

    [call] = running.fake.calls_to("chat.unfurl")
    assert call.response["ok"] is True
    assert (call.args["channel"], call.args["ts"]) == (GENERAL, shared.ts)
    unfurls = call.args["unfurls"]
    if isinstance(unfurls, str):
        unfurls = json.loads(unfurls)
    assert list(unfurls) == [url]
    section, facts = unfurls[url]["blocks"]
    assert section["text"]["text"] == f"<{url}|DS-42> *{MODEL_CARD}*"
    assert facts["elements"][0]["text"] == "Status: *To Do* · Assignee: Priya Patel"


# --- Jira → Slack: webhook and sync ---------------------------------------------------------------------


def test_the_webhook_applies_a_status_change_once_and_posts_it_in_the_thread(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=3))
    entry = fake_jira.set_status("DS-42", "Done")
    payload = fake_jira.webhook_payload("DS-42", entry)

    assert post_webhook(running, payload, secret="wrong", delivery="d-1")[0] == 401
    assert post_webhook(running, payload, secret=None, delivery="d-1")[0] == 401
    assert post_webhook(running, payload, method="GET")[0] == 405
    assert post_webhook(running, b"<xml/>", delivery="d-0")[0] == 400
    running.settle()
    assert checkpoint(running.engine, 1).status == "open"
    assert len(replies(running, churn)) == 1

    status, body = post_webhook(running, payload, delivery="d-1")
    assert (status, body) == (200, {"ok": True, "duplicate": False, "status_changes": 1})
    running.settle()

    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → Done"
    assert blocks_of(post)[0]["text"]["text"] == (
        f":white_check_mark: <{fake_jira.url}/browse/DS-42|DS-42> {MODEL_CARD}: To Do → *Done*\n`churn#1` is done."
    )
    assert blocks_of(post)[1]["elements"][0]["text"] == "In Jira · checkpoint `churn#1`"
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.jira_status) == ("done", None, "Done")
    assert "done 2027-01-04 in Jira" in running.slack.command("checkpoint list churn").text

    # Jira redelivers: the same delivery id, or the same change under a new one.
    assert post_webhook(running, payload, delivery="d-1") == (200, {"ok": True, "duplicate": True, "status_changes": 0})
    assert post_webhook(running, payload, delivery="d-2")[1]["duplicate"] is True
    running.settle()
    assert len(replies(running, churn)) == 2
    # The periodic sync sees the same change and has nothing to add.
    running.clock.advance(timedelta(minutes=1))
    assert run_jira_sync(running.app.runtime, running.app.bolt.client).changes_posted == 0
    assert len(replies(running, churn)) == 2
    with Session(running.engine) as session:
        assert len(session.exec(select(JiraStatusChange)).all()) == 1


def trimmed_delivery(jira: FakeJira, key: str) -> dict[str, Any]:
    """What Jira Automation's "Send web request" with a custom body (or a relay that trims payloads) delivers:
    the issue's `id`, `self` and `key`, no fields."""
    issue = jira.webhook_payload(key)["issue"]
    return {"webhookEvent": "jira:issue_updated", "issue": {k: issue[k] for k in ("id", "self", "key")}}


def test_a_trimmed_delivery_never_blanks_a_done_checkpoint(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=3))
    entry = fake_jira.set_status("DS-42", "Done")
    assert post_webhook(running, fake_jira.webhook_payload("DS-42", entry))[1]["status_changes"] == 1
    running.settle()
    done = checkpoint(running.engine, 1)
    assert (done.status, done.jira_status, done.jira_status_category) == ("done", "Done", "done")
    assert done.jira_updated_at is not None
    assert len(replies(running, churn)) == 2

    # Jira is reachable: the issue is fetched, it is still Done, so nothing changes and nobody is told.
    running.clock.advance(timedelta(minutes=1))
    assert post_webhook(running, trimmed_delivery(fake_jira, "DS-42")) == (
        200,
        {"ok": True, "duplicate": False, "status_changes": 0},
    )
    # Jira is down: the delivery is ignored with a 2xx (so Jira does not retry it), saying why.
    fake_jira.go_down()
    status, body = post_webhook(running, trimmed_delivery(fake_jira, "DS-42"), delivery="d-trimmed")
    fake_jira.come_back()
    assert status == 200 and (body["duplicate"], body["status_changes"]) == (False, 0)
    assert body["ignored"].startswith("the delivery for DS-42 lacks summary, status, assignee, updated, and fetching")
    running.settle()

    assert checkpoint(running.engine, 1) == done
    assert len(replies(running, churn)) == 2, "nothing like `DS-42 : Done → ` in the thread"
    # The next sync has nothing to tell either (no `? → Done`).
    running.clock.advance(timedelta(minutes=5))
    assert run_jira_sync(running.app.runtime, running.app.bolt.client).changes_posted == 0
    assert checkpoint(running.engine, 1).status == "done"
    assert len(replies(running, churn)) == 2
    with Session(running.engine) as session:
        logged = session.exec(select(JiraStatusChange)).all()
        assert [(c.from_status, c.to_status) for c in logged] == [("To Do", "Done")]


def test_a_trimmed_delivery_is_completed_with_one_request_for_the_issue(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=3))
    fake_jira.set_status("DS-42", "Done")
    fake_jira.reset_requests()

    assert post_webhook(running, trimmed_delivery(fake_jira, "DS-42")) == (
        200,
        {"ok": True, "duplicate": False, "status_changes": 1},
    )

    [fetch] = fake_jira.requests
    assert (fetch.method, fetch.path, fetch.query["fields"]) == (
        "GET",
        "/rest/api/3/issue/DS-42",
        "summary,status,assignee,updated",
    )
    running.settle()
    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → Done"
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.jira_status, stored.jira_assignee) == ("done", "Done", "Priya Patel")
    assert stored.jira_updated_at is not None


def test_the_sync_posts_each_jira_status_change_once(running: RunningApp, fake_jira: FakeJira, churn: Thread) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    runtime, client = running.app.runtime, running.app.bolt.client
    assert run_jira_sync(runtime, client).changes_posted == 0
    running.clock.advance(timedelta(minutes=5))
    fake_jira.set_status("DS-42", "Done")

    report = run_jira_sync(runtime, client)

    assert report.changes_posted == 1
    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → Done"
    assert "`churn#1` is done." in blocks_of(post)[0]["text"]["text"]
    assert checkpoint(running.engine, 1).status == CheckpointStatus.DONE.value

    running.clock.advance(timedelta(minutes=5))
    again = run_jira_sync(runtime, client)

    assert again.changes_posted == 0
    assert len(replies(running, churn)) == 2


def test_a_sync_for_one_channel_leaves_other_channels_changes_for_the_next_run(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    """`handoff run jira-sync --channel C` posts only what belongs to C's initiatives; nothing else is lost."""
    add(running, 'churn "Model card reviewed" jira:DS-42')
    runtime, client = running.app.runtime, running.app.bolt.client
    run_jira_sync(runtime, client)
    running.clock.advance(timedelta(minutes=5))
    fake_jira.set_status("DS-42", "Done")

    assert run_jira_sync(runtime, client, channel_id="C0ELSEWHERE").changes_posted == 0
    assert len(replies(running, churn)) == 1
    running.clock.advance(timedelta(minutes=5))
    assert run_jira_sync(runtime, client).changes_posted == 1
    assert len(replies(running, churn)) == 2


@pytest.mark.parametrize("via", ["webhook", "sync"])
def test_a_move_within_open_work_is_posted_without_finishing_the_checkpoint(
    running: RunningApp, fake_jira: FakeJira, churn: Thread, via: str
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=5))
    entry = fake_jira.set_status("DS-42", "In Review")

    if via == "webhook":
        assert post_webhook(running, fake_jira.webhook_payload("DS-42", entry))[0] == 200
        running.settle()
    else:
        run_jira_sync(running.app.runtime, running.app.bolt.client)

    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → In Review"
    assert blocks_of(post)[0]["text"]["text"].startswith(":large_blue_circle: ")
    assert "`churn#1`" not in blocks_of(post)[0]["text"]["text"]  # no effect on the checkpoint worth a line
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.jira_status, stored.jira_status_category) == (
        "in_progress",
        "In Review",
        "indeterminate",
    )
