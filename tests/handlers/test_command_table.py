"""The table of subcommands is the one source: README, help and usage errors agree with it."""

from __future__ import annotations

from handlers.command_table import ACTIONS, GUIDE, TABLE, usage_text
from tests.support.paths import ROOT

README = ROOT / "README.md"


def commands_table() -> str:
    readme = README.read_text()
    return readme[readme.index("## Commands") : readme.index("\n## ", readme.index("## Commands") + 1)]


def test_the_readme_command_table_has_a_row_for_every_subcommand_and_action() -> None:
    rows = [line for line in commands_table().splitlines() if line.startswith("| `/handoff ")]
    for entry in TABLE:
        assert any(f"`/handoff {entry.word}" in row for row in rows), entry.word
        for words, _ in entry.action_usage:
            action = words.partition(" ")[2]
            assert any(f"`/handoff {words}" in row or f"/ `{action}" in row for row in rows), words


def test_every_parsed_command_belongs_to_one_action_and_every_action_has_a_usage() -> None:
    # Two subcommands may share an action (`status all` and `list`), never a parsed type between two actions.
    for entry in TABLE:
        for action in entry.actions:
            assert ACTIONS[action.command] is action, action.command
    for entry in TABLE:
        assert usage_text(entry.word) is not None, entry.word
        for words, usage in entry.action_usage:
            assert usage_text(words) == usage


def test_every_subcommand_but_help_is_in_the_family_it_names() -> None:
    members = {word: family.name for family in GUIDE.families for word in family.subcommands}
    assert members == {entry.word: entry.family for entry in TABLE if entry.family is not None}
