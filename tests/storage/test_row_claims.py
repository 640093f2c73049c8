"""Work picked by replicas at the same moment: a row one replica is claiming is passed by, not waited for; and the
Jira sync's progress row, which the first syncs of two replicas both create, is created once.

On PostgreSQL the pick locks its rows `FOR UPDATE SKIP LOCKED`. Each test holds one replica's transaction open
after its pick, and the other replica (under a short `lock_timeout`, so waiting fails instead of hanging) must take
the next row at once; SQLite has a single writer and no row locks, so these run on PostgreSQL only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import jira as jira_queries
from storage import schedules as queries
from storage.models import JiraPush, JiraStatusChange, JobRun
from tests.support.databases import POSTGRESQL
from tests.support.factories import checkpoint_row, make_initiative
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import NOW

LEASE = timedelta(minutes=5)


@pytest.fixture
def replicas(engine: Engine) -> Iterator[tuple[Session, Session]]:
    """Two replicas' sessions on one PostgreSQL database, each giving up on a row lock after a second."""
    if engine.dialect.name != POSTGRESQL:
        pytest.skip("row locks are PostgreSQL's; SQLite has a single writer")
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        for session in (first, second):
            session.connection().execute(text("SET lock_timeout = '1s'"))
        yield first, second


def checkpoints(engine: Engine, count: int) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        initiative = make_initiative(session)
        rows = [checkpoint_row(initiative.id or 0, number) for number in range(1, count + 1)]
        session.add_all(rows)
        session.commit()
        return [row.id or 0 for row in rows]


def test_two_replicas_share_lapsed_claims_instead_of_waiting(engine: Engine, replicas: tuple[Session, Session]) -> None:
    with Session(engine) as session:
        for number in range(2):
            session.add(
                JobRun(
                    job="digest",
                    target=f"{TEAM_ID}:C{number}",
                    slot="2027-01-04",
                    due_at=NOW,
                    claimed_at=NOW,
                    lease_until=NOW,
                    holder="dead",
                )
            )
        session.commit()
    first, second = replicas
    later = NOW + LEASE

    taken = [
        queries.take_over_lapsed_claim(session=s, jobs=["digest"], now=later, lease_until=later + LEASE, holder=h)
        for s, h in ((first, "one"), (second, "two"))
    ]
    first.commit()
    second.commit()

    assert [run.target if run else None for run in taken] == [f"{TEAM_ID}:C0", f"{TEAM_ID}:C1"]
    with Session(engine) as session:
        assert (
            queries.take_over_lapsed_claim(
                session=session, jobs=["digest"], now=later, lease_until=later + LEASE, holder="three"
            )
            is None
        )


def test_two_replicas_share_due_jira_pushes_instead_of_waiting(
    engine: Engine, replicas: tuple[Session, Session]
) -> None:
    ids = []
    with Session(engine, expire_on_commit=False) as session:
        for checkpoint_id in checkpoints(engine, 2):
            push = JiraPush(
                team_id=TEAM_ID,
                checkpoint_id=checkpoint_id,
                issue_key="DS-1",
                action="done",
                actor_id="U1",
                next_attempt_at=NOW,
                created_at=NOW,
            )
            session.add(push)
            session.flush()
            ids.append(push.id)
        session.commit()
    first, second = replicas

    picked = [jira_queries.claim_due_pushes(session=s, now=NOW, lease=LEASE, limit=1) for s in (first, second)]
    first.commit()
    second.commit()

    assert picked == [[ids[0]], [ids[1]]]


def test_two_replicas_share_unposted_status_changes_instead_of_waiting(
    engine: Engine, replicas: tuple[Session, Session]
) -> None:
    [checkpoint_id] = checkpoints(engine, 1)
    with Session(engine, expire_on_commit=False) as session:
        change = JiraStatusChange(checkpoint_id=checkpoint_id, issue_key="DS-1", to_status="Done", changed_at=NOW)
        session.add(change)
        session.commit()
    first, second = replicas

    picked = [jira_queries.claim_unposted_status_changes(session=s, now=NOW, stale_after=LEASE) for s in replicas]
    first.commit()
    second.commit()

    assert picked == [[change.id], []]


def test_two_replicas_report_a_failed_push_once_without_waiting(
    engine: Engine, replicas: tuple[Session, Session]
) -> None:
    [checkpoint_id] = checkpoints(engine, 1)
    with Session(engine, expire_on_commit=False) as session:
        push = JiraPush(
            team_id=TEAM_ID,
            checkpoint_id=checkpoint_id,
            issue_key="DS-1",
            action="done",
            actor_id="U1",
            state="failed",
            next_attempt_at=NOW,
            created_at=NOW,
        )
        session.add(push)
        session.commit()
    first, second = replicas

    told = [jira_queries.claim_failure_report(session=s, push_id=push.id or 0, now=NOW) for s in replicas]
    first.commit()
    second.commit()

    assert told == [True, False]


def test_two_replicas_syncing_jira_for_the_first_time_at_once_share_one_progress_row(
    engine: Engine, replicas: tuple[Session, Session]
) -> None:
    first, second = replicas
    second.connection().execute(text("SET lock_timeout = '10s'"))  # it waits for the first replica, as it should
    created = jira_queries.get_sync_state(session=first)  # inserted, not yet committed
    found: list[object] = []
    waiting = threading.Thread(target=lambda: found.append(jira_queries.get_sync_state(session=second)))
    waiting.start()
    with Session(engine) as watcher:  # until the second replica waits on the first one's row
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not lock_waits(watcher):
            watcher.rollback()
    first.commit()
    waiting.join(10)

    assert [getattr(state, "name", None) for state in found] == [created.name]


def lock_waits(session: Session) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    return int(session.connection().execute(text(query)).scalar() or 0)
