"""The one engine, short-lived sessions, and schema upgrades through Alembic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 5000
MIGRATION_LOCK_KEY = 0x48616E646F6666  # "Handoff": the PostgreSQL advisory lock migrations take
SQLITE_POOL_SIZE = 24  # one per server and listener thread, for an engine made without saying how many


def make_engine(url: str, *, connections: int | None = None, **kwargs: Any) -> Engine:
    """Create the engine, pooling `connections` connections (the threads that may each use one at once); SQLite
    gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        connect_args = kwargs.setdefault("connect_args", {})
        # Bolt runs listeners on a thread pool, so connections cross threads.
        connect_args.setdefault("check_same_thread", False)
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        else:
            # Opening a SQLite connection re-reads the schema and starts with an empty statement cache; keep one
            # per thread instead of opening and closing overflow connections under load. Hand out the one used
            # last: its statements and pages are cached, where the pool's default order cycles through them all.
            kwargs.setdefault("pool_size", connections or SQLITE_POOL_SIZE)
            kwargs.setdefault("pool_use_lifo", True)
    else:
        # A database server restarts or fails over; a pooled connection it dropped is replaced, not handed out.
        kwargs.setdefault("pool_pre_ping", True)
        if connections is not None:
            # SQLAlchemy's default pool keeps 5 (and 10 more under load): fewer than the outbox's senders alone,
            # which would then queue for a connection between posts.
            kwargs.setdefault("pool_size", connections)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "savepoint", _begin_before_first_savepoint)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while a writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_before_first_savepoint(connection: Connection, _name: str) -> None:
    """Open the real transaction a savepoint belongs in.

    pysqlite emits BEGIN only before a data change, so a SAVEPOINT that comes first becomes the transaction itself
    and releasing it commits: the work would outlive a rollback of the session around it. Beginning here, rather
    than before every statement as SQLAlchemy's general recipe does, keeps reads outside write transactions, where
    they never meet SQLite's busy-snapshot error.
    """
    driver_connection = connection.connection.driver_connection
    if driver_connection is not None and not driver_connection.in_transaction:
        driver_connection.execute("BEGIN")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One short session per request or job: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def within(sessions: Callable[[], AbstractContextManager[Session]], session: Session | None) -> Iterator[Session]:
    """The caller's session when it gave one (its transaction), else a fresh one of `sessions`."""
    if session is not None:
        yield session
        return
    with sessions() as own:
        yield own


def alembic_config(engine: Engine) -> Config:
    # Imported here: Alembic costs a long-running server about 10 MiB, and it only needs it at start.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("storage") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration; existing data is kept. On PostgreSQL, replicas that
    start together migrate one at a time, and those after the first find the schema up to date."""
    from alembic import command

    config = alembic_config(engine)
    if engine.dialect.name != "postgresql":
        command.upgrade(config, "head")
        return
    with engine.connect() as connection:
        # A session-level advisory lock: held across Alembic's transactions, released explicitly, never leaked.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def newest_revision() -> str:
    """The newest migration's revision, read from its file name (`0006_standups.py` is revision 0006), so a
    server can check its schema without loading Alembic; a test holds every file name to its revision."""
    versions = files("storage") / "migrations" / "versions"
    return max(entry.name[:4] for entry in versions.iterdir() if entry.name[:4].isdigit())


def schema_revision(engine: Engine) -> str | None:
    """The revision the database was migrated to; None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def database_is_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def release_cache_memory(engine: Engine) -> None:
    """Free the page cache of a pooled SQLite connection (up to 2 MiB each, filled by a large read such as the
    scheduler's sweep); its pages stay in the operating system's file cache. A database server keeps its own."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA shrink_memory")
