"""Typed queries for the Slack user cache."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import SlackUser


def get_cached_user(*, session: Session, team_id: str, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, (team_id, user_id))


def upsert_cached_user(*, session: Session, user: SlackUser) -> SlackUser:
    merged = session.merge(user)
    session.flush()
    return merged
