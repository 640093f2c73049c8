"""Typed queries for the posting budget: the next turn of each workspace and destination.

Every statement is built once with bound parameters: a busy sweep books a turn and pushes it back for each of its
posts, and each of those transactions holds SQLite's single write lock for as long as it takes to run.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, literal, update
from sqlmodel import Session

from storage.idempotency import dialect_insert
from storage.models import PostingTurn
from storage.types import UTCDateTime

WORKSPACE_TURN = "*"  # the destination of the row that paces a workspace as a whole; sorts before every Slack id

_TURN = PostingTurn.__table__  # type: ignore[attr-defined]


@cache
def _lock_statement(dialect: str) -> Any:
    """Both rows, made free from `free_from` if missing, else left as they are but locked: an upsert whose update
    keeps the row. PostgreSQL takes the rows in the order listed, the workspace's first, so bookings queue instead of
    deadlocking; on SQLite it takes the database's single write lock, which serializes bookings as well."""
    now = bindparam("free_from", type_=UTCDateTime())
    rows = [
        {"team_id": bindparam("workspace"), "destination": literal(WORKSPACE_TURN), "next_at": now},
        {"team_id": bindparam("workspace"), "destination": bindparam("destination_id"), "next_at": now},
    ]
    return (
        dialect_insert(dialect)(_TURN)
        .values(rows)
        .on_conflict_do_update(index_elements=["team_id", "destination"], set_={"next_at": _TURN.c.next_at})
        .returning(_TURN.c.destination, _TURN.c.next_at)
    )


_BOOK = (
    update(_TURN)
    .where(
        _TURN.c.team_id == bindparam("workspace"),
        _TURN.c.destination.in_([WORKSPACE_TURN, bindparam("destination_id")]),
    )
    .values(
        next_at=case(
            (_TURN.c.destination == WORKSPACE_TURN, bindparam("workspace_next", type_=UTCDateTime())),
            else_=bindparam("destination_next", type_=UTCDateTime()),
        )
    )
)
_PUSH = (
    update(_TURN)
    .where(
        _TURN.c.team_id == bindparam("workspace"),
        _TURN.c.destination == bindparam("destination_id"),
        _TURN.c.next_at < bindparam("if_before", type_=UTCDateTime()),
    )
    .values(next_at=bindparam("moved_to", type_=UTCDateTime()))
)


def lock_turns(*, session: Session, team_id: str, destination: str, now: datetime) -> tuple[datetime, datetime]:
    """The next turn of the workspace and of the destination (free from `now` if never booked), both rows locked
    until the transaction ends. One statement."""
    connection = session.connection()
    values = {"workspace": team_id, "destination_id": destination, "free_from": now}
    rows = connection.execute(_lock_statement(connection.dialect.name), values).all()
    turns = {row.destination: row.next_at for row in rows}
    return turns[WORKSPACE_TURN], turns[destination]


def book_turns(
    *, session: Session, team_id: str, destination: str, workspace_next: datetime, destination_next: datetime
) -> None:
    """Move the workspace's next turn and the destination's, locked by `lock_turns`: one statement."""
    values = {"workspace_next": workspace_next, "destination_next": destination_next}
    session.connection().execute(_BOOK, {"workspace": team_id, "destination_id": destination, **values})


def push_turn(*, session: Session, team_id: str, destination: str, to: datetime, if_before: datetime) -> None:
    """Move a turn to `to` if it comes before `if_before`: one statement, atomic on its row."""
    values = {"workspace": team_id, "destination_id": destination, "moved_to": to, "if_before": if_before}
    session.connection().execute(_PUSH, values)
