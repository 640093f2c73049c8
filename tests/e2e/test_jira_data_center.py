"""`/handoff checkpoint …` end to end with Jira Data Center: the real app over HTTP, Slack played by FakeSlack and
a Jira Data Center server by FakeJira (personal access token, REST v2 only, the "Epic Link" field, wiki-markup
comments), both driven through the real clients. The same journeys as `test_checkpoints.py` runs on Cloud."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings
from bot.fake_slack import FakeUser
from handlers.jira_jobs import run_jira_sync
from storage.models import JiraStatusChange
from tests.conftest import RunningApp, ServeApp
from tests.e2e import test_checkpoints as cloud
from tests.e2e.test_checkpoints import (
    CHURN_V2,
    MODEL_CARD,
    WEBHOOK_SECRET,
    add,
    checkpoint,
    checkpoints,
    post_webhook,
    pushes,
)
from tests.support.e2e import Thread, blocks_of, kickoff_of, load, private_answer, replies
from tests.support.fake_jira import EPIC_LINK_FIELD, FakeJira, RecordedRequest
from tests.support.workspace import ALICE, CAROL

PERSONAL_TOKEN = "dc-personal-access-token-0123456789"
# Jira renders REST timestamps in the bot account's time zone and webhook bodies in UTC; a zone other than UTC
# makes the sync and the webhook describe the same change with different offsets, as they do on real servers.
BOT_USER_TIMEZONE = "Europe/Berlin"
REST_V2 = "/rest/api/2"
SEARCH = f"{REST_V2}/search"
THREAD_LINK_TEXT = "Open the Slack thread"
EVE = "U0EVE"

# Same names as the Cloud module's fixtures; `churn` there is built on whichever `running` this module defines.
churn = cloud.churn
sleeps = cloud.sleeps


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def fake_jira(clock: FixedClock) -> Iterator[FakeJira]:
    """Jira Data Center with the churn epic and two tasks filed under it by Epic Link; it keeps the app's time.

    Afterwards every request must have been a REST v2 call (Data Center has no v3) carrying the personal access
    token as a bearer token.
    """
    jira = FakeJira("datacenter", personal_token=PERSONAL_TOKEN, user_timezone=BOT_USER_TIMEZONE)
    jira.clock = clock.now
    jira.add_issue("DS-12", CHURN_V2, issue_type="Epic")
    jira.add_issue("DS-42", MODEL_CARD, epic_link="DS-12", assignee="Priya Patel")
    jira.add_issue("DS-43", "Feature store backfill", epic_link="DS-12", status="In Progress")
    with jira:
        yield jira
        not_v2 = [f"{r.method} {r.path}" for r in jira.requests if not r.path.startswith(f"{REST_V2}/")]
        # The jira library asks for application links before adding a remote link; that is not a REST v2 call.
        assert set(not_v2) <= {"GET /rest/applinks/latest/listApplicationlinks"}, not_v2
        assert {authorization(r) for r in jira.requests} <= {f"Bearer {PERSONAL_TOKEN}"}


@pytest.fixture
def running(serve_app: ServeApp, fake_jira: FakeJira, sleeps: list[float]) -> Iterator[RunningApp]:
    """Like conftest's `running`, with Jira Data Center configured (a personal access token) and pointed at the fake."""
    jira = JiraSettings(
        url=fake_jira.url, auth=JiraAuth.DATA_CENTER, personal_token=PERSONAL_TOKEN, webhook_secret=WEBHOOK_SECRET
    )
    with serve_app(jira=jira, jira_sleep=sleeps.append) as running_app:
        yield running_app


# --- helpers ----------------------------------------------------------------------------------------------


def authorization(request: RecordedRequest) -> str | None:
    """The request's Authorization header; HTTP header names are case-insensitive and clients differ."""
    return next((value for name, value in request.headers.items() if name.lower() == "authorization"), None)


def wiki_comment(text: str, thread: Thread) -> str:
    """A Data Center comment as Handoff writes it: the text, then a wiki-markup link to the thread."""
    return f"{text} [{THREAD_LINK_TEXT}|{thread.permalink}]"


def status_changes(engine: Engine) -> list[JiraStatusChange]:
    with Session(engine) as session:
        return list(session.exec(select(JiraStatusChange)).all())


# --- add --------------------------------------------------------------------------------------------------


def test_add_links_an_existing_issue_posts_in_the_thread_and_links_back_once(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    answer = add(running, 'churn "Model card reviewed" owner:<@U0CAROL|carol> due:2027-02-15 jira:ds-42')

    browse = f"{fake_jira.url}/browse/DS-42"
    assert f"Added `churn#1` *Model card reviewed*. Linked <{browse}|DS-42>." in answer
    [post] = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"] == (
        f":pushpin: <@{ALICE}> added checkpoint `churn#1` *Model card reviewed* · owner <@{CAROL}> · due 2027-02-15"
        f" · linked <{browse}|DS-42> (To Do)"
    )
    assert post.text == "Churn model v2: checkpoint churn#1 added"

    [link] = fake_jira.issue("DS-42").remote_links
    assert link["globalId"] == f"handoff-slack-thread={churn.permalink}"
    assert link["object"]["url"] == churn.permalink
    assert link["object"]["title"] == "Slack: Churn model v2 (Handoff)"
    assert link["application"] == {"name": "Slack"}

    [stored] = checkpoints(running.engine)
    assert (stored.number, stored.title, stored.owner_id, stored.created_by) == (1, "Model card reviewed", CAROL, ALICE)
    assert (stored.jira_key, stored.jira_summary, stored.jira_status, stored.jira_status_category) == (
        "DS-42",
        MODEL_CARD,
        "To Do",
        "new",
    )
    assert (stored.jira_assignee, stored.status) == ("Priya Patel", "open")

    # A Jira issue tracks one checkpoint.
    answer = private_answer(running, 'checkpoint add churn "Second card" jira:DS-42')
    assert "DS-42 is already linked to churn#1" in answer
    assert len(checkpoints(running.engine)) == 1
    assert len(fake_jira.issue("DS-42").remote_links) == 1

    # Unlinking and linking the issue again sends the link a second time; Jira keeps one, found by its globalId.
    assert ":white_check_mark: Updated" in private_answer(running, "checkpoint edit churn#1 jira:none")
    assert ":white_check_mark: Updated" in private_answer(running, "checkpoint edit churn#1 jira:DS-42")

    assert fake_jira.count(f"{REST_V2}/issue/DS-42/remotelink", method="POST") == 2
    [link] = fake_jira.issue("DS-42").remote_links
    assert (link["globalId"], link["object"]["url"]) == (f"handoff-slack-thread={churn.permalink}", churn.permalink)
    assert checkpoint(running.engine, 1).jira_key == "DS-42"


def test_add_jira_new_creates_the_issue_under_the_epic_by_epic_link_and_links_it(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    answer = add(running, 'churn "Feature   store backfill v2" jira:new')

    created = fake_jira.issue("DS-44")  # the next number in the project
    assert (created.summary, created.issue_type, created.status) == ("Feature store backfill v2", "Task", "To Do")
    # Data Center files an issue under an epic with the "Epic Link" field; `parent` is for sub-tasks only.
    assert (created.epic_link, created.parent) == ("DS-12", None)
    [creation] = [r for r in fake_jira.requests if (r.method, r.path) == ("POST", f"{REST_V2}/issue")]
    assert creation.body["fields"] == {
        "project": {"key": "DS"},
        "summary": "Feature store backfill v2",
        "issuetype": {"name": "Task"},
        EPIC_LINK_FIELD: "DS-12",
    }

    browse = f"{fake_jira.url}/browse/DS-44"
    assert f"Created <{browse}|DS-44>." in answer
    [link] = created.remote_links
    assert (link["globalId"], link["object"]["url"]) == (f"handoff-slack-thread={churn.permalink}", churn.permalink)
    [post] = replies(running, churn)
    assert f"created <{browse}|DS-44> (To Do)" in blocks_of(post)[0]["text"]["text"]
    [stored] = checkpoints(running.engine)
    assert (stored.title, stored.jira_key, stored.jira_status, stored.jira_status_category) == (
        "Feature store backfill v2",
        "DS-44",
        "To Do",
        "new",
    )


# --- done and reopen --------------------------------------------------------------------------------------


def test_done_moves_the_issue_and_comments_in_wiki_markup_and_reopen_moves_it_back(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')

    answer = private_answer(running, "checkpoint done churn#1")

    assert "`churn#1` *Model card reviewed* is done." in answer
    issue = fake_jira.issue("DS-42")
    assert issue.status == "Done"
    [comment] = issue.comments
    assert comment["api_version"] == "2"
    assert comment["body"] == wiki_comment("Marked done in Slack by Alice Data (Handoff, Churn model v2).", churn)
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
    assert [c["body"] for c in issue.comments[1:]] == [
        wiki_comment("Reopened in Slack by Alice Data (Handoff, Churn model v2).", churn)
    ]
    *_, post = replies(running, churn)
    assert blocks_of(post)[0]["text"]["text"].startswith(f":leftwards_arrow_with_hook: <@{ALICE}> reopened `churn#1`")
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.done_at, stored.jira_status) == ("open", None, None, "To Do")
    assert fake_jira.count(f"{REST_V2}/issue/DS-42/transitions", method="POST") == 2
    assert pushes(running.engine) == []


def test_names_in_the_comment_cannot_turn_into_wiki_markup(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    name = "Churn [v2] {panel} *beta* | _q1_ - #7"
    answer = private_answer(running, f'new "{name}" ds:<@U0BOB|bob> jira:DS-43')
    assert ":white_check_mark: Created" in answer, answer
    kickoff = kickoff_of(running, name)
    initiative = load(running.engine, name)
    thread = Thread(channel=kickoff.channel, ts=kickoff.ts, permalink=initiative.thread_permalink or "")
    ref = initiative.ref_key
    add(running, f'{ref} "Shadow traffic" jira:DS-42')

    assert "is done." in private_answer(running, f"checkpoint done {ref}#1")

    [comment] = fake_jira.issue("DS-42").comments
    assert comment["body"] == wiki_comment(
        r"Marked done in Slack by Alice Data (Handoff, Churn \[v2\] \{panel\} \*beta\* \| \_q1\_ \- \#7).", thread
    )
    # A remote link's title is plain text in Jira, so it carries the name as it is.
    [link] = fake_jira.issue("DS-42").remote_links
    assert link["object"]["title"] == f"Slack: {name} (Handoff)"


def test_a_slack_name_cannot_embed_an_image_in_the_comment(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    # Anyone may set their own Slack name; in wiki markup `!url!` shows the image at that URL to every reader.
    running.fake.add_user(FakeUser(EVE, "eve", "Eve !https://tracker.example/pixel.png!"))
    add(running, 'churn "Shadow traffic" owner:<@U0EVE|eve> jira:DS-42')

    assert "is done." in private_answer(running, "checkpoint done churn#1", user=EVE)

    [comment] = fake_jira.issue("DS-42").comments
    assert comment["body"] == wiki_comment(
        r"Marked done in Slack by Eve \!https://tracker.example/pixel.png\! (Handoff, Churn model v2).", churn
    )


# --- Jira → Slack: webhook and sync ---------------------------------------------------------------------


def test_the_webhook_applies_a_data_center_status_change_once_and_posts_it_in_the_thread(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=3))
    entry = fake_jira.set_status("DS-42", "Done")
    payload = fake_jira.webhook_payload("DS-42", entry)
    # Data Center names people by name and key, not accountId, and sends no delivery identifier header.
    assert set(payload["user"]) >= {"name", "key"} and "accountId" not in payload["user"]

    assert post_webhook(running, payload, secret="wrong")[0] == 401
    running.settle()
    assert checkpoint(running.engine, 1).status == "open"

    status, body = post_webhook(running, payload)
    assert (status, body) == (200, {"ok": True, "duplicate": False, "status_changes": 1})
    running.settle()

    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → Done"
    assert blocks_of(post)[0]["text"]["text"] == (
        f":white_check_mark: <{fake_jira.url}/browse/DS-42|DS-42> {MODEL_CARD}: To Do → *Done*\n`churn#1` is done."
    )
    assert blocks_of(post)[1]["elements"][0]["text"] == "In Jira · checkpoint `churn#1`"
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.jira_status, stored.jira_status_category) == (
        "done",
        None,
        "Done",
        "done",
    )
    assert "done 2027-01-04 in Jira" in running.slack.command("checkpoint list churn").text

    # Jira redelivers the same change; without a delivery id it is known by the issue's changelog id.
    assert post_webhook(running, payload) == (200, {"ok": True, "duplicate": True, "status_changes": 0})
    running.settle()
    assert len(replies(running, churn)) == 2
    # The periodic sync sees the same change and has nothing to add.
    running.clock.advance(timedelta(minutes=1))
    assert run_jira_sync(running.app.runtime, running.app.bolt.client).changes_posted == 0
    assert len(replies(running, churn)) == 2
    assert len(status_changes(running.engine)) == 1


def test_a_data_center_delivery_without_its_update_time_is_completed_from_jira(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    """A custom body that carries the status but not `updated` is not trusted as it stands: one REST v2 request
    fetches the whole state, so the stored update time (the guard against stale news) is never cleared."""
    add(running, 'churn "Model card reviewed" jira:DS-42')
    running.clock.advance(timedelta(minutes=3))
    entry = fake_jira.set_status("DS-42", "In Progress")
    payload = fake_jira.webhook_payload("DS-42", entry)
    del payload["issue"]["fields"]["updated"]
    fake_jira.reset_requests()

    assert post_webhook(running, payload) == (200, {"ok": True, "duplicate": False, "status_changes": 1})

    assert [(r.method, r.path) for r in fake_jira.requests] == [("GET", f"{REST_V2}/issue/DS-42")]
    running.settle()
    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → In Progress"
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.jira_status) == ("in_progress", "In Progress")
    assert stored.jira_updated_at is not None


def test_the_sync_searches_with_rest_v2_and_posts_each_status_change_once(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    runtime, client = running.app.runtime, running.app.bolt.client
    fake_jira.reset_requests()
    first = run_jira_sync(runtime, client)
    assert first.sync is not None and (first.sync.mode, first.sync.fetched, first.changes_posted) == ("full", 1, 0)
    running.clock.advance(timedelta(minutes=5))
    fake_jira.set_status("DS-42", "Done")

    report = run_jira_sync(runtime, client)

    assert report.sync is not None and (report.sync.mode, report.sync.error) == ("incremental", None)
    assert report.changes_posted == 1
    _, post = replies(running, churn)
    assert post.text == f"DS-42 {MODEL_CARD}: To Do → Done"
    assert blocks_of(post)[0]["text"]["text"] == (
        f":white_check_mark: <{fake_jira.url}/browse/DS-42|DS-42> {MODEL_CARD}: To Do → *Done*\n`churn#1` is done."
    )
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by, stored.jira_status) == ("done", None, "Done")

    # A minute later the change is still inside the window the sync asks for again, and is fetched again.
    running.clock.advance(timedelta(minutes=1))
    again = run_jira_sync(runtime, client)

    assert again.sync is not None and (again.sync.fetched, again.changes_posted) == (1, 0)
    assert len(replies(running, churn)) == 2
    assert len(status_changes(running.engine)) == 1
    searches = [r for r in fake_jira.requests if "/search" in r.path]
    assert [(r.method, r.path) for r in searches] == [("POST", SEARCH)] * 3
    assert [r.body["jql"] for r in searches] == [
        "key in (DS-42)",
        'project in ("DS") AND updated >= "-11m" ORDER BY updated ASC',
        'project in ("DS") AND updated >= "-7m" ORDER BY updated ASC',
    ]
    assert fake_jira.count("/rest/api/3") == 0


# --- Jira down --------------------------------------------------------------------------------------------


def test_done_while_jira_is_down_is_kept_and_delivered_once_when_it_is_back(
    running: RunningApp, fake_jira: FakeJira, churn: Thread
) -> None:
    add(running, 'churn "Model card reviewed" jira:DS-42')
    fake_jira.go_down()

    answer = private_answer(running, "checkpoint done churn#1")

    assert "`churn#1` *Model card reviewed* is done." in answer
    assert "Jira didn't answer, so DS-42 will be updated when it does." in answer
    stored = checkpoint(running.engine, 1)
    assert (stored.status, stored.done_by) == ("done", ALICE)
    [push] = pushes(running.engine)
    assert (push.issue_key, push.action, push.state, push.actor_id, push.attempts, push.thread_url) == (
        "DS-42",
        "done",
        "pending",
        ALICE,
        1,
        churn.permalink,
    )
    _, post = replies(running, churn)
    assert "will be updated when it does" in blocks_of(post)[0]["text"]["text"]
    assert "1 change waiting for Jira" in running.slack.command("checkpoint list churn").text

    # Due for a retry while Jira is still down: it waits on.
    running.clock.advance(timedelta(minutes=2))
    still_down = run_jira_sync(running.app.runtime, running.app.bolt.client)
    assert (still_down.pushes_delivered, still_down.pushes_failed) == (0, 0)
    [push] = pushes(running.engine)
    assert (push.state, push.attempts) == ("pending", 2)

    fake_jira.come_back()
    running.clock.advance(timedelta(minutes=5))
    report = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (report.pushes_delivered, report.pushes_failed, report.changes_posted) == (1, 0, 0)
    issue = fake_jira.issue("DS-42")
    assert issue.status == "Done"
    [comment] = issue.comments
    assert comment["api_version"] == "2"
    assert comment["body"] == wiki_comment("Marked done in Slack by Alice Data (Handoff, Churn model v2).", churn)
    [push] = pushes(running.engine)
    assert push.state == "delivered"
    assert checkpoint(running.engine, 1).jira_status == "Done"
    assert "waiting for Jira" not in running.slack.command("checkpoint list churn").text

    running.clock.advance(timedelta(hours=1))
    later = run_jira_sync(running.app.runtime, running.app.bolt.client)

    assert (later.pushes_delivered, later.changes_posted) == (0, 0)
    assert len(fake_jira.issue("DS-42").comments) == 1
    assert fake_jira.count(f"{REST_V2}/issue/DS-42/transitions", method="POST") == 1
    assert len(replies(running, churn)) == 2  # "added" and "done"; the delivery itself is no news for the thread
