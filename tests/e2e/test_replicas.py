"""Replicas as real processes on one PostgreSQL database: every scheduled post, sync and push happens once, a
replica killed mid-round is taken over after its lease without posting anything twice, and Slack's retries of an
event delivered to different replicas are acted on once.

Each replica is a process of its own (`tests.support.replica_worker`, or `handoff serve --http`), built by the
real app factory, talking to the fake Slack and the fake Jira over HTTP; workers stand at a fixed time given on
their command line and start their jobs together. SQLite keeps a single writer, so these run on PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings
from bot.fake_slack import FakeChannel, FakeSlack, RecordedCall
from bot.slot_ledger import LEASE
from storage.models import JobRun
from tests.conftest import RunningApp, ServeApp
from tests.support.databases import POSTGRESQL
from tests.support.e2e import Thread, create, kickoff_of, private_answer, replies
from tests.support.factories import seed_initiatives
from tests.support.fake_jira import FakeJira
from tests.support.replicas import Workers, free_port, serve_http, start_workers, stop, wait_healthy
from tests.support.slack_driver import TEAM_ID, SlackDriver
from tests.support.workspace import ALICE, BOB, BOT_TOKEN, CAROL, CHURN, DAVE, GENERAL, NOW, SIGNING_SECRET

DATA = "C0DATA"
CHANNELS = (GENERAL, CHURN, DATA)
EARLY = NOW - timedelta(hours=3)  # initiatives exist before Monday's digest is due (08:00 UTC)
JIRA_EMAIL, JIRA_TOKEN = "handoff-bot@example.com", "cloud-api-token-0123456789"


@pytest.fixture
def database_url(engine: Engine) -> str:
    if engine.dialect.name != POSTGRESQL:
        pytest.skip("replicas share a PostgreSQL database; SQLite serves one process")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def start(database_url: str, slack: FakeSlack) -> Iterator[Callable[..., Workers]]:
    """Start workers on the test's database and fake Slack (`start(3, runs=[(NOW, ["channels"])])`); any still
    running when the test ends are killed."""
    started: list[Workers] = []

    def start(count: int, **options: Any) -> Workers:
        started.append(start_workers(count, database_url=database_url, slack=slack, **options))
        return started[-1]

    yield start
    for workers in started:
        workers.kill()


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.anchor_timestamps(NOW.timestamp())  # Slack's ts and the replicas' clocks agree, as in production
    fake_slack.add_channel(FakeChannel(DATA, "data", members={"UBOT", ALICE, BOB}))
    return fake_slack


def top_level_posts(fake: FakeSlack, channel: str) -> list[RecordedCall]:
    return [
        call
        for call in fake.calls_to("chat.postMessage")
        if call.args.get("channel") == channel and not call.args.get("thread_ts") and call.response.get("ok")
    ]


def digests(fake: FakeSlack, channel: str) -> list[RecordedCall]:
    return [c for c in top_level_posts(fake, channel) if str(c.args.get("text", "")).startswith("Daily digest")]


def slot_runs(engine: Engine, job: str) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun).where(JobRun.job == job)).all())


def runs_by_target(engine: Engine, job: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for run in slot_runs(engine, job):
        found.setdefault(run.target, []).append(run.state)
    return found


def every_channel(state: str) -> dict[str, list[str]]:
    return {f"{TEAM_ID}:{channel}": [state] for channel in CHANNELS}


# --- digests and nudges ---------------------------------------------------------------------------------------


def test_three_replicas_post_each_channels_digest_and_nudges_once(
    engine: Engine, start: Callable[..., Workers], slack: FakeSlack
) -> None:
    for channel in CHANNELS:
        seed_initiatives(engine, 2, channel=channel, created_at=EARLY)
    workers = start(3, runs=[(NOW, ["channels"])])

    reports = workers.go()

    posted = Counter(channel for report in reports for channel in report["channels"]["posted"])
    assert posted == {channel: 2 for channel in CHANNELS}  # the digest and the nudges, by one replica or another
    for channel in CHANNELS:
        assert len(digests(slack, channel)) == 1, channel
        assert len(top_level_posts(slack, channel)) == 2, channel
    assert runs_by_target(engine, "digest") == runs_by_target(engine, "nudges") == every_channel("done")


def test_a_replica_killed_mid_round_is_taken_over_after_its_lease_posting_nothing_twice(
    engine: Engine, start: Callable[..., Workers], slack: FakeSlack
) -> None:
    for channel in CHANNELS:
        seed_initiatives(engine, channel=channel, created_at=EARLY)
    slack.answer_slowly("chat.postMessage", 30)  # the first post takes effect; its answer never reaches the replica
    takers = start(2, runs=[(NOW + LEASE / 2, ["channels"]), (NOW + LEASE, ["channels"])])
    [doomed] = start(1, runs=[(NOW, ["channels"])]).processes
    assert doomed.stdin is not None
    doomed.stdin.write("go\n")
    doomed.stdin.flush()
    try:
        assert slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) == 1, timeout=20)
    finally:
        doomed.kill()
        doomed.communicate(timeout=10)
    slack.answer_slowly("chat.postMessage", 0)
    [first] = slack.calls_to("chat.postMessage")
    killed_in = first.args["channel"]
    assert killed_digest(engine, killed_in).state == "claimed"

    # Before the lease lapses, others do the slots nobody had claimed yet, and leave the dead replica's alone.
    takers.go()
    assert len(digests(slack, killed_in)) == 1
    assert killed_digest(engine, killed_in).state == "claimed"
    takers.go()

    for channel in CHANNELS:
        assert len(digests(slack, channel)) == 1, channel  # the killed replica's one included, never again
        assert len(top_level_posts(slack, channel)) == 2, channel  # and the nudges: nothing lost
    assert slack.calls_to("conversations.history"), "the new holder asked Slack what the dead one had posted"
    assert killed_digest(engine, killed_in).root_ts == first.response["ts"]  # found by its message metadata
    assert runs_by_target(engine, "digest") == runs_by_target(engine, "nudges") == every_channel("done")


def killed_digest(engine: Engine, channel: str) -> JobRun:
    [run] = [run for run in slot_runs(engine, "digest") if run.target == f"{TEAM_ID}:{channel}"]
    return run


# --- standups ---------------------------------------------------------------------------------------------------

NEW_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0CAROL|carol>'
NEW_SEARCH = 'new "Search ranking" ds:<@U0BOB|bob> eng:<@U0ALICE|alice> embedded:<@U0DAVE|dave>'


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


def direct_messages(fake: FakeSlack, user: str, prefix: str) -> list[str]:
    return [m.text for m in fake.messages_in(user) if m.text.startswith(prefix)]


def test_three_replicas_send_each_standup_prompt_and_reminder_once(
    running: RunningApp, start: Callable[..., Workers], slack: FakeSlack
) -> None:
    create(running, NEW_CHURN)
    create(running, NEW_SEARCH)  # Carol (London) and Dave (UTC) are asked on Tuesday at 09:30 their time

    workers = start(3, runs=[(utc(5, 9, 45), ["standups"]), (utc(5, 14, 45), ["standups"])])
    prompted = workers.go()
    reminded = workers.go()

    for user in (CAROL, DAVE):
        assert len(direct_messages(slack, user, "Standup for")) == 1, user
        assert len(direct_messages(slack, user, "Reminder")) == 1, user
    for reports in (prompted, reminded):
        assert sorted(user for report in reports for user in report["standups"]["posted"]) == [CAROL, DAVE]


# --- Jira -------------------------------------------------------------------------------------------------------

NEW_JIRA_CHURN = 'new "Churn model v2" ds:<@U0BOB|bob> eng:<@U0CAROL|carol> jira:DS-12'
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
def fake_jira(clock: FixedClock) -> Iterator[FakeJira]:
    """Jira Cloud with the churn epic and three tasks; it keeps the test's time for `updated`."""
    jira = FakeJira("cloud", email=JIRA_EMAIL, api_token=JIRA_TOKEN)
    jira.clock = clock.now
    jira.add_issue("DS-12", "Churn model v2", issue_type="Epic")
    for key, summary in (("DS-42", "Model card review"), ("DS-43", "Feature store backfill"), ("DS-44", "Drift")):
        jira.add_issue(key, summary, parent="DS-12")
    with jira:
        yield jira


@pytest.fixture
def jira_app(serve_app: ServeApp, fake_jira: FakeJira, slack: FakeSlack) -> Iterator[RunningApp]:
    """The app in this process, for setting the scene through commands: Jira configured, pointed at the fake."""
    settings = JiraSettings(url=fake_jira.url, auth=JiraAuth.CLOUD, email=JIRA_EMAIL, api_token=JIRA_TOKEN)
    with serve_app(jira=settings, jira_sleep=lambda _seconds: None) as running_app:
        yield running_app


def churn_thread(running: RunningApp) -> Thread:
    answer = private_answer(running, NEW_JIRA_CHURN)
    assert ":white_check_mark: Created" in answer, answer
    kickoff = kickoff_of(running, "Churn model v2")
    return Thread(channel=kickoff.channel, ts=kickoff.ts, permalink="")


def jira_arguments(fake_jira: FakeJira) -> list[str]:
    return ["--jira-url", fake_jira.url, "--jira-email", JIRA_EMAIL, "--jira-token", JIRA_TOKEN]


def test_three_replicas_deliver_each_jira_push_and_post_each_status_change_once(
    jira_app: RunningApp, fake_jira: FakeJira, start: Callable[..., Workers], slack: FakeSlack
) -> None:
    churn = churn_thread(jira_app)
    for text in ('churn "Model card reviewed" jira:DS-42', 'churn "Backfill" jira:DS-43'):
        assert ":white_check_mark: Added" in private_answer(jira_app, f"checkpoint add {text}")
    fake_jira.go_down()
    assert "will be updated when it does" in private_answer(jira_app, "checkpoint done churn#1")
    fake_jira.come_back()
    jira_app.clock.advance(timedelta(minutes=3))
    fake_jira.set_status("DS-43", "Done")
    fake_jira.reset_requests()
    before = len(replies(jira_app, churn))
    later = jira_app.clock.now() + timedelta(minutes=2)

    workers = start(
        3,
        runs=[(later, ["jira-sync"]), (later + timedelta(minutes=30), ["jira-interval"])],
        jira=jira_arguments(fake_jira),
    )
    reports = workers.go()  # each replica runs a sync (`handoff run jira-sync`): pushes and posts are claimed

    assert sum(report["jira-sync"]["delivered"] for report in reports) == 1
    assert fake_jira.count("/rest/api/3/issue/DS-42/transitions", method="POST") == 1
    assert len(fake_jira.issue("DS-42").comments) == 1
    assert sum(report["jira-sync"]["changes_posted"] for report in reports) == 1
    posted = [m.text for m in replies(jira_app, churn)[before:]]
    assert posted == ["DS-43 Feature store backfill: To Do → Done"]  # and not DS-42's: Slack made that change
    fake_jira.reset_requests()

    workers.go()  # the scheduled sync of one interval: its slot is claimed

    assert [run.state for run in slot_runs(jira_app.engine, "jira-sync")] == ["done"]
    assert fake_jira.count(SEARCH) == 1  # one replica asked Jira what changed, not three


# --- Slack events -----------------------------------------------------------------------------------------------


def test_an_event_delivered_to_two_served_replicas_is_acted_on_once(
    jira_app: RunningApp, fake_jira: FakeJira, database_url: str, slack: FakeSlack
) -> None:
    churn = churn_thread(jira_app)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "JIRA_URL": fake_jira.url,
        "JIRA_EMAIL": JIRA_EMAIL,
        "JIRA_API_TOKEN": JIRA_TOKEN,
        "LOG_LEVEL": "INFO",
    }
    ports = [free_port(), free_port()]
    processes = [serve_http(env, port) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_healthy(port, process)
        first, second = (
            SlackDriver(url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET, fake=slack)
            for port in ports
        )
        fake_jira.reset_requests()
        event = mention(churn, "Is DS-42 blocked on legal?", 1)

        # Slack's first delivery to one replica, and its retry to the other, arriving together.
        answers: list[int] = []
        deliveries = [
            threading.Thread(target=lambda: answers.append(first.event(event, event_id="EvREPLICA1").status)),
            threading.Thread(
                target=lambda: answers.append(second.event(event, event_id="EvREPLICA1", retry_num=1).status)
            ),
        ]
        for delivery in deliveries:
            delivery.start()
        for delivery in deliveries:
            delivery.join(10)
        # Each replica then acts on an event of its own: by its reply, it has done what it would with the first.
        first.event(mention(churn, "DS-43 too", 2), event_id="EvREPLICA2")
        second.event(mention(churn, "and DS-44", 3), event_id="EvREPLICA3")
        assert slack.wait_for(lambda: {"DS-43", "DS-44"} <= set(replied_keys(jira_app, churn)), timeout=20)
    finally:
        for process in processes:
            stop(process)

    assert answers == [200, 200]
    assert sorted(replied_keys(jira_app, churn)) == ["DS-42", "DS-43", "DS-44"]
    assert fake_jira.count("/rest/api/3/issue/DS-42", method="GET") == 1


def mention(thread: Thread, text: str, order: int) -> dict[str, Any]:
    """A person's reply in the initiative's thread, as Slack sends it."""
    ts = f"{float(thread.ts) + order:.6f}"
    return {
        "type": "message",
        "channel": thread.channel,
        "channel_type": "channel",
        "user": BOB,
        "text": text,
        "ts": ts,
        "thread_ts": thread.ts,
    }


def replied_keys(running: RunningApp, thread: Thread) -> list[str]:
    """The Jira keys Handoff replied about in the thread."""
    return [m.text.split(" ", 1)[0] for m in replies(running, thread) if m.user == "UBOT" and m.text[:3] == "DS-"]
