"""Typed queries for the Slack user cache."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from storage.models import SlackUser


def get_cached_user(*, session: Session, team_id: str, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, (team_id, user_id))


def upsert_cached_user(*, session: Session, user: SlackUser) -> SlackUser:
    merged = session.merge(user)
    session.flush()
    return merged


def cached_users(*, session: Session, team_id: str, user_ids: Collection[str]) -> list[SlackUser]:
    """The cached profiles among `user_ids`, however old; people never cached are left out."""
    if not user_ids:
        return []
    return list(
        session.exec(
            select(SlackUser).where(col(SlackUser.team_id) == team_id, col(SlackUser.user_id).in_(list(user_ids)))
        ).all()
    )
