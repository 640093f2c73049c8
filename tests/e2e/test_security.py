"""The HTTP front door: only requests Slack signed recently get in; health check and unknown paths."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import create_engine, func
from sqlmodel import Session, select

from bot.http import HandoffWsgiApp, create_server
from storage.models import Initiative, PhaseChange, SlackUser
from tests.conftest import RunningApp
from tests.support.paths import ROOT
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, GENERAL, SIGNING_SECRET

FIVE_MINUTES = 300

README = ROOT / "README.md"


def command_body(running: RunningApp, text: str) -> str:
    """A `/handoff` form exactly as Slack posts it; `new …` would write and call Slack if it got through."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "channel_id": GENERAL,
            "user_id": ALICE,
            "command": "/handoff",
            "text": text,
            "api_app_id": "A0001",
            "response_url": running.fake.new_response_url(),
            "trigger_id": running.fake.new_trigger_id(),
        }
    )


def rows(running: RunningApp) -> tuple[int, int, int]:
    with Session(running.engine) as session:
        return tuple(  # type: ignore[return-value]
            int(session.exec(select(func.count()).select_from(table)).one())
            for table in (Initiative, PhaseChange, SlackUser)
        )


def http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def base_url(running: RunningApp) -> str:
    return running.slack.url.removesuffix("/slack/events")


def unsigned(running: RunningApp, body: str) -> int:
    status, _ = http(
        "POST",
        running.slack.url,
        body=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status


def wrong_signature(running: RunningApp, body: str) -> int:
    return running.slack.post(body, signature="v0=" + "0" * 64).status


def signed_with_other_secret(running: RunningApp, body: str) -> int:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier("not-the-signing-secret").generate_signature(timestamp=timestamp, body=body)
    return running.slack.post(body, timestamp=int(timestamp), signature=signature).status


def stale_timestamp(running: RunningApp, body: str) -> int:
    return running.slack.post(body, timestamp=int(time.time()) - FIVE_MINUTES - 1).status


def body_changed_after_signing(running: RunningApp, body: str) -> int:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    tampered = body.replace("Sneaky", "Sneakier")
    return running.slack.post(tampered, timestamp=int(timestamp), signature=signature).status


def test_requests_slack_did_not_sign_are_refused_and_do_nothing(running: RunningApp) -> None:
    calls_before = len(running.fake.calls)
    refusals: list[Callable[[RunningApp, str], int]] = [
        unsigned,
        wrong_signature,
        signed_with_other_secret,
        stale_timestamp,
        body_changed_after_signing,
    ]

    for send in refusals:
        status = send(running, command_body(running, 'new "Sneaky initiative" ds:<@U0BOB|bob>'))
        running.settle()

        assert status == 401, send.__name__
        assert running.fake.calls[calls_before:] == [], send.__name__
        assert running.fake.response_posts == []
        assert rows(running) == (0, 0, 0)


def test_a_correctly_signed_request_is_served(running: RunningApp) -> None:
    result = running.slack.post(command_body(running, "help"))

    assert result.status == 200
    assert result.json["text"].startswith("Handoff commands: help, new")


def test_a_signature_at_the_edge_of_the_five_minute_window_is_accepted(running: RunningApp) -> None:
    result = running.slack.post(command_body(running, "help"), timestamp=int(time.time()) - FIVE_MINUTES + 30)

    assert result.status == 200
    assert result.json["text"].startswith("Handoff commands:")


def test_health_check_reports_the_database(running: RunningApp) -> None:
    status, body = http("GET", base_url(running) + "/healthz")

    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "reachable"}
    assert f"answers 200 with `{body}`" in " ".join(README.read_text().split())


def test_health_check_answers_503_when_the_database_is_gone(running: RunningApp, tmp_path: Path) -> None:
    gone = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'handoff.db'}")
    wsgi = HandoffWsgiApp(running.app.bolt, gone)
    server = create_server(wsgi, host="127.0.0.1", port=0, threads=1, asyncore_loop_timeout=0.05)

    def run() -> None:
        with contextlib.suppress(OSError, ValueError):  # close() from the test thread interrupts select()
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        status, body = http("GET", f"http://127.0.0.1:{server.effective_port}/healthz")
    finally:
        server.close()
        thread.join(5)

    assert status == 503
    assert json.loads(body) == {"ok": False, "database": "unreachable"}
    assert f"503 with `{body}` otherwise" in " ".join(README.read_text().split())


def test_unknown_paths_are_not_found(running: RunningApp) -> None:
    calls_before = len(running.fake.calls)

    status, _ = http("GET", base_url(running) + "/unknown")

    assert status == 404
    assert running.fake.calls[calls_before:] == []
