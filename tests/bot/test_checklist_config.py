"""The readiness checklist file (`HANDOFF_CHECKLIST`) and the KPI staleness setting, as `load_settings` reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.checklist import (
    DEFAULT_ITEMS,
    HELP_MAX,
    LABEL_MAX,
    Checklist,
    ChecklistConfig,
    ChecklistFileError,
    ChecklistItem,
    ItemType,
    load_checklist_file,
)
from bot.config import DEFAULT_KPI_STALE_DAYS, ConfigError, RunMode, Settings, load_settings
from storage.models import Phase

TEAM = "T123"
GUARDABLE = "research, summary, development, production, monitoring"
DEFAULT_DEVELOPMENT = tuple(i for i in DEFAULT_ITEMS if i.gate is Phase.DEVELOPMENT)
DEFAULT_PRODUCTION = tuple(i for i in DEFAULT_ITEMS if i.gate is Phase.PRODUCTION)


def settings_with(**env: str) -> Settings:
    # Offline mode needs no Slack tokens, so only the settings under test are given.
    return load_settings(env=env, mode=RunMode.OFFLINE, dotenv_path=None)


def problems_of(**env: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_with(**env)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def write(tmp_path: Path, text: str, name: str = "checklist.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def checklist_problems(tmp_path: Path, text: str) -> tuple[str, list[str]]:
    """The file's path and the problems `load_settings` reports for it."""
    path = write(tmp_path, text)
    return path, problems_of(HANDOFF_CHECKLIST=path)


def keys(checklist: Checklist, gate: Phase) -> list[str]:
    return [i.key for i in checklist.items if i.gate is gate]


# --- without a file ------------------------------------------------------------------------------------------------


def test_without_a_file_every_workspace_gets_the_default_checklist() -> None:
    settings = settings_with()
    assert settings.checklist == ChecklistConfig()
    assert settings.checklist.source is None
    assert settings.checklist.for_team(TEAM).items == DEFAULT_ITEMS
    assert settings.kpi_stale_days == DEFAULT_KPI_STALE_DAYS == 14


def test_a_blank_path_means_no_file() -> None:
    assert settings_with(HANDOFF_CHECKLIST="   ").checklist == ChecklistConfig()


# --- a valid file --------------------------------------------------------------------------------------------------


def test_a_file_replaces_only_the_gates_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
gates:
  development:
    - key: ds-summary
      label: DS summary
    - key: data-contract
      label: Data contract
      help: Where each feature comes from, and who owns it.
""",
    )
    checklist = settings_with(HANDOFF_CHECKLIST=path).checklist
    assert checklist.source == path
    default = checklist.default
    assert default.items == (
        ChecklistItem(key="ds-summary", label="DS summary", gate=Phase.DEVELOPMENT),
        ChecklistItem(
            key="data-contract",
            label="Data contract",
            gate=Phase.DEVELOPMENT,
            help="Where each feature comes from, and who owns it.",
        ),
        *DEFAULT_PRODUCTION,
    )
    # The KPI item was not listed, so this workspace's development gate no longer needs one.
    assert default.item("kpi") is None
    assert default.doc_kinds == ("ds-summary", "data-contract", *(i.key for i in DEFAULT_PRODUCTION))


def test_items_are_kept_in_phase_order_whatever_the_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
gates:
  monitoring:
    - {key: drift-review, label: First drift review}
  research:
    - {key: data-access, label: Data access granted}
    - {key: success-metric, label: Agreed success metric, type: kpi}
  production:
    - {key: owners, label: Named owners, type: owners}
""",
    )
    default = load_checklist_file(path).default
    assert [(i.gate, i.key, i.type) for i in default.items] == [
        (Phase.RESEARCH, "data-access", ItemType.DOC),
        (Phase.RESEARCH, "success-metric", ItemType.KPI),
        *((i.gate, i.key, i.type) for i in DEFAULT_DEVELOPMENT),
        (Phase.PRODUCTION, "owners", ItemType.OWNERS),
        (Phase.MONITORING, "drift-review", ItemType.DOC),
    ]
    assert "success-metric" not in default.doc_kinds and "kpi" not in default.doc_kinds


def test_an_empty_gate_list_removes_that_gate(tmp_path: Path) -> None:
    path = write(tmp_path, "gates:\n  production: []\n")
    default = load_checklist_file(path).default
    assert default.items == DEFAULT_DEVELOPMENT
    assert keys(default, Phase.PRODUCTION) == []


@pytest.mark.parametrize("text", ["", "# nothing configured yet\n", "gates:\n", "gates: {}\nworkspaces: {}\n"])
def test_an_empty_file_keeps_the_defaults(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    checklist = load_checklist_file(path)
    assert checklist == ChecklistConfig(default=Checklist(), by_team=checklist.by_team, source=path)
    assert dict(checklist.by_team) == {}


def test_a_workspace_overrides_the_gates_it_names_for_itself_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
workspaces:
  T123:
    gates:
      production:
        - key: launch-review
          label: Launch review
""",
    )
    checklist = settings_with(HANDOFF_CHECKLIST=path).checklist
    overridden = checklist.for_team(TEAM)
    assert overridden.items == (
        *DEFAULT_DEVELOPMENT,
        ChecklistItem(key="launch-review", label="Launch review", gate=Phase.PRODUCTION),
    )
    assert checklist.for_team("T999").items == DEFAULT_ITEMS
    assert checklist.default.items == DEFAULT_ITEMS


def test_a_workspace_builds_on_the_files_own_gates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
gates:
  development:
    - {key: ds-summary, label: DS summary}
workspaces:
  T123:
    gates:
      production:
        - {key: launch-review, label: Launch review}
  T456: {}
""",
    )
    checklist = load_checklist_file(path)
    assert keys(checklist.default, Phase.DEVELOPMENT) == ["ds-summary"]
    assert keys(checklist.default, Phase.PRODUCTION) == [i.key for i in DEFAULT_PRODUCTION]
    team = checklist.for_team(TEAM)
    assert (keys(team, Phase.DEVELOPMENT), keys(team, Phase.PRODUCTION)) == (["ds-summary"], ["launch-review"])
    # A workspace listed without gates has the file's default.
    assert checklist.for_team("T456") == checklist.default


def test_the_longest_label_and_help_are_accepted(tmp_path: Path) -> None:
    longest = f"    - key: {'k' * 32}\n      label: {'L' * LABEL_MAX}\n      help: {'h' * HELP_MAX}\n"
    path = write(tmp_path, f"gates:\n  development:\n{longest}")
    [item] = load_checklist_file(path).default.items[:1]
    assert (len(item.key), len(item.label), len(item.help)) == (32, LABEL_MAX, HELP_MAX)


# --- a file with problems ------------------------------------------------------------------------------------------


def test_malformed_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path,
        "gates:\n  development:\n    - key: ds-summary\n      label: DS summary\n   - key: kpi\n",
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"HANDOFF_CHECKLIST {path!r} is not valid YAML at line 5, column 4: ")


def test_a_tab_in_the_indentation_is_reported_with_its_line(tmp_path: Path) -> None:
    path, problems = checklist_problems(tmp_path, "gates:\n\tdevelopment: []\n")
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r} is not valid YAML at line 2, column 1: "
        "found character '\\t' that cannot start any token."
    ]


def test_an_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    path, problems = checklist_problems(tmp_path, "gate:\n  development: []\n")
    assert problems == [f"HANDOFF_CHECKLIST {path!r}: gate: Extra inputs are not permitted."]


def test_an_unknown_item_field_is_reported_where_it_is(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path, "gates:\n  development:\n    - key: ds-summary\n      label: DS summary\n      colour: red\n"
    )
    assert problems == [f"HANDOFF_CHECKLIST {path!r}: gates.development.0.colour: Extra inputs are not permitted."]


def test_an_unknown_workspace_field_is_reported(tmp_path: Path) -> None:
    path, problems = checklist_problems(tmp_path, "workspaces:\n  T123:\n    checklist: []\n")
    assert problems == [f"HANDOFF_CHECKLIST {path!r}: workspaces.T123.checklist: Extra inputs are not permitted."]


@pytest.mark.parametrize("key", ["DS_Summary", "x", "9lives", "-summary", "a" * 33, "ds summary"])
def test_a_badly_shaped_item_key_is_reported(tmp_path: Path, key: str) -> None:
    path, problems = checklist_problems(tmp_path, f"gates:\n  development:\n    - key: '{key}'\n      label: L\n")
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates.development.0.key: Value error, an item key is 2 to 32 lowercase "
        "letters, digits or hyphens, starting with a letter."
    ]


def test_an_unknown_item_type_is_reported(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path, "gates:\n  development:\n    - key: ds-summary\n      label: DS summary\n      type: link\n"
    )
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates.development.0.type: Input should be 'doc', 'kpi' or 'owners'."
    ]


def test_labels_must_be_present_and_short_and_help_short(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path,
        f"gates:\n  development:\n    - key: aa\n    - key: bb\n      label: '{'L' * (LABEL_MAX + 1)}'\n"
        f"    - key: cc\n      label: ''\n    - key: dd\n      label: D\n      help: '{'h' * (HELP_MAX + 1)}'\n",
    )
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates.development.0.label: Field required.",
        f"HANDOFF_CHECKLIST {path!r}: gates.development.1.label: String should have at most {LABEL_MAX} characters.",
        f"HANDOFF_CHECKLIST {path!r}: gates.development.2.label: String should have at least 1 character.",
        f"HANDOFF_CHECKLIST {path!r}: gates.development.3.help: String should have at most {HELP_MAX} characters.",
    ]


def test_a_key_used_twice_in_the_file_is_reported(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path,
        "gates:\n  research:\n    - {key: review, label: A}\n  development:\n    - {key: review, label: B}\n",
    )
    assert problems == [f"HANDOFF_CHECKLIST {path!r}: gates: the item key 'review' is used twice; keys must be unique."]


def test_a_key_that_clashes_with_a_kept_default_gate_is_reported(tmp_path: Path) -> None:
    # Production keeps its defaults, which already have a runbook.
    path, problems = checklist_problems(
        tmp_path, "gates:\n  development:\n    - {key: runbook, label: Early runbook}\n"
    )
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates: the item key 'runbook' is used twice; keys must be unique."
    ]


def test_a_key_used_twice_in_a_workspace_is_reported_there(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path,
        "workspaces:\n  T123:\n    gates:\n      research:\n        - {key: model-card, label: Early card}\n",
    )
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: workspaces.T123.gates: the item key 'model-card' is used twice; "
        "keys must be unique."
    ]


@pytest.mark.parametrize("gate", ["discovery", "paused", "cancelled", "Production", "staging"])
def test_a_gate_must_be_a_guardable_phase(tmp_path: Path, gate: str) -> None:
    path, problems = checklist_problems(tmp_path, f"gates:\n  {gate}:\n    - {{key: aa, label: A}}\n")
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates: {gate!r} is not a phase a checklist can guard; use one of {GUARDABLE}."
    ]


def test_every_problem_in_the_file_is_reported_at_once(tmp_path: Path) -> None:
    path, problems = checklist_problems(
        tmp_path,
        """
gates:
  paused: []
  research:
    - {key: aa, label: A}
    - {key: aa, label: B}
workspaces:
  T123:
    gates:
      discovery: []
""",
    )
    assert problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates: 'paused' is not a phase a checklist can guard; use one of {GUARDABLE}.",
        f"HANDOFF_CHECKLIST {path!r}: gates: the item key 'aa' is used twice; keys must be unique.",
        f"HANDOFF_CHECKLIST {path!r}: workspaces.T123.gates: 'discovery' is not a phase a checklist can guard; "
        f"use one of {GUARDABLE}.",
        f"HANDOFF_CHECKLIST {path!r}: workspaces.T123.gates: the item key 'aa' is used twice; keys must be unique.",
    ]


def test_a_file_that_is_not_a_mapping_is_reported(tmp_path: Path) -> None:
    path, problems = checklist_problems(tmp_path, "- development\n- production\n")
    assert len(problems) == 1
    assert problems[0].startswith(f"HANDOFF_CHECKLIST {path!r}: the file: Input should be a valid dictionary")


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere.yaml")
    assert problems_of(HANDOFF_CHECKLIST=path) == [
        f"HANDOFF_CHECKLIST {path!r} cannot be read: No such file or directory."
    ]


def test_a_directory_is_reported_as_unreadable(tmp_path: Path) -> None:
    assert problems_of(HANDOFF_CHECKLIST=str(tmp_path)) == [
        f"HANDOFF_CHECKLIST {str(tmp_path)!r} cannot be read: Is a directory."
    ]


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("gates:\n  development:\n    - {key: ds-summary, label: Résumé}\n".encode("latin-1"))
    problems = problems_of(HANDOFF_CHECKLIST=str(path))
    assert problems == [f"HANDOFF_CHECKLIST {str(path)!r} is not UTF-8 text: byte 0xe9 on line 3; save it as UTF-8."]


def test_checklist_problems_are_reported_with_the_other_settings_problems(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere.yaml")
    assert problems_of(HANDOFF_CHECKLIST=path, HANDOFF_KPI_STALE_DAYS="soon") == [
        f"HANDOFF_CHECKLIST {path!r} cannot be read: No such file or directory.",
        "HANDOFF_KPI_STALE_DAYS must be a whole number of days from 1 to 365, got 'soon'.",
    ]


def test_the_loader_raises_its_own_error_with_the_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "gates:\n  paused: []\n")
    with pytest.raises(ChecklistFileError) as caught:
        load_checklist_file(path)
    assert caught.value.problems == [
        f"HANDOFF_CHECKLIST {path!r}: gates: 'paused' is not a phase a checklist can guard; use one of {GUARDABLE}."
    ]
    assert str(caught.value) == caught.value.problems[0]


# --- KPI staleness -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "days"), [("1", 1), ("30", 30), (" 7 ", 7), ("365", 365)])
def test_kpi_stale_days(raw: str, days: int) -> None:
    assert settings_with(HANDOFF_KPI_STALE_DAYS=raw).kpi_stale_days == days


def test_blank_kpi_stale_days_keeps_the_default() -> None:
    assert settings_with(HANDOFF_KPI_STALE_DAYS="  ").kpi_stale_days == DEFAULT_KPI_STALE_DAYS


@pytest.mark.parametrize("raw", ["0", "366", "400", "abc", "-5", "7.5", "1e2"])
def test_kpi_stale_days_out_of_range_or_not_a_number(raw: str) -> None:
    assert problems_of(HANDOFF_KPI_STALE_DAYS=raw) == [
        f"HANDOFF_KPI_STALE_DAYS must be a whole number of days from 1 to 365, got {raw!r}."
    ]


def test_a_superscript_digit_is_a_problem_not_a_crash() -> None:
    assert problems_of(HANDOFF_KPI_STALE_DAYS="²") == [
        "HANDOFF_KPI_STALE_DAYS must be a whole number of days from 1 to 365, got '²'."
    ]
