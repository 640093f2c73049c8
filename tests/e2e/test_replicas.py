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
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import JiraAuth, JiraSettings
from bot.fake_slack import FakeChannel, FakeSlack, RecordedCall
from bot.slot_ledger import LEASE
from storage.models import JobRun
from tests.conftest import RunningApp, ServeApp
from tests.support.databases import POSTGRESQL
from tests.support.e2e import Thread, create, kickoff_of, private_answer, replies
from tests.support.factories import seed_initiatives
from tests.support.fake_jira import FakeJira
from tests.support.replicas import free_port, serve_http, start_workers, stop, wait_healthy
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
    engine: Engine, database_url: str, slack: FakeSlack
) -> None:
    for channel in CHANNELS:
        seed_initiatives(engine, 2, channel=channel, created_at=EARLY)
    workers = start_workers(3, database_url=database_url, slack=slack, at=NOW, jobs=["channels"])

    reports = workers.go()

    posted = Counter(channel for report in reports for channel in report["channels"]["posted"])
    assert posted == {channel: 2 for channel in CHANNELS}  # the digest and the nudges, by one replica or another
    for channel in CHANNELS:
        assert len(digests(slack, channel)) == 1, channel
        assert len(top_level_posts(slack, channel)) == 2, channel
    assert runs_by_target(engine, "digest") == runs_by_target(engine, "nudges") == every_channel("done")


def test_a_replica_killed_mid_round_is_taken_over_after_its_lease_posting_nothing_twice(
    engine: Engine, database_url: str, slack: FakeSlack
) -> None:
    for channel in CHANNELS:
        seed_initiatives(engine, channel=channel, created_at=EARLY)
    slack.answer_slowly("chat.postMessage", 30)  # the first post takes effect; its answer never reaches the replica
    [doomed] = start_workers(1, database_url=database_url, slack=slack, at=NOW, jobs=["channels"]).processes
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
    start_workers(2, database_url=database_url, slack=slack, at=NOW + LEASE / 2, jobs=["channels"]).go()
    assert len(digests(slack, killed_in)) == 1
    assert killed_digest(engine, killed_in).state == "claimed"
    start_workers(2, database_url=database_url, slack=slack, at=NOW + LEASE, jobs=["channels"]).go()

    for channel in CHANNELS:
        assert len(digests(slack, channel)) == 1, channel  # the killed replica's one included, never again
        assert len(top_level_posts(slack, channel)) == 2, channel  # and the nudges: nothing lost
    assert slack.calls_to("conversations.history"), "the new holder asked Slack what the dead one had posted"
    assert killed_digest(engine, killed_in).root_ts == first.response["ts"]  # found by its message metadata
    assert runs_by_target(engine, "digest") == runs_by_target(engine, "nudges") == every_channel("done")


def killed_digest(engine: Engine, channel: str) -> JobRun:
    [run] = [run for run in slot_runs(engine, "digest") if run.target == f"{TEAM_ID}:{channel}"]
    return run
