"""Fixtures: a fake Slack, a real database, the real app served over HTTP by waitress, and the people service."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.app import HandoffApp, create_app
from bot.clock import FixedClock
from bot.config import JiraAuth, JiraSettings, Settings
from bot.fake_slack import FakeSlack
from bot.http import create_server
from bot.jira_gateway import JiraGateway
from bot.people import PeopleService, UserProfile
from storage.db import make_engine, upgrade_schema
from tests.support.blockkit import assert_valid_message, assert_valid_view
from tests.support.databases import (
    POSTGRES_URL_VARIABLE,
    POSTGRESQL,
    SQLITE,
    PostgresDatabases,
    postgres_required,
    postgres_url,
)
from tests.support.factories import StaticDirectory, people_directory
from tests.support.mlflow_server import MlflowServer, running_mlflow_server
from tests.support.paths import MANIFEST
from tests.support.slack_driver import TEAM_ID, SlackDriver
from tests.support.workspace import BOT_TOKEN, CREATOR, JIRA_SITE, NOW, OWNER, SIGNING_SECRET, seed


def manifest_scopes() -> set[str]:
    manifest = yaml.safe_load(MANIFEST.read_text())
    return set(manifest["oauth_config"]["scopes"]["bot"])


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = seed(FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID, granted_scopes=manifest_scopes()))
    with fake:
        yield fake
        # Every payload the bot produced during the test must be valid Block Kit within Slack's limits.
        for call in fake.calls:
            if call.method.startswith("chat.") and call.method != "chat.getPermalink":
                assert_valid_message(call.args)
            if call.method.startswith("views.") and "view" in call.args:
                assert_valid_view(call.args["view"])
        for post in fake.response_posts:
            assert_valid_message(post.body)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


POSTGRES_LEFT_OUT = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server, leave the PostgreSQL half out (or refuse to run, where it is required)."""
    if postgres_url() is not None:
        return
    if postgres_required():
        raise pytest.UsageError(f"PostgreSQL is required for this run, and {POSTGRES_URL_VARIABLE} is not set")
    on_postgres = [item for item in items if _database_of(item) == POSTGRESQL]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        items[:] = [item for item in items if _database_of(item) != POSTGRESQL]
    config.stash[POSTGRES_LEFT_OUT] = len(on_postgres)


def _database_of(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "postgres_databases" in getattr(item, "fixturenames", ()):  # asks for the server itself
        return POSTGRESQL
    return params.get("engine") or params.get("empty_engine")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """The PostgreSQL server's databases for this run; a server that does not answer skips (or, where PostgreSQL
    is required, fails) the PostgreSQL half."""
    url = postgres_url()
    assert url is not None, "the PostgreSQL half is left out without a server"
    try:
        databases = PostgresDatabases(url)
    except OperationalError as error:
        reason = f"PostgreSQL at {make_url(url).render_as_string()} did not answer: {error.orig}"
        if postgres_required():
            pytest.fail(reason)
        pytest.skip(f"PostgreSQL half skipped: {reason}")
    yield databases
    databases.close()


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: every test that uses one runs once on SQLite and once on PostgreSQL."""
    if request.param == SQLITE:
        engine = make_engine(f"sqlite:///{tmp_path / 'handoff.db'}")
        upgrade_schema(engine)
        yield engine
        engine.dispose()
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("a SQLite setting, which PostgreSQL does not have")
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    if request.node.get_closest_marker("fresh_database"):
        with databases.fresh() as fresh:
            yield fresh
    else:
        yield databases.emptied()


def pytest_report_header(config: pytest.Config) -> str:
    url = postgres_url()
    if url is None:
        return f"databases: SQLite; the PostgreSQL half is skipped ({POSTGRES_URL_VARIABLE} is not set)"
    return f"databases: SQLite and PostgreSQL at {make_url(url).render_as_string()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left_out = terminalreporter.config.stash.get(POSTGRES_LEFT_OUT, 0)
    if left_out:
        message = f"PostgreSQL half skipped: {left_out} database tests left out, {POSTGRES_URL_VARIABLE} is not set"
        terminalreporter.write_sep("=", message, yellow=True)
        terminalreporter.write_line(
            f"Set {POSTGRES_URL_VARIABLE} to a server's URL (postgresql+psycopg://user@host:port/postgres), "
            "or run .ci/run, which starts one."
        )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def directory() -> StaticDirectory:
    """The workspace as a user directory, plus an initiative's creator who leads nothing and a workspace owner."""
    directory = people_directory()
    directory.add(UserProfile(CREATOR, "creator", "Cree Ator"))
    directory.add(UserProfile(OWNER, "owner", "Olga Owner", is_owner=True))
    return directory


@pytest.fixture
def people(session: Session, directory: StaticDirectory) -> PeopleService:
    """The people service of a service test, on `directory` instead of Slack."""
    return PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW)


def make_settings(fake: FakeSlack, database_url: str = "sqlite://", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "database_url": database_url,
        "timezone": "Europe/Berlin",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class RunningApp:
    app: HandoffApp
    slack: SlackDriver
    fake: FakeSlack
    engine: Engine
    clock: FixedClock

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every listener has finished its after-ack work."""
        assert self.app.executor.wait_until_idle(timeout), "listeners still running"


def serve(app: HandoffApp) -> tuple[str, object, threading.Thread]:
    # A short select() timeout lets close() stop the server at once instead of after waitress's default 1 s.
    server = create_server(app.wsgi_app, host="127.0.0.1", port=0, threads=4, asyncore_loop_timeout=0.05)

    def run() -> None:
        with contextlib.suppress(OSError, ValueError):  # close() from the test thread interrupts select()
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.effective_port}", server, thread


@contextlib.contextmanager
def served(app: HandoffApp, fake: FakeSlack, engine: Engine, clock: FixedClock) -> Iterator[RunningApp]:
    """Serve `app` over HTTP for one test, driven the way Slack drives it; waits for its after-ack work at the end."""
    base, server, thread = serve(app)
    try:
        yield RunningApp(
            app,
            SlackDriver(url=f"{base}/slack/events", signing_secret=SIGNING_SECRET, fake=fake),
            fake,
            engine,
            clock,
        )
        app.executor.wait_until_idle(5)
    finally:
        server.close()  # type: ignore[attr-defined]
        thread.join(5)
        # close() stops accepting, but waitress's workers and Bolt's listener pool would idle on for the rest of
        # the session, a few threads per test: over a whole run, thousands that slow every later test down.
        server.task_dispatcher.shutdown(timeout=5)  # type: ignore[attr-defined]
        app.executor.shutdown(wait=True, cancel_futures=True)


ServeApp = Callable[..., AbstractContextManager[RunningApp]]


@pytest.fixture
def serve_app(fake_slack: FakeSlack, engine: Engine, clock: FixedClock) -> ServeApp:
    """Start the real app over HTTP with settings overrides (`jira=`, `checklist=`, ...); with `jira_sleep`, its Jira
    gateway records the waits a 429 asks for instead of sleeping."""

    @contextlib.contextmanager
    def start(*, jira_sleep: Callable[[float], None] | None = None, **overrides: object) -> Iterator[RunningApp]:
        settings = make_settings(fake_slack, **overrides)
        gateway = None
        if jira_sleep is not None:
            assert settings.jira is not None, "jira_sleep is for an app with Jira settings"
            gateway = JiraGateway(settings.jira, sleep=jira_sleep, clock=clock.now)
        app = create_app(settings, engine=engine, clock=clock, jira=gateway)
        with served(app, fake_slack, engine, clock) as running_app:
            yield running_app

    return start


@pytest.fixture
def running(request: pytest.FixtureRequest, serve_app: ServeApp) -> Iterator[RunningApp]:
    """The app over HTTP; a test or module marked `app_settings(**overrides)` gets those settings."""
    marker = request.node.get_closest_marker("app_settings")
    with serve_app(**(marker.kwargs if marker else {})) as running_app:
        yield running_app


@pytest.fixture
def start_replica(fake_slack: FakeSlack, engine: Engine, clock: FixedClock) -> Iterator[Callable[..., HandoffApp]]:
    """Start a second app in this process, standing in for a replica: its own engine on the same database file,
    the same Slack and clock, settings overrides of its own. Its listeners are not served; tests call its jobs."""
    url = engine.url.render_as_string(hide_password=False)
    engines: list[Engine] = []

    def start(**overrides: object) -> HandoffApp:
        engines.append(make_engine(url))
        return create_app(make_settings(fake_slack, url, **overrides), engine=engines[-1], clock=clock)

    yield start
    for each in engines:
        each.dispose()


# Jira settings for a site the app never contacts: for features that only store or link Jira keys.
OFFLINE_JIRA = JiraSettings(url=JIRA_SITE, auth=JiraAuth.CLOUD, email="bot@example.com", api_token="token-0123456789")


@pytest.fixture
def jira_running(serve_app: ServeApp) -> Iterator[RunningApp]:
    """The app with Jira settings for a site it never contacts: for features that only store or link Jira keys."""
    with serve_app(jira=OFFLINE_JIRA) as running_app:
        yield running_app


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[MlflowServer]:
    """A real `mlflow server` for the whole run (10 s to a minute to start); each test makes experiments of its own."""
    with running_mlflow_server() as server:
        yield server


@pytest.fixture(scope="session")
def prometheus() -> Iterator[object]:
    """A `PrometheusUnderTest` for the whole run: the real `prometheus` binary scraping a test exporter every second
    when it is installed (about 5 s to start), else the fake of its query API. `set()` publishes a gauge and answers
    the moment a query sees it: read at that moment (an app's clock set to it), not at the test workspace's `NOW`."""
    from tests.support.prometheus_server import prometheus_for_tests

    with prometheus_for_tests() as server:
        yield server
