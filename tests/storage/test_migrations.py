"""Every migration, on SQLite and PostgreSQL: from an empty database and from each earlier revision to the newest,
ending in exactly the schema the models describe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table, for the comparison)
from storage.db import alembic_config, make_engine, schema_revision, upgrade_schema
from tests.support.databases import POSTGRESQL, SQLITE, PostgresDatabases

SCRIPTS = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]  # oldest first


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == SQLITE:
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    with databases.fresh(migrated=False) as engine:
        yield engine


@pytest.mark.parametrize("start", [None, *REVISIONS[:-1]], ids=lambda r: f"from-{r or 'empty'}")
def test_the_migrations_reach_the_newest_revision_and_the_schema_the_models_describe(
    empty_engine: Engine, start: str | None
) -> None:
    config = alembic_config(empty_engine)
    if start is not None:
        command.upgrade(config, start)
        assert schema_revision(empty_engine) == start
    command.upgrade(config, "head")

    assert schema_revision(empty_engine) == REVISIONS[-1]
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_replicas_starting_together_on_postgresql_migrate_one_at_a_time(
    postgres_databases: PostgresDatabases,
) -> None:
    with postgres_databases.fresh(migrated=False) as empty:
        url = empty.url.render_as_string(hide_password=False)
        engines = [make_engine(url) for _ in range(3)]
        failures: list[BaseException] = []

        def start(engine: Engine) -> None:
            try:
                upgrade_schema(engine)
            except BaseException as error:
                failures.append(error)

        replicas = [threading.Thread(target=start, args=(engine,)) for engine in engines]
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.join(60)
        for engine in engines:
            engine.dispose()

        assert failures == []
        assert schema_revision(empty) == REVISIONS[-1]
