"""Test data builders and fakes: initiatives stored the way the service stores them, the actor of a service call,
stored rows and their counts, the fields a refusal names, and a user directory."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.errors import InvalidInput
from bot.initiatives import Actor
from bot.people import UserProfile
from storage import initiatives as queries
from storage.db import session_scope
from storage.models import Checkpoint, Initiative, Phase, PhaseChange
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import ALICE, BOB, CAROL, CREATOR, GENERAL, NOW, WORKSPACE_USERS

_sequence = itertools.count(1)


def make_initiative(session: Session, **overrides: Any) -> Initiative:
    """Store an initiative (with its first phase-history row) through `storage.initiatives.add_initiative`.

    Any column can be overridden; `phase` other than discovery still gets a single creation row into that phase.
    """
    number = next(_sequence)
    name = overrides.pop("name", f"Initiative {number}")
    created_at: datetime = overrides.pop("created_at", NOW)
    created_by = overrides.pop("created_by", ALICE)
    phase = overrides.pop("phase", Phase.DISCOVERY.value)
    phase = phase.value if isinstance(phase, Phase) else phase
    values: dict[str, Any] = {
        "team_id": TEAM_ID,
        "name": name,
        "name_key": queries.name_key(name),
        "home_channel_id": GENERAL,
        "phase": phase,
        "created_by": created_by,
        "created_at": created_at,
        "updated_by": created_by,
        "updated_at": created_at,
    }
    values.update(overrides)
    initiative = Initiative(**values)
    first = PhaseChange(
        initiative_id=0,
        from_phase=None,
        to_phase=phase,
        changed_by=created_by,
        changed_at=created_at,
    )
    return queries.add_initiative(session=session, initiative=initiative, first_change=first)


def managed(session: Session, **overrides: Any) -> Initiative:
    """ "Churn model" (`churn`), committed, with every role filled so each manager can be tested: ALICE leads DS, BOB
    engineering, CAROL is embedded and CREATOR created it; with a goal, a Jira epic and a target date."""
    values: dict[str, Any] = {
        "name": "Churn model",
        "ds_lead_id": ALICE,
        "eng_lead_id": BOB,
        "embedded_engineer_id": CAROL,
        "created_by": CREATOR,
        "goal": "Cut churn by 5%",
        "jira_epic_key": "DS-12",
        "jira_project_key": "DS",
        "target_date": date(2027, 3, 1),
    }
    values.update(overrides)
    initiative = make_initiative(session, **values)
    session.commit()
    return initiative


def checkpoint_row(initiative_id: int, number: int, **values: Any) -> Checkpoint:
    """A checkpoint of an initiative as Alice adds it now, not yet stored; any column can be given."""
    defaults: dict[str, Any] = {
        "title": f"Checkpoint {number}",
        "created_by": ALICE,
        "created_at": NOW,
        "updated_by": ALICE,
        "updated_at": NOW,
    }
    return Checkpoint(initiative_id=initiative_id, number=number, **(defaults | values))


def seed_initiatives(engine: Engine, count: int = 1, *, channel: str = GENERAL, **fields: Any) -> list[str]:
    """`count` initiatives stored straight in the database (no kickoff posts), at home in `channel`, named `Model 00`,
    `Model 01`, ... after the ones already stored; returns their names."""
    with session_scope(engine) as session:
        first = count_rows(session, Initiative)
        names = [f"Model {number:02d}" for number in range(first, first + count)]
        for name in names:
            make_initiative(session, name=name, home_channel_id=channel, **fields)
    return names


def actor(user_id: str) -> Actor:
    """Whoever calls a service, in the workspace of the Slack driver."""
    return Actor(team_id=TEAM_ID, user_id=user_id)


def count_rows(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def rows(engine: Engine, model: Any, *where: Any) -> list[Any]:
    """The stored rows of `model` that match `where`, in primary key order."""
    with Session(engine) as session:
        return list(session.exec(select(model).where(*where).order_by(*inspect(model).primary_key)).all())


def problem_fields(error: InvalidInput) -> list[str]:
    """The fields a refusal names, in the order it names them."""
    return [str(p.field) for p in error.problems]


class StaticDirectory:
    """A `bot.people.UserDirectory` backed by a dict; records every lookup so tests can count Slack calls."""

    def __init__(self, profiles: Mapping[str, UserProfile] | Iterable[UserProfile] = ()):
        if isinstance(profiles, Mapping):
            self.profiles: dict[str, UserProfile] = dict(profiles)
        else:
            self.profiles = {p.user_id: p for p in profiles}
        self.lookups: list[str] = []

    def lookup(self, user_id: str) -> UserProfile | None:
        self.lookups.append(user_id)
        return self.profiles.get(user_id)

    @property
    def lookup_count(self) -> int:
        return len(self.lookups)

    def count(self, user_id: str) -> int:
        return Counter(self.lookups)[user_id]

    def add(self, profile: UserProfile) -> None:
        self.profiles[profile.user_id] = profile


def people_directory() -> StaticDirectory:
    """The workspace of `tests/support/workspace.py`, as profiles."""
    return StaticDirectory(
        [
            UserProfile(
                u.id,
                u.name,
                u.real_name,
                tz=u.tz,
                is_admin=u.is_admin,
                is_owner=u.is_owner,
                is_bot=u.is_bot,
                deleted=u.deleted,
            )
            for u in WORKSPACE_USERS
        ]
    )
