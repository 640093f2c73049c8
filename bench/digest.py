"""Daily digests: composition cost per channel, and delivering every channel's digest to a rate-limited fake Slack.

    python -m bench.digest [--quick] [--channels 500] [--initiatives 2000] [--small 200]

What it does, on 127.0.0.1, the fake Slack in a process of its own (`--fake-in-process`: beside the app):

1. builds two temporary SQLite databases (`upgrade_schema`, then bulk core inserts of `storage.models` tables)
   over the same `--channels` channels: one with `--initiatives` active initiatives, one with `--small`. The
   spread is uneven: most channels are home to 2 to 5 initiatives, a few to 40 to 80 (their digests need thread
   continuations); the smaller database leaves most channels without initiatives. Every initiative has 3 to 6
   checkpoints (some overdue, with or without a mitigation; some linked to Jira), docs, one KPI with readings,
   phase history, and some Jira status changes; about a third have news from the last 20 hours. Times are
   relative to the wall clock at start, so the real `SystemClock` sees them as recent;
2. for each database, starts a `FakeSlack` holding every channel (in a spawned process, as Slack's CPU is not the
   app's) and builds the real app (`bot.app.create_app` with `SystemClock`), then, for every channel
   `scheduled_channels` lists:
   - *composition*: `bot.digest.compose_digest` (with the arguments `JobRunner` gives it) in its own session,
     timed, counting the SQL statements the engine sends (a `before_cursor_execute` listener); then
     `render_digest`, timed; then `app.jobs.preview(Job.DIGEST, plan)` (compose + render, as `digest preview`
     does), timed and counted, whose messages are what delivery must post;
   - *delivery*: every channel gets a `ChannelSettings` row (every day, in UTC, a minute before now, nudges
     off, so only digests are due); the fake enforces 1 `chat.postMessage` a second per channel (burst 1), and
     one `app.jobs.run_due()` (the scheduler's sweep: claim each slot, compose, post, record) is timed. The bot's
     `chat_postMessage` and pacer are wrapped to time each call and each wait;
   - *idle sweep*: one more `run_due()` right after, which must post nothing;
3. checks that every channel got exactly its preview's messages (one root, the rest in the root's thread), that
   every slot ended `done`, counts 429s, prints a table and the targets, and writes `bench/results/digest.json`.

Exit status: 0 when every check and target passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
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
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from bench.measure import StatementCounter, bulk_insert, percentile
from bench.versions import code_version
from bot.app import HandoffApp, create_app
from bot.blocks.digest import render_digest
from bot.channel_settings import ChannelPlan, scheduled_channels
from bot.clock import SystemClock
from bot.config import JiraAuth, JiraSettings, Settings
from bot.digest import ChannelDigest
from bot.fake_slack import FakeChannel, FakeSlack, FakeUser, RecordedCall
from bot.slot_ledger import LEASE, Job
from handlers.outbox import senders_for
from storage.db import make_engine, session_scope, upgrade_schema
from storage.initiatives import name_key
from storage.models import (
    ChannelSettings,
    ChecklistEntry,
    Checkpoint,
    CheckpointStatus,
    HandoffDoc,
    Initiative,
    JiraStatusChange,
    JobRun,
    Kpi,
    KpiReading,
    Phase,
    PhaseChange,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "digest.json"

TEAM_ID = "T0BENCH01"
BOT_TOKEN = "xoxb-bench-digest"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
JIRA_URL = "https://jira.example.com"  # only for the links the digest renders; no Jira is called
SEED = 20261125
PER_CHANNEL_PER_SECOND = 1.0  # the fake's limit, and Slack's for chat.postMessage
BURST = 1
POSTS_PER_MINUTE = 6000  # the app's workspace budget: the most `HANDOFF_SLACK_POSTS_PER_MINUTE` accepts
# What a thread continuation costs on its own: booking its turn (lock both turns, move both) and, once it is back,
# pushing both turns and recording progress on the claim. Counted exactly, so that a channel's own statements
# (claim, compose, the first part's booking and record, completing the slot) compare at both sizes whatever share of
# channels continue in a thread.
CONTINUATION_STATEMENTS = 5
LOCK_TURNS = "INSERT INTO posting_turn"  # a booking's first statement; a booking that waits first sends it twice
DELIVERY_RATIO_TARGET = 1.2  # at the larger size: every digest delivered within 1.2x the lower bound

USERS = [f"U0DS{i:04d}" for i in range(40)]
PHASES = [
    (Phase.DISCOVERY, 10),
    (Phase.RESEARCH, 15),
    (Phase.SUMMARY, 10),
    (Phase.DEVELOPMENT, 30),
    (Phase.PRODUCTION, 20),
    (Phase.MONITORING, 10),
    (Phase.PAUSED, 5),
]
WORDS = ["churn", "fraud", "ranking", "pricing", "forecast", "search", "recsys", "ltv", "eta", "anomaly", "nlp"]
THINGS = ["model", "scorer", "pipeline", "classifier", "uplift model", "embedding service", "dashboard"]
CHECKPOINT_TITLES = [
    "Backfill training data",
    "Offline evaluation on holdout",
    "Shadow deployment",
    "Feature store integration",
    "Latency budget sign-off",
    "A/B test readout",
    "Drift alerts wired",
    "Model card review",
]
# Docs an initiative has, before a random 0 to 2 more: the further along, the more.
DOCS_BY_PHASE = {
    Phase.DISCOVERY: 0,
    Phase.RESEARCH: 0,
    Phase.SUMMARY: 1,
    Phase.DEVELOPMENT: 2,
    Phase.PRODUCTION: 3,
    Phase.MONITORING: 4,
    Phase.PAUSED: 1,
}
DOC_KINDS = ["ds-summary", "api-contract", "model-card", "dependencies", "privacy-review", "runbook"]
KPIS = [("Precision@10", ">=", 0.8, None), ("p95 latency", "<=", 120.0, "ms"), ("Weekly churn", "<=", 3.5, "%")]
MITIGATION = "Scope cut to the top 3 markets; new date agreed with the PM."
JIRA_FLOW = [("To Do", "new"), ("In Progress", "indeterminate"), ("In Review", "indeterminate"), ("Done", "done")]


# ------------------------------------------------------------------------------------------------ plumbing


def spread_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(statistics.median(ms), 3),
        "p95": round(percentile(ms, 95), 3),
        "max": round(max(ms), 3),
        "mean": round(statistics.fmean(ms), 3),
    }


# ------------------------------------------------------------------------------------------------ the data


def channel_ids(count: int) -> list[str]:
    return [f"C0DG{i:05d}" for i in range(count)]


def layout(channels: list[str], total: int, big: Sequence[int], rng: random.Random) -> dict[str, int]:
    """How many initiatives call each channel home: `big` channels with the given counts, the rest 2 to 5 each
    (all of them when the total allows, else as many as it takes)."""
    order = channels[:]
    rng.shuffle(order)
    sizes = dict(zip(order, big, strict=False))
    rest, remaining = order[len(big) :], total - sum(big)
    if remaining < 0:
        raise ValueError(f"{total} initiatives cannot fill channels of {list(big)}")
    if 2 * len(rest) <= remaining <= 5 * len(rest):
        small = [rng.choice((2, 3, 3, 4, 5)) for _ in rest]
        while sum(small) > remaining:
            i = rng.randrange(len(small))
            small[i] -= small[i] > 2
        while sum(small) < remaining:
            i = rng.randrange(len(small))
            small[i] += small[i] < 5
    elif remaining < 2 * len(rest):
        small = []
        while sum(small) < remaining:
            small.append(min(rng.choice((2, 3, 3, 4, 5)), remaining - sum(small)))
        if len(small) > 1 and small[-1] < 2:
            last = small.pop()
            small[-1] += last
    else:
        raise ValueError(f"{total} initiatives need more than 5 a channel over {len(channels)} channels")
    sizes.update((channel, n) for channel, n in zip(rest, small, strict=False) if n)
    return dict(sorted(sizes.items()))


def recent(now: datetime, rng: random.Random) -> datetime:
    """News for the digest: within the last 20 hours (clear of the 24-hour "since" boundary)."""
    return now - timedelta(minutes=rng.randint(30, 20 * 60))


def old(now: datetime, rng: random.Random, low: int = 3, high: int = 30) -> datetime:
    return now - timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 600))


def seed_database(engine: Engine, sizes: dict[str, int], now: datetime, rng: random.Random) -> dict[str, int]:
    """Every initiative and what hangs off it, in one bulk insert per table; returns the row counts."""
    today = now.date()
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    number = 0
    checkpoint_id = 0
    for channel, count in sizes.items():
        for _ in range(count):
            number += 1
            word, thing = WORDS[number % len(WORDS)], THINGS[number % len(THINGS)]
            name = f"{word.capitalize()} {thing} {number}"
            phase = rng.choices([p for p, _ in PHASES], weights=[w for _, w in PHASES])[0]
            created = now - timedelta(days=rng.randint(40, 300), minutes=rng.randint(0, 600))
            active = rng.random() < 0.35
            ds_lead = rng.choice(USERS)
            rows["initiative"].append(
                {
                    "id": number,
                    "team_id": TEAM_ID,
                    "name": name,
                    "name_key": name_key(name),
                    "home_channel_id": channel,
                    "ds_lead_id": ds_lead,
                    "eng_lead_id": rng.choice([*USERS, None]),
                    "embedded_engineer_id": rng.choice([None, None, rng.choice(USERS)]),
                    "phase": phase.value,
                    "goal": f"Move {word} metrics by shipping the {thing}.",
                    "jira_project_key": "DS",
                    "jira_epic_key": f"DS-{number}" if rng.random() < 0.5 else None,
                    "target_date": today + timedelta(days=rng.randint(-20, 120)),
                    "ref_key": f"{word}{number}",
                    "thread_channel_id": channel,
                    "thread_ts": f"{int(created.timestamp())}.{number:06d}",
                    "created_by": ds_lead,
                    "created_at": created,
                    "updated_by": ds_lead,
                    "updated_at": recent(now, rng) if active else old(now, rng),
                    "archived": False,
                    "nudges_enabled": True,
                }
            )
            rows["phase_change"].append(
                {
                    "initiative_id": number,
                    "from_phase": None,
                    "to_phase": Phase.DISCOVERY.value,
                    "changed_by": ds_lead,
                    "changed_at": created,
                    "forced": False,
                }
            )
            if phase is not Phase.DISCOVERY:
                forced = rng.random() < 0.1
                rows["phase_change"].append(
                    {
                        "initiative_id": number,
                        "from_phase": Phase.DISCOVERY.value,
                        "to_phase": phase.value,
                        "changed_by": ds_lead,
                        "changed_at": recent(now, rng) if active and rng.random() < 0.3 else old(now, rng, 3, 35),
                        "note": "Accepted without the API contract; it follows next sprint." if forced else None,
                        "forced": forced,
                        "forced_items": "api-contract" if forced else None,
                    }
                )
            # Checkpoints: some done, some overdue (half of those with a mitigation), the rest ahead.
            for n in range(1, rng.randint(3, 6) + 1):
                checkpoint_id += 1
                due = today + timedelta(days=rng.randint(-30, 45))
                done = due < today - timedelta(days=7) and rng.random() < 0.6
                overdue = not done and due < today
                mitigated = overdue and rng.random() < 0.5
                linked = rng.random() < 0.4
                jira_status, category = JIRA_FLOW[3] if done else rng.choice(JIRA_FLOW[:3])
                owner = rng.choice(USERS)
                touched = recent(now, rng) if active and rng.random() < 0.3 else old(now, rng, 3, 40)
                rows["checkpoint"].append(
                    {
                        "id": checkpoint_id,
                        "initiative_id": number,
                        "number": n,
                        "title": f"{rng.choice(CHECKPOINT_TITLES)} ({word})",
                        "owner_id": owner,
                        "due_date": due,
                        "status": CheckpointStatus.DONE.value
                        if done
                        else rng.choice((CheckpointStatus.OPEN.value, CheckpointStatus.IN_PROGRESS.value)),
                        "done_by": owner if done else None,
                        "done_at": old(now, rng, 3, 20) if done else None,
                        "mitigation": MITIGATION if mitigated else None,
                        "mitigated_by": owner if mitigated else None,
                        "mitigated_at": old(now, rng, 1, 5) if mitigated else None,
                        "jira_key": f"DS-{10_000 + checkpoint_id}" if linked else None,
                        "jira_summary": f"{word} checkpoint {n}" if linked else None,
                        "jira_status": jira_status if linked else None,
                        "jira_status_category": category if linked else None,
                        "jira_assignee": "Ann Lee" if linked else None,
                        "jira_updated_at": old(now, rng, 3, 20) if linked else None,
                        "created_by": ds_lead,
                        "created_at": created + timedelta(days=n),
                        "updated_by": owner,
                        "updated_at": touched,
                    }
                )
                if linked and rng.random() < 0.45:  # a status change since the previous digest, or an older one
                    frm, to = rng.sample(JIRA_FLOW, 2)
                    rows["jira_status_change"].append(
                        {
                            "checkpoint_id": checkpoint_id,
                            "issue_key": f"DS-{10_000 + checkpoint_id}",
                            "summary": f"{word} checkpoint {n}",
                            "from_status": frm[0],
                            "to_status": to[0],
                            "to_category": to[1],
                            "changed_at": recent(now, rng) if rng.random() < 0.6 else old(now, rng, 2, 10),
                            "checkpoint_effect": "done" if to[1] == "done" else None,
                            "claimed_at": None,
                            "posted_at": now - timedelta(minutes=20),
                        }
                    )
            # Docs: more the further along it is; one in ten was removed since.
            for kind in rng.sample(DOC_KINDS, min(len(DOC_KINDS), DOCS_BY_PHASE[phase] + rng.randint(0, 2))):
                added = recent(now, rng) if active and rng.random() < 0.2 else old(now, rng, 3, 60)
                removed = rng.random() < 0.1
                rows["handoff_doc"].append(
                    {
                        "initiative_id": number,
                        "kind": kind,
                        "url": f"https://docs.example.com/{word}{number}/{kind}",
                        "note": None,
                        "added_by": ds_lead,
                        "added_at": added,
                        "removed_by": ds_lead if removed else None,
                        "removed_at": added + timedelta(days=1) if removed else None,
                    }
                )
            if rng.random() < 0.1:
                rows["checklist_entry"].append(
                    {
                        "initiative_id": number,
                        "item_key": "serving-budget",
                        "action": "waive",
                        "gate": None,
                        "reason": "Batch scoring only; no online serving.",
                        "created_by": ds_lead,
                        "created_at": old(now, rng, 5, 60),
                    }
                )
            # One KPI, with 1 to 5 readings: some read today, some stale (nothing for over 14 days).
            kpi_name, direction, target, unit = KPIS[number % len(KPIS)]
            rows["kpi"].append(
                {
                    "id": number,
                    "initiative_id": number,
                    "name": kpi_name,
                    "name_key": name_key(kpi_name),
                    "direction": direction,
                    "target": target,
                    "unit": unit,
                    "owner_id": ds_lead,
                    "in_breach": False,
                    "created_by": ds_lead,
                    "created_at": created + timedelta(days=5),
                }
            )
            last = recent(now, rng) if active and rng.random() < 0.5 else old(now, rng, 2, 25)
            for k in range(rng.randint(1, 5)):
                rows["kpi_reading"].append(
                    {
                        "kpi_id": number,
                        "value": round(target * rng.uniform(0.8, 1.2), 3),
                        "note": None,
                        "recorded_by": ds_lead,
                        "recorded_at": last - timedelta(days=7 * k),
                    }
                )
    tables = {
        "initiative": Initiative,
        "phase_change": PhaseChange,
        "checkpoint": Checkpoint,
        "jira_status_change": JiraStatusChange,
        "handoff_doc": HandoffDoc,
        "checklist_entry": ChecklistEntry,
        "kpi": Kpi,
        "kpi_reading": KpiReading,
    }
    return bulk_insert(engine, tables, rows)


def schedule_every_channel(engine: Engine, channels: Sequence[str], now: datetime) -> str:
    """Every channel's digest due a minute ago, daily in UTC, nudges off; the settings date from 10 minutes ago,
    so exactly one slot (today's) is due. Returns the digest time."""
    at = (now - timedelta(minutes=1)).strftime("%H:%M")
    rows = [
        {
            "team_id": TEAM_ID,
            "channel_id": channel,
            "digest_enabled": True,
            "digest_time": at,
            "digest_timezone": "UTC",
            "digest_days": "mon,tue,wed,thu,fri,sat,sun",
            "digest_quiet": False,
            "nudges_enabled": False,
            "configured_by": USERS[0],
            "disabled_reason": None,
            "last_digest_at": None,
            "updated_at": now - timedelta(minutes=10),
        }
        for channel in channels
    ]
    with engine.begin() as connection:
        connection.execute(insert(ChannelSettings.__table__), rows)  # type: ignore[attr-defined]
    return at


# ------------------------------------------------------------------------------------------------ one size


@dataclass
class ChannelComposition:
    channel_id: str
    initiatives: int
    compose_s: float
    render_s: float
    preview_s: float
    statements: int
    preview_statements: int
    messages: int
    changed: bool


class TurnLocks:
    """How many times the posting budget locked a workspace's turns (the first statement of every booking)."""

    def __init__(self, engine: Engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith(LOCK_TURNS):
            self.count += 1


@dataclass
class PostRecord:
    channel: str
    thread_ts: str | None
    started: float
    ended: float
    ts: str | None


@dataclass
class Instruments:
    """Wraps the app's Slack client and posting budget (instances only, no product code changed) to time posts and
    waits."""

    posts: list[PostRecord] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, app: HandoffApp) -> None:
        client = app.bolt.client
        post = client.chat_postMessage

        def timed_post(**kwargs: Any) -> Any:
            started = time.perf_counter()
            response = post(**kwargs)
            ended = time.perf_counter()
            with self.lock:
                self.posts.append(
                    PostRecord(kwargs["channel"], kwargs.get("thread_ts"), started, ended, response.get("ts"))
                )
            return response

        client.chat_postMessage = timed_post  # type: ignore[method-assign]
        budget = app.runtime.posting_budget
        wait_turn = budget.wait_turn

        def timed_wait(workspace: str, destination: str) -> float:
            waited = wait_turn(workspace, destination)
            with self.lock:
                self.waits.append(waited)
            return waited

        budget.wait_turn = timed_wait  # type: ignore[method-assign]

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.waits.clear()


def fake_slack_with(channels: Sequence[str]) -> FakeSlack:
    """The fake Slack workspace: the benchmark's people, and every channel with the bot in it."""
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID)
    for user in USERS:
        fake.add_user(FakeUser(user, user.lower()))
    for channel in channels:
        fake.add_channel(FakeChannel(channel, channel.lower(), members={fake.bot_user_id, *USERS[:3]}))
    return fake


class SlackHere:
    """The fake Slack in the benchmark's own process, a thread beside the app's (`--fake-in-process`), as before
    2026-12-06: its HTTP handling shares the app's interpreter lock and two cores."""

    def __init__(self, channels: Sequence[str]):
        self._fake = fake_slack_with(channels)
        self._arrivals: list[float] = []

    def __enter__(self) -> SlackHere:
        self._fake.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._fake.stop()

    @property
    def api_url(self) -> str:
        return self._fake.api_url

    def reset(self) -> None:
        self._fake.reset()

    def enforce_rate_limits(self, per_channel_per_second: float, burst: int) -> None:
        """Slack's limit on chat.postMessage, noting when each post reached it (`time.monotonic`)."""
        self._arrivals.clear()

        def rate_clock() -> float:  # the fake reads it once for each chat.postMessage it rate-limits, in order
            self._arrivals.append(time.monotonic())
            return self._arrivals[-1]

        self._fake.enforce_rate_limits(per_channel_per_second, burst, clock=rate_clock)

    def arrivals(self) -> list[float]:
        return list(self._arrivals)

    def rate_limited(self) -> int:
        return self._fake.rate_limited

    def calls_to(self, method: str) -> list[RecordedCall]:
        return self._fake.calls_to(method)


class SlackElsewhere:
    """The fake Slack in a process of its own, as Slack runs on servers of its own: its HTTP handling takes none of
    the app's interpreter lock. Asked over a pipe; `time.monotonic` is one clock for every process of the machine."""

    def __init__(self, channels: Sequence[str]):
        processes = multiprocessing.get_context("spawn")
        self._pipe, theirs = processes.Pipe()
        self._process = processes.Process(target=serve_fake_slack, args=(theirs, list(channels)), daemon=True)
        self.api_url = ""

    def __enter__(self) -> SlackElsewhere:
        self._process.start()
        self.api_url = self._pipe.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._ask("stop")
        self._process.join(10)

    def _ask(self, what: str, *args: Any) -> Any:
        self._pipe.send((what, args))
        return self._pipe.recv()

    def reset(self) -> None:
        self._ask("reset")

    def enforce_rate_limits(self, per_channel_per_second: float, burst: int) -> None:
        self._ask("enforce_rate_limits", per_channel_per_second, burst)

    def arrivals(self) -> list[float]:
        return list(self._ask("arrivals"))

    def rate_limited(self) -> int:
        return int(self._ask("rate_limited"))

    def calls_to(self, method: str) -> list[RecordedCall]:
        return list(self._ask("calls_to", method))


def serve_fake_slack(pipe: Any, channels: list[str]) -> None:
    """The fake Slack's process: serve until asked to stop, answering the benchmark's questions in between."""
    with SlackHere(channels) as fake:
        pipe.send(fake.api_url)
        while True:
            what, args = pipe.recv()
            if what == "stop":
                pipe.send(None)
                return
            pipe.send(getattr(fake, what)(*args))


def add_latency(app: HandoffApp, seconds: float) -> None:
    """Each chat.postMessage travels `seconds` there and back, half each way, as to Slack over the internet: the
    local fake answers in about 2 ms. Wraps the app's client instance only."""
    client = app.bolt.client
    post = client.chat_postMessage

    def travelling(**kwargs: Any) -> Any:
        time.sleep(seconds / 2)
        response = post(**kwargs)
        time.sleep(seconds / 2)
        return response

    client.chat_postMessage = travelling  # type: ignore[method-assign]


def make_settings(fake: SlackHere | SlackElsewhere, database_url: str) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=database_url,
        timezone="UTC",
        log_level="WARNING",
        # Only for rendering "Open in Jira" buttons, as a real workspace with Jira would; nothing calls Jira here.
        jira=JiraSettings(url=JIRA_URL, auth=JiraAuth.DATA_CENTER, personal_token="unused"),
        # The slot is due a minute ago; a run just after midnight UTC would otherwise find it "yesterday's".
        catch_up_within=timedelta(minutes=30),
        # What this benchmark measures is the per-channel limit; the workspace-wide pace is `bench.standups`'s.
        slack_posts_per_minute=POSTS_PER_MINUTE,
    )


def compose_once(
    counter: StatementCounter, app: HandoffApp, plan: ChannelPlan, now: datetime
) -> tuple[ChannelDigest, float, int, Any]:
    """The digest a due slot's run composes (due now), through the runner itself."""
    assert app.jobs is not None
    counter.reset()
    started = time.perf_counter()
    digest = app.jobs.digest(plan, now, due_at=now).digest
    seconds = time.perf_counter() - started
    return digest, seconds, counter.total, counter.snapshot()


def run_size(
    label: str,
    channels: list[str],
    total: int,
    big: Sequence[int],
    workdir: Path,
    rng: random.Random,
    senders: int | None,
    latency_ms: float,
    fake_in_process: bool,
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    sizes = layout(channels, total, big, rng)
    path = workdir / f"digest-{total}.db"
    engine = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    upgrade_schema(engine)
    counts = seed_database(engine, sizes, now, rng)
    seed_s = time.perf_counter() - started
    print(
        f"{label}: seeded {total:,} initiatives over {len(sizes)} of {len(channels)} channels "
        f"({counts['checkpoint']:,} checkpoints, {counts['jira_status_change']:,} Jira changes, "
        f"{counts['kpi_reading']:,} readings) in {seed_s:.1f}s",
        flush=True,
    )
    counter = StatementCounter(engine)
    locks = TurnLocks(engine)
    problems: list[str] = []

    fake: SlackHere | SlackElsewhere = SlackHere(channels) if fake_in_process else SlackElsewhere(channels)
    with fake:
        app = create_app(make_settings(fake, f"sqlite:///{path}"), engine=engine, clock=SystemClock())
        assert app.jobs is not None
        with session_scope(engine) as session:
            plans = scheduled_channels(session=session, default_timezone="UTC")
        if len(plans) != len(sizes):
            problems.append(f"scheduled_channels lists {len(plans)} channels, {len(sizes)} have initiatives")

        # ---- composition, after a warm-up pass over a few channels (statement cache, imports)
        for plan in plans[:20]:
            compose_once(counter, app, plan, datetime.now(UTC))
            app.jobs.preview(Job.DIGEST, plan)
        composed: list[ChannelComposition] = []
        expected: dict[str, int] = {}
        kinds: Counter[str] = Counter()
        for plan in plans:
            now = datetime.now(UTC)
            digest, compose_s, statements, snapshot = compose_once(counter, app, plan, now)
            kinds.update({k: v for k, v in snapshot.items() if k != "total"})
            t0 = time.perf_counter()
            messages = render_digest(digest, jira_url=JIRA_URL)
            render_s = time.perf_counter() - t0
            counter.reset()
            t0 = time.perf_counter()
            preview = app.jobs.preview(Job.DIGEST, plan)
            preview_s = time.perf_counter() - t0
            composed.append(
                ChannelComposition(
                    plan.channel_id,
                    len(digest.entries),
                    compose_s,
                    render_s,
                    preview_s,
                    statements,
                    counter.total,
                    len(messages),
                    digest.changed,
                )
            )
            expected[plan.channel_id] = len(preview.messages)
            if len(digest.entries) != sizes.get(plan.channel_id):
                problems.append(f"{plan.channel_id}: digest has {len(digest.entries)} initiatives")
            if len(preview.messages) != len(messages):
                problems.append(f"{plan.channel_id}: preview {len(preview.messages)} messages, render {len(messages)}")
        composition = summarize_composition(composed, kinds)
        print(
            f"{label}: composed {len(composed)} digests: p50 {composition['compose_ms']['p50']:.2f} ms, "
            f"statements {composition['statements']['min']}-{composition['statements']['max']} a channel",
            flush=True,
        )

        # ---- delivery: one sweep posts every channel's digest against the rate-limited fake
        digest_at = schedule_every_channel(engine, list(sizes), datetime.now(UTC))
        instruments = Instruments()
        if latency_ms:
            add_latency(app, latency_ms / 1000)
        instruments.install(app)  # after the latency, so the time in chat.postMessage includes it
        app.jobs.outbox.senders = senders or app.jobs.outbox.senders
        fake.reset()
        fake.enforce_rate_limits(PER_CHANNEL_PER_SECOND, BURST)
        counter.reset()
        locks.count = 0
        t0 = time.perf_counter()
        report = app.jobs.run_due()
        delivery_s = time.perf_counter() - t0
        delivery_statements = counter.snapshot()
        turn_locks = locks.count
        rate_limited = fake.rate_limited()
        calls = fake.calls_to("chat.postMessage")
        arrivals = fake.arrivals()
        delivery = summarize_delivery(
            t0, delivery_s, delivery_statements, rate_limited, calls, arrivals, instruments, expected, report, problems
        )
        delivery["digest_time_utc"] = digest_at
        with session_scope(engine) as session:
            runs = Counter((job, state) for job, state in session.execute(select(JobRun.job, JobRun.state)).all())
        delivery["job_runs"] = {f"{job} {state}": n for (job, state), n in sorted(runs.items())}
        if runs != Counter({(Job.DIGEST.value, "done"): len(expected)}):
            problems.append(f"job runs after the sweep: {dict(runs)}, expected {len(expected)} digest slots done")
        print(
            f"{label}: delivered {delivery['messages']} messages to {delivery['channels']} channels in "
            f"{delivery_s:.2f}s (lower bound {delivery['lower_bound_s']:.2f}s), {rate_limited} 429s",
            flush=True,
        )

        # ---- an idle sweep right after: nothing is due, nothing may be posted
        instruments.reset()
        fake.reset()
        counter.reset()
        t0 = time.perf_counter()
        idle_report = app.jobs.run_due()
        idle = {
            "wall_s": round(time.perf_counter() - t0, 3),
            "statements": counter.snapshot(),
            "posts": len(fake.calls_to("chat.postMessage")),
            "claimed": len(idle_report.posted) + len(idle_report.skipped),
        }
        if idle["posts"] or idle["claimed"]:
            problems.append(f"the sweep after delivery posted {idle['posts']} messages, claimed {idle['claimed']}")
        # The sweep's own statements (what the idle sweep sends), its hourly pruning of old slots (the one DELETE),
        # each continuation's own and the second look at the turns of a post that waited for its channel's second
        # before booking (how many depends on timing) aside, what each channel's digest costs: claim, compose, book,
        # record.
        pruning = delivery["statements"].get("DELETE", 0)
        second_looks = turn_locks - delivery["messages"]
        delivery["turn_locks"] = turn_locks
        delivery["second_looks_at_turns"] = second_looks
        net = (
            delivery["statements"]["total"]
            - idle["statements"]["total"]
            - pruning
            - delivery["continuations"] * CONTINUATION_STATEMENTS
            - second_looks
        )
        delivery["statements_per_channel_net"] = round(net / max(1, delivery["channels"]), 2)
        app.executor.shutdown(wait=False)
    engine.dispose()
    per_channel = sorted(sizes.values())
    return {
        "label": label,
        "initiatives": total,
        "channels": len(channels),
        "channels_with_initiatives": len(sizes),
        "initiatives_per_channel": {
            "min": per_channel[0],
            "median": statistics.median(per_channel),
            "max": per_channel[-1],
            "big": sorted((n for n in per_channel if n > 5), reverse=True),
        },
        "rows": counts,
        "seed_s": round(seed_s, 2),
        "composition": composition,
        "delivery": delivery,
        "idle_sweep": idle,
        "problems": problems,
    }


def summarize_composition(composed: list[ChannelComposition], kinds: Counter[str]) -> dict[str, Any]:
    statements = [c.statements for c in composed]
    biggest = max(composed, key=lambda c: c.initiatives)
    slowest = max(composed, key=lambda c: c.compose_s)
    return {
        "channels": len(composed),
        "compose_ms": spread_ms([c.compose_s for c in composed]),
        "render_ms": spread_ms([c.render_s for c in composed]),
        "preview_ms": spread_ms([c.preview_s for c in composed]),
        "compose_ms_per_initiative": round(
            sum(c.compose_s for c in composed) * 1000 / sum(c.initiatives for c in composed), 3
        ),
        "biggest_channel": {
            "initiatives": biggest.initiatives,
            "compose_ms": round(biggest.compose_s * 1000, 2),
            "render_ms": round(biggest.render_s * 1000, 2),
            "messages": biggest.messages,
        },
        "slowest_channel": {
            "position": composed.index(slowest),
            "initiatives": slowest.initiatives,
            "compose_ms": round(slowest.compose_s * 1000, 2),
        },
        "statements": {
            "min": min(statements),
            "max": max(statements),
            "by_count": dict(sorted(Counter(statements).items())),
            "kinds_per_channel": {k: round(v / len(composed), 2) for k, v in sorted(kinds.items())},
        },
        "preview_statements": {
            "min": min(c.preview_statements for c in composed),
            "max": max(c.preview_statements for c in composed),
        },
        "messages_per_channel": dict(sorted(Counter(c.messages for c in composed).items())),
        "changed_channels": sum(c.changed for c in composed),
    }


def summarize_delivery(
    t0: float,
    seconds: float,
    statements: dict[str, Any],
    rate_limited: int,
    calls: list[Any],
    arrivals: list[float],
    instruments: Instruments,
    expected: dict[str, int],
    report: Any,
    problems: list[str],
) -> dict[str, Any]:
    ok = [c for c in calls if c.status == 200 and c.response.get("ok")]
    by_channel: dict[str, list[Any]] = defaultdict(list)
    for call in ok:
        by_channel[str(call.args.get("channel"))].append(call)
    exact = structure_ok = 0
    for channel, want in expected.items():
        mine = by_channel.get(channel, [])
        roots = [c for c in mine if not c.args.get("thread_ts")]
        root_ts = roots[0].response["ts"] if len(roots) == 1 else None
        in_thread = all(c.args.get("thread_ts") == root_ts for c in mine if c is not (roots[0] if roots else None))
        exact += len(mine) == want
        structure_ok += len(roots) == 1 and in_thread
        if len(mine) != want or len(roots) != 1 or not in_thread:
            problems.append(
                f"{channel}: {len(mine)} chat.postMessage (want {want}), {len(roots)} roots, in thread {in_thread}"
            )
    stray = sorted(set(by_channel) - set(expected))
    if stray:
        problems.append(f"posts to channels without a digest: {stray[:5]}")
    for what in ("failed", "retrying"):
        if getattr(report, what):
            problems.append(f"run_due {what}: {getattr(report, what)[:5]}")
    posts = sorted(instruments.posts, key=lambda p: p.started)
    firsts: dict[str, float] = {}
    gaps: list[float] = []
    last_start: dict[str, float] = {}
    for post in posts:
        firsts.setdefault(post.channel, post.started)
        if post.channel in last_start:
            gaps.append(post.started - last_start[post.channel])
        last_start[post.channel] = post.started
    # Gaps between posts to one channel as the fake saw them arrive (what its limit judges), 429s included.
    server_gaps: list[float] = []
    refused_gaps: list[float] = []
    if len(arrivals) == len(calls):
        previous: dict[str, float] = {}
        for call, arrived in zip(calls, arrivals, strict=True):
            channel = str(call.args.get("channel"))
            if channel in previous:
                (refused_gaps if call.status == 429 else server_gaps).append(arrived - previous[channel])
            if call.status != 429:
                previous[channel] = arrived
    else:
        problems.append(f"{len(arrivals)} rate-limit clock reads for {len(calls)} chat.postMessage calls")
    messages = len(ok)
    continuations = messages - len(by_channel)
    channel_bound = max((n - 1) / PER_CHANNEL_PER_SECOND for n in expected.values())
    # The app also keeps its workspace budget (the most the setting accepts): every message takes a turn of it.
    workspace_bound = (sum(expected.values()) - 1) / (POSTS_PER_MINUTE / 60)
    lower_bound = max(channel_bound, workspace_bound)
    busiest = max(expected, key=lambda c: expected[c])
    send_s = sum(p.ended - p.started for p in posts)
    first_post = (posts[0].started - t0) if posts else None
    waits = sum(instruments.waits)
    return {
        "channels": len(expected),
        "messages": messages,
        "roots": len(by_channel),
        "continuations": continuations,
        "channels_exact": exact,
        "channels_root_and_thread": structure_ok,
        "chat_post_message_calls": len(calls),
        "chat_post_message_per_channel": round(len(calls) / max(1, len(expected)), 3),
        "rate_limited_429": rate_limited,
        "wall_s": round(seconds, 3),
        "lower_bound_s": lower_bound,
        "busiest_channel": {"channel": busiest, "messages": expected[busiest]},
        "channel_bound_s": channel_bound,
        "workspace_bound_s": round(workspace_bound, 3),
        "ratio_to_lower_bound": round(seconds / lower_bound, 2) if lower_bound else None,
        "delivery_ratio": round(seconds / lower_bound, 3) if lower_bound else None,
        "over_lower_bound_s": round(seconds - lower_bound, 3),
        "first_post_after_s": round(first_post, 3) if first_post is not None else None,
        "send_s": round(send_s, 3),
        "send_ms_per_post": round(send_s * 1000 / max(1, len(posts)), 3),
        "pacer_wait_s": round(waits, 3),
        # wall time = before the first post (claim and compose every channel) + in chat.postMessage (429s' waits
        # for Retry-After included) + pacer waits + the rest (rendering, recording each post)
        "other_s": round(seconds - (first_post or 0.0) - send_s - waits, 3),
        "pacer_waits": sum(1 for w in instruments.waits if w > 0),
        "min_gap_same_channel_s": round(min(gaps), 4) if gaps else None,
        "min_gap_same_channel_at_fake_s": round(min(server_gaps), 4) if server_gaps else None,
        "gaps_refused_at_fake_s": [round(g, 4) for g in refused_gaps],
        "last_root_after_s": round(max(firsts.values()) - t0, 3) if firsts else None,
        "lease_s": LEASE.total_seconds(),
        "statements": statements,
        "statements_per_channel": round(statements["total"] / max(1, len(expected)), 2),
        "posted": len(report.posted),
        "skipped": len(report.skipped),
    }


# ------------------------------------------------------------------------------------------------ verdicts


def targets(small: dict[str, Any], large: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, measured: str, ok: bool) -> None:
        out.append({"name": name, "target": target, "measured": measured, "pass": ok})

    s, b = small["composition"]["statements"], large["composition"]["statements"]
    ratio = b["max"] / s["max"]
    add(
        "statements_constant",
        f"composition statements a channel constant: {small['initiatives']:,} vs {large['initiatives']:,} "
        "initiatives (ratio 1.0, and the same in every channel)",
        f"{s['min']}-{s['max']} and {b['min']}-{b['max']}, ratio {ratio:.2f}",
        s["min"] == s["max"] == b["min"] == b["max"],
    )
    for run in (small, large):
        d = run["delivery"]
        add(
            f"one_root_{run['initiatives']}",
            f"{run['initiatives']:,}: exactly one chat.postMessage a channel plus its thread continuations",
            f"{d['roots']} roots in {d['channels']} channels + {d['continuations']} continuations; "
            f"{d['channels_exact']} channels exact, {d['channels_root_and_thread']} threaded right",
            d["channels_exact"] == d["channels_root_and_thread"] == d["channels"] == d["roots"],
        )
        add(
            f"no_429_{run['initiatives']}",
            f"{run['initiatives']:,}: no 429s from the fake (1 message a second per channel, burst 1)",
            str(d["rate_limited_429"]),
            not d["rate_limited_429"],
        )
    d = large["delivery"]
    add(
        "delivery_ratio",
        f"{large['initiatives']:,}: every digest delivered within {DELIVERY_RATIO_TARGET}x the lower bound the "
        f"limits allow (busiest channel {d['channel_bound_s']:.0f}s at 1 a second, all "
        f"{d['messages']} messages {d['workspace_bound_s']:.2f}s at {POSTS_PER_MINUTE:,} a minute)",
        f"{d['wall_s']:.2f}s against {d['lower_bound_s']:.2f}s, {d['delivery_ratio']}x",
        d["delivery_ratio"] is not None and d["delivery_ratio"] <= DELIVERY_RATIO_TARGET,
    )
    s, b = small["delivery"]["statements_per_channel_net"], large["delivery"]["statements_per_channel_net"]
    add(
        "delivery_statements_constant",
        "delivery statements a channel (claim, compose, book, record; without the sweep's fixed ones, "
        f"{CONTINUATION_STATEMENTS} a continuation and second looks at a turn) equal at both sizes",
        f"{s} and {b}",
        s == b,
    )
    return out


def observations(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Where delivery time goes, against the lower bound, at both sizes."""
    out = []
    for run in runs:
        d = run["delivery"]
        out.append(
            f"{run['initiatives']:,}: delivery {d['wall_s']:.2f}s against the lower bound of {d['lower_bound_s']:.2f}s "
            f"(busiest channel {d['busiest_channel']['messages']} messages, {d['channel_bound_s']:.0f}s; the "
            f"workspace budget {d['workspace_bound_s']:.2f}s): {d['delivery_ratio']}x, "
            f"+{d['over_lower_bound_s']:.2f}s; before the first post {d['first_post_after_s']:.2f}s, "
            f"in chat.postMessage {d['send_s']:.2f}s ({d['rate_limited_429']} 429s), pacer waits "
            f"{d['pacer_wait_s']:.2f}s, the rest {d['other_s']:.2f}s; last root posted {d['last_root_after_s']:.2f}s "
            f"after the sweep began (claim lease {d['lease_s']:.0f}s)"
        )
    return out


# ------------------------------------------------------------------------------------------------ report


def print_report(report: dict[str, Any]) -> None:
    code = report["code"]
    print()
    print(
        f"{report['date']}, commit {code['commit']}"
        + (" (product code modified since)" if code["modified"] else "")
        + f", {report['machine']['cpus']} CPUs, Python {report['machine']['python']}"
    )
    print("\nComposition (one channel's digest; ms per channel, nearest-rank percentiles)")
    header = (
        f"{'initiatives':>11} {'channels':>8} {'per ch.':>9} {'compose p50/p95/max ms':>24} "
        f"{'render p50/p95':>15} {'preview p50/p95':>16} {'stmts/ch':>9} {'messages/ch':<16}"
    )
    print(header)
    print("-" * len(header))
    for run in report["runs"]:
        c, per = run["composition"], run["initiatives_per_channel"]
        cm, rm, pm, st = c["compose_ms"], c["render_ms"], c["preview_ms"], c["statements"]
        msgs = " ".join(f"{k}:{v}" for k, v in c["messages_per_channel"].items())
        print(
            f"{run['initiatives']:>11,} {c['channels']:>8} {per['min']:>3}-{per['max']:<5} "
            f"{cm['p50']:>7.2f}/{cm['p95']:>6.2f}/{cm['max']:>7.2f} {rm['p50']:>7.2f}/{rm['p95']:>6.2f} "
            f"{pm['p50']:>8.2f}/{pm['p95']:>6.2f} {st['min']:>4}-{st['max']:<4} {msgs:<16}"
        )
    for run in report["runs"]:
        big = run["composition"]["biggest_channel"]
        print(
            f"  {run['initiatives']:,}: biggest channel {big['initiatives']} initiatives: "
            f"compose {big['compose_ms']} ms, render {big['render_ms']} ms, {big['messages']} messages; "
            f"statements by kind a channel {run['composition']['statements']['kinds_per_channel']}"
        )
    print("\nDelivery (one run_due() sweep, fake Slack at 1 chat.postMessage/s per channel, burst 1)")
    header = (
        f"{'initiatives':>11} {'channels':>8} {'posts':>6} {'roots+cont.':>12} {'429s':>5} {'wall s':>7} "
        f"{'bound s':>7} {'ratio':>6} {'over s':>7} {'1st post s':>10} {'send s':>7} {'ms/post':>8} "
        f"{'wait s':>7} {'min gap':>8} {'at fake':>8} {'SQL':>6} {'SQL/ch':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in report["runs"]:
        d = run["delivery"]
        ratio = f"{d['ratio_to_lower_bound']:.2f}x" if d["ratio_to_lower_bound"] else "-"
        print(
            f"{run['initiatives']:>11,} {d['channels']:>8} {d['messages']:>6} "
            f"{d['roots']:>5}+{d['continuations']:<6} {d['rate_limited_429']:>5} {d['wall_s']:>7.2f} "
            f"{d['lower_bound_s']:>7.2f} {ratio:>6} {d['over_lower_bound_s']:>7.2f} {d['first_post_after_s']:>10.2f} "
            f"{d['send_s']:>7.2f} {d['send_ms_per_post']:>8.2f} {d['pacer_wait_s']:>7.2f} "
            f"{d['min_gap_same_channel_s'] or 0:>8.4f} {d['min_gap_same_channel_at_fake_s'] or 0:>8.4f} "
            f"{d['statements']['total']:>6} {d['statements_per_channel_net']:>7}"
        )
    print(
        "(bound: the busiest channel's messages - 1, at 1 a second; send: time in chat.postMessage, a 429's wait for "
        "Retry-After included; min gap: between two posts to one channel, as sent and as the fake received them; "
        "SQL/ch: statements a channel, without the sweep's own, a continuation's and second looks at a turn)"
    )
    for run in report["runs"]:
        i = run["idle_sweep"]
        print(
            f"  {run['initiatives']:,}: idle sweep right after: {i['wall_s']:.2f}s, "
            f"{i['statements']['total']} statements, {i['posts']} posts; job runs {run['delivery']['job_runs']}"
        )
    print()
    for target in report["targets"]:
        print(f"{'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['measured']}")
    for line in report["observations"]:
        print(f"INFO  {line}")
    for run in report["runs"]:
        for problem in run["problems"][:20]:
            print(f"problem ({run['initiatives']:,}): {problem}")
    print(f"\nresults written to {report['output']}")


# ------------------------------------------------------------------------------------------------ main


def add_posting_arguments(parser: argparse.ArgumentParser) -> None:
    """`--latency-ms` and `--senders`, as every posting benchmark takes them."""
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="network latency added to each chat.postMessage, half each way (default 0: the local fake only)",
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=None,
        help="posts in flight at once (default the outbox's own for the workspace budget, `senders_for`)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 60 channels, 300 and 60 initiatives")
    parser.add_argument("--channels", type=int, default=None, help="channels (default 500)")
    parser.add_argument("--initiatives", type=int, default=None, help="initiatives in the larger run (default 2000)")
    parser.add_argument("--small", type=int, default=None, help="initiatives in the smaller run (default 200)")
    add_posting_arguments(parser)
    parser.add_argument(
        "--fake-in-process",
        action="store_true",
        help="run the fake Slack in this process, beside the app (as before 2026-12-06), not in a process of its own",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.quick:
        channels, large, small = args.channels or 60, args.initiatives or 300, args.small or 60
        big_large: tuple[int, ...] = (40, 52)
    else:
        channels, large, small = args.channels or 500, args.initiatives or 2000, args.small or 200
        big_large = (40, 45, 52, 60, 80)  # 2, 2, 3, 3 and 4 messages
    big_small = (40,)
    logging.basicConfig(level=logging.ERROR)
    in_process = args.fake_in_process

    started_at = datetime.now(UTC)
    code = code_version()
    names = channel_ids(channels)
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-digest-"))
    try:
        posting = (args.senders, args.latency_ms, in_process)
        runs = [
            run_size("small", names, small, big_small, workdir, random.Random(SEED), *posting),
            run_size("large", names, large, big_large, workdir, random.Random(SEED + 1), *posting),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    verdicts = targets(*runs)
    report: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "code": code,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            "channels": channels,
            "initiatives": [small, large],
            "big_channels": [list(big_small), list(big_large)],
            "rate_limit": {"per_channel_per_second": PER_CHANNEL_PER_SECOND, "burst": BURST},
            "posts_per_minute": POSTS_PER_MINUTE,
            "latency_ms": args.latency_ms,
            "senders": args.senders or senders_for(POSTS_PER_MINUTE),
            "fake_slack": "in this process" if in_process else "a process of its own",
        },
        "runs": runs,
        "targets": verdicts,
        "observations": observations(runs),
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_report(report)
    problems = [p for run in runs for p in run["problems"]]
    return 1 if problems or not all(t["pass"] for t in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
