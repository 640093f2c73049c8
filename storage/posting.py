"""Typed queries for the posting budget: the next turn of each workspace and destination."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from storage.idempotency import insert_if_absent
from storage.models import PostingTurn

WORKSPACE_TURN = "*"  # the destination of the row that paces a workspace as a whole; sorts before every Slack id


def lock_turns(*, session: Session, team_id: str, destinations: Sequence[str], now: datetime) -> dict[str, PostingTurn]:
    """The turns of `destinations` in the workspace, new ones free from `now`, locked until the transaction ends.

    Rows are created and locked in one order (the workspace's row first), so two bookings queue instead of
    deadlocking. On SQLite the first insert takes the database's single write lock, which serializes bookings.
    """
    ordered = sorted(set(destinations))
    for destination in ordered:
        values = {"team_id": team_id, "destination": destination, "next_at": now}
        insert_if_absent(session, PostingTurn, values, index_elements=["team_id", "destination"])
    rows = session.exec(
        select(PostingTurn)
        .where(PostingTurn.team_id == team_id, col(PostingTurn.destination).in_(ordered))
        .order_by(col(PostingTurn.destination))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.destination: row for row in rows}
