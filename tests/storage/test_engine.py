"""How the app's SQLite engine pools its connections."""

from __future__ import annotations

from pathlib import Path

from storage.db import make_engine


def test_a_sqlite_engine_hands_out_the_connection_used_last(tmp_path: Path) -> None:
    """Its statements and pages are cached; cycling through every pooled connection would warm each in turn."""
    engine = make_engine(f"sqlite:///{tmp_path / 'handoff.db'}", connections=4)
    try:
        first, second = engine.connect(), engine.connect()
        first_driver, second_driver = first.connection.dbapi_connection, second.connection.dbapi_connection
        first.close()
        second.close()
        with engine.connect() as again:
            assert again.connection.dbapi_connection is second_driver
            assert again.connection.dbapi_connection is not first_driver
    finally:
        engine.dispose()
