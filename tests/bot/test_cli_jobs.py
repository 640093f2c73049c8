"""`handoff run digest|nudges|jira-sync` as an operator runs them, in process: `bot.cli.main` against the fake
Slack and a SQLite file, with the app's clock pinned so "today" never depends on when the tests run."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.clock import FixedClock
from bot.fake_slack import FakeSlack
from storage.db import session_scope
from storage.models import ChannelSettings, Checkpoint, JiraStatusChange, JobRun, NudgeState, SlackUser
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.fake_jira import FakeJira
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, BOT_TOKEN, CAROL, CHURN, GENERAL, NOW, SIGNING_SECRET

JIRA_PAT = "dc-personal-access-token-0123"
HEADS = {"digest": "Daily digest", "nudges": "Nudges:"}  # how each job's posted message begins


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(
    fake_slack: FakeSlack,
    engine: Engine,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> Iterator[Cli]:
    """`handoff run …` with the environment an operator would set; returns its exit code and output."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith(("SLACK_", "JIRA_", "HANDOFF_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))  # the file the `engine` fixture seeds
    monkeypatch.setenv("HANDOFF_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setattr("bot.app.SystemClock", lambda: clock)  # the app's "now" (Monday 10:30 in Berlin), its pacing
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the CLI configures logging for the whole process

    def invoke(*args: str) -> Result:
        code = main(["run", *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    yield invoke
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def seeded(engine: Engine) -> dict[str, Any]:
    """Two channels, each home to one discovery initiative with both leads set (so each has three gaps)."""
    with session_scope(engine) as session:
        churn = make_initiative(
            session, name="Churn model", ds_lead_id=BOB, eng_lead_id=CAROL, created_at=NOW - timedelta(hours=3)
        )
        pricing = make_initiative(
            session,
            name="Pricing",
            home_channel_id=CHURN,
            ds_lead_id=ALICE,
            eng_lead_id=BOB,
            created_at=NOW - timedelta(hours=3),
        )
        return {"churn": churn, "pricing": pricing}


def posts(fake: FakeSlack, channel: str | None = None) -> list[dict[str, Any]]:
    calls = fake.calls_to("chat.postMessage")
    return [c.args for c in calls if channel is None or c.args.get("channel") == channel]


def job_runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun)).all())


# --- dry runs ---------------------------------------------------------------------------------------------


def test_digest_dry_run_prints_each_channels_digest_and_posts_nothing(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine
) -> None:
    result = cli("digest", "--dry-run")

    assert result.code == 0, result.err
    general = result.out.index(f"=== digest for {GENERAL} (weekdays at 09:00 (Europe/Berlin)) ===")
    churn = result.out.index(f"=== digest for {CHURN} ")
    assert result.out.count("Daily digest") == 2
    assert result.out.index("Churn model") > general and result.out.index("Pricing") > churn
    assert "--- message 1 of 1, in the channel ---" in result.out
    assert "Ready 0/3 for development · missing: DS summary" in result.out
    assert "[Add a doc]" in result.out and '"type"' not in result.out, "readable text, not Block Kit"
    assert posts(fake_slack) == [] and fake_slack.calls_to("chat.postEphemeral") == []
    assert job_runs(engine) == [], "a dry run claims no slot"


def test_a_channel_limits_the_dry_run_and_an_unknown_one_exits_2(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack
) -> None:
    only = cli("digest", "--dry-run", "--channel", CHURN)
    assert only.code == 0, only.err
    assert f"=== digest for {CHURN} " in only.out and "Pricing" in only.out
    assert GENERAL not in only.out and "Churn model" not in only.out

    for job in ("digest", "nudges"):
        unknown = cli(job, "--dry-run", "--channel", "C0NOPE")
        assert unknown.code == 2
        assert f"No active initiative calls C0NOPE home, so it has no {job}." in unknown.err
        assert unknown.out == ""
    assert posts(fake_slack) == []


def test_nudges_dry_run_shows_the_channel_post_and_the_leads_direct_messages(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine
) -> None:
    with session_scope(engine) as session:  # Pricing's DS summary was raised three times already
        session.add(
            NudgeState(
                initiative_id=seeded["pricing"].id,
                gap_key="missing:ds-summary",
                times_nudged=3,
                last_nudged_at=NOW - timedelta(days=3),
            )
        )
        for user_id, name in ((ALICE, "alice"), (BOB, "bob")):  # profiles Handoff cached; Carol's it never saw
            session.add(SlackUser(team_id=TEAM_ID, user_id=user_id, name=name, fetched_at=NOW - timedelta(days=9)))

    result = cli("nudges", "--dry-run")

    assert result.code == 0, result.err
    assert f"=== nudges for {CHURN} (" in result.out and f"=== nudges for {GENERAL} (" in result.out
    assert result.out.count("What's missing before the next step") == 2
    assert "DS summary* is missing · @bob @U0CAROL" in result.out, "names where known, never <@U…>"
    assert "@U0BOB" not in result.out
    assert "[Add the doc]  [Snooze 1 day]  [Snooze 1 week]" in result.out
    for lead, name in ((ALICE, "alice"), (BOB, "bob")):
        assert f"--- direct message to @{name} ({lead}) ---" in result.out
    assert "raised there three times" in result.out
    assert posts(fake_slack) == [] and job_runs(engine) == []
    with Session(engine) as session:
        [state] = session.exec(select(NudgeState)).all()
        assert (state.times_nudged, state.escalated_at) == (3, None), "a dry run records nothing"


def test_nudges_dry_run_heading_gives_the_nudges_time_not_the_digests(cli: Cli, seeded: dict[str, Any]) -> None:
    """Nudges follow the digest (09:00) by HANDOFF_NUDGE_DELAY_MINUTES (30): they run at 09:30."""
    result = cli("nudges", "--dry-run", "--channel", GENERAL)

    assert f"=== nudges for {GENERAL} (weekdays at 09:30 (Europe/Berlin)) ===" in result.out


def test_nudges_dry_run_with_nothing_to_say(cli: Cli, engine: Engine, fake_slack: FakeSlack) -> None:
    with session_scope(engine) as session:
        make_initiative(session, name="Resting", phase="paused", created_at=NOW - timedelta(days=1))

    result = cli("nudges", "--dry-run", "--channel", GENERAL)

    assert result.code == 0 and "Nothing to nudge about today." in result.out
    assert posts(fake_slack) == []


# --- real runs: once a day, again with --force ------------------------------------------------------------


@pytest.mark.parametrize("job", ["digest", "nudges"])
def test_a_run_posts_once_and_a_second_says_it_already_ran(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine, job: str
) -> None:
    first = cli(job, "--channel", GENERAL)
    assert first.code == 0, first.err
    assert f"{job} posted in {GENERAL} (1 messages)" in first.out
    [posted] = posts(fake_slack)
    assert posted["channel"] == GENERAL and posted["text"].startswith(HEADS[job])
    assert posts(fake_slack, CHURN) == [], "--channel leaves the other channel alone"

    again = cli(job, "--channel", GENERAL)
    assert again.code == 0, again.err
    assert again.out.strip() == f"skipped: {job} {GENERAL} 2027-01-04: already ran (use --force)"
    assert len(posts(fake_slack)) == 1
    assert [(r.job, r.slot, r.state) for r in job_runs(engine)] == [(job, "2027-01-04", "done")]


def test_a_slot_the_scheduler_waits_to_retry_is_explained_then_taken_over(
    cli: Cli, clock: FixedClock, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine
) -> None:
    """The scheduler's post failed a minute ago and it retries at 10:32: the slot is not "already ran"."""
    with session_scope(engine) as session:
        session.add(
            JobRun(
                job="digest",
                target=f"{TEAM_ID}:{GENERAL}",
                slot="2027-01-04",
                due_at=NOW - timedelta(minutes=30),
                lease_until=NOW + timedelta(minutes=2),
                holder="scheduler",
                attempts=1,
                last_error="internal_error",
                claimed_at=NOW - timedelta(minutes=1),
            )
        )

    waiting = cli("digest", "--channel", GENERAL)

    assert waiting.code == 0, waiting.err
    assert waiting.out.strip() == (
        f"skipped: digest {GENERAL} 2027-01-04: Slack failed it (internal_error); "
        "the scheduler retries at 09:32 UTC, or use --force now"
    )
    assert posts(fake_slack) == []

    clock.advance(timedelta(minutes=2))
    due = cli("digest", "--channel", GENERAL)

    assert due.code == 0, due.err
    assert due.out.strip() == f"digest posted in {GENERAL} (1 messages)"
    assert [(r.slot, r.state) for r in job_runs(engine)] == [("2027-01-04", "done")]


def test_force_posts_the_digest_again(cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack) -> None:
    assert cli("digest", "--channel", GENERAL).code == 0

    forced = cli("digest", "--channel", GENERAL, "--force")

    assert forced.code == 0, forced.err
    assert forced.out.strip() == f"digest posted in {GENERAL} (1 messages)"
    assert [p["channel"] for p in posts(fake_slack)] == [GENERAL, GENERAL]
    assert all(p["text"].startswith("Daily digest") for p in posts(fake_slack))


def test_forced_nudges_run_again_but_keep_the_cooldown(
    cli: Cli, clock: FixedClock, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine
) -> None:
    """A forced run is a second run, not a reset: gaps raised minutes ago wait; a gap opened since is posted."""
    assert cli("nudges", "--channel", GENERAL).code == 0

    cooling = cli("nudges", "--channel", GENERAL, "--force")
    assert cooling.code == 0, cooling.err
    assert cooling.out.startswith(f"skipped: nudges {GENERAL} 2027-01-04+")  # a fresh slot beside the day's
    assert cooling.out.rstrip().endswith(": nothing to nudge about in the channel")
    assert len(posts(fake_slack)) == 1

    with session_scope(engine) as session:
        session.add(
            Checkpoint(
                initiative_id=seeded["churn"].id,
                number=1,
                title="Feature freeze",
                owner_id=CAROL,
                due_date=NOW.date() - timedelta(days=2),
                created_by=ALICE,
                created_at=NOW,
                updated_by=ALICE,
                updated_at=NOW,
            )
        )
    clock.advance(timedelta(minutes=1))
    forced = cli("nudges", "--channel", GENERAL, "--force")

    assert forced.code == 0, forced.err
    assert forced.out.strip() == f"nudges posted in {GENERAL} (1 messages)"
    [_, second] = posts(fake_slack)
    assert second["text"] == "Nudges: 1 open" and "Feature freeze" in str(second["blocks"])
    assert "Record a mitigation" in str(second["blocks"]) and "<@U0CAROL>" in str(second["blocks"])


def test_force_twice_in_the_same_second_posts_twice(cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack) -> None:
    """The forced slot is named after the second it ran in; a second forced run in that second must not crash."""
    assert cli("digest", "--channel", GENERAL, "--force").code == 0
    second = cli("digest", "--channel", GENERAL, "--force")

    assert second.code == 0, second.err
    assert len(posts(fake_slack, GENERAL)) == 2


def test_every_channel_runs_when_none_is_named(cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack) -> None:
    result = cli("digest")

    assert result.code == 0, result.err
    assert f"digest posted in {GENERAL}" in result.out and f"digest posted in {CHURN}" in result.out
    assert sorted(p["channel"] for p in posts(fake_slack)) == sorted([GENERAL, CHURN])


def test_nudges_for_every_channel_leave_out_a_channel_that_turned_them_off(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine
) -> None:
    """`/handoff nudges off` in #churn: the scheduled job skips it, and so must `handoff run nudges`."""
    with session_scope(engine) as session:
        session.add(
            ChannelSettings(
                team_id=TEAM_ID, channel_id=CHURN, nudges_enabled=False, configured_by=ALICE, updated_at=NOW
            )
        )

    result = cli("nudges")

    assert result.code == 0, result.err
    assert [p["channel"] for p in posts(fake_slack)] == [GENERAL]
    explicit = cli("nudges", "--channel", CHURN)  # named explicitly, it runs even though it is off
    assert explicit.code == 0 and f"nudges posted in {CHURN}" in explicit.out


# --- jira-sync --------------------------------------------------------------------------------------------


@pytest.fixture
def jira_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJira]:
    """A Jira Data Center site the operator configured; a dry run must not need to reach it."""
    with FakeJira("datacenter", personal_token=JIRA_PAT) as jira:
        monkeypatch.setenv("JIRA_URL", jira.url)
        monkeypatch.setenv("JIRA_TOKEN", JIRA_PAT)
        yield jira


def test_jira_sync_dry_run_prints_what_waits_without_contacting_jira(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine, jira_site: FakeJira
) -> None:
    empty = cli("jira-sync", "--dry-run")
    assert empty.code == 0, empty.err
    assert empty.out.strip() == "0 status changes waiting to be posted; 0 changes waiting to be sent to Jira."

    with session_scope(engine) as session:
        checkpoint = checkpoint_row(seeded["churn"].id, 1, title="Model card review", jira_key="DS-42")
        session.add(checkpoint)
        session.flush()
        session.add(
            JiraStatusChange(
                checkpoint_id=checkpoint.id or 0,
                issue_key="DS-42",
                summary="Model card review",
                from_status="In Review",
                to_status="Done",
                to_category="done",
                changed_at=NOW - timedelta(minutes=5),
                checkpoint_effect="done",
            )
        )

    waiting = cli("jira-sync", "--dry-run")

    assert waiting.code == 0, waiting.err
    assert "--- in the thread of Churn model ---" in waiting.out
    assert "DS-42" in waiting.out and "In Review → *Done*" in waiting.out
    assert f"`{seeded['churn'].ref_key}#1` is done." in waiting.out
    assert "1 status changes waiting to be posted; 0 changes waiting to be sent to Jira." in waiting.out
    elsewhere = cli("jira-sync", "--dry-run", "--channel", CHURN)  # the change belongs to an initiative in #general
    assert elsewhere.out.strip() == "0 status changes waiting to be posted; 0 changes waiting to be sent to Jira."
    assert posts(fake_slack) == []
    with Session(engine) as session:
        [change] = session.exec(select(JiraStatusChange)).all()
        assert (change.posted_at, change.claimed_at) == (None, None), "a dry run claims nothing"
    assert jira_site.requests == []


@pytest.mark.parametrize("dry_run", [False, True], ids=["sync", "dry-run"])
def test_jira_sync_without_jira_configured_is_a_clear_error(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, dry_run: bool
) -> None:
    """Without Jira settings there is nothing to sync, and an empty queue must not pass for a healthy one."""
    result = cli("jira-sync", *(["--dry-run"] if dry_run else []))

    assert result.code == 2
    assert result.err.splitlines() == [
        "Handoff can't start; fix these settings (in the environment or .env):",
        "  - Jira is not configured, and `handoff run jira-sync` needs it: set `JIRA_URL` and either `JIRA_EMAIL` + "
        "`JIRA_API_TOKEN` (Jira Cloud) or `JIRA_TOKEN` (Jira Data Center personal access token).",
        "See .env.example for every setting.",
    ]
    assert result.out == "", "no queue report that would look like all is well"
    assert posts(fake_slack) == []


# --- the weekly report --------------------------------------------------------------------------------------


def test_report_dry_run_prints_the_report_writes_its_chart_and_figures_and_posts_nothing(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> None:
    png, figures = tmp_path / "report.png", tmp_path / "figures.csv"
    result = cli("report", "--channel", GENERAL, "--dry-run", "--out", str(png), "--csv", str(figures))
    assert result.code == 0, result.err
    assert f"chart written to {png}" in result.out and f"figures written to {figures}" in result.out
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    rows = figures.read_text().splitlines()
    assert rows[0] == "name,scope,value,unit" and len(rows) > 1
    assert all(row.split(",")[1] == GENERAL for row in rows[1:])
    assert posts(fake_slack) == [] and fake_slack.calls_to("files.completeUploadExternal") == []
    assert job_runs(engine) == []


def test_report_for_a_channel_without_initiatives_exits_2(cli: Cli, seeded: dict[str, Any]) -> None:
    result = cli("report", "--channel", "C0NOBODY", "--dry-run")
    assert result.code == 2
    assert "No active initiative calls C0NOBODY home" in result.err


def test_report_run_posts_the_report_with_its_chart_in_the_thread(
    cli: Cli, seeded: dict[str, Any], fake_slack: FakeSlack
) -> None:
    result = cli("report", "--channel", GENERAL)
    assert result.code == 0, result.err
    assert f"report posted in {GENERAL}" in result.out
    [post] = fake_slack.calls_to("chat.postMessage")
    [upload] = fake_slack.calls_to("files.completeUploadExternal")
    assert upload.args.get("thread_ts") == post.response["ts"]
