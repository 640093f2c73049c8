"""What every listener and job needs, built once by the app factory: settings, database, clock, metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock, local_today
from bot.config import Settings
from bot.jira_gateway import JiraGateway
from bot.metrics import Metrics
from bot.posting_budget import PostingBudget
from storage.db import session_scope


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    # None when Jira is not configured; every Jira feature then says so instead of failing.
    jira: JiraGateway | None = None
    # Called after a channel's schedule changes, so the scheduler in this process picks it up at once.
    schedule_listeners: list[Callable[[], None]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    # Shared with every replica through the database, so a digest and a nudge to one channel stay a second apart.
    posting_budget: PostingBudget = field(init=False)

    def __post_init__(self) -> None:
        budget = PostingBudget(sessions=self.session, clock=self.clock, per_minute=self.settings.slack_posts_per_minute)
        object.__setattr__(self, "posting_budget", budget)  # frozen: built once, from the fields above

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    def today(self) -> date:
        """Today in the workspace's time zone: target dates are calendar days there."""
        return local_today(self.clock, self.settings.tz)

    @property
    def jira_url(self) -> str | None:
        return self.settings.jira.url if self.settings.jira else None

    def schedule_changed(self) -> None:
        for listener in self.schedule_listeners:
            listener()
