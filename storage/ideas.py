"""Typed queries for the ideas log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from storage.models import Idea, Initiative


def add_idea(*, session: Session, idea: Idea) -> Idea:
    session.add(idea)
    session.flush()
    return idea


def get_idea(*, session: Session, initiative_id: int, number: int) -> Idea | None:
    statement = select(Idea).where(Idea.initiative_id == initiative_id, Idea.number == number)
    return session.exec(statement).first()


def list_ideas(*, session: Session, initiative_id: int, limit: int) -> Sequence[Idea]:
    """Newest first."""
    statement = select(Idea).where(Idea.initiative_id == initiative_id).order_by(col(Idea.number).desc()).limit(limit)
    return session.exec(statement).all()


def count_ideas(*, session: Session, initiative_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(Idea).where(Idea.initiative_id == initiative_id)).one())


def search_ideas(
    *, session: Session, team_id: str, words: Sequence[str], limit: int
) -> Sequence[tuple[Idea, Initiative]]:
    """Ideas in the workspace whose text or outcome note holds every word (any case), newest first."""
    conditions = []
    for word in words:
        # lower(), not casefold(): the database folds the text with its own lower(), and casefold() turns "ß" into
        # "ss", which no lower-cased text contains.
        needle = word.lower()
        conditions.append(
            func.lower(col(Idea.text)).contains(needle, autoescape=True)
            | func.lower(func.coalesce(col(Idea.outcome_note), "")).contains(needle, autoescape=True)
        )
    statement = (
        select(Idea, Initiative)
        .join(Initiative, col(Initiative.id) == col(Idea.initiative_id))
        .where(Initiative.team_id == team_id, and_(*conditions))
        .order_by(col(Idea.created_at).desc(), col(Idea.id).desc())
        .limit(limit)
    )
    return [(idea, initiative) for idea, initiative in session.exec(statement).all()]
