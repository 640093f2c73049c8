"""One replica as a process of its own: `python -m tests.support.replica_worker --database-url … --slack-api-url …
--run 2027-01-05T09:45:00+00:00 standups --run 2027-01-05T14:45:00+00:00 standups`.

It builds the real app with `bot.app.create_app` on the given database, its real `slack_sdk` client pointed at the
test's fake Slack over HTTP (and its Jira gateway at the fake Jira, when given), on a `FixedClock`, so no test
waits for wall time. It prints `ready` once built; then for each `--run`, it waits for a line on stdin (so that
every replica starts together), sets its clock to the run's time, runs the named jobs in order, and prints what
they did as one line of JSON. It exits after the last run.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from bot.app import HandoffApp, create_app
from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings, Settings
from handlers.jira_jobs import run_jira_sync
from tests.support.workspace import BOT_TOKEN, SIGNING_SECRET

TIMEZONE = "Europe/Berlin"
READY = "ready"
JOBS = ("channels", "standups", "jira-interval", "jira-sync")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replica_worker")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--slack-api-url", required=True)
    parser.add_argument("--run", action="append", nargs="+", required=True, metavar=("AT", "JOB"))
    parser.add_argument("--jira-url", help="a Jira Cloud site (the fake Jira)")
    parser.add_argument("--jira-email", default="")
    parser.add_argument("--jira-token", default="")
    args = parser.parse_args(argv)
    runs = [(datetime.fromisoformat(at), jobs) for at, *jobs in args.run]
    if any(not jobs or set(jobs) - set(JOBS) for _, jobs in runs):
        parser.error(f"each --run is a time and one or more of {', '.join(JOBS)}")
    jira = None
    if args.jira_url:
        jira = JiraSettings(url=args.jira_url, auth=JiraAuth.CLOUD, email=args.jira_email, api_token=args.jira_token)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=args.slack_api_url,
        database_url=args.database_url,
        timezone=TIMEZONE,
        jira=jira,
    )
    clock = FixedClock(runs[0][0])
    app = create_app(settings, clock=clock, verify_token=False)
    print(READY, flush=True)
    for at, jobs in runs:
        if not sys.stdin.readline():  # the go (every replica is ready, and all start together), or the test ended
            return 1
        clock.set(at)
        print(json.dumps(run_jobs(app, jobs)), flush=True)
    app.runtime.engine.dispose()
    return 0


def run_jobs(app: HandoffApp, jobs: list[str]) -> dict[str, object]:
    """Run each job once, in order; what each did."""
    assert app.jobs is not None and app.standups is not None
    done: dict[str, object] = {}
    for job in jobs:
        if job == "channels":
            report = app.jobs.run_due()
            done[job] = {"posted": report.posted, "skipped": report.skipped, "failed": report.failed}
        elif job == "standups":
            report = app.standups.run_due()
            done[job] = {"posted": report.posted, "skipped": report.skipped, "failed": report.failed}
        elif job == "jira-interval":
            app.jobs.jira_sync()
            done[job] = {}
        else:
            synced = run_jira_sync(app.runtime, app.bolt.client)
            done[job] = {"delivered": synced.pushes_delivered, "changes_posted": synced.changes_posted}
    return done


if __name__ == "__main__":
    sys.exit(main())
