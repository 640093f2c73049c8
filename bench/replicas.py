"""Two replicas on one PostgreSQL database under load, one of them killed and restarted mid-run.

    bash -c '. .ci/postgres.sh && postgres_start && python -m bench.replicas [--seconds 60] [--clients 8]'

What it does, all on 127.0.0.1 and bounded in time:

1. starts a `FakeSlack`, creates a database on the PostgreSQL server `HANDOFF_TEST_POSTGRES_URL` names (or
   `--server`), and seeds it with `bench.http_status`'s 1,000 initiatives over 100 channels;
2. launches two `handoff serve --http` processes on it, and plays the load balancer: a request goes to the next
   replica whose `/readyz` answered 200 at the last probe (every 200 ms), as a balancer's health check would;
3. runs `--clients` client threads for `--seconds`: three in four requests are signed `/handoff status all`
   (answered in the ack), one in four a write, `/handoff idea <initiative> "bench idea N"` (acked at once,
   written after the ack, told in the initiative's thread and answered through the `response_url`);
4. a third of the way in, kills one replica outright (SIGKILL), and a third later starts a new one in its place;
5. waits for the after-ack work to settle, then checks what Slack and the database saw.

It reports, and the exit status holds to: no failed ack except requests the killed replica held when it died (at
most one a client; a request it refused before the balancer noticed is passed to another replica, as a balancer
does with a refused connection); no lost write (every write acked by a replica that lived is in the database, and
so is every write told in a thread); no duplicate (each idea in the database once, and told in its thread at most
once). Results go to `bench/results/replicas.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.http_status import (
    BOT_TOKEN,
    CHANNELS,
    ROOT,
    TEAM_ID,
    Client,
    Server,
    Target,
    free_port,
    launch,
    seed_database,
    server_env,
    stop,
    wait_until_ready,
)
from bot.fake_slack import FakeChannel, FakeSlack
from storage.db import make_engine

RESULTS = ROOT / "bench" / "results" / "replicas.json"
PROBE_EVERY_S = 0.2
SETTLE_TIMEOUT_S = 60.0
WRITE_EVERY = 4  # one request in four is a write


@dataclass
class Replica:
    name: str
    server: Server
    ready: bool = False


@dataclass
class Outcome:
    sent: int = 0
    rerouted: int = 0  # refused by a dead replica before the balancer's probe noticed, and sent elsewhere
    acked: int = 0
    failed: list[tuple[float, str, str]] = field(default_factory=list)  # (time, replica, error)
    writes: dict[str, str] = field(default_factory=dict)  # idea text -> replica that acked it
    lock: threading.Lock = field(default_factory=threading.Lock)


class Balancer:
    """Round robin over the replicas that answered `/readyz` with 200 at the last probe."""

    def __init__(self) -> None:
        self.replicas: list[Replica] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._prober = threading.Thread(target=self._probe_forever, daemon=True)

    def start(self) -> None:
        self._prober.start()

    def close(self) -> None:
        self._stop.set()
        if self._prober.is_alive():
            self._prober.join(5)

    def pick(self) -> Replica | None:
        with self._lock:
            ready = [r for r in self.replicas if r.ready]
            if not ready:
                return None
            self._next += 1
            return ready[self._next % len(ready)]

    def _probe_forever(self) -> None:
        import urllib.request

        while not self._stop.wait(PROBE_EVERY_S):
            for replica in list(self.replicas):
                url = f"http://127.0.0.1:{replica.server.port}/readyz"
                try:
                    with urllib.request.urlopen(url, timeout=1) as response:
                        replica.ready = response.status == 200
                except OSError:
                    replica.ready = False


def serve_replica(name: str, env: dict[str, str], workdir: Path) -> Replica:
    port = free_port()
    argv = [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    server = launch(name, argv, env, workdir, port)
    wait_until_ready(server, lambda: _ready(port))
    return Replica(name, server, ready=True)


def _ready(port: int) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
        return response.status == 200


def run_clients(
    balancer: Balancer, client: Client, outcome: Outcome, *, clients: int, seconds: float, reference: str
) -> None:
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def one_client() -> None:
        while time.monotonic() < deadline:
            with counter_lock:
                n = next(counter)
            replica = balancer.pick()
            if replica is None:
                time.sleep(0.05)
                continue
            idea = f"bench idea {n}" if n % WRITE_EVERY == 0 else None
            command = f'idea {reference} "{idea}"' if idea else "status all"
            sample = client.send(Target(replica.name, replica.server.port, command))
            if sample.error and "ConnectionRefused" in sample.error:
                # Never delivered: a balancer passes it to another replica, as one that marks a dead upstream does.
                replica.ready = False
                with outcome.lock:
                    outcome.rerouted += 1
                continue
            with outcome.lock:
                outcome.sent += 1
                if sample.status == 200:
                    outcome.acked += 1
                    if idea:
                        outcome.writes[idea] = replica.name
                else:
                    outcome.failed.append((time.monotonic(), replica.name, sample.error or str(sample.status)))

    threads = [threading.Thread(target=one_client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


IDEA = re.compile(r"bench idea (\d+)")


def told_in_threads(fake: FakeSlack) -> Counter[str]:
    """How many times each idea was told in a thread (each message counted once however often it names it)."""
    told: Counter[str] = Counter()
    for call in fake.calls_to("chat.postMessage"):
        if call.response.get("ok"):
            told.update({f"bench idea {n}" for n in IDEA.findall(json.dumps(call.args))})
    return told


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--server", default=os.environ.get("HANDOFF_TEST_POSTGRES_URL"), help="PostgreSQL server URL")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if not args.server:
        print("No PostgreSQL server: set HANDOFF_TEST_POSTGRES_URL or pass --server (.ci/postgres.sh starts one).")
        return 2

    database = f"handoff_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    database_url = make_url(args.server).set(database=database).render_as_string(hide_password=False)
    balancer = Balancer()
    replicas: list[Replica] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="handoff-bench-") as workdir,
            FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake,
        ):
            for channel in CHANNELS:
                fake.add_channel(FakeChannel(channel, channel.lower(), members={fake.bot_user_id}))
            seeded = seed_database(database_url, datetime.now(UTC))
            engine = make_engine(database_url)
            with engine.connect() as connection:
                reference = connection.execute(text("SELECT ref_key FROM initiative ORDER BY id LIMIT 1")).scalar()
            env = server_env(fake, database_url)
            replicas += [serve_replica("a", env, Path(workdir)), serve_replica("b", env, Path(workdir))]
            balancer.replicas = list(replicas)
            balancer.start()
            client = Client(fake)
            outcome = Outcome()
            third = args.seconds / 3
            started = time.monotonic()
            load = threading.Thread(
                target=run_clients,
                args=(balancer, client, outcome),
                kwargs={"clients": args.clients, "seconds": args.seconds, "reference": reference},
            )
            load.start()
            time.sleep(third)
            killed_at = time.monotonic()
            replicas[0].server.process.send_signal(signal.SIGKILL)
            replicas[0].server.process.wait(10)
            time.sleep(third)
            replacement = serve_replica("a2", env, Path(workdir))
            replicas.append(replacement)
            balancer.replicas.append(replacement)
            restarted_at = time.monotonic()
            load.join()
            elapsed = time.monotonic() - started

            # Let every acked write finish its after-ack work, on the replicas still alive.
            written: set[str] = set()
            duplicates: dict[str, int] = {}
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    rows = connection.execute(text("SELECT text FROM idea WHERE text LIKE 'bench idea %'")).scalars()
                    counts = Counter(rows)
                written = set(counts)
                duplicates = {idea: n for idea, n in counts.items() if n > 1}
                survivors = {i for i, r in outcome.writes.items() if r != "a"}
                if survivors <= written:
                    break
                time.sleep(0.5)
            engine.dispose()
            told = told_in_threads(fake)

            on_killed = [f for f in outcome.failed if f[1] == "a" and f[0] >= killed_at - 1]
            other_failures = [f for f in outcome.failed if f not in on_killed]
            lost = sorted(set(told) - written)  # told in a thread, yet not in the database
            acked_unwritten = sorted(i for i, r in outcome.writes.items() if i not in written)
            unexplained = [i for i in acked_unwritten if outcome.writes[i] != "a"]
            told_twice = sorted(i for i, n in told.items() if n > 1)
            written_untold = sorted(i for i in written if told[i] == 0)
            report: dict[str, Any] = {
                "run": {
                    "seconds": round(elapsed, 1),
                    "clients": args.clients,
                    "replicas": 2,
                    "killed_after_s": round(killed_at - started, 1),
                    "replaced_after_s": round(restarted_at - started, 1),
                    "database": "postgresql",
                    **seeded,
                },
                "requests": {
                    "sent": outcome.sent,
                    "rerouted_from_dead_replica": outcome.rerouted,
                    "acked": outcome.acked,
                    "failed_on_killed_replica": len(on_killed),
                    "failed_otherwise": len(other_failures),
                    "throughput_per_s": round(outcome.acked / elapsed, 1),
                },
                "writes": {
                    "acked": len(outcome.writes),
                    "in_database": len(written),
                    "lost": len(lost) + len(unexplained),
                    "duplicated_in_database": len(duplicates),
                    "acked_by_killed_replica_not_written": len(acked_unwritten) - len(unexplained),
                    "acked_elsewhere_not_written": len(unexplained),
                },
                "posts": {"told_twice": len(told_twice), "written_but_never_told": len(written_untold)},
            }
            ok = (
                outcome.acked > 0
                and not other_failures
                and not lost
                and not duplicates
                and not unexplained
                and not told_twice
            )
            report["ok"] = ok
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=2))
            print(json.dumps(report, indent=2))
            if other_failures:
                print("failures not explained by the kill:", other_failures[:5])
            if not ok:
                for replica in replicas:
                    errors = [line for line in replica.server.log_path.read_text().splitlines() if '"error"' in line]
                    print(f"--- {replica.name}: {len(errors)} errors logged", *errors[-5:], sep="\n")
            return 0 if ok else 1
    finally:
        balancer.close()
        for replica in replicas:
            stop(replica.server)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
