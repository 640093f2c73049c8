"""The databases the tests run on: a fresh SQLite file per test and, where a PostgreSQL server is named, a
PostgreSQL database per test as well.

`HANDOFF_TEST_POSTGRES_URL` names the server (`postgresql+psycopg://user@host:port/postgres`; `.ci/run` starts a
throwaway one). Without it, the PostgreSQL half of the suite is skipped and the run says so, unless
`HANDOFF_TEST_POSTGRES_REQUIRED` is set, when it fails instead: CI must never pass on SQLite alone by accident.

A PostgreSQL database is migrated once per run, as a template nobody connects to. Tests share one copy of it,
emptied before each test (deleting every row takes milliseconds, where copying a database takes a tenth of a
second or more); a test that changes the schema itself asks for a copy of its own (`fresh_database` marker).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table, for the order rows are deleted in)
from storage.db import make_engine, upgrade_schema

POSTGRES_URL_VARIABLE = "HANDOFF_TEST_POSTGRES_URL"
POSTGRES_REQUIRED_VARIABLE = "HANDOFF_TEST_POSTGRES_REQUIRED"
SQLITE, POSTGRESQL = "sqlite", "postgresql"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def postgres_required() -> bool:
    return bool(os.environ.get(POSTGRES_REQUIRED_VARIABLE))


class PostgresDatabases:
    """Databases made on one PostgreSQL server for one test run, all dropped at its end."""

    def __init__(self, server_url: str):
        self._server = make_url(server_url)
        self._admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
        run = uuid.uuid4().hex[:8]
        self._template = f"handoff_template_{run}"
        self._shared_name = f"handoff_tests_{run}"
        self._made: list[str] = []
        self._create(self._template)
        template_engine = make_engine(self.url_of(self._template))
        upgrade_schema(template_engine)
        template_engine.dispose()  # a template must have no connections when it is copied
        self._create(self._shared_name, template=self._template)
        self._shared = make_engine(self.url_of(self._shared_name))
        self._empty_all = self._emptying_statements()

    def url_of(self, database: str) -> str:
        return self._server.set(database=database).render_as_string(hide_password=False)

    def server_version(self) -> str:
        with self._admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())

    def emptied(self) -> Engine:
        """The shared database with every row deleted and every id counting from 1 again."""
        with self._shared.begin() as connection:
            for statement in self._empty_all:
                connection.execute(text(statement))
        return self._shared

    @contextmanager
    def fresh(self, *, migrated: bool = True) -> Iterator[Engine]:
        """A database of the test's own, migrated unless asked for an empty one, dropped after it."""
        name = f"handoff_fresh_{uuid.uuid4().hex[:8]}"
        self._create(name, template=self._template if migrated else None)
        engine = make_engine(self.url_of(name))
        try:
            yield engine
        finally:
            engine.dispose()
            self._drop(name)

    def close(self) -> None:
        self._shared.dispose()
        for name in reversed(self._made):
            self._drop(name)
        self._admin.dispose()

    def _emptying_statements(self) -> list[str]:
        tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]  # children first
        with self._shared.connect() as connection:
            sequences = connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            restarts = [f'ALTER SEQUENCE "{name}" RESTART WITH 1' for name in sequences]
        return [f'DELETE FROM "{table}"' for table in tables] + restarts

    def _create(self, name: str, *, template: str | None = None) -> None:
        copy = f' TEMPLATE "{template}"' if template else ""
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self._made.append(name)

    def _drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self._made:
            self._made.remove(name)


def drop_initiatives(engine: Engine) -> None:
    """Break the database under a running app, so that the next query fails unexpectedly."""
    cascade = " CASCADE" if engine.dialect.name == POSTGRESQL else ""  # SQLite has no CASCADE, nor needs it here
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE phase_change"))
        connection.execute(text(f"DROP TABLE initiative{cascade}"))


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs, in order: for tests that a read's statement count
    stays constant."""
    sent: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)
