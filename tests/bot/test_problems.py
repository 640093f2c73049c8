"""Errors carry plain data; `bot/blocks/problems.py` alone words them, in mrkdwn or plain text."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest

from bot.blocks.problems import MRKDWN, PLAIN, WORDINGS, describe, describe_field, field_error, plain_text
from bot.errors import FieldProblem, InvalidInput, Problem, UnknownInitiative
from tests.support.paths import ROOT

# Service modules: the Block Kit builders (bot/blocks/) and the fake Slack server are not services.
SERVICE_MODULES = sorted(p for p in (ROOT / "bot").glob("*.py") if p.name != "fake_slack.py")
ERROR_CALLS = {"FieldProblem", "HandoffError", "InvalidInput", "NothingToChange", "single", "__init__"}
MRKDWN_MARKS = re.compile(r"`|<[@#!]|&lt;|&gt;|&amp;|\*[^*\s][^*]*\*")
ESCAPERS = {"escape", "echo"}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _error_expressions(tree: ast.AST) -> list[ast.AST]:
    """What a module raises, and the arguments of every error or field problem it builds."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            found.append(node.exc)
        elif isinstance(node, ast.Call) and _called(node) in ERROR_CALLS:
            found.append(node)
    return found


def _text_of(node: ast.AST) -> str | None:
    """A string constant, or an f-string with `{}` where its values go (so `*{name}*` shows as bold)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def mrkdwn_in_errors(source: str) -> list[str]:
    """Each string with mrkdwn, and each escaping call, inside what the source raises or builds as an error."""
    found: set[tuple[int, str]] = set()
    for expression in _error_expressions(ast.parse(source)):
        inside_fstrings = {id(v) for n in ast.walk(expression) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(expression):
            text = None if id(node) in inside_fstrings else _text_of(node)
            if text is not None and MRKDWN_MARKS.search(text):
                found.add((node.lineno, repr(text)))
            elif isinstance(node, ast.Call) and _called(node) in ESCAPERS:
                found.add((node.lineno, f"{_called(node)}()"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_guard_sees_mrkdwn_and_escaping_in_an_error() -> None:
    source = (
        "def f(name, raw):\n"
        "    raise InvalidInput.single('name', f'*{escape(name)}* is taken; try `rename`.')\n"
        "def g(user):\n"
        "    raise HandoffError(f'Ask <@{user}>.')\n"
        "def h(raw):\n"
        "    return [FieldProblem('x', echo(raw))]\n"
    )
    assert [line.split(":")[0] for line in mrkdwn_in_errors(source)] == ["line 2", "line 2", "line 4", "line 6"]
    assert mrkdwn_in_errors("raise InvalidInput.single('name', Problem.NAME_MISSING)") == []


def test_the_guard_reads_the_service_modules() -> None:
    assert {ROOT / "bot" / "initiatives.py", ROOT / "bot" / "standups.py"} <= set(SERVICE_MODULES)


@pytest.mark.parametrize("module", SERVICE_MODULES, ids=lambda p: p.name)
def test_service_errors_carry_no_mrkdwn(module: Path) -> None:
    assert mrkdwn_in_errors(module.read_text()) == []


def test_every_problem_kind_has_a_wording() -> None:
    assert set(WORDINGS) == set(Problem)


def test_a_typed_value_is_escaped_in_mrkdwn_and_shown_as_typed_in_a_modal() -> None:
    problem = FieldProblem("jira", Problem.NOT_A_JIRA_KEY, raw="<b>&co")
    assert describe_field(problem) == '"&lt;b&gt;&amp;co" is not a Jira issue key; use the form DS-12.'
    assert field_error(problem) == '"<b>&co" is not a Jira issue key; use the form DS-12.'


def test_a_picked_person_reads_as_their_name_on_both_surfaces() -> None:
    unknown = UnknownInitiative("<@U0ALICE|alice> <!here>")
    assert describe(unknown) == 'No initiative called "@alice &lt;!here&gt;" in this workspace.'
    assert plain_text(unknown) == 'No initiative called "@alice <!here>" in this workspace.'


def test_stored_names_are_escaped_and_bold_only_in_mrkdwn_messages() -> None:
    problem = FieldProblem("name", Problem.DUPLICATE_KPI, initiative="R&D <core>", name="AUC")
    assert describe_field(problem, MRKDWN) == '*R&amp;D &lt;core&gt;* already has a KPI called "AUC".'
    assert describe_field(problem, PLAIN) == 'R&D <core> already has a KPI called "AUC".'


def test_a_command_to_type_is_worded_from_its_words() -> None:
    archived = InvalidInput.single("field", Problem.ARCHIVED_EDIT, name="Churn", ref_key="churn")
    assert describe(archived) == '"Churn" is archived; `/handoff unarchive churn` brings it back first.'


def test_an_invalid_input_lists_every_problem() -> None:
    error = InvalidInput(
        [
            FieldProblem("name", Problem.NAME_MISSING),
            FieldProblem("due", Problem.DATE_IN_PAST, what="target date", day=date(2026, 12, 31)),
        ]
    )
    assert describe(error) == "The initiative needs a name. The target date 2026-12-31 is in the past."
