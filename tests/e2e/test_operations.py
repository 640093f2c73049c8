"""What operations people ask of a running Handoff over HTTP: metrics, readiness and liveness."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from importlib.resources import files

import pytest
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlmodel import Session

from bot.app import HandoffApp
from storage.db import alembic_config, make_engine, newest_revision
from storage.models import JobRun
from tests.conftest import RunningApp
from tests.e2e.test_digests import NEW_CHURN, TUESDAY, run_jobs_at, slot_runs
from tests.support.databases import drop_initiatives
from tests.support.e2e import create
from tests.support.workspace import CHURN, GENERAL


def get(running: RunningApp, path: str) -> tuple[int, str, str]:
    """GET a path of the running app: status, content type and body."""
    url = running.slack.url.removesuffix("/slack/events") + path
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples(running: RunningApp) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample `GET /metrics` shows, by name and labels."""
    status, content_type, body = get(running, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def test_requests_are_counted_by_subcommand_and_outcome_and_their_acks_timed(running: RunningApp) -> None:
    assert running.slack.command("help").status == 200
    assert running.slack.command("status").status == 200
    assert running.slack.command("status").status == 200

    found = samples(running)
    assert value(found, "handoff_slack_requests_total", kind="command help", outcome="ok") == 1
    assert value(found, "handoff_slack_requests_total", kind="command status", outcome="ok") == 2
    assert value(found, "handoff_slack_ack_seconds_count", kind="command status") == 2
    assert value(found, "handoff_slack_ack_seconds_bucket", kind="command status", le="+Inf") == 2
    assert value(found, "handoff_slack_slow_acks_total", kind="command status") is None


def test_what_users_type_never_becomes_a_label(running: RunningApp) -> None:
    running.slack.command("frobnicate <script> now")
    running.slack.command("checkpoints")  # an alias counts as its subcommand

    found = samples(running)
    assert value(found, "handoff_slack_requests_total", kind="command unknown", outcome="ok") == 1
    assert value(found, "handoff_slack_requests_total", kind="command checkpoint", outcome="ok") == 1
    assert not any("frobnicate" in str(key) for key in found)


def test_a_request_with_a_bad_signature_is_counted_as_refused(running: RunningApp) -> None:
    assert running.slack.post("command=%2Fhandoff&text=help", signature="v0=" + "0" * 64).status == 401

    found = samples(running)
    assert value(found, "handoff_slack_requests_total", kind="command help", outcome="refused") == 1


@pytest.mark.fresh_database
def test_an_unexpected_error_is_counted_as_one(running: RunningApp) -> None:
    drop_initiatives(running.engine)
    assert "Something went wrong" in running.slack.command("status").json["text"]

    found = samples(running)
    assert value(found, "handoff_slack_requests_total", kind="command status", outcome="error") == 1
    assert value(found, "handoff_unexpected_errors_total") == 1


def test_slack_rate_limits_and_the_time_waited_are_counted(running: RunningApp) -> None:
    running.fake.fail_next("chat.postMessage", retry_after=7)
    create(running, 'new "Churn model"')
    running.settle()

    found = samples(running)
    assert value(found, "handoff_slack_rate_limited_total", method="chat.postMessage") == 1
    assert value(found, "handoff_slack_retry_after_waited_seconds_total") == 7


def test_the_outbox_backlog_is_read_from_the_database(running: RunningApp) -> None:
    assert value(samples(running), "handoff_outbox_depth") == 0
    now = running.clock.now()
    with Session(running.engine) as session:
        for minutes, state in ((10, "claimed"), (3, "claimed"), (30, "done")):
            session.add(
                JobRun(
                    job="digest",
                    target=f"T:C{minutes}",
                    slot="2027-01-04",
                    due_at=now - timedelta(minutes=minutes),
                    state=state,
                    claimed_at=now,
                    holder="someone",
                    lease_until=now + timedelta(minutes=5),
                )
            )
        session.commit()

    found = samples(running)
    assert value(found, "handoff_outbox_depth") == 2
    assert value(found, "handoff_outbox_oldest_age_seconds") == 600


def test_readiness_follows_the_schema_and_shutdown_while_liveness_only_asks_the_database(running: RunningApp) -> None:
    assert get(running, "/readyz")[0] == 200
    assert get(running, "/healthz")[0] == 200

    running.app.wsgi_app.drain()
    status, _, body = get(running, "/readyz")
    assert (status, json.loads(body)) == (503, {"ready": False, "reason": "shutting down"})
    assert get(running, "/healthz")[0] == 200


@pytest.mark.fresh_database
def test_a_database_not_yet_migrated_is_not_ready(running: RunningApp) -> None:
    with running.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    status, _, body = get(running, "/readyz")
    assert status == 503
    assert json.loads(body)["reason"] == f"schema at revision 0001, expected {newest_revision()}: run `handoff migrate`"


def test_the_newest_revision_is_alembics_head_and_each_file_is_named_by_its_revision() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    assert scripts.get_current_head() == newest_revision()
    for script in scripts.walk_revisions():
        assert script.path is not None
        assert script.path.rsplit("/", 1)[-1].startswith(f"{script.revision}_")
    assert (files("storage") / "migrations" / "versions").is_dir()


def test_scheduled_posts_and_slot_claims_are_counted_by_job_and_outcome(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    running.clock.set(TUESDAY)
    running.fake.anchor_timestamps(TUESDAY.timestamp())
    running.fake.fail_next("chat.postMessage", error="internal_error", status=500)
    run_jobs_at(running, TUESDAY)
    [run] = slot_runs(running.engine)
    assert run.lease_until is not None

    found = samples(running)
    assert value(found, "handoff_scheduled_posts_total", job="digest", outcome="retrying") == 1
    assert value(found, "handoff_slot_claims_total", job="digest", outcome="claimed") == 1
    assert value(found, "handoff_outbox_depth") == 1

    run_jobs_at(running, run.lease_until)  # the backoff is over: the sweep takes the claim over and posts

    found = samples(running)
    assert value(found, "handoff_scheduled_posts_total", job="digest", outcome="posted") == 1
    assert value(found, "handoff_slot_claims_total", job="digest", outcome="taken_over") == 1
    assert value(found, "handoff_outbox_depth") == 0


def test_stopping_releases_the_claims_still_waiting_and_another_replica_posts_them_at_once(
    running: RunningApp, start_replica: Callable[..., HandoffApp]
) -> None:
    create(running, NEW_CHURN)
    create(running, 'new "Fraud rules" channel:<#C0CHURN|churn>', channel=CHURN)
    running.clock.set(TUESDAY)
    running.fake.anchor_timestamps(TUESDAY.timestamp())
    budget = running.app.runtime.posting_budget
    sent = budget.sent

    def stop_after_the_first_post(workspace: str, destination: str, *, session: Session | None = None) -> None:
        sent(workspace, destination, session=session)
        running.app.stop_scheduled_work()  # SIGTERM arrives while the first digest is on its way

    budget.sent = stop_after_the_first_post  # type: ignore[method-assign]
    assert running.app.jobs is not None
    running.app.jobs.outbox.senders = 1  # one post in flight when the signal comes (several: test_outbox_senders)
    first = run_jobs_at(running, TUESDAY)

    assert len(first.posted) == 1
    assert value(samples(running), "handoff_scheduled_posts_total", job="digest", outcome="released") == 1
    assert get(running, "/readyz")[0] == 503
    replica = start_replica()
    assert replica.jobs is not None
    second = replica.jobs.run_due()  # at the same moment: the released claim is not waited out

    assert second.posted == [channel for channel in (GENERAL, CHURN) if channel not in first.posted]
    for channel in (GENERAL, CHURN):
        assert len([m for m in running.fake.messages_in(channel) if m.text.startswith("Daily digest")]) == 1
