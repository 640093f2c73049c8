"""Slack failing during the scheduled digest and nudges: rate limits waited out on the app's clock, posts paced a
second apart per channel, channels that refuse posts switched off (and their owner told), server errors retried
after a backoff, and a digest cut off half-way finished with only its missing parts. Nothing here sleeps: the
app's clock (`running.clock`) moves instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from bot.fake_slack import FakeChannel
from bot.slot_ledger import LEASE
from tests.conftest import RunningApp
from tests.e2e.test_digests import (
    CHURN_V2,
    NEW_CHURN,
    TUESDAY,
    TUESDAY_NUDGES,
    digests,
    nudges,
    run_jobs_at,
    section_about,
    sections,
    settings_of,
    slot_runs,
)
from tests.support.e2e import create, private_answer
from tests.support.factories import make_initiative, seed_initiatives
from tests.support.workspace import ALICE, BOB, CAROL, GENERAL, OLD, SECRET

PUBLIC = "C0PUBLIC"  # a public channel the bot was never invited to


def posts_to(running: RunningApp, channel: str) -> list[Any]:
    """Every chat.postMessage call aimed at `channel`, answered or refused."""
    return [c for c in running.fake.calls_to("chat.postMessage") if c.args.get("channel") == channel]


def fail_post(running: RunningApp, number: int, **failure: Any) -> None:
    """Make the `number`-th scheduled post from now (1-based) fail as `failure` says (see FakeSlack.fail_next).
    The job runner asks the posting budget for a turn right before each post, so that is where the failure is armed."""
    budget = running.app.runtime.posting_budget
    wait_turn: Callable[[str, str], float] = budget.wait_turn
    count = 0

    def armed(workspace: str, destination: str) -> float:
        nonlocal count
        count += 1
        if count == number:
            running.fake.fail_next("chat.postMessage", **failure)
        return wait_turn(workspace, destination)

    budget.wait_turn = armed  # type: ignore[method-assign]


def at_slot_time(running: RunningApp) -> None:
    """Tuesday's digest time, with Slack's message timestamps on the app's clock as in production."""
    running.clock.set(TUESDAY)
    running.fake.anchor_timestamps(TUESDAY.timestamp())


# --- rate limits and pacing -------------------------------------------------------------------------------


def test_a_429_is_waited_out_for_its_retry_after_and_the_digest_is_posted_once(running: RunningApp) -> None:
    create(running, NEW_CHURN)
    at_slot_time(running)
    running.fake.fail_next("chat.postMessage", error="ratelimited", retry_after=7)

    report = run_jobs_at(running, TUESDAY)

    assert report.posted == [GENERAL] and report.retrying == [] and report.failed == []
    assert running.clock.slept == [7]
    assert running.clock.now() == TUESDAY + timedelta(seconds=7)
    assert [c.status for c in posts_to(running, GENERAL)[1:]] == [429, 200]  # after the kickoff
    [digest] = digests(running)
    assert section_about(digest, CHURN_V2)
    [run] = slot_runs(running.engine)
    assert (run.state, run.parts_posted, run.attempts) == ("done", 1, 0)


def test_a_digest_its_thread_and_the_nudges_to_one_channel_are_paced_a_second_apart(running: RunningApp) -> None:
    names = seed_initiatives(running.engine, 30, ds_lead_id=BOB)  # 30 digest entries, and 3 gaps each to nudge about
    running.fake.enforce_rate_limits(1.0, 1, clock=running.clock.monotonic)

    report = run_jobs_at(running, TUESDAY_NUDGES)  # the digest (09:00) and the nudges (09:30) are both due

    digest_parts, nudge_parts = digests(running), nudges(running)
    assert len(digest_parts) == 2 and len(nudge_parts) > 1
    assert report.messages == len(digest_parts) + len(nudge_parts)
    assert running.fake.rate_limited == 0
    assert running.clock.slept == [1.0] * (report.messages - 1)
    assert running.clock.now() == TUESDAY_NUDGES + timedelta(seconds=report.messages - 1)
    assert all(m.thread_ts == digest_parts[0].ts for m in digest_parts[1:])
    assert all(m.thread_ts == nudge_parts[0].ts for m in nudge_parts[1:])
    assert sorted(s.split("*")[1] for m in digest_parts for s in sections(m)) == names


# --- channels that refuse posts ---------------------------------------------------------------------------


REFUSALS = [
    pytest.param(SECRET, "channel_not_found", id="private-channel-not-a-member"),
    pytest.param(OLD, "is_archived", id="archived"),
    pytest.param(PUBLIC, "not_in_channel", id="public-not-a-member"),
]


@pytest.mark.parametrize(("channel", "error"), REFUSALS)
@pytest.mark.parametrize("configured_by", [CAROL, None], ids=["configured", "defaults"])
def test_a_channel_that_refuses_posts_has_its_digest_turned_off_and_its_owner_told(
    running: RunningApp, caplog: pytest.LogCaptureFixture, channel: str, error: str, configured_by: str | None
) -> None:
    running.fake.add_channel(FakeChannel(PUBLIC, "public", members={ALICE, CAROL}))
    assert running.fake.granted_scopes is not None
    running.fake.granted_scopes.discard("chat:write.public")
    create(running, NEW_CHURN)  # #general's digest must still go out
    with Session(running.engine) as session:
        make_initiative(session, name="Stranded", home_channel_id=channel, ds_lead_id=BOB, eng_lead_id=ALICE)
        session.commit()
    if configured_by:
        assert "Saved." in private_answer(running, "digest at 09:00", user=configured_by, channel=channel)
    caplog.set_level(logging.WARNING, logger="handlers.outbox")

    report = run_jobs_at(running, TUESDAY_NUDGES)

    assert GENERAL in report.posted and len(digests(running)) == 1 and len(nudges(running)) == 1
    assert report.failed == [channel]
    row = settings_of(running.engine, channel)
    assert row is not None and (row.digest_enabled, row.disabled_reason) == (False, error)
    [refused] = posts_to(running, channel)  # the nudges were not attempted after the digest was refused
    assert refused.response == {"ok": False, "error": error}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and getattr(r, "channel", None) == channel]
    assert [(r.getMessage(), getattr(r, "error", None)) for r in warnings] == [
        ("the digest and nudges of a channel are off: Slack refused the post", error)
    ]
    told = [configured_by] if configured_by else [BOB, ALICE]
    dms = [c for c in running.fake.calls_to("chat.postMessage") if c.args["channel"].startswith("U")]
    assert [c.args["channel"] for c in dms] == told
    assert all(c.args["text"] == f"The digest for a channel is off: {error}" for c in dms)
    assert all(f"<#{channel}>" in c.args["blocks"][0]["text"]["text"] for c in dms)
    assert {r.state for r in slot_runs(running.engine) if r.target.endswith(channel)} == {"failed"}
    assert {r.state for r in slot_runs(running.engine, "nudges") if r.target.endswith(channel)} == {"failed"}

    # The next day nothing is tried there; the settings say why, and `digest on` brings it back.
    run_jobs_at(running, TUESDAY_NUDGES + timedelta(days=1))
    assert len(posts_to(running, channel)) == 1 and len(digests(running)) == 2
    assert f"Slack refused the last post (`{error}`)" in running.slack.command("digest", channel=channel).text
    assert "Saved." in private_answer(running, "digest on", user=BOB, channel=channel)
    assert settings_of(running.engine, channel).disabled_reason is None  # type: ignore[union-attr]


# --- server errors: retried after a backoff, never posted twice -------------------------------------------


def test_a_server_error_keeps_the_slot_claimed_and_the_next_sweep_after_the_backoff_posts_it_once(
    running: RunningApp,
) -> None:
    create(running, NEW_CHURN)
    at_slot_time(running)
    running.fake.fail_next("chat.postMessage", error="internal_error", status=500)

    report = run_jobs_at(running, TUESDAY)

    assert (report.posted, report.retrying) == ([], [GENERAL])
    assert digests(running) == []
    [run] = slot_runs(running.engine)
    assert run.state == "claimed" and run.lease_until is not None and run.lease_until > TUESDAY
    assert (run.attempts, run.last_error, run.parts_posted) == (1, "internal_error", 0)
    retry_at = run.lease_until

    assert run_jobs_at(running, retry_at - timedelta(seconds=1)).messages == 0  # still backing off
    report = run_jobs_at(running, retry_at)
    assert report.posted == [GENERAL] and report.messages == 1
    run_jobs_at(running, retry_at + LEASE * 2)
    [digest] = digests(running)
    assert section_about(digest, CHURN_V2)
    [run] = slot_runs(running.engine)
    assert (run.state, run.parts_posted, run.root_ts) == ("done", 1, digest.ts)
    assert settings_of(running.engine).last_digest_at is not None  # type: ignore[union-attr]


def test_a_failed_continuation_is_resumed_with_only_the_parts_still_missing(running: RunningApp) -> None:
    names = seed_initiatives(running.engine, 60)  # three messages: the channel's and two in its thread
    at_slot_time(running)
    fail_post(running, 2, error="internal_error", status=500)

    report = run_jobs_at(running, TUESDAY)

    assert report.retrying == [GENERAL] and report.messages == 1
    [first] = digests(running)
    [run] = slot_runs(running.engine)
    assert (run.state, run.parts_posted, run.root_ts) == ("claimed", 1, first.ts)
    assert run.lease_until is not None and run.lease_until > running.clock.now()

    report = run_jobs_at(running, run.lease_until)

    assert report.posted == [GENERAL] and report.messages == 2
    first_again, *rest = digests(running)
    assert first_again.ts == first.ts and len(rest) == 2
    assert all(m.thread_ts == first.ts for m in rest)
    assert [m.text for m in rest] == ["Daily digest: 60 initiatives (2/3)", "Daily digest: 60 initiatives (3/3)"]
    assert sorted(s.split("*")[1] for m in [first, *rest] for s in sections(m)) == names
    [run] = slot_runs(running.engine)
    assert (run.state, run.parts_posted) == ("done", 3)


def test_digest_now_that_slack_fails_is_not_posted_again_behind_the_persons_back(running: RunningApp) -> None:
    """`digest now` hits a Slack 500 and says it couldn't post; the person tries again a minute later and it
    works. The channel must end up with that one digest, not a second one from a retry of the first attempt."""
    create(running, NEW_CHURN)
    running.fake.fail_next("chat.postMessage", error="internal_error", status=500)
    assert "Slack did not take the digest just now" in private_answer(running, "digest now")
    running.clock.advance(timedelta(minutes=1))
    assert "Posted the digest" in private_answer(running, "digest now")

    running.clock.advance(LEASE)
    assert running.app.jobs is not None
    running.app.jobs.run_due()

    assert len(digests(running)) == 1
