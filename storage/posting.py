"""Typed queries for the posting budget: the next turn of each workspace and destination."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.idempotency import insert_if_absent
from storage.models import PostingTurn

WORKSPACE_TURN = "*"  # the destination of the row that paces a workspace as a whole; sorts before every Slack id


def lock_turns(*, session: Session, team_id: str, destination: str, now: datetime) -> tuple[PostingTurn, PostingTurn]:
    """The workspace's turn and the destination's, new ones free from `now`, locked until the transaction ends.

    The workspace's row is locked first, by every booking in the workspace, so bookings queue there instead of
    deadlocking, and a destination's row is created under it without a race. On SQLite the first insert takes the
    database's single write lock, which serializes bookings as well.
    """
    values = {"team_id": team_id, "destination": WORKSPACE_TURN, "next_at": now}
    insert_if_absent(session, PostingTurn, values, index_elements=["team_id", "destination"])
    rows = session.exec(
        select(PostingTurn)
        .where(PostingTurn.team_id == team_id, col(PostingTurn.destination).in_((WORKSPACE_TURN, destination)))
        .order_by(col(PostingTurn.destination))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    turns = {row.destination: row for row in rows}
    if destination not in turns:
        turns[destination] = PostingTurn(team_id=team_id, destination=destination, next_at=now)
        session.add(turns[destination])
    return turns[WORKSPACE_TURN], turns[destination]


def push_turn(*, session: Session, team_id: str, destination: str, to: datetime, if_before: datetime) -> None:
    """Move a turn to `to` if it comes before `if_before`: one statement, atomic on its row."""
    session.execute(
        update(PostingTurn)
        .where(
            col(PostingTurn.team_id) == team_id,
            col(PostingTurn.destination) == destination,
            col(PostingTurn.next_at) < if_before,
        )
        .values(next_at=to)
    )
