"""Hours of a server's scheduled work in a couple of minutes, in one process, reporting its memory as it goes.

    python -m bench.hour_of_work --minutes 120     # as a worker; `bench.http_status` launches it

The worker builds the app as `handoff serve` does (same settings from the environment, same `create_app`, the
scheduler's jobs loaded and start-up objects frozen), but on a simulated clock that starts at 08:40 UTC on a
weekday. For each simulated minute it does what the running scheduler does: the sweep (reload the schedules, run
every due digest, nudge and standup slot, finish lapsed claims, give back the memory it took), and every
`HANDOFF_JIRA_SYNC_MINUTES` the Jira sync. The first hour so holds the 09:00 digest round over every channel, the
09:30 nudges and the 09:30 standup prompts, all posted through the outbox to the fake Slack. Every
`--sample-every` minutes it prints one JSON line with its VmRSS; the last line is a summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.fake_slack import FakeSlack

SIMULATED_START = time(8, 40)
WORKER_TIMEOUT_S = 600.0
JIRA_PROJECT = "DS"
LINKED_ISSUES = 100  # one checkpoint linked to a Jira issue in each of the first 100 initiatives
LINKED_NUMBER = 99  # its number in the initiative, above any the seed gives (at most 6)


class SimulatedClock:
    """Stands still until moved; sleeping (a rate limit's wait) moves it, and keeps no record of it."""

    def __init__(self, now: datetime):
        self._now = now
        self._start = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._start).total_seconds()

    def sleep(self, seconds: float) -> None:
        self._now += timedelta(seconds=max(0.0, seconds))

    def catch_up(self, moment: datetime) -> None:
        """Move to `moment` unless sleeping already took the clock past it."""
        self._now = max(self._now, moment)


def rss_kib() -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def first_weekday_start(after: datetime) -> datetime:
    day = after.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, SIMULATED_START, tzinfo=UTC)


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def work(minutes: int, sample_every: int) -> int:
    from bot.app import create_app
    from bot.cli import _prepare
    from bot.config import RunMode
    from storage.db import make_engine

    settings = _prepare(RunMode.HTTP)
    clock = SimulatedClock(first_weekday_start(datetime.now(UTC)))
    app = create_app(settings, engine=make_engine(settings.database_url), clock=clock)
    assert app.scheduler is not None and app.jobs is not None and app.standups is not None
    app.scheduler.refresh()
    gc.collect()
    gc.freeze()
    start = clock.now()
    emit({"minute": 0, "simulated": start.isoformat(), **rss_kib()})
    sweeps = jira_syncs = 0
    posted = failed = 0
    for minute in range(minutes):
        clock.catch_up(start + timedelta(minutes=minute))
        app.scheduler.refresh()
        for report in (app.jobs.run_due(), app.standups.run_due()):
            posted += len(report.posted)
            failed += len(report.failed)
        app.scheduler.release_memory()
        sweeps += 1
        if app.runtime.jira is not None and minute % settings.jira_sync_minutes == 0:
            app.jobs.jira_sync()
            jira_syncs += 1
        if (minute + 1) % sample_every == 0:
            emit({"minute": minute + 1, "simulated": clock.now().isoformat(), **rss_kib()})
    emit({"summary": True, "sweeps": sweeps, "jira_syncs": jira_syncs, "posted": posted, "failed": failed})
    return 0


def link_checkpoints(database_url: str, keys: Sequence[str]) -> None:
    """A checkpoint linked to each issue, one per initiative, so every Jira sync has issues to read."""
    from sqlalchemy import insert, select

    from storage.db import make_engine, session_scope
    from storage.models import Checkpoint, Initiative

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        initiatives = session.execute(select(Initiative.id).order_by(Initiative.id).limit(len(keys))).scalars()
        rows = [
            {
                "initiative_id": initiative_id,
                "number": LINKED_NUMBER,
                "title": f"Checkpoint {key}",
                "status": "open",
                "jira_key": key,
                "jira_summary": f"Checkpoint {key}",
                "jira_status": "To Do",
                "jira_status_category": "new",
                "created_by": "U0BENCH000",
                "created_at": datetime.now(UTC),
                "updated_by": "U0BENCH000",
                "updated_at": datetime.now(UTC),
            }
            for initiative_id, key in zip(initiatives, keys, strict=False)
        ]
        session.execute(insert(Checkpoint), rows)
    engine.dispose()


def run_worker(
    env: dict[str, str],
    workdir: Path,
    slack: FakeSlack,
    *,
    channels: Sequence[str],
    users: Sequence[str],
    minutes: int = 120,
    every: int = 10,
) -> dict[str, Any]:
    """Launch the worker against the database and `slack`, which `env` names, with a fake Jira of its own; its
    samples and summary. The fake Slack is first given the seeded channels (the bot in each) and people, so the
    posts land. Raises RuntimeError if the worker fails."""
    from bot.fake_slack import FakeChannel, FakeUser
    from tests.support.fake_jira import FakeJira

    for user_id in users:
        slack.add_user(FakeUser(id=user_id, name=user_id.lower()))
    for number, channel_id in enumerate(channels):
        slack.add_channel(FakeChannel(id=channel_id, name=f"bench-{number}", members={slack.bot_user_id, *users}))
    with FakeJira() as jira:
        keys = [f"{JIRA_PROJECT}-{number}" for number in range(1, LINKED_ISSUES + 1)]
        for key in keys:
            jira.add_issue(key, f"Checkpoint {key}")
        link_checkpoints(env["DATABASE_URL"], keys)
        worker_env = {
            **env,
            "LOG_LEVEL": "ERROR",  # the catch-up logs a warning per skipped slot of the days before
            "JIRA_URL": jira.url,
            "JIRA_EMAIL": jira.email,
            "JIRA_API_TOKEN": jira.api_token,
        }
        done = subprocess.run(
            [sys.executable, "-m", "bench.hour_of_work", "--minutes", str(minutes), "--sample-every", str(every)],
            env=worker_env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
        jira_requests = len(jira.requests)
    if done.returncode != 0:
        raise RuntimeError(f"hour_of_work exited with {done.returncode}:\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    samples = [r for r in records if "VmRSS" in r]
    summary = next(r for r in records if r.get("summary"))
    return {"samples": samples, **{k: v for k, v in summary.items() if k != "summary"}, "jira_requests": jira_requests}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hour_of_work", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=120, help="simulated minutes (default 120)")
    parser.add_argument("--sample-every", type=int, default=10, help="print RSS every N minutes (default 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.minutes <= 10_000 or not 1 <= args.sample_every <= args.minutes:
        parser.error("--minutes 1..10000, --sample-every 1..minutes")
    return work(args.minutes, args.sample_every)


if __name__ == "__main__":
    sys.exit(main())
