"""The `handoff` command as an operator runs it: real processes, real sockets, the fake Slack behind them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from websockets.sync.server import ServerConnection, serve

from bot.fake_slack import FakeSlack
from storage.db import make_engine, session_scope, upgrade_schema
from tests.support.factories import make_initiative
from tests.support.paths import ROOT
from tests.support.slack_driver import TEAM_ID, SlackDriver
from tests.support.workspace import BOB, BOT_TOKEN, CAROL, GENERAL, SIGNING_SECRET, seed

APP_TOKEN = "xapp-1-A0001-test-app-token"
SECRET_JIRA_TOKEN = "jira-secret-value-that-must-not-leak"
STARTUP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_handoff(args: list[str], env: dict[str, str], cwd: Path, *, stdin: int | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "HANDOFF_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with seed(FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID, app_token=APP_TOKEN)) as fake:
        yield fake


def slack_env(fake: FakeSlack, tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'handoff.db'}",
        "LOG_LEVEL": "INFO",
    }


def test_bad_configuration_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "not-a-token",
        "PORT": "99999",
        "JIRA_API_TOKEN": SECRET_JIRA_TOKEN,
        "HANDOFF_TIMEZONE": "Mars/Olympus",
    }
    process = run_handoff(["serve", "--http"], env, tmp_path)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "Traceback" not in err
    for expected in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT", "HANDOFF_TIMEZONE", "JIRA_URL"):
        assert expected in err
    assert SECRET_JIRA_TOKEN not in err + out
    assert not (tmp_path / "handoff.db").exists(), "nothing is created when the settings are wrong"


def test_socket_mode_without_app_token_says_how_to_fix(tmp_path: Path, fake: FakeSlack) -> None:
    process = run_handoff(["serve"], slack_env(fake, tmp_path), tmp_path)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "SLACK_APP_TOKEN" in err and "--http" in err


def test_env_file_is_read(tmp_path: Path, fake: FakeSlack) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=s\nPORT=abc\n")
    process = run_handoff(["serve", "--http"], {}, tmp_path)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "PORT must be a whole number" in err
    assert "SLACK_BOT_TOKEN" not in err, "the token from .env was accepted"


def test_a_rejected_bot_token_is_a_clear_error(tmp_path: Path, fake: FakeSlack) -> None:
    env = {**slack_env(fake, tmp_path), "SLACK_BOT_TOKEN": "xoxb-revoked-token"}
    process = run_handoff(["serve", "--http", "--port", str(free_port())], env, tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "Slack rejected SLACK_BOT_TOKEN" in err and "invalid_auth" in err
    assert "Traceback" not in err and "xoxb-revoked-token" not in err


def test_an_unreachable_slack_is_a_clear_error(tmp_path: Path, fake: FakeSlack) -> None:
    env = {**slack_env(fake, tmp_path), "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}
    process = run_handoff(["serve", "--http", "--port", str(free_port())], env, tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "did not answer" in err and "SLACK_API_URL" in err
    assert "Traceback" not in err


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    process = run_handoff(["migrate"], env, tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    tables = set(inspect(make_engine(env["DATABASE_URL"])).get_table_names())
    assert {"initiative", "phase_change", "slack_user", "alembic_version"} <= tables


def wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)  # the server process is still starting; bounded by the deadline
    raise AssertionError("server did not become healthy")


def test_http_mode_serves_signed_requests_and_logs_json(tmp_path: Path, fake: FakeSlack) -> None:
    port = free_port()
    process = run_handoff(["serve", "--http", "--port", str(port)], slack_env(fake, tmp_path), tmp_path)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        driver = SlackDriver(url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET, fake=fake)
        answer = driver.command("help", channel=GENERAL)
        assert answer.status == 200 and "phase" in answer.text
        assert driver.post("payload=%7B%7D", signature="v0=bad").status == 401
    finally:
        code, _, err = stop(process)
    assert code == 0
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("msg") == "slack request"]
    assert requests and all(line["id"].startswith("req-") for line in requests)
    assert requests[0]["kind"] == "command /handoff help"
    assert BOT_TOKEN not in err and SIGNING_SECRET not in err
    assert "will be unused" not in err, "Bolt is given one client, and no token of its own to warn about"
    assert "initiative" in inspect(make_engine(slack_env(fake, tmp_path)["DATABASE_URL"])).get_table_names()


def test_socket_mode_answers_a_slash_command(tmp_path: Path, fake: FakeSlack) -> None:
    """Slack's side of Socket Mode: apps.connections.open hands out a WebSocket URL, then envelopes flow."""
    acks: list[dict] = []
    done, finished = threading.Event(), threading.Event()

    def slack_socket(connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        envelope = {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": TEAM_ID,
                "user_id": "U0ALICE",
                "channel_id": GENERAL,
                "command": "/handoff",
                "text": "status",
                "response_url": fake.new_response_url(),
                "trigger_id": fake.new_trigger_id(),
            },
        }
        connection.send(json.dumps(envelope))
        for message in connection:
            acks.append(json.loads(message))
            done.set()
            break
        finished.wait(STARTUP_SECONDS)  # like Slack, keep the socket open until the app leaves

    with serve(slack_socket, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        fake.socket_mode_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
        env = {**slack_env(fake, tmp_path), "SLACK_APP_TOKEN": APP_TOKEN}
        process = run_handoff(["serve"], env, tmp_path)
        try:
            assert done.wait(STARTUP_SECONDS), process.poll() and process.communicate()[1]
        finally:
            code, _, err = stop(process)
            finished.set()
            server.shutdown()
    assert code == 0, err
    assert acks[0]["envelope_id"] == "env-1"
    assert "No initiatives call this channel home" in json.dumps(acks[0]["payload"])
    assert APP_TOKEN not in err
    assert fake.calls_to("apps.connections.open")[0].token == APP_TOKEN


# --- handoff run, as an operator types it ----------------------------------------------------------------


def run_job(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = run_handoff(["run", *args], env, cwd)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def seeded_database(tmp_path: Path) -> str:
    """A database with one initiative homed in #general, whose leads are known by name."""
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    with session_scope(engine) as session:
        make_initiative(session, name="Churn model", ds_lead_id=BOB, eng_lead_id=CAROL)
    engine.dispose()
    return url


@pytest.mark.parametrize("job", [["digest"], ["nudges"], ["jira-sync"], ["digest", "--dry-run"]])
def test_every_job_without_slack_settings_exits_2_with_one_message(tmp_path: Path, job: list[str]) -> None:
    env = {"DATABASE_URL": seeded_database(tmp_path)}

    code, out, err = run_job(job, env, tmp_path)

    assert code == 2, err
    assert err.startswith("Handoff can't start; fix these settings")
    assert "SLACK_BOT_TOKEN is not set" in err and "SLACK_SIGNING_SECRET is not set" in err
    assert "slack.com" not in err and "not posted" not in err and "Traceback" not in err and out == ""
    with make_engine(env["DATABASE_URL"]).connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM job_run").scalar() == 0, "no slot was claimed"


def test_a_digest_slack_never_took_is_posted_by_the_next_run(tmp_path: Path, fake: FakeSlack) -> None:
    env = {**slack_env(fake, tmp_path), "DATABASE_URL": seeded_database(tmp_path)}
    unreachable = {**env, "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/"}

    failed = run_job(["digest", "--channel", GENERAL], unreachable, tmp_path)

    assert failed[0] == 1, failed
    assert f"not posted in {GENERAL}" in failed[2] and "again posts it" in failed[2]
    assert "already ran" not in failed[1] + failed[2]

    again = run_job(["digest", "--channel", GENERAL], env, tmp_path)

    assert again[0] == 0, again
    assert again[1].strip() == f"digest posted in {GENERAL} (1 messages)"
    [posted] = fake.calls_to("chat.postMessage")
    assert posted.args["channel"] == GENERAL and posted.args["text"].startswith("Daily digest")
    third = run_job(["digest", "--channel", GENERAL], env, tmp_path)
    assert third[0] == 0 and "already ran (use --force)" in third[1]
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_a_digest_slack_refused_is_posted_by_the_next_run(tmp_path: Path, fake: FakeSlack) -> None:
    env = {**slack_env(fake, tmp_path), "DATABASE_URL": seeded_database(tmp_path)}
    fake.fail_next("chat.postMessage", error="internal_error", status=500)

    failed = run_job(["digest"], env, tmp_path)
    again = run_job(["digest"], env, tmp_path)

    assert failed[0] == 1 and f"not posted in {GENERAL}" in failed[2], failed
    assert again[0] == 0 and again[1].strip() == f"digest posted in {GENERAL} (1 messages)", again
    assert [c.response.get("ok") for c in fake.calls_to("chat.postMessage")] == [False, True]


@pytest.mark.parametrize("job", ["digest", "nudges", "jira-sync"])
def test_a_channel_name_instead_of_an_id_exits_2(tmp_path: Path, fake: FakeSlack, job: str) -> None:
    env = {**slack_env(fake, tmp_path), "DATABASE_URL": seeded_database(tmp_path)}

    code, out, err = run_job([job, "--channel", "churn"], env, tmp_path)

    assert code == 2 and out == ""
    assert err.startswith("`--channel` takes a channel id such as C0123ABCD; 'churn' is not one.")
    assert fake.calls == []


def test_a_run_logs_no_migration_chatter_unless_debugging(tmp_path: Path, fake: FakeSlack) -> None:
    env = {**slack_env(fake, tmp_path), "DATABASE_URL": seeded_database(tmp_path)}

    quiet = run_job(["digest", "--dry-run"], env, tmp_path)
    debug = run_job(["digest", "--dry-run"], {**env, "LOG_LEVEL": "DEBUG"}, tmp_path)

    assert quiet[0] == 0 and quiet[2] == "", quiet[2]
    assert debug[0] == 0 and '"logger": "alembic.runtime.migration"' in debug[2]


def test_console_with_an_unknown_user_exits_2_listing_the_demo_users(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"}
    process = run_handoff(["console", "--user", "zed"], env, tmp_path, stdin=subprocess.PIPE)
    out, err = process.communicate(input="/handoff status\n", timeout=60)

    assert process.returncode == 2, out
    assert "There is no demo user 'zed'" in err and "alice, bob, carol, dana, eve" in err
    assert out == "", "the console did not start as someone else"
