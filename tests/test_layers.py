"""The house's arrows point one way, handlers → bot → storage, read from the code itself: the Slack side (listeners
and scheduled jobs alike) reaches the database only through the services in `bot/`, with no storage or SQL imports
and no queries on a session of its own; services never import the Slack side; storage imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SLACK_SIDE = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "handlers").rglob("*.py"))
DATABASE_PACKAGES = {"storage", "sqlmodel", "sqlalchemy"}
# A listener opens its session (sessions are short and the caller's) and may name its type; it runs no query on it.
SESSION_TYPE = ("sqlmodel", "Session")
# The app factory and the CLI wire the rooms together; the console shows one listener-side type.
BOT_MODULES_THAT_WIRE_HANDLERS = {"bot/app.py", "bot/cli.py", "bot/console.py"}
SESSION_CALLS = {"get", "exec", "execute", "scalar", "add", "delete", "merge", "flush"}


def database_uses(source: str) -> list[str]:
    """Each import of a database package and each query method called on a variable named `session`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] in DATABASE_PACKAGES]
            found += [f"{node.lineno}: import {name}" for name in names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in DATABASE_PACKAGES:
            if [(node.module, alias.name) for alias in node.names] != [SESSION_TYPE]:
                found.append(f"{node.lineno}: from {node.module} import …")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in SESSION_CALLS
            and isinstance(node.value, ast.Name)
            and node.value.id == "session"
        ):
            found.append(f"{node.lineno}: session.{node.attr}")
    return found


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, anywhere in it."""
    packages: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            packages.add(node.module.split(".")[0])
    return packages


@pytest.mark.parametrize("path", SLACK_SIDE)
def test_the_slack_side_calls_services_not_storage(path: str) -> None:
    assert database_uses((ROOT / path).read_text()) == []


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_do_not_import_the_slack_side(path: Path) -> None:
    if str(path.relative_to(ROOT)) not in BOT_MODULES_THAT_WIRE_HANDLERS:
        assert "handlers" not in imported_packages(path)


@pytest.mark.parametrize("path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_storage_imports_neither_services_nor_the_slack_side(path: Path) -> None:
    assert not {"bot", "handlers"} & imported_packages(path)


def test_the_checks_read_the_three_rooms() -> None:
    assert {"handlers/commands.py", "handlers/outbox.py"} <= set(SLACK_SIDE)


def test_the_check_finds_queries_and_storage_imports() -> None:
    source = (
        "from storage import standups as queries\n"
        "import sqlalchemy.orm\n"
        "from bot.standups import is_away\n"
        "from sqlmodel import Session\n"
        "from sqlmodel import Session, select\n"
        "def f(session: Session):\n"
        "    return session.get(object, 1)\n"
        "def loaded_on_first_use():\n"
        "    from storage.digest import channel_digest\n"
    )

    assert database_uses(source) == [
        "1: from storage import …",
        "2: import sqlalchemy.orm",
        "5: from sqlmodel import …",
        "9: from storage.digest import …",  # an import where it is first used counts like one at the top
        "7: session.get",
    ]
