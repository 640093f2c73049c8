"""Where a `/handoff status` request spends its time, in-process and single-threaded (no HTTP, no concurrency).

    python -m bench.profile_status [--requests 300] [--cprofile]

Same data as `bench.http_status` (1,000 initiatives over 100 channels, with checkpoints, docs, checklist entries,
KPIs and readings, standups and blockers). Prints:

* CPU per `App.dispatch` of a signed slash command (all threads of this process, `time.process_time`) for the
  bare ack-only app, Handoff's `help` (no database) and Handoff's `status` / `list`, with the wall time;
* the status read path split into stages: the cards through the ORM, rendering + JSON, a fresh connection per
  request as the handler does, and the same three SQL statements through raw `sqlite3` for scale;
* SQL statements per status and list page (a `before_cursor_execute` counter) and CPU per page, with 100 and
  with 1,000 initiatives: the count must not grow with the data;
* with `--cprofile`, the top functions of a whole `status` dispatch by their own time, and of the read path by
  cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, event, func
from sqlmodel import col, select

from bench.bare_app import build_app
from bench.http_status import BOT_TOKEN, CHANNELS, SIGNING_SECRET, TEAM_ID, USERS, seed_database
from bot.app import create_app
from bot.blocks.status import render_status_page
from bot.config import Settings
from bot.fake_slack import FakeSlack
from bot.status import ScopeKind, StatusScope, status_page
from storage.db import make_engine, session_scope
from storage.initiatives import latest_phase_changes
from storage.models import Initiative

WARMUP = 30
TARGET_STATUS_CPU_MS = 1.5
SIZES = (100, 1000)


def signed_command(verifier: SignatureVerifier, n: int, text: str) -> BoltRequest:
    body = urllib.parse.urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "channel_id": CHANNELS[n % len(CHANNELS)],
            "user_id": USERS[n % len(USERS)],
            "command": "/handoff",
            "text": text,
            "api_app_id": "A0001",
            "response_url": "http://127.0.0.1:9/response/unused",
            "trigger_id": f"{n}.trigger",
        }
    )
    timestamp = str(int(time.time()))
    headers = {
        "content-type": ["application/x-www-form-urlencoded"],
        "x-slack-request-timestamp": [timestamp],
        "x-slack-signature": [verifier.generate_signature(timestamp=timestamp, body=body)],
    }
    return BoltRequest(body=body, headers=headers)


def dispatch_cost(app: App, text: str, requests: int) -> tuple[float, float]:
    """(CPU ms, median wall ms) per dispatched command."""
    verifier = SignatureVerifier(SIGNING_SECRET)
    for n in range(WARMUP):
        app.dispatch(signed_command(verifier, n, text))
    batch = [signed_command(verifier, n, text) for n in range(requests)]
    walls = []
    cpu = time.process_time()
    for request in batch:
        started = time.perf_counter()
        response = app.dispatch(request)
        walls.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{text!r} answered HTTP {response.status}: {response.body[:200]}")
    return (time.process_time() - cpu) / requests * 1000, statistics.median(walls) * 1000


def per_call_ms(fn: Callable[[int], object], requests: int) -> float:
    for n in range(WARMUP):
        fn(n)
    started = time.perf_counter()
    for n in range(requests):
        fn(n)
    return (time.perf_counter() - started) / requests * 1000


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs (an executemany counts once)."""
    sent: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def page_costs(workdir: Path, now: datetime, initiatives: int, requests: int) -> dict[str, tuple[int, float]]:
    """For `initiatives` seeded: (SQL statements, CPU ms) of one status page and one list page, as the handler
    reads and renders them (a fresh connection, the page, render, JSON)."""
    url = f"sqlite:///{workdir / f'size-{initiatives}.db'}"
    seed_database(url, now, initiatives=initiatives)
    engine = make_engine(url)
    channels = CHANNELS[: initiatives // 10]
    costs = {}
    for label, scope_of in (
        ("status", lambda n: StatusScope(ScopeKind.CHANNEL, channels[n % len(channels)])),
        ("list", lambda n: StatusScope(ScopeKind.ALL)),
    ):

        def one(n: int, scope_of: Callable[[int], StatusScope] = scope_of) -> str:
            with engine.connect() as connection:  # as the handler reads a page
                page = status_page(db=connection, team_id=TEAM_ID, scope=scope_of(n), page=1, now=now)
            return json.dumps(render_status_page(page, jira_url="https://jira.example.com").as_kwargs())

        for n in range(WARMUP):
            one(n)
        with statements_sent(engine) as sent:
            one(0)
        cpu = time.process_time()
        for n in range(requests):
            one(n)
        costs[label] = (len(sent), (time.process_time() - cpu) / requests * 1000)
    engine.dispose()
    return costs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_status", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="calls per measurement (default 300)")
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile of the read path")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000:
        parser.error("--requests 1..100000")

    workdir = Path(tempfile.mkdtemp(prefix="handoff-profile-"))
    try:
        database = workdir / "handoff.db"
        url = f"sqlite:///{database}"
        now = datetime.now(UTC)
        seed_database(url, now)
        with FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake:
            bare = build_app(token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url)
            settings = Settings(
                slack_bot_token=BOT_TOKEN,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=fake.api_url,
                database_url=url,
                log_level="WARNING",
            )
            handoff = create_app(settings).bolt
            print(f"App.dispatch of a signed /handoff command, {args.requests} calls each, one at a time")
            print(f"{'':28} {'CPU ms':>8} {'wall ms':>8}")
            dispatched = {}
            for label, app, text in (
                ("bare app (ack only)", bare, "status"),
                ("handoff help (no database)", handoff, "help"),
                ("handoff status", handoff, "status"),
                ("handoff list", handoff, "list"),
            ):
                dispatched[text if app is handoff else "bare"] = cpu_ms = dispatch_cost(app, text, args.requests)
                print(f"{label:28} {cpu_ms[0]:>8.2f} {cpu_ms[1]:>8.2f}")
            print("(the bare app's wall includes Bolt's 10 ms ack poll: time.sleep(0.01) in ThreadListenerRunner)")
            if args.cprofile:
                verifier = SignatureVerifier(SIGNING_SECRET)
                batch = [signed_command(verifier, n, "status") for n in range(args.requests)]
                profile = cProfile.Profile()
                profile.enable()
                for request in batch:
                    handoff.dispatch(request)
                profile.disable()
                print()
                print(f"cProfile of {args.requests} `status` dispatches, by each function's own time")
                pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)
            status_cpu = dispatched["status"][0]
            print(
                f"CPU per status page: {status_cpu:.2f} ms (target <= {TARGET_STATUS_CPU_MS:g} ms)  "
                + ("PASS" if status_cpu <= TARGET_STATUS_CPU_MS else "FAIL")
            )

        print()
        print("SQL statements and CPU per page (connection + read + render + JSON), by the number of initiatives")
        print(f"{'initiatives':>11} {'status SQL':>11} {'list SQL':>9} {'status CPU ms':>14} {'list CPU ms':>12}")
        sizes = {size: page_costs(workdir, now, size, args.requests) for size in SIZES}
        for size, costs in sizes.items():
            print(
                f"{size:>11} {costs['status'][0]:>11} {costs['list'][0]:>9} "
                f"{costs['status'][1]:>14.3f} {costs['list'][1]:>12.3f}"
            )
        constant = len({(c["status"][0], c["list"][0]) for c in sizes.values()}) == 1
        print("statements per page constant in the number of initiatives: " + ("PASS" if constant else "FAIL"))

        engine = make_engine(url)
        channel_scope = [StatusScope(ScopeKind.CHANNEL, c) for c in CHANNELS]

        def read_path(n: int, scope: StatusScope | None = None) -> str:
            """What the handler does for `status`: fresh connection, one page, render, JSON."""
            with engine.connect() as connection:
                page = status_page(
                    db=connection, team_id=TEAM_ID, scope=scope or channel_scope[n % 100], page=1, now=now
                )
            return json.dumps(render_status_page(page, jira_url=None).as_kwargs())

        def queries_only(n: int) -> None:
            with session_scope(engine) as session:
                channel = CHANNELS[n % 100]
                # The ORM way the first version read a page, kept for comparison with the prebuilt statements.
                where = (
                    Initiative.team_id == TEAM_ID,
                    Initiative.home_channel_id == channel,
                    ~col(Initiative.archived),
                )
                session.exec(select(func.count()).select_from(Initiative).where(*where)).one()
                rows = session.exec(select(Initiative).where(*where).order_by(col(Initiative.name_key)).limit(15)).all()
                latest_phase_changes(session=session, initiative_ids=[r.id for r in rows if r.id])

        with session_scope(engine) as session:
            pages = [status_page(db=session, team_id=TEAM_ID, scope=scope, page=1, now=now) for scope in channel_scope]

        def render_only(n: int) -> str:
            return json.dumps(render_status_page(pages[n % 100], jira_url=None).as_kwargs())

        raw = sqlite3.connect(str(database))

        def raw_sql(n: int) -> None:
            channel = CHANNELS[n % 100]
            where = "team_id = ? AND home_channel_id = ? AND archived = 0"
            raw.execute(f"SELECT count(*) FROM initiative WHERE {where}", (TEAM_ID, channel)).fetchall()
            rows = raw.execute(
                f"SELECT * FROM initiative WHERE {where} ORDER BY name_key LIMIT 15", (TEAM_ID, channel)
            ).fetchall()
            marks = ",".join("?" * len(rows))
            raw.execute(
                "SELECT p.* FROM phase_change p JOIN (SELECT initiative_id, max(id) AS newest FROM phase_change "
                f"WHERE initiative_id IN ({marks}) GROUP BY initiative_id) n ON p.id = n.newest",
                [r[0] for r in rows],
            ).fetchall()

        print()
        print(f"status read path, per call ({args.requests} calls, one at a time)")
        for label, fn in (
            ("status_page (1 prebuilt statement) + render + JSON", read_path),
            ("its cards alone, through 3 ORM queries", queries_only),
            ("render_status_page + JSON", render_only),
            ("its cards alone, 3 statements in raw sqlite3", raw_sql),
            ("list: fresh connection + page + render + JSON", lambda n: read_path(n, StatusScope(ScopeKind.ALL))),
        ):
            print(f"{label:48} {per_call_ms(fn, args.requests):>7.3f} ms")
        raw.close()

        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            for n in range(args.requests):
                read_path(n)
            profile.disable()
            print()
            pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
