"""Which App Homes a request's changes make stale: each change told in an initiative's thread is noted here, and
once the listener has answered, the Homes of that initiative's people who opened theirs lately are republished
(`handlers.home.refresh_homes`), once each however many changes the request made.

The collector rides in a context variable that a global middleware sets for every request; Bolt runs listeners in
the request's thread after the middleware chain and hands lazy listeners a copy of that context, so the variable
stays set (and is never reset: the next request's middleware replaces it). Work without a request (the scheduler)
has none, and its changes show when the Home is next opened. Light on purpose: posting imports it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class HomeChanges:
    """The initiatives a request changed (by id: their team and people), and the Homes it published itself."""

    runtime: Runtime
    client: WebClient
    initiatives: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    published: set[tuple[str, str]] = field(default_factory=set)  # (team, user) whose Home is fresh already


_changes: ContextVar[HomeChanges | None] = ContextVar("home_changes", default=None)


def register(app: App, runtime: Runtime) -> None:
    @app.middleware
    def collect_home_changes(context: BoltContext, next: Any) -> None:
        _changes.set(HomeChanges(runtime, context.client or app.client))
        next()


def initiative_changed(initiative: Any) -> None:
    """Something the people of this initiative see on their Home changed."""
    changes = _changes.get()
    if changes is None or initiative.id is None:
        return
    people = (initiative.ds_lead_id, initiative.eng_lead_id, initiative.embedded_engineer_id, initiative.created_by)
    changes.initiatives[initiative.id] = (initiative.team_id, tuple(p for p in people if p))


def home_published(team_id: str, user_id: str) -> None:
    """The request published this person's Home itself, with what it changed: no need to do it again."""
    changes = _changes.get()
    if changes is not None:
        changes.published.add((team_id, user_id))


def refresh_changed_homes() -> None:
    """Republish the Homes this request's changes made stale; called once its listener has answered. A failure
    here is logged: the change is saved and answered already."""
    changes = _changes.get()
    if changes is None or not changes.initiatives:
        return
    try:
        from handlers.home import refresh_homes  # composing a Home comes with its first use

        refresh_homes(changes)
    except Exception:
        log.exception("App Homes not refreshed after a change")
    finally:
        changes.initiatives.clear()
