"""Replicas as real processes for the tests: start several `tests.support.replica_worker`s on one database, let
them go at the same moment, and read what each did; or serve `handoff serve --http` as a process of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.fake_slack import FakeSlack
from tests.support.paths import ROOT
from tests.support.replica_worker import READY

STARTUP_SECONDS = 30


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any Slack, Jira, Handoff or database setting, plus `extra`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "HANDOFF_"))}
    clean.pop("DATABASE_URL", None)
    return {**clean, **extra, "PYTHONPATH": str(ROOT)}


@dataclass
class Workers:
    """Worker processes, each built and waiting for the go of its next run."""

    processes: list[subprocess.Popen[str]]
    runs_left: int

    def go(self) -> list[dict[str, Any]]:
        """Let every worker do its next run at once; what each reported (after the last run, once all exited)."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = [report(process) for process in self.processes]
        self.runs_left -= 1
        if self.runs_left == 0:
            for process in self.processes:
                _, err = process.communicate(timeout=30)
                assert process.returncode == 0, err
        return reports

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)


def start_workers(
    count: int,
    *,
    database_url: str,
    slack: FakeSlack,
    runs: list[tuple[datetime, list[str]]],
    jira: list[str] | None = None,
) -> Workers:
    """`count` workers started in parallel on one database and one fake Slack, each to do `runs` (a time and the
    jobs to run at it) when told to; returns once all are built."""
    command = [sys.executable, "-m", "tests.support.replica_worker", "--database-url", database_url]
    command += ["--slack-api-url", slack.api_url, *(jira or [])]
    for at, jobs in runs:
        command += ["--run", at.isoformat(), *jobs]
    processes = [
        subprocess.Popen(
            command,
            env=clean_environment(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    workers = Workers(processes, len(runs))
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()  # blocks until the worker is built (or died)
            assert line == READY, f"a worker did not start: {line}{process.communicate(timeout=10)[1]}"
    except BaseException:
        workers.kill()
        raise
    return workers


def report(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The worker's report of its run, read as soon as it is written."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"a worker died: {process.communicate(timeout=30)[1]}"
    return dict(json.loads(line))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_http(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """`handoff serve --http` as an operator starts it, on `port`."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)],
        env=clean_environment(**env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)  # the server process is still starting; bounded by the deadline
    raise AssertionError("server did not become ready")


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as an orchestrator stops a replica; its log (stderr)."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    return err
