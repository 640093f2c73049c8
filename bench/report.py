"""`/handoff report`: SQL statements, time to compute the figures, render the text and draw the funnel chart.

    python -m bench.report [--quick] [--initiatives 2000] [--small 200] [--runs 7] [--postgres-url URL]

What it does, in process, single-threaded, on temporary SQLite databases:

1. builds two databases (`upgrade_schema`, then one bulk core insert a table of `storage.models`) holding a
   workspace of `--initiatives` initiatives, and one of `--small`, over 50 channels, with two years of history
   up to a fixed moment: each initiative created at a random day of the two years and moved along the main line
   (some paused then resumed, some cancelled, some forced past a gate, a few moved back from production), 3 to 8
   checkpoints due over its life (done on time, done late, or still open; half the missed ones mitigated; a few
   removed), nudged gaps (closed ones in `closed_gap`, open ones in `nudge_state`, some escalated) and, while in
   development or later with an embedded engineer, one standup prompt a weekday, most answered;
2. for each database, each scope (`all`, and the first channel) and each window (`30d`, `90d`, `quarter`, and
   `since:` two years back), runs `bot.report.compute_report` in a fresh session, counting the statements the
   engine sends (a `before_cursor_execute` listener, keeping their text), then times it `--runs` times (median
   of CPU by `time.process_time` and of wall time), times `bot.blocks.report.render_report` (with the JSON of its
   blocks, as Slack gets them) and `bot.charts.funnel_chart(funnel_of(report))`; the first chart of the process
   is timed apart, as it pays for importing matplotlib;
   with `--postgres-url` (default `$HANDOFF_TEST_POSTGRES_URL`), the same seed and reports again on PostgreSQL, in
   a database of each size created on that server and dropped afterwards (no charts there);
3. prints the statements for both sizes (the same text, whatever the size), the timings, the ratios of the larger
   size to the smaller within this run, and the verdicts, and writes `bench/results/report.json`.

Exit status: 0 when every target passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Engine

from bench.measure import bulk_insert
from bench.versions import code_version
from bot.blocks.report import render_report
from bot.chart_data import FunnelData
from bot.report import Report, ReportScope, compute_report, funnel_of, parse_window
from storage import report as queries
from storage.db import make_engine, session_scope, upgrade_schema
from storage.initiatives import name_key
from storage.models import (
    Checkpoint,
    CheckpointStatus,
    ClosedGap,
    Initiative,
    NudgeState,
    Phase,
    PhaseChange,
    StandupPrompt,
    StandupState,
)

if TYPE_CHECKING:
    from bot.charts import Chart

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "report.json"

TEAM_ID = "T0BENCH01"
SEED = 20261206
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # fixed, so every run reads the same history
HISTORY_DAYS = 730
CHANNELS = [f"C0RP{i:05d}" for i in range(50)]
USERS = [f"U0DS{i:04d}" for i in range(60)]
ENGINEERS = [f"U0EN{i:04d}" for i in range(40)]
WINDOWS = ("30d", "90d", "quarter", f"since:{(NOW.date() - timedelta(days=HISTORY_DAYS)).isoformat()}")
WINDOW_NAMES = {WINDOWS[3]: "2y"}
# Days a stay in each main-line phase lasts (low, high), before the next move.
STAYS = {
    Phase.DISCOVERY: (5, 40),
    Phase.RESEARCH: (10, 70),
    Phase.SUMMARY: (4, 25),
    Phase.DEVELOPMENT: (25, 140),
    Phase.PRODUCTION: (14, 90),
}
MAIN_LINE = [Phase.DISCOVERY, Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT, Phase.PRODUCTION, Phase.MONITORING]
GAP_KEYS = ["doc:model-card", "doc:api-contract", "doc:runbook", "checkpoint-overdue", "kpi-stale", "standup-missed"]
WORDS = ["churn", "fraud", "ranking", "pricing", "forecast", "search", "recsys", "ltv", "eta", "anomaly", "nlp"]
THINGS = ["model", "scorer", "pipeline", "classifier", "uplift model", "embedding service", "dashboard"]

# Targets. Statements: the same text at both sizes. Time: the answer comes after the ack, by response_url, but
# someone is waiting for it; for the whole workspace over two years the figures, text and chart together should
# take well under the few seconds a person waits without wondering.
TARGET_COMPUTE_S = 1.0  # compute_report, all initiatives, two years, at the larger size (median wall)
TARGET_RENDER_MS = 20.0  # render_report + JSON
TARGET_CHART_S = 1.0  # a warm funnel chart
TARGET_FIRST_CHART_S = 3.0  # the first chart of a process, matplotlib's import included
TARGET_ANSWER_S = 2.5  # compute + render + warm chart, all initiatives, two years, at the larger size
TARGET_GROWTH = 1.5  # time ratio larger/smaller at most 1.5x the ratio of rows read: no worse than linear


# ------------------------------------------------------------------------------------------------ the data


def weekdays(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def seed_database(engine: Engine, count: int, rng: random.Random) -> dict[str, int]:
    """`count` initiatives and two years of their history, one bulk insert a table; returns the row counts."""
    start = NOW - timedelta(days=HISTORY_DAYS)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    checkpoint_id = 0
    for number in range(1, count + 1):
        word, thing = WORDS[number % len(WORDS)], THINGS[number % len(THINGS)]
        name = f"{word.capitalize()} {thing} {number}"
        channel = CHANNELS[(number - 1) % len(CHANNELS)]
        lead = rng.choice(USERS)
        engineer = rng.choice(ENGINEERS) if rng.random() < 0.6 else None
        created = start + timedelta(days=rng.uniform(0, HISTORY_DAYS - 3), minutes=rng.randint(0, 600))

        # The phase path: along the main line, sometimes paused then resumed, sometimes cancelled, forced at times.
        changes: list[tuple[str | None, str, datetime, bool]] = [(None, Phase.DISCOVERY.value, created, False)]
        phase, at, index = Phase.DISCOVERY, created, 0
        building_since: datetime | None = None  # when development began: standups run from there
        building_until: datetime | None = None
        while phase is not Phase.MONITORING and phase is not Phase.CANCELLED:
            low, high = STAYS[phase]
            at = at + timedelta(days=rng.uniform(low, high))
            if at >= NOW:
                break
            roll = rng.random()
            if roll < 0.04:
                changes.append((phase.value, Phase.CANCELLED.value, at, False))
                phase = Phase.CANCELLED
                break
            if roll < 0.10:
                changes.append((phase.value, Phase.PAUSED.value, at, False))
                at = at + timedelta(days=rng.uniform(7, 60))
                if at >= NOW:
                    phase = Phase.PAUSED
                    break
                if rng.random() < 0.3:
                    changes.append((Phase.PAUSED.value, Phase.CANCELLED.value, at, False))
                    phase = Phase.CANCELLED
                    break
                changes.append((Phase.PAUSED.value, phase.value, at, False))
                continue
            if phase is Phase.PRODUCTION and roll < 0.13:  # back to development, then on again
                changes.append((phase.value, Phase.DEVELOPMENT.value, at, False))
                phase = Phase.DEVELOPMENT
                continue
            following = MAIN_LINE[MAIN_LINE.index(phase) + 1]
            forced = following in (Phase.DEVELOPMENT, Phase.PRODUCTION) and rng.random() < 0.12
            changes.append((phase.value, following.value, at, forced))
            phase = following
            index += 1
            if phase is Phase.DEVELOPMENT and building_since is None:
                building_since = at
        if building_since is not None:
            building_until = changes[-1][2] if phase in (Phase.CANCELLED, Phase.PAUSED) else NOW
        archived = phase is Phase.CANCELLED and rng.random() < 0.5
        last_move = changes[-1][2]
        rows["initiative"].append(
            {
                "id": number,
                "team_id": TEAM_ID,
                "name": name,
                "name_key": name_key(name),
                "home_channel_id": channel,
                "ds_lead_id": lead,
                "eng_lead_id": rng.choice(USERS),
                "embedded_engineer_id": engineer,
                "phase": phase.value,
                "goal": f"Move {word} metrics by shipping the {thing}.",
                "jira_project_key": "DS",
                "target_date": (created + timedelta(days=rng.randint(120, 400))).date(),
                "ref_key": f"{word}{number}",
                "thread_channel_id": channel,
                "thread_ts": f"{int(created.timestamp())}.{number:06d}",
                "created_by": lead,
                "created_at": created,
                "updated_by": lead,
                "updated_at": last_move,
                "archived": archived,
                "archived_at": last_move + timedelta(days=3) if archived else None,
                "nudges_enabled": True,
            }
        )
        for frm, to, changed_at, forced in changes:
            rows["phase_change"].append(
                {
                    "initiative_id": number,
                    "from_phase": frm,
                    "to_phase": to,
                    "changed_by": lead,
                    "changed_at": changed_at,
                    "note": "Shipped without the runbook; it follows next sprint." if forced else None,
                    "forced": forced,
                    "forced_items": "runbook" if forced else None,
                }
            )

        # Checkpoints due over its life: done on time, done late or still open; half the missed ones mitigated.
        life_days = max(7.0, (min(NOW, last_move + timedelta(days=60)) - created).total_seconds() / 86400)
        for n in range(1, rng.randint(3, 8) + 1):
            checkpoint_id += 1
            due = (created + timedelta(days=rng.uniform(7, life_days + 30))).date()
            past = due < NOW.date()
            fate = rng.random()
            done_at = None
            if past and fate < 0.6:
                done_at = datetime.combine(due, datetime.min.time(), UTC) - timedelta(hours=rng.uniform(2, 24 * 10))
            elif (past and fate < 0.82) or (not past and fate < 0.3):
                done_at = datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=rng.uniform(1, 25))
            if done_at is not None and done_at >= NOW:
                done_at = None
            missed = past and (done_at is None or done_at.date() > due)
            mitigated = missed and rng.random() < 0.5
            removed = rng.random() < 0.03
            owner = rng.choice([lead, engineer or lead, *rng.sample(USERS, 2)])
            rows["checkpoint"].append(
                {
                    "id": checkpoint_id,
                    "initiative_id": number,
                    "number": n,
                    "title": f"Checkpoint {n} of the {thing}",
                    "owner_id": owner,
                    "due_date": due,
                    "status": CheckpointStatus.DONE.value
                    if done_at
                    else rng.choice((CheckpointStatus.OPEN.value, CheckpointStatus.IN_PROGRESS.value)),
                    "done_by": owner if done_at else None,
                    "done_at": done_at,
                    "mitigation": "Scope cut; new date agreed with the PM." if mitigated else None,
                    "mitigated_by": owner if mitigated else None,
                    "mitigated_at": datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=2)
                    if mitigated
                    else None,
                    "created_by": lead,
                    "created_at": created + timedelta(days=n),
                    "updated_by": owner,
                    "updated_at": done_at or created + timedelta(days=n),
                    "removed_by": lead if removed else None,
                    "removed_at": created + timedelta(days=n + 3) if removed else None,
                }
            )

        # Nudged gaps: most closed (kept in closed_gap), the newest perhaps still open in nudge_state.
        open_keys: set[str] = set()
        for _ in range(rng.randint(0, 6)):
            first = created + timedelta(days=rng.uniform(3, max(4.0, (NOW - created).days - 1)))
            if first >= NOW:
                continue
            times = rng.randint(1, 5)
            last = min(first + timedelta(days=times - 1, hours=rng.uniform(0, 2)), NOW - timedelta(hours=1))
            escalated = last if times >= 3 and rng.random() < 0.5 else None
            key = rng.choice(GAP_KEYS)
            closes = first + timedelta(days=rng.uniform(1, 30))
            if closes < NOW and rng.random() < 0.8:
                rows["closed_gap"].append(
                    {
                        "initiative_id": number,
                        "gap_key": key,
                        "times_nudged": times,
                        "first_nudged_at": first,
                        "last_nudged_at": last,
                        "escalated_at": escalated,
                        "closed_at": closes,
                    }
                )
            elif key not in open_keys:
                open_keys.add(key)
                rows["nudge_state"].append(
                    {
                        "initiative_id": number,
                        "gap_key": key,
                        "times_nudged": times,
                        "first_nudged_at": first,
                        "last_nudged_at": last,
                        "escalated_at": escalated,
                    }
                )

        # Standups: one prompt a weekday to the embedded engineer from development on; most answered.
        if engineer is not None and building_since is not None and building_until is not None:
            for day in weekdays(building_since.date() + timedelta(days=1), building_until.date()):
                prompted = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9, minutes=30)
                if prompted >= NOW:
                    break
                answered = prompted + timedelta(minutes=rng.uniform(3, 300)) if rng.random() < 0.78 else None
                if answered is not None and answered >= NOW:
                    answered = None
                state = StandupState.ANSWERED if answered else StandupState.MISSED
                rows["standup_prompt"].append(
                    {
                        "initiative_id": number,
                        "team_id": TEAM_ID,
                        "user_id": engineer,
                        "day": day,
                        "timezone": "UTC",
                        "state": state.value,
                        "prompted_at": prompted,
                        "prompt_channel": f"D{engineer}",
                        "prompt_ts": f"{int(prompted.timestamp())}.{number:06d}",
                        "answered_at": answered,
                        "answers": '{"answers": ["Trained v3", "Evaluate v3", ""], "blockers": []}'
                        if answered
                        else None,
                    }
                )
    tables = {
        "initiative": Initiative,
        "phase_change": PhaseChange,
        "checkpoint": Checkpoint,
        "closed_gap": ClosedGap,
        "nudge_state": NudgeState,
        "standup_prompt": StandupPrompt,
    }
    return bulk_insert(engine, tables, rows)


# ------------------------------------------------------------------------------------------------ measuring


class Statements:
    """The SQL text the engine sends while `recording`."""

    def __init__(self, engine: Engine):
        self.sent: list[str] = []
        self.recording = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.recording:
            self.sent.append(" ".join(statement.split()))


@dataclass(frozen=True)
class Timing:
    cpu_ms: float
    wall_ms: float


def timed(action: Callable[[], Any], runs: int) -> tuple[Timing, Any]:
    """The median CPU and wall milliseconds of `runs` calls, and the last call's result."""
    cpu, wall, result = [], [], None
    for _ in range(runs):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = action()
        cpu.append((time.process_time() - cpu0) * 1000)
        wall.append((time.perf_counter() - wall0) * 1000)
    return Timing(round(statistics.median(cpu), 3), round(statistics.median(wall), 3)), result


def report_of(engine: Engine, scope: ReportScope, window: str) -> Report:
    with session_scope(engine) as session:
        return compute_report(
            session=session,
            team_id=TEAM_ID,
            scope=scope,
            window=parse_window(window, today=NOW.date()),
            now=NOW,
        )


def rendered(report: Report) -> str:
    return json.dumps(render_report(report).as_kwargs())


def chart_png(draw: Callable[[FunnelData], Chart], report: Report) -> bytes:
    return draw(funnel_of(report)).png


def measure_size(engine: Engine, runs: int, chart_runs: int) -> dict[str, Any]:
    from bot.charts import funnel_chart

    statements = Statements(engine)
    cases: dict[str, Any] = {}
    for scope_name, scope in (("all", ReportScope()), ("channel", ReportScope(CHANNELS[0], "ds-churn"))):
        for window in WINDOWS:
            statements.sent.clear()
            statements.recording = True
            report = report_of(engine, scope, window)
            statements.recording = False
            compute, report = timed(partial(report_of, engine, scope, window), runs)
            render, _ = timed(partial(rendered, report), runs)
            chart, png = timed(partial(chart_png, funnel_chart, report), chart_runs) if chart_runs else (None, b"")
            cases[f"{scope_name} {WINDOW_NAMES.get(window, window)}"] = {
                "statements": len(statements.sent),
                "statement_text": list(statements.sent),
                "initiatives": report.initiatives,
                "figures": {
                    "in_funnel": report.funnel.in_funnel,
                    "reached_production": report.funnel.reached_production,
                    "checkpoints_due": report.delivery.due,
                    "gates_entered": sum(g.entered for g in report.readiness),
                    "gaps_nudged": report.follow_through.nudged,
                    "gaps_closed": report.follow_through.closed,
                    "prompts": report.standups.prompted,
                },
                "compute": compute.__dict__,
                "render": render.__dict__,
                "chart": chart.__dict__ if chart else None,
                "png_bytes": len(png) if chart else None,
            }
    return cases


def query_breakdown(engine: Engine, runs: int) -> dict[str, Any]:
    """Each of `compute_report`'s reads for all initiatives over two years: rows returned, median wall ms."""
    window = parse_window(WINDOWS[3], today=NOW.date())
    scope = queries.ScopeFilter(
        team_id=TEAM_ID, channel_id=None, started=datetime.combine(window.since, datetime.min.time(), NOW.tzinfo)
    )
    last = NOW.date() - timedelta(days=1)
    breakdown: dict[str, Any] = {}
    with session_scope(engine) as session:
        reads: dict[str, Callable[[], Sequence[Any]]] = {
            "scope_initiatives": lambda: queries.scope_initiatives(session=session, scope=scope),
            "phase_history": lambda: queries.phase_history(session=session, scope=scope),
            "checkpoints_due": lambda: queries.checkpoints_due(
                session=session, scope=scope, first=window.since, last=last
            ),
            "nudged_gaps (2 statements)": lambda: queries.nudged_gaps(session=session, scope=scope),
            "standup_prompts": lambda: queries.standup_prompts(
                session=session, scope=scope, first=window.since, last=last
            ),
        }
        for name, read in reads.items():
            timing, rows = timed(read, runs)
            if name == "standup_prompts":  # a row of counts an engineer, then a row an answered prompt
                sent = len(rows) + sum(len(engineer.answer_microseconds) for engineer in rows)
            else:
                sent = len(rows)
            breakdown[name] = {"rows": sent, "wall_ms": timing.wall_ms}
    return breakdown


def first_chart(engine: Engine) -> dict[str, Any]:
    """The process's first funnel chart: matplotlib is imported on first use, so this pays for it once."""
    report = report_of(engine, ReportScope(), WINDOWS[1])
    loaded_before = "matplotlib" in sys.modules
    from bot.charts import funnel_chart

    cpu0, wall0 = time.process_time(), time.perf_counter()
    chart = funnel_chart(funnel_of(report))
    return {
        "matplotlib_loaded_before": loaded_before,
        "cpu_ms": round((time.process_time() - cpu0) * 1000, 1),
        "wall_ms": round((time.perf_counter() - wall0) * 1000, 1),
        "png_bytes": len(chart.png),
    }


# ------------------------------------------------------------------------------------------------ output


def ratio(large: float, small: float) -> float:
    return round(large / small, 2) if small else float("inf")


def verdicts(result: dict[str, Any], large: int, small: int) -> list[tuple[str, bool, str]]:
    big, little = result["sizes"][str(large)]["cases"], result["sizes"][str(small)]["cases"]
    same_text, counts = same_statements(result["sizes"], large, small)
    whole = big["all 2y"]
    answer_ms = whole["compute"]["wall_ms"] + whole["render"]["wall_ms"] + whole["chart"]["wall_ms"]
    rows_ratio = result["sizes"][str(large)]["rows_total"] / result["sizes"][str(small)]["rows_total"]
    growth = ratio(whole["compute"]["cpu_ms"], little["all 2y"]["compute"]["cpu_ms"])
    worst_render = max(case["render"]["wall_ms"] for case in big.values())
    worst_chart = max(case["chart"]["wall_ms"] for case in big.values())
    first = result["first_chart"]
    checks = [
        (
            "statements constant in N (same SQL text at both sizes, every case)",
            same_text,
            f"{counts} statements",
        ),
        (
            f"compute, all, two years, {large} initiatives ≤ {TARGET_COMPUTE_S:.1f} s",
            whole["compute"]["wall_ms"] <= TARGET_COMPUTE_S * 1000,
            f"{whole['compute']['wall_ms']:.0f} ms wall, {whole['compute']['cpu_ms']:.0f} ms CPU",
        ),
        (
            f"compute grows no faster than the rows read ({large}/{small}: ≤ {TARGET_GROWTH}x the rows' ratio)",
            growth <= TARGET_GROWTH * rows_ratio,
            f"CPU {growth}x for {rows_ratio:.1f}x the rows",
        ),
        (
            f"render text + JSON ≤ {TARGET_RENDER_MS:.0f} ms",
            worst_render <= TARGET_RENDER_MS,
            f"worst {worst_render:.2f} ms",
        ),
        (
            f"warm funnel chart ≤ {TARGET_CHART_S:.1f} s",
            worst_chart <= TARGET_CHART_S * 1000,
            f"worst {worst_chart:.0f} ms",
        ),
        (
            f"first chart, matplotlib's import included, ≤ {TARGET_FIRST_CHART_S:.1f} s",
            not first["matplotlib_loaded_before"] and first["wall_ms"] <= TARGET_FIRST_CHART_S * 1000,
            f"{first['wall_ms']:.0f} ms wall",
        ),
        (
            f"whole answer (compute + render + warm chart), all, two years, {large} ≤ {TARGET_ANSWER_S:.1f} s",
            answer_ms <= TARGET_ANSWER_S * 1000,
            f"{answer_ms:.0f} ms",
        ),
    ]
    if "postgresql" in result:
        on_postgres, pg_counts = same_statements(result["postgresql"], large, small)
        checks.insert(1, ("PostgreSQL: statements constant in N", on_postgres, f"{pg_counts} statements"))
    return checks


def print_sizes(sizes: dict[str, Any], database: str, large: int, small: int) -> None:
    for size in (small, large):
        entry = sizes[str(size)]
        rows = ", ".join(f"{k} {v:,}" for k, v in entry["rows"].items())
        print(f"\n{database}, {size:,} initiatives (seeded in {entry['seed_s']:.1f} s): {rows}")
        print(f"  {'case':<14} {'stmts':>5} {'scope':>5} {'compute CPU/wall ms':>20} {'render ms':>10} {'chart ms':>9}")
        for name, case in entry["cases"].items():
            compute = f"{case['compute']['cpu_ms']:.1f} / {case['compute']['wall_ms']:.1f}"
            chart = f"{case['chart']['wall_ms']:.0f}" if case["chart"] else "-"
            print(
                f"  {name:<14} {case['statements']:>5} {case['initiatives']:>5} {compute:>20} "
                f"{case['render']['wall_ms']:>10.2f} {chart:>9}"
            )
    print(f"\n{database}: reads of one report, all initiatives, two years (rows, median wall ms):")
    for name, read in sizes[str(large)]["reads_all_2y"].items():
        small_read = sizes[str(small)]["reads_all_2y"][name]
        print(
            f"  {name:<28} {small:>6,}: {small_read['rows']:>7,} rows {small_read['wall_ms']:>8.1f} ms"
            f"   {large:,}: {read['rows']:>7,} rows {read['wall_ms']:>8.1f} ms"
        )
    print(f"\n{database}: ratios {large:,} / {small:,} in this run (compute CPU):")
    big, little = sizes[str(large)]["cases"], sizes[str(small)]["cases"]
    print("  " + ", ".join(f"{n} {ratio(big[n]['compute']['cpu_ms'], little[n]['compute']['cpu_ms'])}x" for n in big))


def same_statements(sizes: dict[str, Any], large: int, small: int) -> tuple[bool, list[int]]:
    """Whether every case sent the same SQL text at both sizes, and the statement counts seen."""
    big, little = sizes[str(large)]["cases"], sizes[str(small)]["cases"]
    same_text = all(big[case]["statement_text"] == little[case]["statement_text"] for case in big)
    counts = sorted({case["statements"] for case in (*big.values(), *little.values())})
    return same_text and len(counts) == 1, counts


def print_result(result: dict[str, Any], large: int, small: int) -> list[tuple[str, bool, str]]:
    machine = result["machine"]
    print(f"\n/handoff report: {machine['cpus']} CPUs, Python {machine['python']}, commit {result['code']}")
    print_sizes(result["sizes"], "SQLite", large, small)
    print(f"\nstatements of one report (the same text for {small:,} and {large:,} initiatives):")
    for sql in result["sizes"][str(large)]["cases"]["all 2y"]["statement_text"]:
        print(f"  - {sql[:150]}{'…' if len(sql) > 150 else ''}")
    if "postgresql" in result:
        print_sizes(result["postgresql"], "PostgreSQL", large, small)
    first = result["first_chart"]
    print(f"\nfirst funnel chart of the process (imports matplotlib): {first['wall_ms']:.0f} ms wall")
    checks = verdicts(result, large, small)
    print()
    for label, passed, detail in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {label}: {detail}")
    return checks


def seeded(engine: Engine, size: int) -> dict[str, Any]:
    """Seeds `size` initiatives into a fresh schema; their row counts and how long it took."""
    upgrade_schema(engine)
    began = time.perf_counter()
    rows = seed_database(engine, size, random.Random(SEED + size))
    return {"rows": rows, "rows_total": sum(rows.values()), "seed_s": round(time.perf_counter() - began, 1)}


def measure_postgres(server: str, sizes: Sequence[int], runs: int) -> dict[str, Any]:
    """The same seed and reports on PostgreSQL, each size in a database of its own, dropped afterwards; no charts
    (they do not depend on the database)."""
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    measured: dict[str, Any] = {}
    try:
        for size in sizes:
            database = f"handoff_bench_report_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
            try:
                engine = make_engine(make_url(server).set(database=database).render_as_string(hide_password=False))
                entry = seeded(engine, size)
                entry["cases"] = measure_size(engine, runs, 0)
                entry["reads_all_2y"] = query_breakdown(engine, runs)
                measured[str(size)] = entry
                engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--initiatives", type=int, default=2000, help="the larger workspace (default 2000)")
    parser.add_argument("--small", type=int, default=200, help="the smaller workspace (default 200)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each case (default 7)")
    parser.add_argument("--quick", action="store_true", help="3 runs a case and 1 chart: a smoke run")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HANDOFF_TEST_POSTGRES_URL"),
        help="also measure on this PostgreSQL server, in databases created and dropped (default "
        "$HANDOFF_TEST_POSTGRES_URL; .ci/postgres.sh starts one)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    chart_runs = 1 if args.quick else 3
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-report-"))
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version().get("commit"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": runs,
        "chart_runs": chart_runs,
        "now": NOW.isoformat(),
        "sizes": {},
    }
    try:
        engines: dict[int, Engine] = {}
        for size in (args.small, args.initiatives):
            engine = make_engine(f"sqlite:///{workdir / f'report-{size}.db'}")
            result["sizes"][str(size)] = seeded(engine, size)
            engines[size] = engine
        result["first_chart"] = first_chart(engines[args.initiatives])
        for size, engine in engines.items():
            result["sizes"][str(size)]["cases"] = measure_size(engine, runs, chart_runs)
            result["sizes"][str(size)]["reads_all_2y"] = query_breakdown(engine, runs)
            engine.dispose()
        if args.postgres_url:
            result["postgresql"] = measure_postgres(args.postgres_url, (args.small, args.initiatives), runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    checks = print_result(result, args.initiatives, args.small)
    result["verdicts"] = [{"target": label, "passed": passed, "detail": detail} for label, passed, detail in checks]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nresults written to {args.output}")
    return 0 if all(passed for _, passed, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
