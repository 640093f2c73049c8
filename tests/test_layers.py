"""The Slack side of the scheduled jobs reaches the database only through the services in `bot/`: no storage or
SQL imports, and no queries on a session of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JOB_MODULES = ("handlers/jira_jobs.py", "handlers/outbox.py", "handlers/scheduled_jobs.py", "handlers/standup_jobs.py")
DATABASE_PACKAGES = {"storage", "sqlmodel", "sqlalchemy"}
SESSION_CALLS = {"get", "exec", "execute", "scalar", "add", "delete", "merge", "flush"}


def database_uses(source: str) -> list[str]:
    """Each import of a database package and each query method called on a variable named `session`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] in DATABASE_PACKAGES]
            found += [f"{node.lineno}: import {name}" for name in names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in DATABASE_PACKAGES:
            found.append(f"{node.lineno}: from {node.module} import …")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in SESSION_CALLS
            and isinstance(node.value, ast.Name)
            and node.value.id == "session"
        ):
            found.append(f"{node.lineno}: session.{node.attr}")
    return found


@pytest.mark.parametrize("path", JOB_MODULES)
def test_the_job_modules_call_services_not_storage(path: str) -> None:
    assert database_uses((ROOT / path).read_text()) == []


def test_the_check_finds_queries_and_storage_imports() -> None:
    source = (
        "from storage import standups as queries\n"
        "import sqlalchemy.orm\n"
        "from bot.standups import is_away\n"
        "def f(session):\n"
        "    return session.get(object, 1)\n"
    )

    assert database_uses(source) == [
        "1: from storage import …",
        "2: import sqlalchemy.orm",
        "5: session.get",
    ]
