"""One posting budget per workspace, across replicas: two apps on one database prompt 1,000 engineers at once.

    python -m bench.posting_budget [--quick] [--engineers 1000] [--per-minute 6000] [--workspace-burst 10]
                                   [--postgres-url URL] [--private-budgets]

What it does, all in this process and on 127.0.0.1:

1. builds a temporary database (a SQLite file, or with `--postgres-url` a fresh database on that PostgreSQL server,
   dropped afterwards), migrated with `upgrade_schema` and seeded as `bench.standups` does: `--engineers` active
   initiatives, each with a different embedded engineer whose standup prompt is due at the same UTC minute;
2. starts a `FakeSlack` enforcing Slack's limits on `chat.postMessage`: 1 a second per channel (burst 1; every DM
   is its own channel) and `--per-minute` across the workspace (a bucket of `--workspace-burst`);
3. starts two replicas: two apps (`bot.app.create_app` with `SystemClock`, real time), each with its own engine on
   the database, configured with `slack_posts_per_minute` equal to the fake's workspace limit, as an operator sets
   `HANDOFF_SLACK_POSTS_PER_MINUTE` to the workspace's limit on every replica;
4. runs both replicas' `standups.run_due()` at once, each in its own thread, as two schedulers sweeping the same
   minute do: they share the prompts through the slot ledger and the pace through the posting budget. Times how
   long until every prompt is delivered, counts 429s, and records when each post reached the fake's limiter;
5. checks that exactly one DM went to each engineer, that every prompt row has the DM's channel and `ts`, that
   every slot ended `done`, and that both replicas posted.

`--private-budgets` gives each replica a budget of its own (an in-memory database each, swapped into the app's
budget instance), which is what replicas had before the budget was shared: a baseline that shows the 429s.

The bound is (N - 1) / (per-minute / 60): every DM is its own channel, so only the workspace's limit binds. The
limit is 6,000 a minute by default, the most the setting accepts, so that 1,000 prompts take about 10 s.

Exit status: 0 when every check and target passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bench.measure import StatementCounter, percentile
from bench.standups import (
    BOT_TOKEN,
    BURST,
    PER_CHANNEL_PER_SECOND,
    SEED,
    SIGNING_SECRET,
    TEAM_ID,
    ZONES,
    check_records,
    engineer_ids,
    seed_database,
)
from bench.versions import code_version
from bot.app import HandoffApp, create_app
from bot.clock import SystemClock
from bot.config import Settings
from bot.fake_slack import FakeSlack, FakeUser
from bot.slot_ledger import Job
from storage.db import make_engine, session_scope, upgrade_schema
from storage.models import JobRun

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "posting_budget.json"
REPLICAS = 2
RATIO_TARGET = 1.2


# ------------------------------------------------------------------------------------------------ the database


@contextmanager
def database(postgres_url: str | None, workdir: Path) -> Iterator[str]:
    """The URL of an empty database for the run: a SQLite file, or a PostgreSQL database made for it."""
    if postgres_url is None:
        yield f"sqlite:///{workdir / 'posting_budget.db'}"
        return
    name = f"handoff_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def give_private_budget(app: HandoffApp) -> Engine:
    """The baseline: this replica books its turns in a database of its own, as if nobody else posted."""
    private = make_engine("sqlite://")
    upgrade_schema(private)

    def sessions() -> AbstractContextManager[Session]:
        return session_scope(private)

    app.runtime.posting_budget._sessions = sessions  # the instance only; no product code changed
    return private


def replica_settings(api_url: str, database_url: str, per_minute: int) -> Settings:
    """A replica's settings: those of `bench.standups`, as every replica of a deployment has the same."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        database_url=database_url,
        timezone="UTC",
        log_level="WARNING",
        catch_up_within=timedelta(minutes=30),
        slack_posts_per_minute=per_minute,  # the app's budget is the workspace's limit
    )


def replica(
    index: int, url: str, api_url: str, per_minute: int, private_budget: bool, start: Any, results: Any
) -> None:
    """One replica, in a process of its own: build the app, wait for the other, sweep the minute, report."""
    logging.basicConfig(level=logging.ERROR)
    engine = make_engine(url)
    app = create_app(replica_settings(api_url, url, per_minute), engine=engine, clock=SystemClock())
    private = give_private_budget(app) if private_budget else None
    counter = StatementCounter(engine)
    standups = app.standups
    assert standups is not None
    problems: list[str] = []
    start.wait(timeout=120)
    counter.reset()
    try:
        report = standups.run_due()
        if report.failed or report.retrying:
            problems.append(f"replica {index + 1}: failed {report.failed}, retrying {report.retrying}")
    except Exception as error:  # reported as a problem of the run, not a crash of the bench
        problems.append(f"replica {index + 1}: {error!r}")
    ended = time.monotonic()
    results.put({"ended": ended, "statements": counter.total, "problems": problems})
    app.executor.shutdown(wait=False)
    engine.dispose()
    if private is not None:
        private.dispose()


# ------------------------------------------------------------------------------------------------ the run


def run(engineers: int, per_minute: int, workspace_burst: int, url: str, private_budgets: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    problems: list[str] = []
    people = engineer_ids(engineers)
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    seeding = make_engine(url)
    started = time.perf_counter()
    upgrade_schema(seeding)
    counts = seed_database(seeding, people, due, rng)
    seeding.dispose()
    print(
        f"seeded {engineers:,} initiatives and engineers on {make_url(url).get_backend_name()}, all due at "
        f"{due:%H:%M} UTC, in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID)
    for number, engineer in enumerate(people, start=1):
        fake.add_user(
            FakeUser(engineer, engineer.lower(), real_name=f"Engineer {number}", tz=ZONES[number % len(ZONES)])
        )
    rate = per_minute / 60.0
    check_engine = make_engine(url)
    with fake:
        arrivals: list[float] = []
        arrivals_lock = threading.Lock()

        def rate_clock() -> float:  # the fake reads it once for each chat.postMessage it rate-limits
            with arrivals_lock:
                arrivals.append(time.monotonic())  # one clock for every process on the machine
                return arrivals[-1]

        fake.enforce_rate_limits(
            PER_CHANNEL_PER_SECOND,
            BURST,
            clock=rate_clock,
            workspace_per_minute=per_minute,
            workspace_burst=workspace_burst,
        )
        processes = multiprocessing.get_context("spawn")
        start = processes.Barrier(REPLICAS + 1)
        results = processes.Queue()
        replicas = [
            processes.Process(
                target=replica, args=(index, url, fake.api_url, per_minute, private_budgets, start, results)
            )
            for index in range(REPLICAS)
        ]
        for each in replicas:
            each.start()
        start.wait(timeout=120)  # both replicas are up, their apps built: the sweeps begin now
        m0 = time.monotonic()
        outcomes = [results.get(timeout=600) for _ in replicas]
        for each in replicas:
            each.join(30)
        wall_s = max(outcome["ended"] for outcome in outcomes) - m0
        calls = fake.calls_to("chat.postMessage")
        delivered = [c for c in calls if c.status == 200 and c.response.get("ok")]
        statements = sum(outcome["statements"] for outcome in outcomes)
        for outcome in outcomes:
            problems.extend(outcome["problems"])
        recorded = check_records(check_engine, fake, people, calls, problems)
        with session_scope(check_engine) as session:
            sweep_runs = select(JobRun.holder).where(JobRun.job == Job.STANDUP.value, JobRun.claimed_at >= due)
            holders = Counter(session.exec(sweep_runs).all())
    check_engine.dispose()
    del holders[None]
    posts_by_replica = sorted(holders.values(), reverse=True)
    if len(posts_by_replica) != REPLICAS:
        problems.append(f"posts by replica: {posts_by_replica}; want both replicas posting")
    ordered = sorted(arrivals)
    gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(ordered)]
    bound_s = (engineers - 1) / rate
    last_arrival_s = (ordered[-1] - m0) if ordered else 0.0
    return {
        "engineers": engineers,
        "rows": counts,
        "delivery": {
            "dms_delivered": len(delivered),
            "rate_limited_429": fake.rate_limited,
            "wall_s": round(wall_s, 3),
            "last_delivered_after_s": round(last_arrival_s, 3),
            "lower_bound_s": round(bound_s, 3),
            "ratio_to_lower_bound": round(last_arrival_s / bound_s, 3) if bound_s else None,
            "first_post_after_s": round(ordered[0] - m0, 3) if ordered else None,
            "posting_span_s": round(ordered[-1] - ordered[0], 3) if ordered else None,
            "posts_by_replica": posts_by_replica,
            "gap_at_fake_ms": {
                "min": round(min(gaps_ms), 3) if gaps_ms else None,
                "p50": round(statistics.median(gaps_ms), 3) if gaps_ms else None,
                "p99": round(percentile(gaps_ms, 99), 3) if gaps_ms else None,
                "max": round(max(gaps_ms), 3) if gaps_ms else None,
            },
            "statements": statements,
            "statements_per_prompt": round(statements / max(1, engineers), 2),
        },
        "records": recorded,
        "problems": problems,
    }


# ------------------------------------------------------------------------------------------------ verdicts


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    d = result["delivery"]
    engineers = result["engineers"]
    return [
        {
            "name": "prompts delivered",
            "target": f"exactly {engineers:,} DMs, one per engineer, by both replicas",
            "measured": f"{d['dms_delivered']:,} DMs; by replica {d['posts_by_replica']}",
            "pass": d["dms_delivered"] == engineers and not result["problems"],
        },
        {
            "name": "429s",
            "target": "0",
            "measured": str(d["rate_limited_429"]),
            "pass": d["rate_limited_429"] == 0,
        },
        {
            "name": "delivery / bound",
            "target": f"<= {RATIO_TARGET}",
            "measured": (
                f"{d['last_delivered_after_s']:.2f}s / {d['lower_bound_s']:.2f}s = {d['ratio_to_lower_bound']}x"
            ),
            "pass": d["ratio_to_lower_bound"] is not None and d["ratio_to_lower_bound"] <= RATIO_TARGET,
        },
    ]


def print_report(report: dict[str, Any]) -> None:
    c, d = report["config"], report["result"]["delivery"]
    print(
        f"\n{c['engineers']:,} prompts, {REPLICAS} replicas on {c['database']}, "
        f"workspace limit {c['workspace_per_minute']:,}/min "
        f"(bucket {c['workspace_burst']}), budgets {'private to each replica' if c['private_budgets'] else 'shared'}"
    )
    gaps = d["gap_at_fake_ms"]
    header = ("DMs", "429s", "last s", "bound s", "ratio", "first s", "by replica", "gaps min/p50/p99/max ms", "stmts")
    row = (
        f"{d['dms_delivered']:,}",
        str(d["rate_limited_429"]),
        f"{d['last_delivered_after_s']:.2f}",
        f"{d['lower_bound_s']:.2f}",
        f"{d['ratio_to_lower_bound']}x",
        f"{d['first_post_after_s'] or 0:.2f}",
        " / ".join(map(str, d["posts_by_replica"])),
        " / ".join(f"{gaps[k] or 0:.1f}" for k in ("min", "p50", "p99", "max")),
        f"{d['statements_per_prompt']} a prompt",
    )
    widths = [max(len(h), len(r)) for h, r in zip(header, row, strict=True)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join(r.rjust(w) for r, w in zip(row, widths, strict=True)))
    for verdict in report["targets"]:
        mark = "PASS" if verdict["pass"] else "FAIL"
        print(f"{mark}  {verdict['name']}: {verdict['measured']} (target {verdict['target']})")
    for problem in report["result"]["problems"][:10]:
        print(f"problem: {problem}")
    print(f"\nresults written to {report['output']}")


# ------------------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.posting_budget", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 engineers")
    parser.add_argument("--engineers", type=int, default=None, help="prompts to post (default 1000)")
    parser.add_argument(
        "--per-minute", type=int, default=6000, help="the fake's workspace limit and the app's budget (default 6000)"
    )
    parser.add_argument("--workspace-burst", type=int, default=10, help="the fake's workspace bucket (default 10)")
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="a PostgreSQL server (postgresql+psycopg://user@host:port/postgres) to run on instead of a SQLite file",
    )
    parser.add_argument(
        "--private-budgets", action="store_true", help="the baseline: each replica keeps a budget of its own"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    engineers = args.engineers or (100 if args.quick else 1000)
    logging.basicConfig(level=logging.ERROR)

    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-budget-"))
    try:
        with database(args.postgres_url, workdir) as url:
            result = run(engineers, args.per_minute, args.workspace_burst, url, args.private_budgets)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    config = {
        "engineers": engineers,
        "replicas": REPLICAS,
        "database": "postgresql" if args.postgres_url else "sqlite",
        "per_channel_per_second": PER_CHANNEL_PER_SECOND,
        "burst": BURST,
        "workspace_per_minute": args.per_minute,
        "workspace_burst": args.workspace_burst,
        "slack_posts_per_minute": args.per_minute,
        "private_budgets": args.private_budgets,
        "clock": "SystemClock (real time) for both replicas and the fake",
    }
    report: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "code": code_version(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": config,
        "result": result,
        "targets": targets(result),
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    return 1 if result["problems"] or not all(t["pass"] for t in report["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
