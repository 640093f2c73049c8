"""The readiness checklist: what an initiative needs before it may enter a phase.

The defaults come from model cards (Mitchell et al. 2019), Google's ML Test Score rubric (Breck et al. 2017) and
the practice of agreeing the DS summary, the KPI and the interface before production code starts. A workspace
replaces them with a YAML file (`HANDOFF_CHECKLIST`); the file is checked in full at start, so a typo stops the
bot with every problem listed instead of silently dropping an item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.models import Phase

ITEM_KEY = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
LABEL_MAX = 80
HELP_MAX = 300
# The phases a checklist may guard, in order; paused and cancelled are never gated.
GATED_PHASES = (Phase.RESEARCH, Phase.SUMMARY, Phase.DEVELOPMENT, Phase.PRODUCTION, Phase.MONITORING)
MAIN_LINE = (Phase.DISCOVERY, *GATED_PHASES)
_MAIN_LINE_ORDER = {phase: index for index, phase in enumerate(MAIN_LINE)}


class ItemType(StrEnum):
    DOC = "doc"  # satisfied by a link (`doc add`)
    KPI = "kpi"  # satisfied by at least one KPI with a target (`kpi add`)
    OWNERS = "owners"  # satisfied by a DS lead and an engineering lead on the initiative, or by a doc


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    gate: Phase  # the phase this item is needed to enter
    help: str = ""
    type: ItemType = ItemType.DOC


def _doc(gate: Phase, key: str, label: str, help: str) -> ChecklistItem:
    return ChecklistItem(key=key, label=label, gate=gate, help=help)


DEFAULT_ITEMS: tuple[ChecklistItem, ...] = (
    _doc(
        Phase.DEVELOPMENT,
        "ds-summary",
        "DS summary",
        "Approach, results, limitations and odds of success, agreed by both teams.",
    ),
    ChecklistItem(
        key="kpi",
        label="Agreed KPI with a target",
        gate=Phase.DEVELOPMENT,
        help="The measure that defines good, with its target.",
        type=ItemType.KPI,
    ),
    _doc(Phase.DEVELOPMENT, "api-contract", "Interface/API contract", "Input and output schema between the teams."),
    _doc(
        Phase.PRODUCTION,
        "model-card",
        "Model card",
        "Architecture, training and evaluation data, metrics including slices, limitations.",
    ),
    _doc(Phase.PRODUCTION, "dependencies", "Dependencies", "Libraries, data sources and services the model needs."),
    _doc(
        Phase.PRODUCTION,
        "privacy-review",
        "Data-privacy/PII review",
        "Training and input data reviewed for personal or sensitive information.",
    ),
    _doc(Phase.PRODUCTION, "serving-budget", "Serving budget", "Latency, memory and CPU the model needs to serve."),
    _doc(Phase.PRODUCTION, "test-evidence", "Pre-production test evidence", "Results of tests before release."),
    _doc(Phase.PRODUCTION, "monitoring-plan", "Monitoring plan", "How drift and the KPI are watched, and by whom."),
    _doc(Phase.PRODUCTION, "runbook", "Rollback/runbook", "How to roll back and operate the model."),
    ChecklistItem(
        key="owners",
        label="Named owners on both teams",
        gate=Phase.PRODUCTION,
        help="A DS lead and an engineering lead set on the initiative (`edit`), or a doc naming the owners.",
        type=ItemType.OWNERS,
    ),
)


@dataclass(frozen=True)
class Checklist:
    """One workspace's items, in gate order."""

    items: tuple[ChecklistItem, ...] = DEFAULT_ITEMS
    # Days nobody is asked for a standup (public holidays), from the same file.
    holidays: frozenset[date] = frozenset()

    def item(self, key: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.key == key), None)

    @property
    def doc_kinds(self) -> tuple[str, ...]:
        """Every kind `doc add` accepts: any item a link can satisfy."""
        return tuple(i.key for i in self.items if i.type is not ItemType.KPI)


@dataclass(frozen=True)
class ChecklistConfig:
    """The checklist of every workspace: one default, and any per-workspace replacements from the file."""

    default: Checklist = field(default_factory=Checklist)
    by_team: Mapping[str, Checklist] = field(default_factory=lambda: MappingProxyType({}))
    source: str | None = None  # the file it came from, for logs and help

    def for_team(self, team_id: str) -> Checklist:
        return self.by_team.get(team_id, self.default)


def phase_order(phase: Phase) -> int | None:
    """Position on the main line, or None for paused and cancelled."""
    return _MAIN_LINE_ORDER.get(phase)


class ChecklistFileError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def load_checklist_file(path: str) -> ChecklistConfig:
    """Read and check a checklist file; `ChecklistFileError` lists every problem with where it is."""
    import yaml
    from pydantic import ValidationError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ChecklistFileError([f"HANDOFF_CHECKLIST {path!r} cannot be read: {error.strerror}."]) from None
    except UnicodeDecodeError as error:
        # A file saved in another encoding would otherwise stop the bot with a traceback instead of this list.
        line = error.object[: error.start].count(b"\n") + 1
        bad = error.object[error.start : error.start + 1].hex()
        raise ChecklistFileError(
            [f"HANDOFF_CHECKLIST {path!r} is not UTF-8 text: byte 0x{bad} on line {line}; save it as UTF-8."]
        ) from None
    try:
        raw = yaml.load(text, Loader=_dates_as_text_loader())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ChecklistFileError([f"HANDOFF_CHECKLIST {path!r} is not valid YAML{where}: {problem}."]) from None
    try:
        parsed = _ChecklistFile.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        shape_problems = [
            f"HANDOFF_CHECKLIST {path!r}: {'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}."
            for e in error.errors()
        ]
        raise ChecklistFileError(shape_problems) from None
    problems: list[str] = []
    default = _checklist_of(parsed.gates, f"HANDOFF_CHECKLIST {path!r}: gates", problems)
    default = replace(default, holidays=frozenset(parsed.holidays))
    by_team = {
        team: replace(
            _checklist_of(workspace.gates, f"HANDOFF_CHECKLIST {path!r}: workspaces.{team}.gates", problems, default),
            # A workspace's own list replaces the file's; without one it keeps the file's.
            holidays=default.holidays if workspace.holidays is None else frozenset(workspace.holidays),
        )
        for team, workspace in parsed.workspaces.items()
    }
    if problems:
        raise ChecklistFileError(problems)
    return ChecklistConfig(default=default, by_team=MappingProxyType(by_team), source=path)


def _checklist_of(
    gates: dict[str, list[_ItemSpec]] | None, where: str, problems: list[str], base: Checklist | None = None
) -> Checklist:
    """The named gates replace the base's items for those gates; gates not named keep the base's items."""
    base = base or Checklist()
    if not gates:
        return replace(base, holidays=frozenset())
    items: list[ChecklistItem] = []
    for phase in GATED_PHASES:
        if phase.value in gates:
            items += [
                ChecklistItem(key=s.key, label=s.label, gate=phase, help=s.help or "", type=ItemType(s.type))
                for s in gates[phase.value]
            ]
        else:
            items += [i for i in base.items if i.gate is phase]
    for name in gates:
        if name not in {p.value for p in GATED_PHASES}:
            names = ", ".join(p.value for p in GATED_PHASES)
            problems.append(f"{where}: {name!r} is not a phase a checklist can guard; use one of {names}.")
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            problems.append(f"{where}: the item key {item.key!r} is used twice; keys must be unique.")
        seen.add(item.key)
    return Checklist(items=tuple(items))


def _dates_as_text_loader():  # type: ignore[no-untyped-def]
    """A safe loader that leaves dates as text, so pydantic checks them and an impossible one (2027-02-30) is
    reported with its place in the file instead of failing inside the YAML library."""
    import yaml

    class DatesAsText(yaml.SafeLoader):
        pass

    DatesAsText.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return DatesAsText


# --- the file's shape, checked by pydantic ----------------------------------------------------------------


class _ItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    label: str = Field(min_length=1, max_length=LABEL_MAX)
    help: str | None = Field(default=None, max_length=HELP_MAX)
    type: ItemType = ItemType.DOC

    @field_validator("key")
    @classmethod
    def _key_shape(cls, value: str) -> str:
        if not ITEM_KEY.match(value):
            raise ValueError("an item key is 2 to 32 lowercase letters, digits or hyphens, starting with a letter")
        return value


class _Workspace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gates: dict[str, list[_ItemSpec]] | None = None
    holidays: list[date] | None = None


class _ChecklistFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gates: dict[str, list[_ItemSpec]] | None = None
    holidays: list[date] = Field(default_factory=list)
    workspaces: dict[str, _Workspace] = Field(default_factory=dict)
