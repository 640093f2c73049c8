"""Jira sync, webhooks and pushes: the services against a real database and the real `jira` client talking to
FakeJira over HTTP, for Jira Cloud and Data Center alike. Time and sleeping are injected, so nothing waits."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.blocks.problems import describe
from bot.checkpoints import apply_issue_fields, status_for_category
from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings
from bot.jira_gateway import (
    Flavor,
    JiraAuthFailed,
    JiraGateway,
    JiraIssue,
    JiraIssueIncomplete,
    JiraIssueNotFound,
    JiraTransition,
    JiraUnavailable,
    issue_from_json,
    missing_issue_fields,
)
from bot.jira_push import (
    ACTION_DONE,
    ACTION_REMOTE_LINK,
    ACTION_REOPEN,
    FIRST_RETRY,
    GIVE_UP_AFTER,
    LEASE,
    NoMatchingTransition,
    PushRequest,
    deliver_due_pushes,
    enqueue,
    global_link_id,
    pick_transition,
    push,
)
from bot.jira_sync import FULL_SYNC_EVERY, SyncReport, apply_issue_state, apply_webhook, sync_jira
from storage import jira as jira_queries
from storage.db import session_scope
from storage.models import Checkpoint, CheckpointStatus, JiraPush, JiraPushState, JiraStatusChange, JiraSyncState
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.fake_jira import EPIC_LINK_FIELD, FakeJira
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, NOW

EMAIL, API_TOKEN, PAT = "handoff@example.com", "cloud-api-token", "dc-personal-token"
PATIENCE = 60.0
THREAD_URL = "https://example.slack.com/archives/C0GENERAL/p1767519000000100"
FLAVORS = ["cloud", "datacenter"]
CATEGORIES = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate", "Done": "done"}

Sessions = Callable[[], AbstractContextManager[Session]]


class RecordingSleep:
    """Stands in for `time.sleep`: remembers each wait and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


def started(flavor: str, clock: FixedClock) -> FakeJira:
    fake = FakeJira(flavor=flavor, email=EMAIL, api_token=API_TOKEN, personal_token=PAT)
    fake.clock = clock.now
    return fake.start()


@pytest.fixture(params=FLAVORS)
def jira(request: pytest.FixtureRequest, clock: FixedClock) -> Iterator[FakeJira]:
    fake = started(request.param, clock)
    try:
        yield fake
    finally:
        fake.stop()


def settings_for(fake: FakeJira, *, secret: str | None = None) -> JiraSettings:
    if fake.is_cloud:
        return JiraSettings(url=fake.url, auth=JiraAuth.CLOUD, email=EMAIL, api_token=secret or API_TOKEN)
    return JiraSettings(url=fake.url, auth=JiraAuth.DATA_CENTER, personal_token=secret or PAT)


def gateway_for(fake: FakeJira, sleep: RecordingSleep, clock: FixedClock, **kwargs: Any) -> JiraGateway:
    kwargs.setdefault("patience", PATIENCE)
    return JiraGateway(settings_for(fake, secret=kwargs.pop("secret", None)), sleep=sleep, clock=clock.now, **kwargs)


@pytest.fixture
def gateway(jira: FakeJira, sleep: RecordingSleep, clock: FixedClock) -> JiraGateway:
    return gateway_for(jira, sleep, clock)


@pytest.fixture
def sessions(engine: Engine) -> Sessions:
    return lambda: session_scope(engine)


# ---------------------------------------------------------------------------------------------- helpers


def api(fake: FakeJira) -> str:
    """The REST prefix the gateway speaks to this flavour."""
    return "/rest/api/3" if fake.is_cloud else "/rest/api/2"


def search_path(fake: FakeJira) -> str:
    return "/rest/api/3/search/jql" if fake.is_cloud else "/rest/api/2/search"


def connect(gateway: JiraGateway, fake: FakeJira) -> None:
    """Open the gateway's connection, then forget the requests that cost, so tests count steady-state calls."""
    gateway.flavor()
    fake.reset_requests()


def link(sessions: Sessions, keys: list[str], *, synced_from: FakeJira | None = None) -> dict[str, int]:
    """One checkpoint per key; with `synced_from`, holding the issue's current state as linking stores it."""
    with sessions() as session:
        initiative = make_initiative(session)
        ids = {}
        for number, key in enumerate(keys, start=1):
            checkpoint = checkpoint_row(initiative.id or 0, number, jira_key=key)
            if synced_from is not None:
                stored = synced_from.issue(key)
                category = CATEGORIES[stored.status]
                issue = JiraIssue(key, stored.summary, stored.status, category, stored.assignee, stored.updated, "")
                apply_issue_fields(checkpoint, issue)
                checkpoint.status = status_for_category(category).value
            session.add(checkpoint)
            session.flush()
            ids[key] = checkpoint.id or 0
    return ids


def checkpoint_of(sessions: Sessions, checkpoint_id: int) -> Checkpoint:
    with sessions() as session:
        found = session.get(Checkpoint, checkpoint_id)
        assert found is not None
        return found


def status_changes(sessions: Sessions) -> list[JiraStatusChange]:
    with sessions() as session:
        return list(session.exec(select(JiraStatusChange).order_by(col(JiraStatusChange.id))).all())


def sync_state(sessions: Sessions) -> JiraSyncState:
    with sessions() as session:
        state = jira_queries.read_sync_state(session=session)
        assert state is not None
        return state


def seed(fake: FakeJira, count: int, *, project: str = "DS", updated: datetime = NOW - timedelta(hours=1)) -> list[str]:
    keys = [f"{project}-{n}" for n in range(1, count + 1)]
    for n, key in enumerate(keys, start=1):
        fake.add_issue(
            key,
            f"Issue {n}",
            status=("Done", "To Do", "In Progress")[n % 3],
            assignee=f"Person {n % 5}",
            updated=updated,
        )
    return keys


def sync(sessions: Sessions, gateway: JiraGateway, clock: FixedClock, full: bool | None = None) -> SyncReport:
    return sync_jira(sessions=sessions, gateway=gateway, now=clock.now(), full=full)


def request_for(key: str, action: str) -> PushRequest:
    return PushRequest(
        issue_key=key,
        action=action,
        actor_id=ALICE,
        actor_name="Alice Data",
        thread_url=THREAD_URL,
        initiative_name="Churn model",
    )


def queue(sessions: Sessions, checkpoint_id: int, request: PushRequest, error: JiraUnavailable, now: datetime) -> int:
    with sessions() as session:
        queued = enqueue(
            session=session, team_id=TEAM_ID, checkpoint_id=checkpoint_id, request=request, error=error, now=now
        )
        return queued.id or 0


def deliver(sessions: Sessions, gateway: JiraGateway, now: datetime) -> list[Any]:
    return deliver_due_pushes(sessions=sessions, gateway=gateway, now=now, actor_name=lambda _team, _user: "Alice Data")


def push_row(sessions: Sessions, push_id: int) -> JiraPush:
    with sessions() as session:
        row = session.get(JiraPush, push_id)
        assert row is not None
        return row


def unavailable(fake: FakeJira, gateway: JiraGateway, request: PushRequest) -> JiraUnavailable:
    """Try the push while Jira is down, as the command does, and keep the error it enqueues with."""
    fake.go_down()
    try:
        with pytest.raises(JiraUnavailable) as caught:
            push(gateway, request)
    finally:
        fake.come_back()
    return caught.value


def transitions_posted(fake: FakeJira, key: str) -> int:
    return fake.count(f"{api(fake)}/issue/{key}/transitions", method="POST")


def comments_posted(fake: FakeJira, key: str) -> int:
    return fake.count(f"{api(fake)}/issue/{key}/comment", method="POST")


# ---------------------------------------------------------------------------------------------- gateway


def test_flavour_comes_from_server_info(jira: FakeJira, gateway: JiraGateway) -> None:
    assert gateway.flavor() is (Flavor.CLOUD if jira.is_cloud else Flavor.DATA_CENTER)
    assert gateway.flavor() is gateway.flavor()
    assert [r.path for r in jira.requests] == ["/rest/api/2/serverInfo"]
    headers = {name.lower(): value for name, value in jira.requests[0].headers.items()}
    assert headers["authorization"].split()[0] == ("Basic" if jira.is_cloud else "Bearer")


def test_clock_skew_is_measured_at_connection(jira: FakeJira, gateway: JiraGateway, clock: FixedClock) -> None:
    jira.clock = lambda: clock.now() + timedelta(minutes=3)

    assert gateway.jira_now() == NOW + timedelta(minutes=3)
    clock.advance(timedelta(minutes=10))
    assert gateway.jira_now() == NOW + timedelta(minutes=13)


def test_an_issue_and_a_missing_one(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store", status="In Progress", assignee="Ann Lee", updated=NOW)

    issue = gateway.issue("DS-1")
    with pytest.raises(JiraIssueNotFound) as caught:
        gateway.issue("DS-404")

    assert issue == JiraIssue(
        key="DS-1",
        summary="Feature store",
        status="In Progress",
        status_category="indeterminate",
        assignee="Ann Lee",
        updated=NOW,
        url=f"{jira.url}/browse/DS-1",
    )
    assert caught.value.key == "DS-404" and caught.value.status == 404 and not caught.value.transient


def test_create_issue_under_an_epic(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Churn model", issue_type="Epic")

    created = gateway.create_issue(project="DS", summary="Model card", issue_type="Task", epic_key="DS-1")

    stored = jira.issue(created.key)
    (post,) = [r for r in jira.requests if r.method == "POST" and r.path.endswith("/issue")]
    if jira.is_cloud:
        assert (stored.parent, stored.epic_link) == ("DS-1", None)
        assert post.body["fields"]["parent"] == {"key": "DS-1"}
    else:
        assert (stored.parent, stored.epic_link) == (None, "DS-1")
        assert post.body["fields"][EPIC_LINK_FIELD] == "DS-1"
        assert "parent" not in post.body["fields"]
    assert (created.key, created.summary, created.status_category) == ("DS-2", "Model card", "new")
    assert jira.count(f"{api(jira)}/issue/DS-2", method="GET") == 1


def test_create_issue_without_an_epic(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_project("DS")

    created = gateway.create_issue(project="DS", summary="Data contract", issue_type="Story", epic_key=None)

    stored = jira.issue(created.key)
    assert (stored.issue_type, stored.parent, stored.epic_link) == ("Story", None, None)
    assert jira.count(f"{api(jira)}/field") == 0


def test_remote_link_is_upserted_by_global_id(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store")

    gateway.upsert_remote_link("DS-1", global_id="handoff-1", url=THREAD_URL, title="Slack: Churn")
    gateway.upsert_remote_link("DS-1", global_id="handoff-1", url=THREAD_URL, title="Slack: Churn model")

    (only,) = jira.issue("DS-1").remote_links
    assert only["globalId"] == "handoff-1"
    assert only["object"]["url"] == THREAD_URL and only["object"]["title"] == "Slack: Churn model"


def test_remote_link_to_a_missing_issue(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_project("DS")

    with pytest.raises(JiraIssueNotFound):
        gateway.upsert_remote_link("DS-9", global_id="handoff-1", url=THREAD_URL, title="Slack")


def test_comment_is_adf_on_cloud_and_escaped_wiki_on_data_center(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store")

    gateway.comment("DS-1", text="Done by *Bob* [see] {code}", link_text="Open the thread", link_url=THREAD_URL)

    (comment,) = jira.issue("DS-1").comments
    if jira.is_cloud:
        assert comment["api_version"] == "3"
        (paragraph,) = comment["body"]["content"]
        assert comment["body"]["type"] == "doc"
        assert paragraph["content"] == [
            {"type": "text", "text": "Done by *Bob* [see] {code} "},
            {"type": "text", "text": "Open the thread", "marks": [{"type": "link", "attrs": {"href": THREAD_URL}}]},
        ]
    else:
        assert comment["api_version"] == "2"
        assert comment["body"] == rf"Done by \*Bob\* \[see\] \{{code\}} [Open the thread|{THREAD_URL}]"


def test_transitions_are_listed_with_their_target_category(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store", status="In Progress")

    offered = gateway.transitions("DS-1")

    assert {(t.to_status, t.to_category) for t in offered} == {
        ("To Do", "new"),
        ("In Review", "indeterminate"),
        ("Done", "done"),
    }


def test_rate_limit_is_waited_out_exactly(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=429, retry_after=7)

    assert gateway.issue("DS-1").key == "DS-1"

    assert sleep.calls == [7.0]
    assert [r.status for r in jira.requests] == [429, 200]


def test_overloaded_503_is_waited_out_too(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=503, retry_after=2)

    gateway.issue("DS-1")

    assert sleep.calls == [2.0]


def test_a_wait_beyond_patience_is_not_slept(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=429, retry_after=int(PATIENCE) + 1)

    with pytest.raises(JiraUnavailable) as caught:
        gateway.issue("DS-1")

    assert sleep.calls == []
    assert caught.value.transient and caught.value.status == 429 and caught.value.retry_after == PATIENCE + 1


def test_patience_counts_every_wait_of_one_call(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=429, retry_after=40, times=2)

    with pytest.raises(JiraUnavailable):
        gateway.issue("DS-1")

    assert sleep.calls == [40.0]


def test_with_patience_shares_the_connection(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    impatient = gateway.with_patience(5)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=429, retry_after=7)

    with pytest.raises(JiraUnavailable):
        impatient.issue("DS-1")

    assert sleep.calls == []
    assert jira.count("/rest/api/2/serverInfo") == 0


def test_wrong_credentials(jira: FakeJira, sleep: RecordingSleep, clock: FixedClock) -> None:
    gateway = gateway_for(jira, sleep, clock, secret="not-the-token")

    with pytest.raises(JiraAuthFailed) as caught:
        gateway.flavor()

    assert caught.value.status == 401 and not caught.value.transient
    assert "not-the-token" not in describe(caught.value)


def test_a_401_later_on_is_an_auth_failure(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=401)

    with pytest.raises(JiraAuthFailed):
        gateway.issue("DS-1")


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_are_transient(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep, status: int) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.fail_next(f"{api(jira)}/issue/DS-1", status=status)

    with pytest.raises(JiraUnavailable) as caught:
        gateway.issue("DS-1")

    assert caught.value.transient and caught.value.status == status
    assert sleep.calls == []
    assert gateway.issue("DS-1").key == "DS-1"


def test_an_outage_is_unavailable_then_recovers(jira: FakeJira, gateway: JiraGateway, sleep: RecordingSleep) -> None:
    jira.add_issue("DS-1", "Feature store")
    connect(gateway, jira)
    jira.go_down()

    with pytest.raises(JiraUnavailable) as caught:
        gateway.issue("DS-1")

    assert caught.value.transient and sleep.calls == []
    jira.come_back()
    assert gateway.issue("DS-1").key == "DS-1"


def test_an_outage_before_connecting(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.go_down()

    with pytest.raises(JiraUnavailable):
        gateway.flavor()

    jira.come_back()
    assert gateway.flavor() in (Flavor.CLOUD, Flavor.DATA_CENTER)


def test_search_keys_reports_missing_keys(jira: FakeJira, gateway: JiraGateway) -> None:
    seed(jira, 3)

    found = gateway.search_keys(["DS-1", "DS-7", "DS-3", "DS-8"])

    assert sorted(i.key for i in found.issues) == ["DS-1", "DS-3"]
    assert found.missing == {"DS-7", "DS-8"}
    with pytest.raises(ValueError):
        gateway.search_keys([f"DS-{n}" for n in range(101)])


def test_search_updated_since_pages_through_everything(jira: FakeJira, gateway: JiraGateway) -> None:
    seed(jira, 230, updated=NOW - timedelta(minutes=3))
    jira.add_issue("DS-900", "Old", updated=NOW - timedelta(days=2))
    connect(gateway, jira)

    found = list(gateway.search_updated_since(["DS"], NOW - timedelta(minutes=10)))

    assert len(found) == 230 and "DS-900" not in {i.key for i in found}
    assert jira.count(search_path(jira)) == 3
    (jql,) = {r.body["jql"] for r in jira.requests if r.path == search_path(jira)}
    assert jql == 'project in ("DS") AND updated >= "-11m" ORDER BY updated ASC'


# ---------------------------------------------------------------------------------------------- full sync


def test_full_sync_batches_keys_a_hundred_a_query(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    keys = seed(jira, 250)
    ids = link(sessions, keys)
    connect(gateway, jira)

    report = sync(sessions, gateway, clock)

    assert report.ok and report.mode == "full"
    assert (report.linked, report.fetched, report.changed) == (250, 250, 250)
    assert jira.count(search_path(jira)) == math.ceil(250 / 100)
    assert jira.count(f"{api(jira)}/issue") == 0
    stored = checkpoint_of(sessions, ids["DS-8"])
    assert (stored.jira_summary, stored.jira_status, stored.jira_status_category) == (
        "Issue 8",
        "In Progress",
        "indeterminate",
    )
    assert (stored.jira_assignee, stored.jira_updated_at) == ("Person 3", NOW - timedelta(hours=1))
    assert stored.status == CheckpointStatus.IN_PROGRESS.value
    assert checkpoint_of(sessions, ids["DS-3"]).status == CheckpointStatus.DONE.value
    state = sync_state(sessions)
    assert (state.watermark, state.last_full_at, state.last_success_at, state.last_error) == (NOW, NOW, NOW, None)


def test_full_sync_reports_deleted_issues_and_syncs_the_rest(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    keys = seed(jira, 5)
    ids = link(sessions, keys)
    jira.delete_issue("DS-4")

    report = sync(sessions, gateway, clock)

    assert report.ok and report.missing == {"DS-4"}
    assert report.fetched == 4
    for key in ("DS-1", "DS-2", "DS-3", "DS-5"):
        assert checkpoint_of(sessions, ids[key]).jira_status == jira.issue(key).status
    assert checkpoint_of(sessions, ids["DS-4"]).jira_status is None


def test_nothing_linked_asks_jira_nothing(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    seed(jira, 3)

    first = sync(sessions, gateway, clock)
    clock.advance(timedelta(minutes=10))
    second = sync(sessions, gateway, clock)

    assert first.ok and second.ok and (first.fetched, second.fetched) == (0, 0)
    assert jira.requests == []


# ---------------------------------------------------------------------------------------------- incremental sync


@pytest.fixture
def synced(jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock) -> dict[str, int]:
    """Twelve linked issues in two projects, fully synced at NOW; the clock then moves on ten minutes."""
    keys = seed(jira, 8) + seed(jira, 4, project="OPS")
    ids = link(sessions, keys, synced_from=jira)
    report = sync(sessions, gateway, clock)
    assert report.ok and report.mode == "full" and report.status_changes == 0
    clock.advance(timedelta(minutes=10))
    jira.reset_requests()
    return ids


def test_incremental_sync_with_nothing_changed_is_one_query(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    before = {key: checkpoint_of(sessions, cid) for key, cid in synced.items()}

    report = sync(sessions, gateway, clock)

    assert report.ok and report.mode == "incremental" and report.changed == 0
    assert len(jira.requests) == 1 and jira.count(search_path(jira)) == 1
    assert '"DS", "OPS"' in jira.requests[0].body["jql"]
    assert status_changes(sessions) == []
    assert {key: checkpoint_of(sessions, cid) for key, cid in synced.items()} == before
    assert sync_state(sessions).watermark == clock.now()


def test_incremental_sync_applies_changes_once(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "In Progress", at=clock.now())
    jira.set_status("DS-2", "Done", at=clock.now())
    jira.set_status("OPS-3", "To Do", at=clock.now())
    clock.advance(timedelta(minutes=1))

    report = sync(sessions, gateway, clock)

    assert report.ok and report.mode == "incremental"
    assert (report.changed, report.status_changes) == (3, 3)
    assert jira.count(search_path(jira)) == 1
    changes = status_changes(sessions)
    assert sorted((c.issue_key, c.from_status, c.to_status) for c in changes) == [
        ("DS-1", "To Do", "In Progress"),
        ("DS-2", "In Progress", "Done"),
        ("OPS-3", "Done", "To Do"),
    ]
    assert all(c.changed_at == NOW + timedelta(minutes=10) for c in changes)
    assert checkpoint_of(sessions, synced["DS-1"]).jira_status == "In Progress"

    clock.advance(timedelta(minutes=1))
    again = sync(sessions, gateway, clock)

    assert again.ok and again.changed == 0 and again.status_changes == 0
    assert len(status_changes(sessions)) == 3


def test_summary_and_assignee_changes_are_synced_without_a_status_change(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_summary("DS-5", "Feature store v2", at=clock.now())
    jira.set_assignee("DS-5", "Ann Lee", at=clock.now())

    report = sync(sessions, gateway, clock)

    assert (report.changed, report.status_changes) == (1, 0)
    stored = checkpoint_of(sessions, synced["DS-5"])
    assert (stored.jira_summary, stored.jira_assignee) == ("Feature store v2", "Ann Lee")
    assert status_changes(sessions) == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_incremental_sync_with_jira_ahead_and_in_another_time_zone(
    flavor: str, sessions: Sessions, clock: FixedClock, sleep: RecordingSleep
) -> None:
    # JQL reads absolute dates in the user's zone; the relative query and the measured skew need neither to agree.
    fake = FakeJira(
        flavor=flavor, email=EMAIL, api_token=API_TOKEN, personal_token=PAT, user_timezone="America/Los_Angeles"
    )
    fake.clock = lambda: clock.now() + timedelta(hours=2)
    with fake:
        seed(fake, 2)
        gateway = gateway_for(fake, sleep, clock)
        link(sessions, ["DS-1", "DS-2"], synced_from=fake)
        assert sync(sessions, gateway, clock).ok
        assert sync_state(sessions).watermark == NOW + timedelta(hours=2)
        clock.advance(timedelta(minutes=10))
        fake.set_status("DS-1", "Done")

        report = sync(sessions, gateway, clock)

    assert report.mode == "incremental" and report.status_changes == 1
    assert status_changes(sessions)[0].changed_at == NOW + timedelta(hours=2, minutes=10)


def test_daily_full_reconciliation(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    # A change the incremental query cannot see (its `updated` lies before the watermark) is caught by the full pass.
    jira.set_status("DS-4", "Done", at=NOW - timedelta(minutes=30))
    assert sync(sessions, gateway, clock).status_changes == 0

    clock.set(NOW + FULL_SYNC_EVERY - timedelta(minutes=1))
    assert sync(sessions, gateway, clock).mode == "incremental"
    clock.set(NOW + FULL_SYNC_EVERY)
    jira.reset_requests()

    report = sync(sessions, gateway, clock)

    assert report.mode == "full" and report.status_changes == 1
    assert all(r.body["jql"].startswith("key in (") for r in jira.requests)
    assert sync_state(sessions).last_full_at == NOW + FULL_SYNC_EVERY
    clock.advance(timedelta(minutes=10))
    assert sync(sessions, gateway, clock).mode == "incremental"


def test_an_invalid_incremental_query_falls_back_to_a_full_pass(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    jira.add_issue("DS-1", "Feature store")
    ids = link(sessions, ["DS-1", "GONE-1"])
    sync(sessions, gateway, clock)
    clock.advance(timedelta(minutes=10))
    jira.set_status("DS-1", "Done")

    report = sync(sessions, gateway, clock)

    assert report.ok and report.mode == "full" and report.missing == {"GONE-1"}
    assert checkpoint_of(sessions, ids["DS-1"]).jira_status == "Done"


# ---------------------------------------------------------------------------------------------- checkpoint effects


def test_done_in_jira_marks_the_checkpoint_done_and_leaving_done_reopens_it(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "Done", at=clock.now())
    sync(sessions, gateway, clock)

    done = checkpoint_of(sessions, synced["DS-1"])
    assert (done.status, done.done_at, done.done_by, done.jira_status_category) == ("done", clock.now(), None, "done")

    clock.advance(timedelta(minutes=10))
    jira.set_status("DS-1", "In Review", at=clock.now())
    sync(sessions, gateway, clock)

    reopened = checkpoint_of(sessions, synced["DS-1"])
    assert (reopened.status, reopened.done_at) == (CheckpointStatus.IN_PROGRESS.value, None)
    assert [(c.to_status, c.checkpoint_effect) for c in status_changes(sessions)] == [
        ("Done", "done"),
        ("In Review", "reopened"),
    ]


def test_moves_within_not_done_change_no_checkpoint_effect(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "In Progress", at=clock.now())
    jira.set_status("DS-3", "Done", at=clock.now())  # DS-3 was already Done: Done → Done is no move at all

    sync(sessions, gateway, clock)

    (change,) = status_changes(sessions)
    assert (change.issue_key, change.checkpoint_effect) == ("DS-1", None)
    assert checkpoint_of(sessions, synced["DS-1"]).status == CheckpointStatus.IN_PROGRESS.value


# ---------------------------------------------------------------------------------------------- failed pulls


@pytest.mark.parametrize("failure", ["outage", "server_error", "auth"])
def test_a_failed_pull_changes_nothing_and_the_next_one_recovers(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int], failure: str
) -> None:
    for key in ("DS-1", "DS-2", "OPS-1"):
        jira.set_status(key, "Done", at=clock.now())
    before = {key: checkpoint_of(sessions, cid) for key, cid in synced.items()}
    state_before = sync_state(sessions)
    if failure == "outage":
        jira.go_down()
    elif failure == "server_error":
        jira.fail_next(search_path(jira), status=500)
    else:
        jira.fail_next(search_path(jira), status=401)

    report = sync(sessions, gateway, clock)

    assert not report.ok and report.error
    assert {key: checkpoint_of(sessions, cid) for key, cid in synced.items()} == before
    assert status_changes(sessions) == []
    state = sync_state(sessions)
    assert (state.watermark, state.last_success_at, state.last_full_at) == (
        state_before.watermark,
        state_before.last_success_at,
        state_before.last_full_at,
    )
    assert state.last_error == report.error and state.last_attempt_at == clock.now()

    if failure == "outage":
        jira.come_back()
    clock.advance(timedelta(minutes=10))
    recovered = sync(sessions, gateway, clock)

    assert recovered.ok and recovered.status_changes == 3
    state = sync_state(sessions)
    assert (state.last_error, state.last_success_at) == (None, clock.now())


def fail_searches_after_the_first(fake: FakeJira, clock: FixedClock) -> None:
    """Answer 500 from the second search on: the fake reads its clock while evaluating the first search's
    relative JQL date, which is after that request was let through and before the next one arrives."""
    armed: list[bool] = []

    def now() -> datetime:
        if not armed:
            armed.append(True)
            fake.fail_next(search_path(fake), status=500, times=10)
        return clock.now()

    fake.clock = now


def test_a_pull_failing_on_a_later_page_applies_no_page(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    keys = seed(jira, 150)
    ids = link(sessions, keys, synced_from=jira)
    assert sync(sessions, gateway, clock).ok
    clock.advance(timedelta(minutes=10))
    for key in keys:
        jira.set_status(key, "In Review", at=clock.now())
    before = {key: checkpoint_of(sessions, cid) for key, cid in ids.items()}
    watermark = sync_state(sessions).watermark
    jira.reset_requests()
    fail_searches_after_the_first(jira, clock)

    report = sync(sessions, gateway, clock)

    assert not report.ok and report.mode == "incremental"
    assert [r.status for r in jira.requests] == [200, 500]
    assert {key: checkpoint_of(sessions, cid) for key, cid in ids.items()} == before
    assert status_changes(sessions) == []
    assert sync_state(sessions).watermark == watermark


# ---------------------------------------------------------------------------------------------- once


def test_applying_the_same_issue_twice_logs_one_change(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "Done", at=clock.now())
    issue = gateway.issue("DS-1")

    with sessions() as session:
        first = apply_issue_state(session=session, issue=issue, now=clock.now())
    with sessions() as session:
        second = apply_issue_state(session=session, issue=issue, now=clock.now())

    assert [c.to_status for c in first] == ["Done"] and second == []
    assert len(status_changes(sessions)) == 1


def test_a_stale_issue_is_ignored(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "Done", at=clock.now())
    fresh = gateway.issue("DS-1")
    assert fresh.updated is not None
    stale = dataclasses.replace(
        fresh, status="In Progress", status_category="indeterminate", updated=fresh.updated - timedelta(minutes=1)
    )

    with sessions() as session:
        apply_issue_state(session=session, issue=fresh, now=clock.now())
    with sessions() as session:
        assert apply_issue_state(session=session, issue=stale, now=clock.now()) == []

    stored = checkpoint_of(sessions, synced["DS-1"])
    assert (stored.jira_status, stored.status) == ("Done", "done")


def test_a_webhook_is_applied_once_per_delivery_and_per_changelog(
    jira: FakeJira, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    entry = jira.set_status("DS-1", "Done", at=clock.now())
    payload = jira.webhook_payload("DS-1", entry)

    def deliver_webhook(delivery_id: str) -> Any:
        return apply_webhook(
            sessions=sessions,
            payload=payload,
            delivery_id=delivery_id,
            now=clock.now(),
            site_url=jira.url,
            gateway=None,
        )

    first = deliver_webhook("delivery-1")
    retried = deliver_webhook("delivery-1")
    redelivered = deliver_webhook("delivery-2")

    assert (first.duplicate, first.status_changes) == (False, 1)
    assert retried.duplicate and redelivered.duplicate
    (change,) = status_changes(sessions)
    assert (change.issue_key, change.to_status, change.checkpoint_effect) == ("DS-1", "Done", "done")
    assert checkpoint_of(sessions, synced["DS-1"]).status == "done"


def test_a_webhook_and_the_sync_seeing_one_change_log_it_once(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    entry = jira.set_status("DS-2", "Done", at=clock.now())
    payload = jira.webhook_payload("DS-2", entry)

    hooked = apply_webhook(
        sessions=sessions, payload=payload, delivery_id="d-1", now=clock.now(), site_url=jira.url, gateway=None
    )
    report = sync(sessions, gateway, clock)

    assert hooked.status_changes == 1 and report.status_changes == 0
    assert len(status_changes(sessions)) == 1


def test_a_late_webhook_does_not_undo_a_newer_sync(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    early = jira.set_status("DS-1", "In Progress", at=clock.now())
    late_payload = jira.webhook_payload("DS-1", early)
    jira.set_status("DS-1", "Done", at=clock.now() + timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    sync(sessions, gateway, clock)

    result = apply_webhook(
        sessions=sessions, payload=late_payload, delivery_id="late", now=clock.now(), site_url=jira.url, gateway=None
    )

    assert result.status_changes == 0
    assert checkpoint_of(sessions, synced["DS-1"]).jira_status == "Done"


def test_a_webhook_whose_transaction_was_lost_is_applied_on_redelivery(
    jira: FakeJira, engine: Engine, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    entry = jira.set_status("DS-1", "Done", at=clock.now())
    payload = jira.webhook_payload("DS-1", entry)

    @contextmanager
    def dying_before_commit() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session
            raise ConnectionResetError("the replica died before it committed")

    with pytest.raises(ConnectionResetError):
        apply_webhook(
            sessions=dying_before_commit,
            payload=payload,
            delivery_id="d-1",
            now=clock.now(),
            site_url=jira.url,
            gateway=None,
        )
    assert status_changes(sessions) == []

    retried = apply_webhook(
        sessions=sessions, payload=payload, delivery_id="d-1", now=clock.now(), site_url=jira.url, gateway=None
    )

    assert not retried.duplicate and retried.status_changes == 1
    assert checkpoint_of(sessions, synced["DS-1"]).status == "done"


@pytest.mark.parametrize("event", ["jira:issue_deleted", "comment_created", None])
def test_unknown_webhook_events_are_ignored(
    jira: FakeJira, sessions: Sessions, clock: FixedClock, synced: dict[str, int], event: str | None
) -> None:
    entry = jira.set_status("DS-1", "Done", at=clock.now())
    payload = jira.webhook_payload("DS-1", entry)
    payload["webhookEvent"] = event

    result = apply_webhook(
        sessions=sessions, payload=payload, delivery_id="d-1", now=clock.now(), site_url=jira.url, gateway=None
    )

    assert result.ignored and not result.duplicate and result.status_changes == 0
    assert status_changes(sessions) == []
    assert checkpoint_of(sessions, synced["DS-1"]).jira_status == "To Do"


def test_a_webhook_without_an_issue_is_ignored(sessions: Sessions, clock: FixedClock) -> None:
    result = apply_webhook(
        sessions=sessions,
        payload={"webhookEvent": "jira:issue_updated"},
        delivery_id="d-1",
        now=clock.now(),
        site_url="https://jira.example.com",
        gateway=None,
    )

    assert result.ignored and result.status_changes == 0


TRIMMED_FIELDS = ("summary", "status", "assignee", "updated")


def trimmed(payload: dict[str, Any], *keep: str) -> dict[str, Any]:
    """A delivery as Jira Automation's "Send web request" with a custom body, or a trimming relay, sends it:
    the issue's `id`, `self` and `key`, and only the fields in `keep`."""
    issue = payload["issue"]
    slim = {name: issue[name] for name in ("id", "self", "key")}
    if keep:
        slim["fields"] = {name: issue["fields"][name] for name in keep}
    return {"webhookEvent": payload["webhookEvent"], "issue": slim}


def apply_delivery(sessions: Sessions, payload: dict[str, Any], clock: FixedClock, gateway: JiraGateway | None) -> Any:
    return apply_webhook(
        sessions=sessions, payload=payload, delivery_id=None, now=clock.now(), site_url="", gateway=gateway
    )


@pytest.mark.parametrize(
    "keep", [(), ("summary",), ("status", "summary", "assignee")], ids=["bare", "no-status", "no-updated"]
)
def test_a_delivery_lacking_the_issues_state_fetches_it_in_one_request(
    jira: FakeJira,
    gateway: JiraGateway,
    sessions: Sessions,
    clock: FixedClock,
    synced: dict[str, int],
    keep: tuple[str, ...],
) -> None:
    done_before = checkpoint_of(sessions, synced["DS-3"])
    assert (done_before.status, done_before.jira_status) == ("done", "Done")
    entry = jira.set_status("DS-3", "In Review", at=clock.now())
    connect(gateway, jira)

    result = apply_delivery(sessions, trimmed(jira.webhook_payload("DS-3", entry), *keep), clock, gateway)

    assert (result.status_changes, result.ignored) == (1, None)
    [fetch] = jira.requests
    assert (fetch.method, fetch.path) == ("GET", f"{api(jira)}/issue/DS-3")
    assert fetch.query["fields"] == ",".join(TRIMMED_FIELDS)
    stored = checkpoint_of(sessions, synced["DS-3"])
    assert (stored.status, stored.jira_status, stored.jira_status_category) == (
        "in_progress",
        "In Review",
        "indeterminate",
    )
    assert stored.jira_updated_at == clock.now()
    [change] = status_changes(sessions)
    assert (change.from_status, change.to_status, change.checkpoint_effect) == ("Done", "In Review", "reopened")


@pytest.mark.parametrize(
    "jira_fails",
    [
        lambda jira: jira.go_down(),
        lambda jira: jira.fail_next(f"{api(jira)}/issue/DS-3", status=429, retry_after=PATIENCE + 1),
        lambda jira: jira.fail_next(
            f"{api(jira)}/issue/DS-3", status=200, body={"id": "1", "key": "DS-3", "fields": {}}
        ),
    ],
    ids=["down", "rate-limited", "answer-without-status"],
)
def test_a_delivery_lacking_the_issues_state_is_ignored_when_jira_cannot_tell(
    jira: FakeJira,
    gateway: JiraGateway,
    sessions: Sessions,
    clock: FixedClock,
    synced: dict[str, int],
    jira_fails: Callable[[FakeJira], None],
) -> None:
    before = checkpoint_of(sessions, synced["DS-3"])
    payload = trimmed(jira.webhook_payload("DS-3", jira.set_status("DS-3", "In Review", at=clock.now())))
    connect(gateway, jira)
    jira_fails(jira)

    result = apply_delivery(sessions, payload, clock, gateway)

    assert result.status_changes == 0 and not result.duplicate
    assert result.ignored is not None and result.ignored.startswith("the delivery for DS-3 lacks summary, status")
    assert "the sync will pick it up" in result.ignored
    assert checkpoint_of(sessions, synced["DS-3"]) == before
    assert status_changes(sessions) == []
    jira.come_back()


def test_a_delivery_lacking_the_issues_state_is_not_fetched_for_an_unlinked_issue_or_without_jira(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.add_issue("DS-99", "Not linked")
    connect(gateway, jira)

    unlinked = apply_delivery(sessions, trimmed(jira.webhook_payload("DS-99")), clock, gateway)
    without_jira = apply_delivery(sessions, trimmed(jira.webhook_payload("DS-3")), clock, None)

    assert (
        unlinked.ignored
        == "the delivery for DS-99 lacks summary, status, assignee, updated, and no checkpoint is linked to it"
    )
    assert without_jira.ignored is not None and "without Jira settings it cannot be fetched" in without_jira.ignored
    assert jira.requests == []
    assert checkpoint_of(sessions, synced["DS-3"]).jira_status == "Done"


def test_a_state_without_a_status_or_update_time_never_blanks_what_is_stored(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    stored = gateway.issue("DS-3")
    before = checkpoint_of(sessions, synced["DS-3"])
    assert before.jira_updated_at is not None

    with sessions() as session:
        blank = dataclasses.replace(stored, status="", status_category="", updated=None)
        assert apply_issue_state(session=session, issue=blank, now=clock.now()) == []
    assert checkpoint_of(sessions, synced["DS-3"]) == before

    with sessions() as session:
        renamed = dataclasses.replace(stored, summary="Renamed", updated=None)
        assert apply_issue_state(session=session, issue=renamed, now=clock.now()) == []
    after = checkpoint_of(sessions, synced["DS-3"])
    assert (after.jira_summary, after.jira_status, after.status) == ("Renamed", "Done", "done")
    assert after.jira_updated_at == before.jira_updated_at


def test_issue_json_without_a_status_is_refused_not_blanked() -> None:
    with pytest.raises(JiraIssueIncomplete):
        issue_from_json({"id": "1", "self": "https://jira.example.com/rest/api/2/issue/1", "key": "DS-1"}, "")
    with pytest.raises(JiraIssueIncomplete):
        issue_from_json({"key": "DS-1", "fields": {"status": {"name": "Done"}}}, "")
    assert missing_issue_fields({"key": "DS-1"}) == list(TRIMMED_FIELDS)
    assert missing_issue_fields({"key": "DS-1", "fields": {"summary": "x", "status": {}, "assignee": None}}) == [
        "updated",
        "status",
    ]


def test_a_searched_issue_without_a_status_is_left_out_and_the_others_are_synced(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, synced: dict[str, int]
) -> None:
    jira.set_status("DS-1", "Done", at=clock.now())
    fetched = gateway.issue("DS-1")
    raw_done = {
        "id": "1",
        "key": "DS-1",
        "fields": {
            "summary": fetched.summary,
            "status": {"name": "Done", "statusCategory": {"key": "done"}},
            "assignee": None,
            "updated": (fetched.updated or clock.now()).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        },
    }
    page = {"issues": [{"id": "3", "key": "DS-3", "fields": {"summary": "Issue 3"}}, raw_done], "isLast": True}
    if not jira.is_cloud:
        page.update(startAt=0, maxResults=100, total=2)
    jira.fail_next(search_path(jira), status=200, body=page)

    report = sync(sessions, gateway, clock)

    assert report.ok and report.status_changes == 1
    assert checkpoint_of(sessions, synced["DS-1"]).jira_status == "Done"
    assert checkpoint_of(sessions, synced["DS-3"]).jira_status == "Done"  # unchanged, not blank


# ---------------------------------------------------------------------------------------------- push


def test_pick_transition() -> None:
    start = JiraTransition("21", "Start", "In Progress", "indeterminate")
    close = JiraTransition("41", "Close", "Closed", "done")
    back = JiraTransition("11", "Back", "To Do", "new")

    assert pick_transition([start, close, back], done=True) == close
    assert pick_transition([start, close, back], done=False) == back
    assert pick_transition([close, start], done=False) == start
    assert pick_transition([start, back], done=True) is None
    assert pick_transition([close], done=False) is None


def test_push_done_transitions_and_comments(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store", status="In Progress")

    moved = push(gateway, request_for("DS-1", ACTION_DONE))

    assert moved == ("Done", "done")
    stored = jira.issue("DS-1")
    assert stored.status == "Done"
    (comment,) = stored.comments
    assert comment["api_version"] == ("3" if jira.is_cloud else "2")
    text = str(comment["body"])
    assert "Marked done in Slack by Alice Data (Handoff, Churn model)." in text and THREAD_URL in text
    assert transitions_posted(jira, "DS-1") == 1


def test_push_without_a_done_transition_lists_what_jira_offers(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store")
    jira.set_transitions("DS-1", [("21", "Start progress", "In Progress"), ("31", "Review", "In Review")])

    with pytest.raises(NoMatchingTransition) as caught:
        push(gateway, request_for("DS-1", ACTION_DONE))

    assert [(t.id, t.name, t.to_status, t.to_category) for t in caught.value.available] == [
        ("21", "Start progress", "In Progress", "indeterminate"),
        ("31", "Review", "In Review", "indeterminate"),
    ]
    assert "Start progress → In Progress" in describe(caught.value) and "Review → In Review" in describe(caught.value)
    assert jira.issue("DS-1").status == "To Do" and jira.issue("DS-1").comments == []
    assert transitions_posted(jira, "DS-1") == 0


def test_push_reopen_goes_back_to_to_do(jira: FakeJira, gateway: JiraGateway) -> None:
    jira.add_issue("DS-1", "Feature store", status="Done")

    moved = push(gateway, request_for("DS-1", ACTION_REOPEN))

    assert moved == ("To Do", "new")
    stored = jira.issue("DS-1")
    assert stored.status == "To Do" and "Reopened in Slack by Alice Data" in str(stored.comments[0]["body"])


# ---------------------------------------------------------------------------------------------- outbox


@pytest.fixture
def done_push(jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock) -> tuple[int, int]:
    """DS-1 (In Progress) linked to a checkpoint, and a done push queued because Jira was down: (push, checkpoint)."""
    jira.add_issue("DS-1", "Feature store", status="In Progress")
    checkpoint_id = link(sessions, ["DS-1"], synced_from=jira)["DS-1"]
    connect(gateway, jira)
    error = unavailable(jira, gateway, request_for("DS-1", ACTION_DONE))
    push_id = queue(sessions, checkpoint_id, request_for("DS-1", ACTION_DONE), error, clock.now())
    jira.reset_requests()
    return push_id, checkpoint_id


def test_a_queued_push_waits_for_its_time_then_is_delivered_once(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, checkpoint_id = done_push
    queued = push_row(sessions, push_id)
    assert (queued.state, queued.attempts, queued.next_attempt_at) == ("pending", 1, NOW + FIRST_RETRY)
    with sessions() as session:
        assert jira_queries.pending_pushes_for_checkpoint(session=session, checkpoint_id=checkpoint_id)

    assert deliver(sessions, gateway, NOW + FIRST_RETRY - timedelta(seconds=1)) == []
    assert jira.requests == []

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert outcome.delivered and not outcome.failed
    assert transitions_posted(jira, "DS-1") == 1 and comments_posted(jira, "DS-1") == 1
    assert jira.issue("DS-1").status == "Done"
    row = push_row(sessions, push_id)
    assert (row.state, row.finished_at, row.claimed_until) == ("delivered", NOW + FIRST_RETRY, None)
    assert checkpoint_of(sessions, checkpoint_id).jira_status == "Done"
    assert deliver(sessions, gateway, NOW + timedelta(hours=2)) == []
    assert transitions_posted(jira, "DS-1") == 1 and comments_posted(jira, "DS-1") == 1


def test_a_push_still_undeliverable_backs_off(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.go_down()

    (first,) = deliver(sessions, gateway, NOW + FIRST_RETRY)
    assert not first.delivered and not first.failed
    second_due = push_row(sessions, push_id).next_attempt_at
    assert deliver(sessions, gateway, second_due - timedelta(seconds=1)) == []
    (second,) = deliver(sessions, gateway, second_due)

    assert not second.delivered and not second.failed
    row = push_row(sessions, push_id)
    assert (row.state, row.attempts) == ("pending", 3)
    assert second_due == NOW + FIRST_RETRY + 2 * FIRST_RETRY
    assert row.next_attempt_at == second_due + 4 * FIRST_RETRY
    assert row.last_error and "did not answer" in row.last_error


def test_a_comment_that_failed_after_the_transition_is_retried_without_transitioning_again(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.fail_next(f"{api(jira)}/issue/DS-1/comment", status=500)

    (first,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert not first.delivered and not first.failed
    assert push_row(sessions, push_id).transitioned
    assert jira.issue("DS-1").status == "Done" and jira.issue("DS-1").comments == []

    (second,) = deliver(sessions, gateway, NOW + timedelta(hours=1))

    assert second.delivered
    assert transitions_posted(jira, "DS-1") == 1
    assert len(jira.issue("DS-1").comments) == 1


def test_a_push_whose_comment_failed_before_it_was_queued_is_not_transitioned_twice(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    jira.add_issue("DS-1", "Feature store", status="In Progress")
    checkpoint_id = link(sessions, ["DS-1"], synced_from=jira)["DS-1"]
    jira.fail_next(f"{api(jira)}/issue/DS-1/comment", status=500)
    with pytest.raises(JiraUnavailable) as caught:
        push(gateway, request_for("DS-1", ACTION_DONE))
    push_id = queue(sessions, checkpoint_id, request_for("DS-1", ACTION_DONE), caught.value, clock.now())

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert outcome.delivered, outcome.error
    assert transitions_posted(jira, "DS-1") == 1
    assert len(jira.issue("DS-1").comments) == 1
    assert push_row(sessions, push_id).state == "delivered"


def test_a_comment_refused_for_good_after_the_transition_still_delivers_the_push(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, checkpoint_id = done_push
    jira.fail_next(f"{api(jira)}/issue/DS-1/comment", status=400, method="POST")

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    # The issue is Done, as the checkpoint is; only the comment is missing, and that is no reason to report failure.
    assert outcome.delivered and not outcome.failed
    assert jira.issue("DS-1").status == "Done"
    row = push_row(sessions, push_id)
    assert row.state == "delivered" and row.last_error
    assert checkpoint_of(sessions, checkpoint_id).jira_status_category == "done"
    assert deliver(sessions, gateway, NOW + timedelta(hours=2)) == []


def test_an_auth_failure_in_the_outbox_waits_for_the_credentials_to_be_fixed(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.fail_next(api(jira), status=401)

    (first,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert not first.delivered and not first.failed
    row = push_row(sessions, push_id)
    assert row.state == "pending" and row.next_attempt_at > NOW + FIRST_RETRY
    (second,) = deliver(sessions, gateway, NOW + timedelta(hours=1))
    assert second.delivered
    assert jira.issue("DS-1").status == "Done" and transitions_posted(jira, "DS-1") == 1


def test_a_push_to_a_deleted_issue_fails_for_good(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.delete_issue("DS-1")

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert outcome.failed and not outcome.delivered and "DS-1" in (outcome.error or "")
    row = push_row(sessions, push_id)
    assert (row.state, row.finished_at) == ("failed", NOW + FIRST_RETRY)
    with sessions() as session:
        assert [p.id for p in jira_queries.failed_unreported_pushes(session=session)] == [push_id]
    assert deliver(sessions, gateway, NOW + timedelta(hours=2)) == []


def test_a_push_with_no_done_transition_fails_for_good(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.set_transitions("DS-1", [("11", "Back to To Do", "To Do")])

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert outcome.failed and "Back to To Do → To Do" in (outcome.error or "")
    assert push_row(sessions, push_id).state == JiraPushState.FAILED.value
    assert transitions_posted(jira, "DS-1") == 0 and comments_posted(jira, "DS-1") == 0


def test_a_push_gives_up_after_a_day_of_outage(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    jira.go_down()

    (outcome,) = deliver(sessions, gateway, NOW + GIVE_UP_AFTER)

    assert outcome.failed
    assert push_row(sessions, push_id).state == "failed"


def test_a_queued_remote_link_is_delivered(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock
) -> None:
    jira.add_issue("DS-1", "Feature store")
    checkpoint_id = link(sessions, ["DS-1"], synced_from=jira)["DS-1"]
    request = request_for("DS-1", ACTION_REMOTE_LINK)
    error = unavailable(jira, gateway, request)
    queue(sessions, checkpoint_id, request, error, clock.now())

    (outcome,) = deliver(sessions, gateway, NOW + FIRST_RETRY)

    assert outcome.delivered
    (only,) = jira.issue("DS-1").remote_links
    assert only["globalId"] == global_link_id(THREAD_URL) and only["object"]["url"] == THREAD_URL
    assert jira.issue("DS-1").status == "To Do" and jira.issue("DS-1").comments == []


def test_two_deliverers_never_claim_the_same_push(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, _ = done_push
    due = NOW + FIRST_RETRY

    with sessions() as session:
        first = jira_queries.claim_due_pushes(session=session, now=due, lease=LEASE)
    with sessions() as session:
        second = jira_queries.claim_due_pushes(session=session, now=due, lease=LEASE)

    assert (first, second) == ([push_id], [])
    assert deliver(sessions, gateway, due) == []
    with sessions() as session:
        # A deliverer that died keeps its claim only until the lease runs out.
        assert jira_queries.claim_due_pushes(session=session, now=due + LEASE + timedelta(seconds=1), lease=LEASE) == [
            push_id
        ]
    assert jira.requests == []


def test_a_sync_that_sees_a_push_land_before_its_deliverer_recorded_it_tells_the_thread_nothing(
    jira: FakeJira, gateway: JiraGateway, sessions: Sessions, clock: FixedClock, done_push: tuple[int, int]
) -> None:
    push_id, checkpoint_id = done_push
    clock.advance(timedelta(minutes=1))
    jira.set_status("DS-1", "Done")  # the push's transition, made by a replica that has not recorded it yet

    report = sync(sessions, gateway, clock, full=True)

    assert report.ok and (report.changed, report.status_changes) == (1, 0)
    assert status_changes(sessions) == []  # Slack's own change, already told in the thread
    with sessions() as session:
        stored = session.get(Checkpoint, checkpoint_id)
        assert stored is not None and stored.jira_status == "Done"
    assert push_row(sessions, push_id).state == "pending"  # its deliverer still finishes it (the comment)
