"""HTTP round trip of signed `/handoff status` and `/handoff list`, against a bare Bolt app as the floor.

    python -m bench.http_status [--requests 600] [--concurrency 8]

What it does, all on 127.0.0.1 and all bounded in count and time:

1. starts a `FakeSlack` (both apps call auth.test against it) and builds a temporary SQLite database with
   1,000 initiatives over 100 channels (10 a channel) plus their phase history, through `storage` functions;
2. launches two processes served the same way (waitress, Bolt's WSGI adapter, `bot.http.SERVER_THREADS`
   threads): `python -m bot.cli serve --http` (the real app) and `python -m bench.bare_app` (one listener
   that only acks: the floor);
3. reads both processes' idle resident memory (VmRSS) once they are ready and at rest: the real app's start-up
   catch-up sweep (a few seconds over 1,000 initiatives) has finished and neither process uses the CPU;
4. sends signed, form-encoded slash commands from `--concurrency` client threads on keep-alive connections:
   a warm-up, then `--requests` timed requests per target (floor, status, list), interleaved in blocks so
   machine noise lands on all three alike; only the round trip is timed (signing happens before the clock);
5. checks every answer (HTTP 200; for status and list a Block Kit message within Slack's limits, `list`
   paginated), prints p50/p99 and the ratios to the floor, and writes `bench/results/latest.json`.

Exit status: 0 when every request succeeded (whatever the timings), 1 if any failed or a server didn't start.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

from bench.hour_of_work import run_worker
from bench.versions import code_version
from bot import ids
from bot.fake_slack import MAX_MESSAGE_BLOCKS, FakeSlack, block_errors
from bot.http import EVENTS_PATH, HEALTH_PATH, SERVER_THREADS
from bot.status import PAGE_SIZE
from storage.db import make_engine, session_scope, upgrade_schema
from storage.initiatives import add_initiative, name_key
from storage.models import (
    Blocker,
    ChecklistEntry,
    ChecklistEntryAction,
    Checkpoint,
    CheckpointStatus,
    HandoffDoc,
    Initiative,
    Kpi,
    KpiDirection,
    KpiReading,
    Phase,
    PhaseChange,
    StandupPrompt,
    StandupState,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"

TEAM_ID = "T0001"
BOT_TOKEN = "xoxb-fake-token"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
CHANNEL_COUNT = 100
PER_CHANNEL = 10
INITIATIVE_COUNT = CHANNEL_COUNT * PER_CHANNEL
CHANNELS = [f"C0BENCH{n:03d}" for n in range(CHANNEL_COUNT)]
USERS = [f"U0BENCH{n:03d}" for n in range(40)]
SEED = 20261123

BLOCK = 50  # requests per target per round; targets take turns block by block
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0
BLOCK_TIMEOUT_S = 120.0
IDLE_SETTLE_S = 2.0
AT_REST_WINDOW_S = 2.0  # at rest: no more than AT_REST_CPU_S of CPU used in this long
AT_REST_CPU_S = 0.02
AT_REST_TIMEOUT_S = 60.0
HOURS_OF_WORK_MINUTES = 120
MAX_SECOND_HOUR_GROWTH_MIB = 1.0  # bounded: the second hour of the same work adds (almost) nothing
STOP_TIMEOUT_S = 5.0

TARGET_P99_RATIO = 2.0
TARGET_RSS_RATIO = 2.0


# ------------------------------------------------------------------------------------------------ the data


TOPICS = [
    "Churn",
    "Fraud",
    "Demand",
    "Pricing",
    "Search ranking",
    "Recommendations",
    "Lead scoring",
    "Sales forecast",
    "Anomaly detection",
    "Marketing attribution",
    "Credit risk",
    "Inventory",
    "Delivery routing",
    "Support triage",
    "Retention",
    "Upsell propensity",
    "Payment failures",
    "Onboarding funnel",
    "Customer LTV",
    "Ad bidding",
]
KINDS = [
    "model",
    "pipeline",
    "dashboard",
    "experiment",
    "scoring service",
    "feature store",
    "A/B test",
    "alerting",
    "backfill",
    "retraining",
]
REGIONS = ["EMEA", "NA", "APAC", "LATAM", "DACH"]
METRICS = ["false positives", "stockouts", "manual reviews", "time to first response", "cost per acquisition"]
SEGMENTS = ["new customers", "enterprise accounts", "the mobile app", "marketplace sellers", "returning users"]
NOTES = [
    "model card reviewed with engineering",
    "offline AUC beats the baseline by 4 points",
    "waiting on the feature pipeline",
    "shadow traffic looks clean for a week",
    "paused for the quarterly freeze",
    None,
    None,
]
CHECKPOINT_TITLES = [
    "Baseline agreed",
    "Offline evaluation",
    "Feature pipeline in staging",
    "Model card reviewed",
    "Shadow traffic for a week",
    "Load test",
    "Canary release",
    "Runbook walkthrough",
]
JIRA_STATUSES = [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")]
DOC_KINDS = ["ds-summary", "api-contract", "model-card", "dependencies", "privacy-review", "monitoring-plan"]
KPI_NAMES = [("AUC on holdout", ">=", 0.82, None), ("p95 latency", "<=", 120.0, "ms"), ("Recall", ">=", 0.7, None)]
BLOCKER_TEXTS = [
    "waiting on feature store access",
    "serving budget not agreed",
    "labels for the holdout set are late",
]
PATH = [Phase.DISCOVERY, Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT, Phase.PRODUCTION, Phase.MONITORING]

assert len(TOPICS) * len(KINDS) * len(REGIONS) == INITIATIVE_COUNT  # every name is unique


def seed_database(url: str, now: datetime, *, initiatives: int = INITIATIVE_COUNT) -> dict[str, int]:
    """`initiatives` (10 in each channel) with 1 to 6 phase changes each and every feature a status page shows:
    checkpoints (some linked to Jira, some overdue or done), docs, checklist entries, a KPI with readings (one
    forced phase change in ten), standups with answers and blockers; deterministic."""
    if not 1 <= initiatives <= INITIATIVE_COUNT or initiatives % PER_CHANNEL:
        raise ValueError(f"initiatives: a multiple of {PER_CHANNEL} up to {INITIATIVE_COUNT}")
    rng = random.Random(SEED)
    names = [f"{topic} {kind} {region}" for topic in TOPICS for kind in KINDS for region in REGIONS]
    rng.shuffle(names)
    names = names[:initiatives]
    engine = make_engine(url)
    upgrade_schema(engine)
    counts = dict.fromkeys(
        ("phase_changes", "checkpoints", "jira_linked", "docs", "checklist_entries", "kpis", "kpi_readings"), 0
    )
    counts.update(dict.fromkeys(("standup_prompts", "blockers"), 0))
    with session_scope(engine) as session:
        for index, name in enumerate(names):
            created = now - timedelta(days=rng.randint(40, 400), minutes=rng.randint(0, 1440))
            author = rng.choice(USERS)
            steps = rng.randint(0, len(PATH) - 1)
            initiative = Initiative(
                team_id=TEAM_ID,
                name=name,
                name_key=name_key(name),
                home_channel_id=CHANNELS[index // PER_CHANNEL],
                ds_lead_id=rng.choice(USERS),
                eng_lead_id=rng.choice(USERS),
                embedded_engineer_id=rng.choice([*USERS[:10], None]),
                phase=PATH[steps].value,
                goal=(
                    f"Cut {rng.choice(METRICS)} by {rng.randint(5, 40)}% for {rng.choice(SEGMENTS)} by moving the "
                    f"{name.lower()} out of notebooks into a monitored production service with weekly retraining."
                ),
                jira_epic_key=f"DS-{100 + index}" if rng.random() < 0.6 else None,
                jira_project_key="DS",
                target_date=date(2027, 1, 1) + timedelta(days=rng.randint(0, 300)) if rng.random() < 0.7 else None,
                thread_channel_id=CHANNELS[index // PER_CHANNEL],
                thread_ts=f"{int(created.timestamp())}.{index:06d}",
                thread_permalink=f"https://handoff-test.slack.com/archives/{CHANNELS[index // PER_CHANNEL]}/p{index}",
                created_by=author,
                created_at=created,
                updated_by=author,
                updated_at=created,
            )
            first = PhaseChange(
                initiative_id=0, from_phase=None, to_phase=Phase.DISCOVERY.value, changed_by=author, changed_at=created
            )
            add_initiative(session=session, initiative=initiative, first_change=first)
            counts["phase_changes"] += 1
            moment = created
            for step in range(1, steps + 1):
                moment += timedelta(days=rng.randint(3, 30))
                forced = step >= 3 and rng.random() < 0.1
                session.add(
                    PhaseChange(
                        initiative_id=initiative.id or 0,
                        from_phase=PATH[step - 1].value,
                        to_phase=PATH[step].value,
                        changed_by=rng.choice(USERS),
                        changed_at=min(moment, now),
                        note="pilot for one customer" if forced else rng.choice(NOTES),
                        forced=forced,
                        forced_items="model-card, runbook" if forced else None,
                    )
                )
                counts["phase_changes"] += 1
            for key, value in seed_features(session, rng, initiative, now).items():
                counts[key] += value
    engine.dispose()
    return {"initiatives": len(names), "channels": len(names) // PER_CHANNEL, **counts}


def seed_features(session: Any, rng: random.Random, initiative: Initiative, now: datetime) -> dict[str, int]:
    """One initiative's checkpoints, docs, checklist entries, KPI and readings, standups and blockers."""
    initiative_id, created = initiative.id or 0, initiative.created_at
    counts: dict[str, int] = {}
    checkpoints = rng.randint(3, 6)
    linked = 0
    for number in range(1, checkpoints + 1):
        status = rng.choice([CheckpointStatus.DONE, CheckpointStatus.IN_PROGRESS, CheckpointStatus.OPEN])
        jira = rng.choice(JIRA_STATUSES) if rng.random() < 0.4 else None
        linked += jira is not None
        session.add(
            Checkpoint(
                initiative_id=initiative_id,
                number=number,
                title=rng.choice(CHECKPOINT_TITLES),
                owner_id=rng.choice(USERS),
                due_date=(now + timedelta(days=rng.randint(-20, 60))).date(),
                status=status.value,
                done_by=initiative.ds_lead_id if status is CheckpointStatus.DONE else None,
                done_at=now - timedelta(days=rng.randint(1, 20)) if status is CheckpointStatus.DONE else None,
                jira_key=f"DS-{10_000 + initiative_id * 10 + number}" if jira else None,
                jira_summary="Ship it" if jira else None,
                jira_status=jira[0] if jira else None,
                jira_status_category=jira[1] if jira else None,
                jira_updated_at=now - timedelta(days=1) if jira else None,
                created_by=initiative.created_by,
                created_at=created,
                updated_by=initiative.created_by,
                updated_at=created,
            )
        )
    counts["checkpoints"], counts["jira_linked"] = checkpoints, linked
    kinds = rng.sample(DOC_KINDS, rng.randint(1, 4))
    for kind in kinds:
        session.add(
            HandoffDoc(
                initiative_id=initiative_id,
                kind=kind,
                url=f"https://docs.example.com/{initiative.ref_key}/{kind}",
                added_by=initiative.ds_lead_id or initiative.created_by,
                added_at=created + timedelta(days=rng.randint(1, 30)),
            )
        )
    counts["docs"] = len(kinds)
    session.add(
        ChecklistEntry(
            initiative_id=initiative_id,
            item_key="serving-budget",
            action=ChecklistEntryAction.WAIVE.value,
            reason="batch scoring only",
            created_by=initiative.created_by,
            created_at=created,
        )
    )
    session.add(
        ChecklistEntry(
            initiative_id=initiative_id,
            item_key="fairness-review",
            action=ChecklistEntryAction.ADD.value,
            gate=Phase.PRODUCTION.value,
            reason="scores customers",
            created_by=initiative.created_by,
            created_at=created,
        )
    )
    counts["checklist_entries"] = 2
    name, direction, target, unit = rng.choice(KPI_NAMES)
    kpi = Kpi(
        initiative_id=initiative_id,
        name=name,
        name_key=name.casefold(),
        direction=KpiDirection(direction).value,
        target=target,
        unit=unit,
        owner_id=initiative.ds_lead_id,
        created_by=initiative.created_by,
        created_at=created,
    )
    session.add(kpi)
    session.flush()
    readings = rng.randint(3, 12)
    for n in range(readings):
        session.add(
            KpiReading(
                kpi_id=kpi.id or 0,
                value=round(target * rng.uniform(0.85, 1.15), 3),
                recorded_by=initiative.ds_lead_id or initiative.created_by,
                recorded_at=now - timedelta(days=3 * (readings - n) + rng.randint(0, 2)),
            )
        )
    counts["kpis"], counts["kpi_readings"] = 1, readings
    engineer = initiative.embedded_engineer_id or initiative.created_by
    days = rng.randint(3, 10)
    for back in range(days, 0, -1):
        day = (now - timedelta(days=back)).date()
        answered = rng.random() < 0.8
        prompted = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9, minutes=30)
        session.add(
            StandupPrompt(
                initiative_id=initiative_id,
                team_id=TEAM_ID,
                user_id=engineer,
                day=day,
                timezone="UTC",
                state=(StandupState.ANSWERED if answered else StandupState.MISSED).value,
                prompted_at=prompted,
                answered_at=prompted + timedelta(minutes=rng.randint(5, 240)) if answered else None,
                answers=(
                    json.dumps({"answers": ["shipped the backfill", "load test", "none"], "blockers": []})
                    if answered
                    else None
                ),
            )
        )
    counts["standup_prompts"] = days
    blockers = rng.randint(0, 2)
    for number in range(1, blockers + 1):
        resolved = rng.random() < 0.5
        session.add(
            Blocker(
                initiative_id=initiative_id,
                number=number,
                text=rng.choice(BLOCKER_TEXTS),
                direction="on-eng",
                reported_by=engineer,
                reported_at=now - timedelta(days=rng.randint(1, 15)),
                resolved_by=initiative.eng_lead_id if resolved else None,
                resolved_at=now - timedelta(hours=rng.randint(1, 20)) if resolved else None,
            )
        )
    counts["blockers"] = blockers
    return counts


# ------------------------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    launched: float  # time.monotonic() at launch

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User and system CPU time the process used so far, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (resident now) and VmHWM (peak resident) from /proc, in KiB."""
        values: dict[str, int] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values


def launch(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    return Server(name=name, port=port, process=process, log_path=log_path, launched=time.monotonic())


def stop(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=STOP_TIMEOUT_S)


def wait_until_ready(server: Server, probe: Callable[[], bool]) -> float:
    """Poll `probe` until it answers true; seconds since launch. Raises if the process dies or time runs out."""
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if probe():
                return time.monotonic() - server.launched
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {READY_TIMEOUT_S:.0f}s:\n{server.log_tail()}")


def wait_until_at_rest(server: Server) -> float:
    """Wait until the process has used (almost) no CPU for `AT_REST_WINDOW_S`: start-up work such as the
    scheduler's catch-up sweep is done. Seconds waited; raises if it never settles."""
    started = time.monotonic()
    while time.monotonic() - started < AT_REST_TIMEOUT_S:
        before = server.cpu_seconds()
        time.sleep(AT_REST_WINDOW_S)
        if server.cpu_seconds() - before <= AT_REST_CPU_S:
            return time.monotonic() - started
    raise RuntimeError(f"{server.name} still busy after {AT_REST_TIMEOUT_S:.0f}s:\n{server.log_tail()}")


def health_probe(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2) as response:
            return response.status == 200 and json.loads(response.read()).get("ok") is True

    return probe


# ------------------------------------------------------------------------------------------------ the load


@dataclass(frozen=True)
class Target:
    name: str  # "floor", "status", "list"
    port: int
    text: str  # what follows `/handoff`


@dataclass
class Sample:
    seconds: float
    status: int
    body: bytes
    channel_id: str
    error: str | None = None


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, target: str, sample: Sample) -> None:
        with self.lock:
            self.samples.setdefault(target, []).append(sample)


class Client:
    """Builds and sends signed slash commands; one keep-alive connection per worker thread and port."""

    def __init__(self, fake: FakeSlack):
        self._fake = fake
        self._verifier = SignatureVerifier(SIGNING_SECRET)
        self._local = threading.local()
        self._counter = 0
        self._counter_lock = threading.Lock()

    def _next(self) -> int:
        with self._counter_lock:
            self._counter += 1
            return self._counter

    def _connection(self, port: int) -> http.client.HTTPConnection:
        connections: dict[int, http.client.HTTPConnection] = self._local.__dict__.setdefault("connections", {})
        if port not in connections:
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        return connections[port]

    def _drop(self, port: int) -> None:
        connection = self._local.__dict__.get("connections", {}).pop(port, None)
        if connection is not None:
            connection.close()

    def send(self, target: Target) -> Sample:
        n = self._next()
        channel_id = CHANNELS[n % CHANNEL_COUNT]
        user_id = USERS[n % len(USERS)]
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "handoff-test",
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": ids.COMMAND,
            "text": target.text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": self._fake.new_response_url(),
            "trigger_id": self._fake.new_trigger_id(),
        }
        body = urllib.parse.urlencode(form)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self._verifier.generate_signature(timestamp=timestamp, body=body),
        }
        payload = body.encode()
        connection = self._connection(target.port)
        started = time.perf_counter()
        try:
            connection.request("POST", EVENTS_PATH, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            if response.will_close:
                self._drop(target.port)
            return Sample(elapsed, response.status, data, channel_id)
        except (OSError, http.client.HTTPException) as error:
            self._drop(target.port)
            return Sample(time.perf_counter() - started, 0, b"", channel_id, error=f"{type(error).__name__}: {error}")


def run_block(pool: ThreadPoolExecutor, client: Client, target: Target, count: int, results: Results | None) -> None:
    """`count` requests to one target from every worker at once; waits (bounded) for all of them."""

    def one() -> None:
        sample = client.send(target)
        if results is not None:
            results.add(target.name, sample)

    futures = [pool.submit(one) for _ in range(count)]
    done, pending = wait(futures, timeout=BLOCK_TIMEOUT_S, return_when=FIRST_EXCEPTION)
    for future in done:
        future.result()  # re-raise a bug in the client itself
    if pending:
        for future in pending:
            future.cancel()
        raise RuntimeError(f"{len(pending)} requests to {target.name} still running after {BLOCK_TIMEOUT_S:.0f}s")


def run_load(
    targets: Sequence[Target], client: Client, *, requests: int, warmup: int, concurrency: int
) -> tuple[Results, float]:
    """Warm-up then `requests` timed requests per target, interleaved: each round gives every target one
    block, and the order rotates from round to round."""
    results = Results()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="client") as pool:
        for target in targets:
            run_block(pool, client, target, warmup, None)
        started = time.monotonic()
        rounds = math.ceil(requests / BLOCK)
        for round_index in range(rounds):
            count = min(BLOCK, requests - round_index * BLOCK)
            shift = round_index % len(targets)
            for target in [*targets[shift:], *targets[:shift]]:
                run_block(pool, client, target, count, results)
        return results, time.monotonic() - started


# ------------------------------------------------------------------------------------------------ checks


def check_message(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The ack as a message, and every way it breaks Slack's Block Kit rules."""
    try:
        message = json.loads(body)
    except ValueError:
        return {}, [f"ack is not JSON: {body[:80]!r}"]
    blocks = message.get("blocks")
    problems = block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
    if not message.get("text"):
        problems.append("no fallback text")
    for raw in blocks if isinstance(blocks, list) else []:
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                problems.append(f"slack_sdk cannot parse {raw.get('type')!r} block")
            else:
                parsed.to_dict()
        except Exception as error:
            problems.append(f"{raw.get('type')!r} block: {error}")
    return message, problems


def footer_of(message: dict[str, Any]) -> str:
    contexts = [b for b in message.get("blocks", []) if b.get("type") == "context"]
    return contexts[-1]["elements"][0]["text"] if contexts else ""


def action_ids(message: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for block in message.get("blocks", []):
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            found.append(block["accessory"].get("action_id", ""))
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            found.append(element.get("action_id", ""))
    return found


def validate(target: str, sample: Sample) -> str | None:
    """Why this answer is wrong, or None."""
    if sample.error:
        return sample.error
    if sample.status != 200:
        return f"HTTP {sample.status}: {sample.body[:120]!r}"
    if target == "floor":
        return None
    message, problems = check_message(sample.body)
    if problems:
        return "; ".join(problems[:3])
    footer, actions = footer_of(message), action_ids(message)
    details = actions.count(ids.ACTION_STATUS_DETAIL)
    if target == "status":
        if not footer.startswith(f"{PER_CHANNEL} initiatives") or details != PER_CHANNEL:
            return f"status of {sample.channel_id}: footer {footer!r}, {details} initiatives shown"
        return None
    pages = math.ceil(INITIATIVE_COUNT / PAGE_SIZE)
    expected = f"{INITIATIVE_COUNT} initiatives · page 1 of {pages}"
    if not footer.startswith(expected) or details != min(PAGE_SIZE, INITIATIVE_COUNT):
        return f"list: footer {footer!r} (want {expected!r}), {details} initiatives shown"
    if ids.ACTION_STATUS_NEXT not in actions:
        return "list: no Next button on page 1"
    return None


# ------------------------------------------------------------------------------------------------ report


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the samples at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(target: str, samples: list[Sample]) -> dict[str, Any]:
    failures = [(s, reason) for s in samples if (reason := validate(target, s))]
    ms = [s.seconds * 1000 for s in samples]
    ok_bodies = [s.body for s in samples if not s.error and s.status == 200]
    summary: dict[str, Any] = {
        "requests": len(samples),
        "errors": len(failures),
        "first_errors": sorted({reason for _, reason in failures})[:5],
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
        "ack_bytes": round(statistics.fmean(len(b) for b in ok_bodies)) if ok_bodies else 0,
        # Samples are in completion order: a slowdown over the run shows as a later third slower than the first.
        "p50_by_third_ms": [
            round(percentile(ms[i * len(ms) // 3 : (i + 1) * len(ms) // 3] or ms, 50), 2) for i in range(3)
        ],
    }
    if target != "floor" and ok_bodies:
        message, _ = check_message(ok_bodies[0])
        summary["blocks"] = len(message.get("blocks", []))
        summary["footer"] = footer_of(message)
    return summary


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def second_hour_growth_mib(work: dict[str, Any]) -> float:
    by_minute = {sample["minute"]: sample["VmRSS"] for sample in work["samples"]}
    return mib(by_minute[120] - by_minute[60])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(report: dict[str, Any]) -> None:
    lat = report["latency"]
    code = report["code"]
    print()
    print(
        f"{report['date']}, commit {code['commit']}"
        + (" (product code modified since)" if code["product_code_modified"] else "")
        + f", {report['machine']['cpus']} CPUs, Python {report['machine']['python']}"
    )
    print(
        f"HTTP round trip, {report['config']['requests']} requests per target at "
        f"{report['config']['concurrency']} concurrent clients (after {report['config']['warmup']} warm-up)"
    )
    print(f"{'target':<8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8} {'errors':>7} {'blocks':>7}  footer")
    for name in ("floor", "status", "list"):
        s = lat[name]
        print(
            f"{name:<8} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} {s['mean_ms']:>8.2f} {s['max_ms']:>8.2f} "
            f"{s['errors']:>7} {s.get('blocks', '-')!s:>7}  {s.get('footer', '')}"
        )
        for reason in s["first_errors"]:
            print(f"         error: {reason}")
    r = report["ratios"]
    print()
    print(
        f"status p99 / floor p99 = {r['status_p99']:.2f}x (target <= {TARGET_P99_RATIO:g}x)  "
        f"{verdict(report['pass']['status_p99'])}   [p50 ratio {r['status_p50']:.2f}x]"
    )
    print(
        f"list   p99 / floor p99 = {r['list_p99']:.2f}x (target <= {TARGET_P99_RATIO:g}x)  "
        f"{verdict(report['pass']['list_p99'])}   [p50 ratio {r['list_p50']:.2f}x]"
    )
    print(f"list within Block Kit limits and paginated: {verdict(report['pass']['list_blocks'])}")
    cpu = report["server_cpu_ms_per_request"]
    print(f"server CPU a request (/proc, warm-up included): handoff {cpu['handoff']} ms, floor {cpu['floor']} ms")
    mem = report["memory"]
    print()
    print(
        f"idle RSS: handoff serve --http {mem['handoff']['idle_rss_mib']} MiB, bare Bolt app "
        f"{mem['floor']['idle_rss_mib']} MiB = {r['idle_rss']:.2f}x (target <= {TARGET_RSS_RATIO:g}x)  "
        f"{verdict(report['pass']['idle_rss'])}"
    )
    print(
        f"after load: handoff {mem['handoff']['after_load_rss_mib']} MiB (peak {mem['handoff']['peak_rss_mib']}), "
        f"bare {mem['floor']['after_load_rss_mib']} MiB (peak {mem['floor']['peak_rss_mib']})"
    )
    work = report["hours_of_work"]
    by_minute = {sample["minute"]: mib(sample["VmRSS"]) for sample in work["samples"]}
    first, second = by_minute[60] - by_minute[0], second_hour_growth_mib(work)
    print(
        f"scheduled work in process: {by_minute[0]} MiB at rest, {by_minute[60]} MiB after an hour, "
        f"{by_minute[120]} MiB after two ({work['sweeps']} sweeps, {work['jira_syncs']} Jira syncs, "
        f"{work['posted']} posts); grew {first:+.1f} MiB in the first hour, {second:+.1f} MiB in the second  "
        f"{verdict(report['pass']['hours_of_work_bounded'])}"
    )
    print(f"\nresults written to {report['output']}")


# ------------------------------------------------------------------------------------------------ main


def server_env(fake: FakeSlack, database_url: str) -> dict[str, str]:
    """The environment a `handoff serve` process gets: this one's, less any Handoff setting, plus the fake's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "JIRA_", "DATABASE_", "HANDOFF_")) and key not in ("PORT", "LOG_LEVEL")
    }
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
    )
    return env


@contextmanager
def running_servers(fake: FakeSlack, database_url: str, workdir: Path) -> Iterator[tuple[Server, Server]]:
    env = server_env(fake, database_url)
    servers: list[Server] = []
    try:
        handoff_port, floor_port = free_port(), free_port()
        # The working directory is the temp dir, so no `.env` in the checkout leaks into the real app.
        handoff = launch(
            "handoff",
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(handoff_port)],
            env,
            workdir,
            handoff_port,
        )
        servers.append(handoff)
        floor = launch(
            "floor",
            [sys.executable, "-m", "bench.bare_app", "--port", str(floor_port), "--threads", str(SERVER_THREADS)],
            env,
            workdir,
            floor_port,
        )
        servers.append(floor)
        yield handoff, floor
    finally:
        for server in servers:
            stop(server)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_status", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="timed requests per target (default 600)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per target first (default 50)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 64 or not 0 <= args.warmup <= 10_000:
        parser.error("--requests 1..100000, --concurrency 1..64, --warmup 0..10000")

    started_at = datetime.now(UTC)
    code = code_version(flag="product_code_modified")
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    try:
        database_url = f"sqlite:///{workdir / 'handoff.db'}"
        t0 = time.monotonic()
        data = seed_database(database_url, now=started_at)
        print(
            f"seeded {data['initiatives']} initiatives over {data['channels']} channels in "
            f"{time.monotonic() - t0:.1f}s: "
            + ", ".join(f"{n} {what}" for what, n in data.items() if what not in ("initiatives", "channels"))
        )
        with (
            FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake,
            running_servers(fake, database_url, workdir) as (handoff, floor),
        ):
            client = Client(fake)
            status_target = Target("status", handoff.port, "status")
            list_target = Target("list", handoff.port, "list")
            floor_target = Target("floor", floor.port, "status")

            def floor_probe() -> bool:
                sample = client.send(floor_target)
                return sample.error is None and sample.status == 200

            ready = {
                "handoff_s": round(wait_until_ready(handoff, health_probe(handoff.port)), 2),
                "floor_s": round(wait_until_ready(floor, floor_probe), 2),
            }
            at_rest = {
                "handoff_s": round(wait_until_at_rest(handoff), 1),
                "floor_s": round(wait_until_at_rest(floor), 1),
            }
            print(
                f"ready {ready['handoff_s']}s (handoff) and {ready['floor_s']}s (floor) after launch; at rest "
                f"{at_rest['handoff_s']}s (handoff) and {at_rest['floor_s']}s (floor) after that"
            )
            idle = {"handoff": handoff.memory_kib(), "floor": floor.memory_kib()}

            print(
                f"load: {args.warmup} warm-up + {args.requests} timed requests per target, {args.concurrency} clients"
            )
            cpu_before = {"handoff": handoff.cpu_seconds(), "floor": floor.cpu_seconds()}
            results, load_seconds = run_load(
                [floor_target, status_target, list_target],
                client,
                requests=args.requests,
                warmup=args.warmup,
                concurrency=args.concurrency,
            )
            served = {"handoff": 2 * (args.warmup + args.requests), "floor": args.warmup + args.requests}
            # What drives the ratios: 8 clients queue on each server's one interpreter lock.
            cpu_ms_per_request = {
                name: round((server.cpu_seconds() - cpu_before[name]) * 1000 / served[name], 2)
                for name, server in (("handoff", handoff), ("floor", floor))
            }
            time.sleep(IDLE_SETTLE_S)
            after = {"handoff": handoff.memory_kib(), "floor": floor.memory_kib()}
            print(f"two simulated hours of scheduled work in a worker process ({HOURS_OF_WORK_MINUTES} sweeps)")
            hours_of_work = run_worker(
                server_env(fake, database_url),
                workdir,
                fake,
                channels=CHANNELS,
                users=USERS,
                minutes=HOURS_OF_WORK_MINUTES,
            )
    except RuntimeError as error:
        print(f"benchmark aborted: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    latency = {name: summarize(name, results.samples.get(name, [])) for name in ("floor", "status", "list")}
    floor_lat = latency["floor"]
    ratios = {
        "status_p99": latency["status"]["p99_ms"] / floor_lat["p99_ms"],
        "list_p99": latency["list"]["p99_ms"] / floor_lat["p99_ms"],
        "status_p50": latency["status"]["p50_ms"] / floor_lat["p50_ms"],
        "list_p50": latency["list"]["p50_ms"] / floor_lat["p50_ms"],
        "idle_rss": idle["handoff"]["VmRSS"] / idle["floor"]["VmRSS"],
    }
    report: dict[str, Any] = {
        "date": started_at.isoformat(timespec="seconds"),
        "code": code,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "block": BLOCK,
            "server_threads": SERVER_THREADS,
            "page_size": PAGE_SIZE,
        },
        "data": data,
        "ready": ready,
        "at_rest": at_rest,
        "load_seconds": round(load_seconds, 1),
        "latency": latency,
        "ratios": {key: round(value, 2) for key, value in ratios.items()},
        "server_cpu_ms_per_request": cpu_ms_per_request,
        "memory": {
            name: {
                "idle_rss_mib": mib(idle[name]["VmRSS"]),
                "after_load_rss_mib": mib(after[name]["VmRSS"]),
                "peak_rss_mib": mib(after[name]["VmHWM"]),
            }
            for name in ("handoff", "floor")
        },
        "hours_of_work": hours_of_work,
        "pass": {
            "status_p99": ratios["status_p99"] <= TARGET_P99_RATIO,
            "list_p99": ratios["list_p99"] <= TARGET_P99_RATIO,
            "list_blocks": latency["list"]["errors"] == 0,
            "idle_rss": ratios["idle_rss"] <= TARGET_RSS_RATIO,
            "hours_of_work_bounded": second_hour_growth_mib(hours_of_work) <= MAX_SECOND_HOUR_GROWTH_MIB,
        },
        "output": str(args.output),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    return 1 if any(latency[name]["errors"] for name in latency) else 0


if __name__ == "__main__":
    sys.exit(main())
