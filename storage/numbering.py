"""Numbers given within an initiative (checkpoint `churn#3`, idea `churn#i2`, blocker `churn#b1`), one at a time."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import Blocker, Checkpoint, Idea, Initiative

Numbered = type[Checkpoint] | type[Idea] | type[Blocker]


def next_number(*, session: Session, model: Numbered, initiative_id: int) -> int:
    """One more than the highest number the initiative ever gave of `model`, removed ones included.

    The initiative's row is written first, in the caller's transaction: on PostgreSQL that locks the row, on SQLite
    it takes the database's write lock. Two requests numbering in one initiative at once (two replicas, or two
    threads of one) so take turns, where both would otherwise read the same highest number and collide.
    """
    session.connection().execute(
        update(Initiative)
        .where(col(Initiative.id) == initiative_id)
        .values(id=Initiative.id)
        .execution_options(synchronize_session=False)
    )
    highest = session.exec(select(func.max(model.number)).where(model.initiative_id == initiative_id)).one()
    return int(highest or 0) + 1
