"""Two replicas posting at once keep one posting budget for the workspace: the real apps on one database, Slack
played by FakeSlack enforcing its workspace limit, both sweeping the same standup minute on shared virtual time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.app import HandoffApp
from bot.fake_slack import FakeUser
from storage.models import JobRun
from tests.conftest import RunningApp
from tests.support.e2e import create
from tests.support.factories import rows
from tests.support.shared_time import SharedTime
from tests.support.workspace import NOW

PER_MINUTE = 120  # one post every half second across the workspace
ENGINEERS = [f"U0ENG{n:02d}" for n in range(24)]
PROMPT_TIME = datetime(2027, 1, 5, 9, 31, tzinfo=UTC)  # Tuesday, just after 09:30 in London
pytestmark = pytest.mark.app_settings(slack_posts_per_minute=PER_MINUTE)


@pytest.fixture
def clock() -> SharedTime:
    return SharedTime(NOW)


def test_two_replicas_posting_at_once_stay_within_the_workspace_limit(
    running: RunningApp, start_replica: Callable[..., HandoffApp]
) -> None:
    for engineer in ENGINEERS:
        running.fake.add_user(FakeUser(engineer, engineer.lower(), f"Engineer {engineer}", tz="Europe/London"))
        create(running, f'new "Model {engineer}" ds:<@U0BOB|bob> embedded:<@{engineer}|{engineer.lower()}>')
    replica = start_replica(slack_posts_per_minute=PER_MINUTE)
    clock = running.clock
    assert isinstance(clock, SharedTime)
    clock.set(PROMPT_TIME)
    arrivals: list[float] = []

    def arrival() -> float:  # the fake reads it once for each chat.postMessage it rate-limits
        arrivals.append(clock.monotonic())
        return arrivals[-1]

    running.fake.enforce_rate_limits(1.0, 1, clock=arrival, workspace_per_minute=PER_MINUTE, workspace_burst=1)
    apps = [running.app, replica]
    for app in apps:
        # Shared time moves once every thread taking part sleeps, and it knows only the sweeps' own threads: one
        # sender a replica keeps the posts on them. The pool's senders are tested on their own (tests/handlers).
        assert app.jobs is not None
        app.jobs.outbox.senders = 1
    clock.take_part(len(apps))
    failures: list[BaseException] = []

    def sweep(app: HandoffApp) -> None:
        try:
            assert app.standups is not None
            app.standups.run_due()
        except BaseException as error:
            failures.append(error)
        finally:
            clock.leave()

    threads = [threading.Thread(target=sweep, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert running.fake.rate_limited == 0, "no post drew a 429"
    for engineer in ENGINEERS:
        prompts = [m for m in running.fake.messages_in(engineer) if m.text.startswith("Standup for")]
        assert len(prompts) == 1, engineer
    runs = rows(running.engine, JobRun, JobRun.job == "standup")
    assert len({run.holder for run in runs}) == 2, "both replicas posted"
    bound = len(ENGINEERS) * 60 / PER_MINUTE
    assert max(arrivals) - min(arrivals) <= 1.2 * bound, "and together as fast as the workspace allows"
