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

    Both rows are made first if missing (a second replica making the same row waits for the first and then leaves
    it be), then locked in one order, the workspace's first, so bookings queue instead of deadlocking. On SQLite the
    first insert takes the database's single write lock, which serializes bookings as well.
    """
    for each in (WORKSPACE_TURN, destination):
        values = {"team_id": team_id, "destination": each, "next_at": now}
        insert_if_absent(session, PostingTurn, values, index_elements=["team_id", "destination"])
    rows = session.exec(
        select(PostingTurn)
        .where(PostingTurn.team_id == team_id, col(PostingTurn.destination).in_((WORKSPACE_TURN, destination)))
        .order_by(col(PostingTurn.destination))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    turns = {row.destination: row for row in rows}
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
