"""Who people are: Slack profiles, cached in the database because `users.info` is rate-limited (Tier 4)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from bot.errors import UnknownUser
from storage.models import SlackUser
from storage.users import cached_users, get_cached_user, upsert_cached_user

PROFILE_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    name: str
    real_name: str = ""
    tz: str | None = None
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False


class UserDirectory(Protocol):
    """Where profiles come from (Slack's `users.info` in production); None when the user does not exist."""

    def lookup(self, user_id: str) -> UserProfile | None: ...


class PeopleService:
    """Answers questions about users from the cache, asking the directory only when the cache is stale."""

    def __init__(self, *, session: Session, directory: UserDirectory, team_id: str, now: datetime):
        self._session = session
        self._directory = directory
        self._team_id = team_id
        self._now = now
        # Profiles fetched from Slack in this unit of work, so a caller whose transaction rolls back can still
        # keep them: refetching them on every refused attempt would spend the Tier 4 users.info budget.
        self.fetched: list[UserProfile] = []

    def profile(self, user_id: str) -> UserProfile:
        """The user's profile; raises `UnknownUser` if Slack has no such user."""
        cached = get_cached_user(session=self._session, team_id=self._team_id, user_id=user_id)
        if cached is not None and self._now - cached.fetched_at < PROFILE_MAX_AGE:
            return _to_profile(cached)
        fresh = self._directory.lookup(user_id)
        if fresh is None:
            raise UnknownUser(user_id)
        self.fetched.append(fresh)
        self.remember(fresh)
        return fresh

    def require_person(self, user_id: str) -> UserProfile:
        """A real, active human: leads and engineers cannot be bots or deactivated accounts."""
        profile = self.profile(user_id)
        if profile.deleted:
            raise UnknownUser(user_id, "is deactivated")
        if profile.is_bot:
            raise UnknownUser(user_id, "is a bot, not a person")
        return profile

    def is_workspace_admin(self, user_id: str) -> bool:
        try:
            profile = self.profile(user_id)
        except UnknownUser:
            return False
        return profile.is_admin or profile.is_owner

    def remember(self, profile: UserProfile) -> None:
        """Store a profile, e.g. from `users.info` or a `user_change` event."""
        upsert_cached_user(
            session=self._session,
            user=SlackUser(
                team_id=self._team_id,
                user_id=profile.user_id,
                name=profile.name,
                real_name=profile.real_name,
                tz=profile.tz,
                is_admin=profile.is_admin,
                is_owner=profile.is_owner,
                is_bot=profile.is_bot,
                deleted=profile.deleted,
                fetched_at=self._now,
            ),
        )


def known_names(*, session: Session, team_id: str, user_ids: Collection[str]) -> dict[str, str]:
    """Each person's Slack name as Handoff last cached it, without asking Slack; unknown people are left out."""
    rows = cached_users(session=session, team_id=team_id, user_ids=user_ids)
    return {row.user_id: row.name for row in rows if row.name}


def cached_display_name(*, session: Session, team_id: str, user_id: str) -> str:
    """A person's real name (else handle) as Handoff last cached it, without asking Slack; their id if unknown."""
    cached = get_cached_user(session=session, team_id=team_id, user_id=user_id)
    return (cached.real_name or cached.name) if cached else user_id


def _to_profile(row: SlackUser) -> UserProfile:
    return UserProfile(
        user_id=row.user_id,
        name=row.name,
        real_name=row.real_name,
        tz=row.tz,
        is_admin=row.is_admin,
        is_owner=row.is_owner,
        is_bot=row.is_bot,
        deleted=row.deleted,
    )
