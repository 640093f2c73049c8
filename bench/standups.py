"""Standup prompts: every embedded engineer prompted at the same minute, against a fake Slack enforcing Slack's limits.

    python -m bench.standups [--quick] [--engineers 1000] [--per-minute 1200] [--workspace-burst 10]

What it does, all in this process and on 127.0.0.1:

1. builds a temporary SQLite database (`upgrade_schema`, then bulk core inserts of `storage.models` tables) with
   `--engineers` active initiatives over 100 home channels, each with a different embedded engineer. Each engineer
   has a cached Slack profile (`slack_user`, read an hour ago, so no `users.info` refresh is due) in one of eight
   time zones (UTC, Berlin, New York, Los Angeles, Kolkata (+5:30), Kathmandu (+5:45), Tokyo, Adelaide), and
   each initiative a `standup_settings` row: every day, at the minute before now *in the engineer's own zone*
   (no pinned zone, so the zone comes from the profile as in production), changed 10 minutes ago. All the local
   times name the same UTC instant, so every prompt is due at once. Every engineer also has answered the last 5
   days (answered prompts and their done `job_run` slots), so the prompt offers "No change since yesterday" and
   the sweep reads a realistic slot history;
2. starts a `FakeSlack` holding every engineer and enforcing Slack's limits on `chat.postMessage`: 1 a second per
   channel (burst 1; every DM is its own channel) and `--per-minute` across the workspace (a bucket of
   `--workspace-burst`, default 10, the fake's own: Slack documents that short bursts are allowed; the app never
   bursts on purpose, the bucket only absorbs jitter between when a post leaves and when it arrives). The real
   app (`bot.app.create_app` with `SystemClock`, real time) is configured with `slack_posts_per_minute` equal to
   the fake's workspace limit, as an operator sets `HANDOFF_SLACK_POSTS_PER_MINUTE` to the workspace's limit;
3. times one `app.standups.run_due()` (claim each prompt's slot and record the prompt, post it as a DM by user id
   through the outbox, record its `ts`), counting the SQL statements the engine sends, each post's
   time in `chat.postMessage`, each pacer wait, and when each post reached the fake's rate limiter;
4. checks that exactly one DM went to each engineer, that every `standup_prompt` row of today has the DM's channel
   and `ts`, and that every slot ended `done`; then runs one more `run_due()` right after, which must post
   nothing. Prints a table and the verdicts, and writes `bench/results/standups.json`.

Why real time and not one virtual clock for the fake and the app: on a shared virtual clock the fake and the pacer
would agree by construction, and the time the sweep spends claiming slots, querying and talking HTTP would not
count at all, so the ratio would be 1.0 whatever the code did. The workspace limit is set high (1,200 a minute
by default, 4x the app's default budget of 300) so that the full run takes about 50 s; a higher rate is the harder
case for the ratio, as the sweep's own overhead is a larger share of each post's 50 ms turn.

Exit status: 0 when every check and target passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bench.digest import Instruments, add_latency, add_posting_arguments
from bench.measure import StatementCounter, percentile
from bench.versions import code_version
from bot import ids
from bot.app import create_app
from bot.clock import SystemClock
from bot.config import Settings
from bot.fake_slack import FakeSlack, FakeUser
from bot.slot_ledger import LEASE, Job
from bot.standups import Answer
from handlers.outbox import senders_for
from storage.db import make_engine, session_scope, upgrade_schema
from storage.initiatives import name_key
from storage.models import (
    Initiative,
    JobRun,
    JobRunState,
    Phase,
    PhaseChange,
    SlackUser,
    StandupPrompt,
    StandupSettings,
    StandupState,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "standups.json"

TEAM_ID = "T0BENCH02"
BOT_TOKEN = "xoxb-bench-standups"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
SEED = 20261126
PER_CHANNEL_PER_SECOND = 1.0  # Slack's chat.postMessage limit per channel; a DM is a channel
BURST = 1
CHANNELS = 100
HISTORY_DAYS = 5
RATIO_TARGET = 1.1
# Every offset a multiple of 15 minutes: one local minute in each names the same UTC minute.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Adelaide",
)
LEADS = [f"U0DL{i:04d}" for i in range(40)]
PHASES = [Phase.DISCOVERY, Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT, Phase.PRODUCTION, Phase.MONITORING]
WORDS = ["churn", "fraud", "ranking", "pricing", "forecast", "search", "recsys", "ltv", "eta", "anomaly", "nlp"]
THINGS = ["model", "scorer", "pipeline", "classifier", "uplift model", "embedding service", "dashboard"]
ANSWERS = (
    "Finished the offline evaluation; shadow traffic next.",
    "Pairing with the DS lead on the feature store join.",
    "Nothing blocking.",
)


# ------------------------------------------------------------------------------------------------ the data


def engineer_ids(count: int) -> list[str]:
    return [f"U0EN{i:05d}" for i in range(count)]


def seed_database(engine: Engine, engineers: Sequence[str], due: datetime, rng: random.Random) -> dict[str, int]:
    """One initiative per engineer, their profiles, standup settings due at `due` in each engineer's zone, and
    `HISTORY_DAYS` answered days before; one bulk insert per table. Returns the row counts."""
    now = due + timedelta(minutes=1)
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in ("initiative", "phase_change", "slack_user", "standup_settings", "standup_prompt", "job_run")
    }
    for number, engineer in enumerate(engineers, start=1):
        word, thing = WORDS[number % len(WORDS)], THINGS[number % len(THINGS)]
        name = f"{word.capitalize()} {thing} {number}"
        channel = f"C0SU{number % CHANNELS:05d}"
        lead = rng.choice(LEADS)
        created = now - timedelta(days=rng.randint(30, 300), minutes=rng.randint(0, 600))
        zone = ZONES[number % len(ZONES)]
        local = due.astimezone(ZoneInfo(zone))
        rows["initiative"].append(
            {
                "id": number,
                "team_id": TEAM_ID,
                "name": name,
                "name_key": name_key(name),
                "home_channel_id": channel,
                "ds_lead_id": lead,
                "eng_lead_id": rng.choice(LEADS),
                "embedded_engineer_id": engineer,
                "phase": rng.choice(PHASES).value,
                "goal": f"Move {word} metrics by shipping the {thing}.",
                "jira_project_key": "DS",
                "target_date": now.date() + timedelta(days=rng.randint(-20, 120)),
                "ref_key": f"{word}{number}",
                "thread_channel_id": channel,
                "thread_ts": f"{int(created.timestamp())}.{number:06d}",
                "created_by": lead,
                "created_at": created,
                "updated_by": lead,
                "updated_at": now - timedelta(days=rng.randint(1, 20)),
                "archived": False,
                "nudges_enabled": True,
            }
        )
        rows["phase_change"].append(
            {
                "initiative_id": number,
                "from_phase": None,
                "to_phase": Phase.DISCOVERY.value,
                "changed_by": lead,
                "changed_at": created,
                "forced": False,
            }
        )
        rows["slack_user"].append(
            {
                "team_id": TEAM_ID,
                "user_id": engineer,
                "name": engineer.lower(),
                "real_name": f"Engineer {number}",
                "tz": zone,
                "is_admin": False,
                "is_owner": False,
                "is_bot": False,
                "deleted": False,
                "fetched_at": now - timedelta(hours=1),  # fresh: no users.info refresh is due
            }
        )
        rows["standup_settings"].append(
            {
                "initiative_id": number,
                "enabled": True,
                "time": local.strftime("%H:%M"),
                "days": "mon,tue,wed,thu,fri,sat,sun",
                "timezone": None,  # the engineer's own zone, from the cached profile
                "questions": None,
                "configured_by": engineer,
                "updated_at": now - timedelta(minutes=10),
            }
        )
        for back in range(1, HISTORY_DAYS + 1):
            day_due = due - timedelta(days=back)
            day = day_due.astimezone(ZoneInfo(zone)).date()
            prompt_ts = f"{int(day_due.timestamp())}.{number:06d}"
            answered = day_due + timedelta(minutes=rng.randint(5, 240))
            rows["standup_prompt"].append(
                {
                    "initiative_id": number,
                    "team_id": TEAM_ID,
                    "user_id": engineer,
                    "day": day,
                    "timezone": zone,
                    "state": StandupState.ANSWERED.value,
                    "prompted_at": day_due,
                    "prompt_channel": f"D0SU{number:07d}",
                    "prompt_ts": prompt_ts,
                    "reminded_at": None,
                    "answered_at": answered,
                    "answers": Answer(ANSWERS, ()).to_json(),
                    "post_channel": channel,
                    "post_ts": f"{int(answered.timestamp())}.{number:06d}",
                }
            )
            rows["job_run"].append(
                {
                    "job": Job.STANDUP.value,
                    "target": f"{TEAM_ID}:{number}:{engineer}",
                    "slot": day.isoformat(),
                    "due_at": day_due,
                    "state": JobRunState.DONE.value,
                    "lease_until": day_due,
                    "holder": None,
                    "attempts": 0,
                    "root_ts": prompt_ts,
                    "parts_posted": 1,
                    "claimed_at": day_due,
                    "finished_at": day_due,
                }
            )
    tables = {
        "initiative": Initiative,
        "phase_change": PhaseChange,
        "slack_user": SlackUser,
        "standup_settings": StandupSettings,
        "standup_prompt": StandupPrompt,
        "job_run": JobRun,
    }
    with engine.begin() as connection:
        for name, model in tables.items():
            connection.execute(insert(model.__table__), rows[name])  # type: ignore[attr-defined]
    return {name: len(rows[name]) for name in tables}


def make_settings(fake: FakeSlack, database_url: str, per_minute: int) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=database_url,
        timezone="UTC",
        log_level="WARNING",
        # Due a minute ago: a run just after local midnight in some zone would otherwise find it "yesterday's".
        catch_up_within=timedelta(minutes=30),
        slack_posts_per_minute=per_minute,  # the app's budget is the workspace's limit
    )


# ------------------------------------------------------------------------------------------------ the run


def run(
    engineers: int, per_minute: int, workspace_burst: int, latency_ms: float, senders: int | None, workdir: Path
) -> dict[str, Any]:
    rng = random.Random(SEED)
    problems: list[str] = []
    people = engineer_ids(engineers)
    # Due at the start of the minute before now: the sweep runs within the minute after, as the scheduler's does.
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    path = workdir / "standups.db"
    engine = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    upgrade_schema(engine)
    counts = seed_database(engine, people, due, rng)
    seed_s = time.perf_counter() - started
    print(
        f"seeded {engineers:,} initiatives and engineers in {len(ZONES)} time zones, all due at "
        f"{due:%H:%M} UTC ({counts['standup_prompt']:,} answered days of history) in {seed_s:.1f}s",
        flush=True,
    )
    counter = StatementCounter(engine)
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID)
    zone_of = {}
    for number, engineer in enumerate(people, start=1):
        zone_of[engineer] = ZONES[number % len(ZONES)]
        fake.add_user(FakeUser(engineer, engineer.lower(), real_name=f"Engineer {number}", tz=zone_of[engineer]))
    rate = per_minute / 60.0
    with fake:
        app = create_app(make_settings(fake, f"sqlite:///{path}", per_minute), engine=engine, clock=SystemClock())
        assert app.standups is not None
        if latency_ms:
            add_latency(app, latency_ms / 1000)
        instruments = Instruments()
        instruments.install(app)  # after the latency, so the time in chat.postMessage includes it
        assert app.jobs is not None
        app.jobs.outbox.senders = senders or app.jobs.outbox.senders
        arrivals: list[float] = []

        def rate_clock() -> float:  # the fake reads it once for each chat.postMessage it rate-limits, in order
            arrivals.append(time.monotonic())
            return arrivals[-1]

        fake.enforce_rate_limits(
            PER_CHANNEL_PER_SECOND,
            BURST,
            clock=rate_clock,
            workspace_per_minute=per_minute,
            workspace_burst=workspace_burst,
        )
        counter.reset()
        t0 = time.perf_counter()
        m0 = time.monotonic()
        report = app.standups.run_due()
        wall_s = time.perf_counter() - t0
        statements = counter.snapshot()
        calls = fake.calls_to("chat.postMessage")
        delivery = summarize_delivery(
            engineers=engineers,
            rate=rate,
            workspace_burst=workspace_burst,
            t0=t0,
            m0=m0,
            wall_s=wall_s,
            statements=statements,
            rate_limited=fake.rate_limited,
            calls=calls,
            arrivals=arrivals,
            instruments=instruments,
            report=report,
            problems=problems,
        )
        delivery["other_slack_calls"] = dict(
            Counter(c.method for c in fake.calls if c.method != "chat.postMessage").most_common()
        )
        if set(delivery["other_slack_calls"]) - {"auth.test"}:  # the client's own; no users.info, no conversations.open
            problems.append(f"Slack calls besides chat.postMessage: {delivery['other_slack_calls']}")
        recorded = check_records(engine, fake, people, calls, problems)
        print(
            f"delivered {delivery['dms_delivered']:,} prompts in {wall_s:.2f}s (lower bound "
            f"{delivery['lower_bound_s']:.2f}s, ratio {delivery['ratio_to_lower_bound']}x), "
            f"{delivery['rate_limited_429']} 429s",
            flush=True,
        )

        # ---- an idle sweep right after: nothing is due, nothing may be posted
        instruments.reset()
        fake.reset()
        counter.reset()
        t1 = time.perf_counter()
        idle_report = app.standups.run_due()
        idle = {
            "wall_s": round(time.perf_counter() - t1, 3),
            "statements": counter.snapshot(),
            "slack_calls": len(fake.calls),
            "posts": len(fake.calls_to("chat.postMessage")),
            "posted": len(idle_report.posted),
            "skipped": len(idle_report.skipped),
            "failed": len(idle_report.failed),
            "retrying": len(idle_report.retrying),
        }
        if idle["slack_calls"] or idle["posted"] or idle["skipped"] or idle["failed"] or idle["retrying"]:
            problems.append(f"the sweep right after the prompts did something: {idle}")
        # The sweep's fixed statements (what the idle sweep sends) aside, what each prompt costs.
        net = statements["total"] - idle["statements"]["total"]
        delivery["statements_per_prompt"] = round(statements["total"] / max(1, engineers), 2)
        delivery["statements_per_prompt_net"] = round(net / max(1, engineers), 2)
        delivery["statement_kinds_per_prompt"] = {
            k: round(v / max(1, engineers), 2) for k, v in statements.items() if k != "total"
        }
        app.executor.shutdown(wait=False)
    engine.dispose()
    return {
        "engineers": engineers,
        "zones": dict(Counter(zone_of.values()).most_common()),
        "due_utc": due.isoformat(),
        "rows": counts,
        "seed_s": round(seed_s, 2),
        "delivery": delivery,
        "records": recorded,
        "idle_sweep": idle,
        "problems": problems,
    }


def summarize_delivery(
    *,
    engineers: int,
    rate: float,
    workspace_burst: int,
    t0: float,
    m0: float,
    wall_s: float,
    statements: dict[str, Any],
    rate_limited: int,
    calls: list[Any],
    arrivals: list[float],
    instruments: Instruments,
    report: Any,
    problems: list[str],
) -> dict[str, Any]:
    ok = [c for c in calls if c.status == 200 and c.response.get("ok")]
    per_user = Counter(str(c.args.get("channel")) for c in ok)
    dm_channels = Counter(str(c.response.get("channel")) for c in ok)
    threaded = sum(1 for c in ok if c.args.get("thread_ts"))
    # Every engineer answered yesterday, so every prompt offers the one-tap repeat.
    with_repeat = sum(1 for c in ok if ids.ACTION_STANDUP_SAME in json.dumps(c.args.get("blocks")))
    if with_repeat != len(ok):
        problems.append(f"{len(ok) - with_repeat} prompts lack the 'No change since yesterday' button")
    if len(ok) != engineers or len(per_user) != engineers or max(per_user.values(), default=0) != 1:
        twice = [u for u, n in per_user.items() if n > 1][:5]
        problems.append(f"{len(ok)} DMs to {len(per_user)} engineers (want {engineers} to {engineers}); twice: {twice}")
    if len(dm_channels) != len(ok) or any(not c.startswith("D") for c in dm_channels):
        problems.append(f"{len(ok)} DMs landed in {len(dm_channels)} DM channels")
    if threaded:
        problems.append(f"{threaded} prompts were posted in a thread")
    for what in ("failed", "retrying", "skipped"):
        if getattr(report, what):
            problems.append(f"run_due {what}: {getattr(report, what)[:5]}")
    if len(report.posted) != engineers:
        problems.append(f"run_due reported {len(report.posted)} deliveries posted, want {engineers}")
    posts = sorted(instruments.posts, key=lambda p: p.started)
    # Arrivals at the fake's rate limiter, 429s included: what the workspace limit judges.
    spacing = 1.0 / rate
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    lower_bound = (engineers - 1) / rate  # every DM is its own channel: only the workspace limit binds
    burst_bound = max(0, engineers - workspace_burst) / rate  # what a full bucket of `workspace_burst` allows
    send_s = sum(p.ended - p.started for p in posts)
    waits = sum(instruments.waits)
    first_post = (posts[0].started - t0) if posts else None
    last_delivered = (posts[-1].ended - t0) if posts else None
    span = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return {
        "dms_delivered": len(ok),
        "engineers_with_a_dm": len(per_user),
        "dm_channels": len(dm_channels),
        "with_repeat_button": with_repeat,
        "chat_post_message_calls": len(calls),
        "rate_limited_429": rate_limited,
        "wall_s": round(wall_s, 3),
        "workspace_per_second": round(rate, 3),
        "lower_bound_s": round(lower_bound, 3),
        "ratio_to_lower_bound": round(wall_s / lower_bound, 3) if lower_bound else None,
        # The sweep from its start until it returned, every prompt delivered, against the bound.
        "delivery_ratio": round(wall_s / lower_bound, 3) if lower_bound else None,
        "lower_bound_with_burst_s": round(burst_bound, 3),
        "ratio_to_lower_bound_with_burst": round(wall_s / burst_bound, 3) if burst_bound else None,
        "over_lower_bound_s": round(wall_s - lower_bound, 3),
        # wall time = before the first post (read the plans, claim each slot and record each prompt)
        # + in chat.postMessage + pacer waits + the rest (picking the next delivery, recording each post)
        "first_post_after_s": round(first_post, 3) if first_post is not None else None,
        "last_delivered_after_s": round(last_delivered, 3) if last_delivered is not None else None,
        "after_last_delivery_s": round(wall_s - last_delivered, 3) if last_delivered is not None else None,
        "posting_span_at_fake_s": round(span, 3),
        "posting_span_ratio": round(span / lower_bound, 3) if lower_bound else None,
        "send_s": round(send_s, 3),
        "send_ms_per_post": round(send_s * 1000 / max(1, len(posts)), 3),
        "pacer_wait_s": round(waits, 3),
        "pacer_waits": sum(1 for w in instruments.waits if w > 0),
        "other_s": round(wall_s - (first_post or 0.0) - send_s - waits, 3),
        "gap_at_fake_ms": {
            "spacing": round(spacing * 1000, 3),
            "min": round(min(gaps) * 1000, 3) if gaps else None,
            "p50": round(statistics.median(gaps) * 1000, 3) if gaps else None,
            "p99": round(percentile(gaps, 99) * 1000, 3) if gaps else None,
            "max": round(max(gaps) * 1000, 3) if gaps else None,
            "under_spacing": sum(1 for g in gaps if g < spacing),
        },
        "first_arrival_after_s": round(arrivals[0] - m0, 3) if arrivals else None,
        "lease_s": LEASE.total_seconds(),
        "statements": statements,
        "posted": len(report.posted),
        "skipped": len(report.skipped),
        "failed": len(report.failed),
        "retrying": len(report.retrying),
    }


def check_records(
    engine: Engine, fake: FakeSlack, people: Sequence[str], calls: list[Any], problems: list[str]
) -> dict[str, Any]:
    """Every prompt row of the run has the DM's channel and ts; every slot of the run is done."""
    sent = {str(c.args.get("channel")): c.response for c in calls if c.status == 200 and c.response.get("ok")}
    with session_scope(engine) as session:
        prompts = session.execute(
            select(StandupPrompt.user_id, StandupPrompt.state, StandupPrompt.prompt_channel, StandupPrompt.prompt_ts)
            .where(StandupPrompt.state != StandupState.ANSWERED.value)
            .order_by(StandupPrompt.id)
        ).all()
        runs = Counter(
            (job, state)
            for job, state in session.execute(
                select(JobRun.job, JobRun.state).where(JobRun.claimed_at > datetime.now(UTC) - timedelta(hours=1))
            ).all()
        )
    with_ts = matching = 0
    for user, state, channel, ts in prompts:
        with_ts += ts is not None
        response = sent.get(user)
        good = (
            state == StandupState.PROMPTED.value
            and response is not None
            and ts == response.get("ts")
            and channel == response.get("channel") == fake.dm_channel_id(user)
        )
        matching += good
    users = Counter(user for user, *_ in prompts)
    if len(prompts) != len(people) or set(users) != set(people) or max(users.values(), default=0) != 1:
        problems.append(f"{len(prompts)} new standup_prompt rows for {len(users)} engineers, want {len(people)}")
    if with_ts != len(people) or matching != len(people):
        problems.append(f"{with_ts} prompts with a ts, {matching} matching the DM Slack took, want {len(people)}")
    if runs != Counter({(Job.STANDUP.value, JobRunState.DONE.value): len(people)}):
        problems.append(f"job runs of the sweep: {dict(runs)}, want {len(people)} standup slots done")
    return {
        "prompt_rows": len(prompts),
        "with_prompt_ts": with_ts,
        "matching_the_dm": matching,
        "job_runs": {f"{job} {state}": n for (job, state), n in sorted(runs.items())},
    }


# ------------------------------------------------------------------------------------------------ verdicts


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    d, r, i, n = result["delivery"], result["records"], result["idle_sweep"], result["engineers"]

    def add(name: str, target: str, measured: str, ok: bool) -> None:
        out.append({"name": name, "target": target, "measured": measured, "pass": ok})

    add(
        "one_dm_each",
        f"exactly {n:,} DMs, one per engineer, and {n:,} standup_prompt rows with the DM's channel and ts",
        f"{d['dms_delivered']:,} DMs to {d['engineers_with_a_dm']:,} engineers in {d['dm_channels']:,} DM channels; "
        f"{r['prompt_rows']:,} rows, {r['with_prompt_ts']:,} with prompt_ts, {r['matching_the_dm']:,} matching; "
        f"slots {r['job_runs']}",
        d["dms_delivered"] == d["engineers_with_a_dm"] == d["dm_channels"] == n
        and r["prompt_rows"] == r["with_prompt_ts"] == r["matching_the_dm"] == n
        and not result["problems"],
    )
    add(
        "no_429",
        "no 429s (sends are paced under 1 a second a channel and the workspace limit)",
        str(d["rate_limited_429"]),
        not d["rate_limited_429"],
    )
    add(
        "ratio",
        f"time until every prompt is delivered ≤ {RATIO_TARGET}x the lower bound the limits allow "
        f"((N-1) / {d['workspace_per_second']:g} a second = {d['lower_bound_s']:.2f}s)",
        f"{d['wall_s']:.2f}s, {d['delivery_ratio']}x",
        d["delivery_ratio"] is not None and d["delivery_ratio"] <= RATIO_TARGET,
    )
    add(
        "idle_sweep",
        "the sweep right after sends nothing and claims nothing",
        f"{i['slack_calls']} Slack calls, {i['posted']} posted, {i['skipped']} skipped, "
        f"{i['statements']['total']} statements, {i['wall_s']:.2f}s",
        not (i["slack_calls"] or i["posted"] or i["skipped"] or i["failed"] or i["retrying"]),
    )
    return out


def observations(result: dict[str, Any]) -> list[str]:
    d, i = result["delivery"], result["idle_sweep"]
    g = d["gap_at_fake_ms"]
    return [
        f"wall {d['wall_s']:.2f}s = before the first post {d['first_post_after_s']:.2f}s + in chat.postMessage "
        f"{d['send_s']:.2f}s ({d['send_ms_per_post']:.2f} ms a post) + pacer waits {d['pacer_wait_s']:.2f}s + the "
        f"rest {d['other_s']:.2f}s; the last DM was taken {d['last_delivered_after_s']:.2f}s after the sweep began",
        f"posting alone (first to last arrival at the fake) took {d['posting_span_at_fake_s']:.2f}s, "
        f"{d['posting_span_ratio']}x the bound; gaps between arrivals {g['min']}/{g['p50']}/{g['p99']}/{g['max']} ms "
        f"(min/p50/p99/max) for a spacing of {g['spacing']} ms, {g['under_spacing']} under it",
        f"against the bound a full workspace bucket allows ((N - {result['config']['workspace_burst']}) / rate = "
        f"{d['lower_bound_with_burst_s']:.2f}s): {d['ratio_to_lower_bound_with_burst']}x",
        f"statements: {d['statements']['total']:,} in the sweep, {d['statements_per_prompt']} a prompt "
        f"({d['statements_per_prompt_net']} without the idle sweep's {i['statements']['total']}); by kind a prompt "
        f"{d['statement_kinds_per_prompt']}; other Slack calls {d['other_slack_calls'] or 'none'}",
    ]


# ------------------------------------------------------------------------------------------------ report


def print_report(report: dict[str, Any]) -> None:
    code, result = report["code"], report["result"]
    d, i = result["delivery"], result["idle_sweep"]
    print()
    print(
        f"{report['date']}, commit {code['commit']}"
        + (" (product code modified since)" if code["modified"] else "")
        + f", {report['machine']['cpus']} CPUs, Python {report['machine']['python']}"
    )
    c = report["config"]
    print(
        f"\nOne run_due() sweep: {result['engineers']:,} engineers due at {result['due_utc'][11:16]} UTC; fake Slack "
        f"at {c['per_channel_per_second']:g} chat.postMessage/s per channel (burst {c['burst']}) and "
        f"{c['workspace_per_minute']:,}/min across the workspace (burst {c['workspace_burst']}); "
        f"app budget {c['slack_posts_per_minute']:,}/min"
        + (f"; {c['latency_ms']:g} ms of network latency a post" if c["latency_ms"] else "")
    )
    header = (
        f"{'DMs':>6} {'429s':>5} {'wall s':>7} {'bound s':>8} {'ratio':>6} {'1st post s':>10} {'last DM s':>9} "
        f"{'send s':>7} {'ms/post':>8} {'wait s':>7} {'min gap ms':>10} {'SQL':>6} {'SQL/prompt':>10}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{d['dms_delivered']:>6,} {d['rate_limited_429']:>5} {d['wall_s']:>7.2f} {d['lower_bound_s']:>8.2f} "
        f"{d['ratio_to_lower_bound'] or 0:>5.3f}x {d['first_post_after_s'] or 0:>10.2f} "
        f"{d['last_delivered_after_s'] or 0:>9.2f} {d['send_s']:>7.2f} {d['send_ms_per_post']:>8.2f} "
        f"{d['pacer_wait_s']:>7.2f} {d['gap_at_fake_ms']['min'] or 0:>10.3f} {d['statements']['total']:>6,} "
        f"{d['statements_per_prompt']:>10}"
    )
    print(
        "(bound: (N-1) / the workspace rate, every DM being its own channel; 1st post / last DM: seconds after the "
        "sweep began; send: time in chat.postMessage; min gap: between two arrivals at the fake)"
    )
    print(
        f"  idle sweep right after: {i['wall_s']:.2f}s, {i['statements']['total']} statements, "
        f"{i['slack_calls']} Slack calls; slots {result['records']['job_runs']}"
    )
    print()
    for target in report["targets"]:
        print(f"{'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['measured']}")
    for line in report["observations"]:
        print(f"INFO  {line}")
    for problem in result["problems"][:20]:
        print(f"problem: {problem}")
    print(f"\nresults written to {report['output']}")


# ------------------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.standups", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 engineers")
    parser.add_argument("--engineers", type=int, default=None, help="embedded engineers (default 1000)")
    parser.add_argument(
        "--per-minute",
        type=int,
        default=1200,
        help="the fake's workspace limit and the app's slack_posts_per_minute (default 1200)",
    )
    parser.add_argument(
        "--workspace-burst",
        type=int,
        default=10,
        help="the fake's workspace bucket (default 10, the fake's own: Slack allows short bursts); 1 is strict",
    )
    add_posting_arguments(parser)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    engineers = args.engineers or (100 if args.quick else 1000)
    logging.basicConfig(level=logging.ERROR)

    started_at = datetime.now(UTC)
    code = code_version()
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-standups-"))
    try:
        result = run(engineers, args.per_minute, args.workspace_burst, args.latency_ms, args.senders, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    config = {
        "engineers": engineers,
        "per_channel_per_second": PER_CHANNEL_PER_SECOND,
        "burst": BURST,
        "workspace_per_minute": args.per_minute,
        "workspace_burst": args.workspace_burst,
        "slack_posts_per_minute": args.per_minute,
        "latency_ms": args.latency_ms,
        "senders": args.senders or senders_for(args.per_minute),
        "clock": "SystemClock (real time) for the app and the fake",
    }
    result["config"] = config
    verdicts = targets(result)
    report: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "code": code,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": config,
        "result": result,
        "targets": verdicts,
        "observations": observations(result),
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    return 1 if result["problems"] or not all(t["pass"] for t in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
