"""Typed queries for blockers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import Blocker


def add_blocker(*, session: Session, blocker: Blocker) -> Blocker:
    session.add(blocker)
    session.flush()
    return blocker


def get_blocker(*, session: Session, initiative_id: int, number: int) -> Blocker | None:
    statement = select(Blocker).where(Blocker.initiative_id == initiative_id, Blocker.number == number)
    return session.exec(statement).first()


def open_blockers(*, session: Session, initiative_ids: Sequence[int]) -> Sequence[Blocker]:
    """Unresolved blockers of many initiatives, oldest first."""
    if not initiative_ids:
        return []
    statement = (
        select(Blocker)
        .where(col(Blocker.initiative_id).in_(initiative_ids), col(Blocker.resolved_at).is_(None))
        .order_by(col(Blocker.reported_at), col(Blocker.id))
    )
    return session.exec(statement).all()


def blockers_of_prompt(*, session: Session, prompt_id: int) -> Sequence[Blocker]:
    """The blockers a standup answer reported."""
    return session.exec(select(Blocker).where(col(Blocker.standup_prompt_id) == prompt_id)).all()
