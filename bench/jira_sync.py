"""Jira pull sync: Jira requests and database statements per sync, against a local fake Jira.

    python -m bench.jira_sync [--issues 10000] [--changes 50] [--flavor cloud|datacenter]

What it does, all in this process and on 127.0.0.1:

1. for N = `--issues` / 10 and N = `--issues`, starts its own `tests.support.fake_jira.FakeJira` holding N
   issues over four projects, and builds a temporary SQLite database (`upgrade_schema`) with one initiative
   and N checkpoints, each linked to one of those issues and holding the issue's state as Handoff stored it
   when the link was made (the rows are inserted in bulk through the session);
2. runs, through the real `bot.jira_sync.sync_jira` and `bot.jira_gateway.JiraGateway` (the `jira` library
   underneath) on a fresh gateway:
   - the first sync, which is a full one (`full=None` decides);
   - an incremental sync ten minutes later, with nothing changed in Jira;
   - an incremental sync after `--changes` issues moved to another status in the fake (at the fake's now);
   - the naive baseline: one `GET issue/{key}` per linked issue through the same client (`gateway.issue`);
3. counts, for each of them, the HTTP requests the fake received (total, searches, the rest by kind) and the
   SQL statements sent to the database (a `before_cursor_execute` listener on the engine), and times it;
4. checks what each sync did (mode, issues fetched and applied, status changes logged, the rows in the
   database), prints a table and the targets, and writes `bench/results/jira_sync.json`.

Both the fake and the gateway read one frozen clock that only the benchmark moves, so every count is the
same from run to run; only the wall times vary.

Exit status: 0 when every check and target passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jira  # noqa: F401  (imported up front so the gateway's lazy import is not timed as part of a sync)
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.measure import StatementCounter
from bench.versions import code_version
from bot.checkpoints import status_for_category
from bot.config import JiraAuth, JiraSettings
from bot.jira_gateway import MAX_KEYS_PER_QUERY, JiraGateway
from bot.jira_sync import SyncReport, sync_jira
from storage.db import make_engine, session_scope, upgrade_schema
from storage.initiatives import add_initiative, name_key
from storage.models import Checkpoint, CheckpointStatus, Initiative, JiraStatusChange, Phase, PhaseChange
from tests.support.fake_jira import FakeJira

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "jira_sync.json"

TEAM_ID = "T0001"
CHANNEL = "C0BENCH000"
AUTHOR = "U0BENCH000"
SEED = 20261124
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the frozen clock's first reading
PROJECTS = ("DS", "ML", "DATA", "PLAT")
# The fake's default workflow, and where each status moves when the benchmark changes an issue.
CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate", "Done": "done"}
NEXT_STATUS = {"To Do": "In Progress", "In Progress": "In Review", "In Review": "Done", "Done": "In Progress"}
ASSIGNEES = ["Ann Lee", "Ravi Patel", "Mei Chen", "Tomás Ortega", "Sara Novak", None]
WORK = ["Backfill", "Validate", "Ship", "Monitor", "Document", "Review", "Retrain", "Benchmark"]
THINGS = ["feature pipeline", "scoring service", "model card", "drift alerts", "offline eval", "A/B readout"]

# SQL per applied issue: read its checkpoints, compare-and-set the Jira fields, log the status change.
STATEMENTS_PER_CHANGED_ROW = 3
SMALL_FACTOR = 10  # the smaller run has N / 10 issues


# ------------------------------------------------------------------------------------------------ plumbing


class FrozenClock:
    """One clock for the fake Jira and the gateway (so the measured skew is zero); only `advance` moves it."""

    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


def request_kind(path: str) -> str:
    if path.endswith("/serverInfo"):
        return "serverInfo"
    if path.endswith("/field"):
        return "field"
    if path.endswith(("/search/jql", "/search")):
        return "search"
    if "/issue/" in path:
        return "issue"
    return "other"


@dataclass
class Measured:
    """One measured step: what it sent to Jira and to the database, and how long it took."""

    name: str
    seconds: float
    requests: dict[str, Any]
    statements: dict[str, Any]
    sync: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "wall_s": round(self.seconds, 3),
            "requests": self.requests,
            "statements": self.statements,
        }
        if self.sync is not None:
            out["sync"] = self.sync
        out["problems"] = self.problems
        return out


def measure(name: str, fake: FakeJira, counter: StatementCounter, action: Callable[[], Any]) -> tuple[Measured, Any]:
    fake.reset_requests()
    counter.reset()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    recorded = fake.requests
    kinds = Counter(request_kind(r.path) for r in recorded)
    requests = {
        "total": len(recorded),
        "search": kinds.get("search", 0),
        "by_kind": dict(sorted(kinds.items())),
        "paths": sorted({r.path for r in recorded if request_kind(r.path) != "issue"}),
        "errors": sum(1 for r in recorded if r.status >= 400),
    }
    return Measured(name, seconds, requests, counter.snapshot()), result


def sync_summary(report: SyncReport) -> dict[str, Any]:
    return {
        "mode": report.mode,
        "linked": report.linked,
        "fetched": report.fetched,
        "changed": report.changed,
        "status_changes": report.status_changes,
        "missing": len(report.missing),
        "error": report.error,
    }


def expect(problems: list[str], what: str, got: Any, want: Any) -> None:
    if got != want:
        problems.append(f"{what}: {got!r}, expected {want!r}")


# ------------------------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class SeedIssue:
    key: str
    summary: str
    status: str
    assignee: str | None
    updated: datetime


def make_issues(n: int) -> list[SeedIssue]:
    """N issues over four projects, last updated between 1 and 400 days before the first sync (whole ms)."""
    rng = random.Random(SEED)
    issues = []
    for index in range(n):
        project = PROJECTS[index % len(PROJECTS)]
        number = index // len(PROJECTS) + 1
        updated = START - timedelta(days=1, seconds=rng.randint(0, 399 * 86400), milliseconds=rng.randint(0, 999))
        issues.append(
            SeedIssue(
                key=f"{project}-{number}",
                summary=f"{rng.choice(WORK)} the {rng.choice(THINGS)} ({project.lower()} #{number})",
                status=rng.choice(list(CATEGORY)),
                assignee=rng.choice(ASSIGNEES),
                updated=updated,
            )
        )
    return issues


def seed_fake(fake: FakeJira, issues: Sequence[SeedIssue]) -> None:
    for project in PROJECTS:
        fake.add_project(project)
    for issue in issues:
        fake.add_issue(
            issue.key,
            issue.summary,
            status=issue.status,
            assignee=issue.assignee,
            updated=issue.updated,
            created=issue.updated - timedelta(days=3),
        )


def seed_database(engine: Engine, issues: Sequence[SeedIssue]) -> int:
    """One initiative and one checkpoint per issue, linked the way `bot.checkpoints` links them."""
    created = START - timedelta(days=500)
    with session_scope(engine) as session:
        initiative = add_initiative(
            session=session,
            initiative=Initiative(
                team_id=TEAM_ID,
                name="Churn model EMEA",
                name_key=name_key("Churn model EMEA"),
                home_channel_id=CHANNEL,
                phase=Phase.DEVELOPMENT.value,
                jira_project_key=PROJECTS[0],
                created_by=AUTHOR,
                created_at=created,
                updated_by=AUTHOR,
                updated_at=created,
            ),
            first_change=PhaseChange(
                initiative_id=0,
                from_phase=None,
                to_phase=Phase.DEVELOPMENT.value,
                changed_by=AUTHOR,
                changed_at=created,
            ),
        )
        assert initiative.id is not None
        rows = []
        for number, issue in enumerate(issues, start=1):
            status = status_for_category(CATEGORY[issue.status])
            done = status is CheckpointStatus.DONE
            rows.append(
                {
                    "initiative_id": initiative.id,
                    "number": number,
                    "title": issue.summary,
                    "status": status.value,
                    "done_by": AUTHOR if done else None,
                    "done_at": issue.updated if done else None,
                    "jira_key": issue.key,
                    "jira_summary": issue.summary,
                    "jira_status": issue.status,
                    "jira_status_category": CATEGORY[issue.status],
                    "jira_assignee": issue.assignee,
                    "jira_updated_at": issue.updated,
                    "created_by": AUTHOR,
                    "created_at": created,
                    "updated_by": AUTHOR,
                    "updated_at": created,
                }
            )
        session.execute(insert(Checkpoint), rows)
        return initiative.id


# ------------------------------------------------------------------------------------------------ one N


def run_scenario(n: int, changes: int, flavor: str, workdir: Path) -> dict[str, Any]:
    """Full, no-change incremental, incremental after `changes` status moves, naive baseline; for N issues."""
    clock = FrozenClock(START)
    issues = make_issues(n)
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{workdir / f'handoff-{n}.db'}")
    with FakeJira(flavor=flavor) as fake:
        fake.clock = clock
        seed_fake(fake, issues)
        upgrade_schema(engine)
        seed_database(engine, issues)
        seed_seconds = time.perf_counter() - t0
        print(f"N={n:,}: seeded {n:,} fake issues and checkpoints in {seed_seconds:.1f}s", flush=True)

        counter = StatementCounter(engine)
        if fake.is_cloud:
            settings = JiraSettings(url=fake.url, auth=JiraAuth.CLOUD, email=fake.email, api_token=fake.api_token)
        else:
            settings = JiraSettings(url=fake.url, auth=JiraAuth.DATA_CENTER, personal_token=fake.personal_token)
        gateway = JiraGateway(settings, clock=clock)

        def sessions() -> Any:
            return session_scope(engine)

        def sync() -> SyncReport:
            return sync_jira(sessions=sessions, gateway=gateway, now=clock())

        steps: dict[str, Measured] = {}

        # 1. the first sync on a fresh gateway: full, and it pays for serverInfo and /field.
        full, report = measure("full", fake, counter, sync)
        full.sync = sync_summary(report)
        for what, want in (("mode", "full"), ("fetched", n), ("changed", 0), ("missing", 0), ("error", None)):
            expect(full.problems, f"full sync {what}", full.sync[what], want)
        steps["full"] = full
        print(f"N={n:,}: full sync {full.seconds:.2f}s, {full.requests['total']} requests", flush=True)

        # 2. ten minutes later, nothing changed in Jira.
        clock.advance(minutes=10)
        idle, report = measure("incremental_idle", fake, counter, sync)
        idle.sync = sync_summary(report)
        for what, want in (("mode", "incremental"), ("fetched", 0), ("changed", 0), ("error", None)):
            expect(idle.problems, f"no-change sync {what}", idle.sync[what], want)
        steps["incremental_idle"] = idle

        # 3. `changes` issues, spread over all projects, move to another status at the fake's now.
        clock.advance(minutes=1)
        moved: dict[str, str] = {}
        for i in range(changes):
            issue = issues[i * n // changes]
            moved[issue.key] = NEXT_STATUS[issue.status]
            fake.set_status(issue.key, moved[issue.key], at=fake.now())
        clock.advance(minutes=1)
        busy, report = measure("incremental_changed", fake, counter, sync)
        busy.sync = sync_summary(report)
        for what, want in (
            ("mode", "incremental"),
            ("fetched", changes),
            ("changed", changes),
            ("status_changes", changes),
            ("error", None),
        ):
            expect(busy.problems, f"sync after {changes} changes {what}", busy.sync[what], want)
        with session_scope(engine) as session:
            logged = session.exec(
                select(JiraStatusChange.issue_key, JiraStatusChange.from_status, JiraStatusChange.to_status)
            ).all()
            stored = dict(
                session.exec(
                    select(Checkpoint.jira_key, Checkpoint.jira_status).where(col(Checkpoint.jira_key).in_(list(moved)))
                ).all()
            )
        before = {issue.key: issue.status for issue in issues}
        expect(busy.problems, "status changes logged in the database", len(logged), changes)
        wrong = sorted(f"{k} {f} -> {t}" for k, f, t in logged if (f, t) != (before.get(k), moved.get(k)))
        if wrong:
            busy.problems.append(
                f"{len(wrong)} of {len(logged)} logged status changes have the wrong from/to status, "
                f"e.g. {wrong[0]} (was {before.get(wrong[0].split()[0])!r})"
            )
        expect(
            busy.problems,
            "checkpoints holding the new status",
            sum(stored.get(k) == s for k, s in moved.items()),
            changes,
        )
        steps["incremental_changed"] = busy

        # 4. the naive way: one GET per linked issue, through the same (already connected) client.
        keys = sorted(issue.key for issue in issues)
        naive, fetched = measure("naive", fake, counter, lambda: [gateway.issue(key) for key in keys])
        current = {**before, **moved}
        expect(naive.problems, "naive baseline issues", len(fetched), n)
        expect(naive.problems, "naive baseline statuses right", sum(i.status == current[i.key] for i in fetched), n)
        steps["naive"] = naive
        print(f"N={n:,}: naive baseline {naive.seconds:.2f}s, {naive.requests['total']} requests", flush=True)

        for step in steps.values():
            if step.requests["errors"]:
                step.problems.append(f"{step.requests['errors']} requests answered with an error")
    engine.dispose()
    return {
        "issues": n,
        "changes": changes,
        "seed_s": round(seed_seconds, 2),
        "steps": {name: step.to_json() for name, step in steps.items()},
    }


# ------------------------------------------------------------------------------------------------ verdicts


def targets(small: dict[str, Any], large: dict[str, Any], changes: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, measured: str, ok: bool) -> None:
        out.append({"name": name, "target": target, "measured": measured, "pass": ok})

    for run in (small, large):
        n, steps = run["issues"], run["steps"]
        limit = math.ceil(n / MAX_KEYS_PER_QUERY) + 2
        got = steps["full"]["requests"]["total"]
        add(f"full_requests_{n}", f"full sync, N={n:,}: requests <= ceil(N/100) + 2 = {limit}", str(got), got <= limit)
    for run in (small, large):
        n, steps = run["issues"], run["steps"]
        got = steps["incremental_idle"]["requests"]["total"]
        add(f"idle_requests_{n}", f"incremental sync, nothing changed, N={n:,}: exactly 1 request", str(got), got == 1)
    for step, label in (
        ("incremental_idle", "incremental sync, nothing changed"),
        ("full", "full sync, no row changed"),
    ):
        a, b = small["steps"][step]["statements"]["total"], large["steps"][step]["statements"]["total"]
        add(
            f"{step}_statements_flat",
            f"{label}: statements equal for N={small['issues']:,} and N={large['issues']:,}",
            f"{a} and {b}",
            a == b,
        )
    deltas = [
        run["steps"]["incremental_changed"]["statements"]["total"]
        - run["steps"]["incremental_idle"]["statements"]["total"]
        for run in (small, large)
    ]
    bound = STATEMENTS_PER_CHANGED_ROW * changes
    add(
        "changed_statements",
        f"incremental sync, {changes} changed: extra statements over no change equal for both N, "
        f"<= {STATEMENTS_PER_CHANGED_ROW} a changed row ({bound})",
        f"+{deltas[0]} and +{deltas[1]}",
        deltas[0] == deltas[1] and 0 < deltas[1] <= bound,
    )
    return out


# ------------------------------------------------------------------------------------------------ report


STEP_LABELS = {
    "full": "full sync (first run)",
    "incremental_idle": "incremental, nothing changed",
    "incremental_changed": "incremental, {changes} changed",
    "naive": "naive: GET issue per key",
}


def print_report(report: dict[str, Any]) -> None:
    code = report["code"]
    print()
    print(
        f"{report['date']}, commit {code['commit']}"
        + (" (product code or fake modified since)" if code["modified"] else "")
        + f", {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
        f"flavor {report['config']['flavor']}"
    )
    header = (
        f"{'N':>7}  {'step':<30} {'Jira req':>8} {'search':>7}  {'other requests':<22} {'SQL':>6}  "
        f"{'SQL by kind':<26} {'wall s':>7}  {'fetched':>7} {'applied':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in report["runs"]:
        for name, step in run["steps"].items():
            label = STEP_LABELS[name].format(changes=run["changes"])
            req, sql = step["requests"], step["statements"]
            others = ", ".join(f"{k} {v}" for k, v in req["by_kind"].items() if k not in ("search",))
            kinds = " ".join(f"{k[0]}{v}" for k, v in sql.items() if k != "total")
            sync = step.get("sync") or {}
            print(
                f"{run['issues']:>7,}  {label:<30} {req['total']:>8,} {req['search']:>7,}  {others:<22} "
                f"{sql['total']:>6,}  {kinds:<26} {step['wall_s']:>7.2f}  "
                f"{sync.get('fetched', '-')!s:>7} {sync.get('changed', '-')!s:>7}"
            )
            for problem in step["problems"]:
                print(f"{'':>9}problem: {problem}")
    print("(SQL by kind: S = SELECT, I = INSERT, U = UPDATE)")
    large = report["runs"][-1]
    ratio = report["naive_vs_full"]
    print(
        f"\nN={large['issues']:,}: the full sync sends {ratio['requests']:.0f}x fewer requests than the naive baseline "
        f"and takes {ratio['wall']:.1f}x less time"
    )
    print()
    for target in report["targets"]:
        print(f"{'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['measured']}")
    print(f"\nresults written to {report['output']}")


# ------------------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jira_sync", description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000, help="linked issues N (default 10000); also N/10")
    parser.add_argument("--changes", type=int, default=50, help="issues changed before the last sync (default 50)")
    parser.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud", help="fake Jira (cloud)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if not SMALL_FACTOR <= args.issues <= 200_000:
        parser.error(f"--issues {SMALL_FACTOR}..200000")
    if not 1 <= args.changes <= args.issues // SMALL_FACTOR:
        parser.error("--changes 1..issues/10 (the smaller run must have that many issues to change)")

    started_at = datetime.now(UTC)
    code = code_version(("bot", "storage", "tests/support/fake_jira.py"))
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-jira-"))
    try:
        runs = [run_scenario(n, args.changes, args.flavor, workdir) for n in (args.issues // SMALL_FACTOR, args.issues)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    small, large = runs
    verdicts = targets(small, large, args.changes)
    full, naive = large["steps"]["full"], large["steps"]["naive"]
    report: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "code": code,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            "issues": args.issues,
            "changes": args.changes,
            "flavor": args.flavor,
            "projects": list(PROJECTS),
            "keys_per_query": MAX_KEYS_PER_QUERY,
        },
        "runs": runs,
        "naive_vs_full": {
            "requests": naive["requests"]["total"] / max(1, full["requests"]["total"]),
            "wall": naive["wall_s"] / max(1e-9, full["wall_s"]),
        },
        "targets": verdicts,
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    problems = [p for run in runs for step in run["steps"].values() for p in step["problems"]]
    return 1 if problems or not all(t["pass"] for t in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
