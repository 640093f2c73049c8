"""Turning `/handoff …` text into typed commands.

Slack sends slash-command text escaped (`&`, `<`, `>` as entities) and, because the manifest sets
`should_escape: true`, with picked users as `<@U123|alice>` and channels as `<#C123|general>`. A bare `@alice`
means Slack could not resolve the name, so it is rejected rather than guessed. Only double quotes group words:
apostrophes are common in notes ("don't"), and macOS turns typed quotes into curly ones, which count too.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, time

from bot import dates
from bot.checkpoints import CheckpointField
from bot.initiatives import CLEAR, Field
from bot.kpis import looks_like_number
from bot.schedule import (
    ScheduleError,
    looks_like_days,
    looks_like_timezone,
    parse_days,
    parse_time_of_day,
    parse_timezone,
)
from bot.text import echo, escape, unescape
from storage.models import Phase

USER_ENTITY = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
CHANNEL_ENTITY = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
OPTION = re.compile(r"^([A-Za-z_]{2,20}):(.*)$", re.DOTALL)
CURLY_DOUBLE_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
NONE_WORDS = frozenset({"none", "-", "clear"})
PERSON_OPTIONS = frozenset({Field.DS, Field.ENG, Field.EMBEDDED, CheckpointField.OWNER})
NEW_OPTIONS = frozenset({Field.CHANNEL, Field.DS, Field.ENG, Field.EMBEDDED, Field.GOAL, Field.JIRA, Field.DUE})
# References typed without their initiative (`#3` or `3`, `#i2`, `#b1`) mean this channel's initiative.
LOCAL_CHECKPOINT = re.compile(r"^#?\d{1,6}$")
LOCAL_IDEA = re.compile(r"^#[iI]\d{1,6}$")
LOCAL_BLOCKER = re.compile(r"^#[bB]\d{1,6}$")
LOCAL_ANY = re.compile(r"^#?[iIbB]?\d{1,6}$")


class UsageError(Exception):
    """The text does not fit the command's grammar; `usage_of` names the subcommand whose usage to show."""

    def __init__(self, message: str, usage_of: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage_of = usage_of


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool  # a quoted token is never a keyword such as `all` or a phase
    leading_quote: bool = False  # `"a: b"` is a word; `goal:"a b"` is an option with a quoted value


@dataclass(frozen=True)
class HelpCommand:
    """`help` (the overview) or `help <topic>` (one family of commands)."""

    topic: str | None = None


@dataclass(frozen=True)
class NewCommand:
    """`new` with arguments; `open_modal` when there were none."""

    open_modal: bool
    name: str = ""
    channel_id: str | None = None
    ds_lead_id: str | None = None
    eng_lead_id: str | None = None
    embedded_engineer_id: str | None = None
    goal: str | None = None
    jira_epic_key: str | None = None
    target_date: date | None = None


@dataclass(frozen=True)
class StatusCommand:
    """`status` (this channel), `status all` / `list` (workspace) or `status <name>` (one initiative)."""

    everything: bool = False
    reference: str | None = None


@dataclass(frozen=True)
class PhaseCommand:
    """`phase <initiative> <phase> ["note"]`, or `--force "<reason>"` past an incomplete checklist."""

    reference: str | None  # None when the initiative was left out: `phase research`
    phase: Phase
    note: str | None
    force_reason: str | None = None


@dataclass(frozen=True)
class EditCommand:
    reference: str | None  # None when the options come first: `edit due:2027-03-01`
    values: dict[Field, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchiveCommand:
    reference: str


@dataclass(frozen=True)
class UnarchiveCommand:
    """`unarchive <initiative>`: found by key or name among archived initiatives too."""

    reference: str


@dataclass(frozen=True)
class CheckpointAddCommand:
    """`checkpoint add`; `open_modal` when the title is missing (the initiative, if given, is preselected)."""

    open_modal: bool
    initiative_ref: str | None = None
    title: str = ""
    owner_id: str | None = None
    due_date: date | None = None
    jira: str | None = None
    # A quoted text typed alone: an initiative's exact name opens its form, anything else is a title for this
    # channel's initiative.
    lone_title: bool = False


@dataclass(frozen=True)
class CheckpointCompletionCommand:
    reference: str  # `churn#3`; `#3` when the initiative was left out (ideas' and blockers' references alike)
    done: bool


@dataclass(frozen=True)
class CheckpointListCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class CheckpointEditCommand:
    reference: str
    values: dict[CheckpointField, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointRemoveCommand:
    reference: str


@dataclass(frozen=True)
class CheckpointMitigateCommand:
    reference: str
    plan: str


CheckpointCommand = (
    CheckpointAddCommand
    | CheckpointCompletionCommand
    | CheckpointListCommand
    | CheckpointEditCommand
    | CheckpointRemoveCommand
    | CheckpointMitigateCommand
)


@dataclass(frozen=True)
class DocAddCommand:
    """`doc add`; `open_modal` when the kind or link is missing (what was given is preselected)."""

    open_modal: bool
    initiative_ref: str | None = None
    kind: str | None = None
    url: str = ""
    note: str | None = None


@dataclass(frozen=True)
class DocRemoveCommand:
    initiative_ref: str | None
    kind: str
    url: str | None = None


@dataclass(frozen=True)
class DocsCommand:
    """`docs <initiative>` or `checklist <initiative>`: the checklist with its docs, privately."""

    initiative_ref: str | None


@dataclass(frozen=True)
class ChecklistChangeCommand:
    """`checklist <initiative> add|waive|remove <item> ["<reason>"] [for:<phase>]`."""

    initiative_ref: str | None
    action: str
    item: str
    reason: str = ""
    gate: Phase | None = None


@dataclass(frozen=True)
class KpiAddCommand:
    initiative_ref: str | None
    name: str
    direction: str
    target: str
    unit: str | None = None
    owner_id: str | None = None


@dataclass(frozen=True)
class KpiRecordCommand:
    initiative_ref: str | None
    name: str
    value: str
    note: str | None = None


@dataclass(frozen=True)
class KpiListCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class KpiEditCommand:
    """`kpi edit <initiative> "<kpi>" name:"…" target:<n> unit:<u> direction:>=|<= owner:@x`; values as typed."""

    initiative_ref: str | None
    name: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class KpiRemoveCommand:
    initiative_ref: str | None
    name: str


@dataclass(frozen=True)
class KpiReadingRemoveCommand:
    """`kpi reading remove <initiative> "<kpi>" [n]`: the n-th newest reading, 1 (the latest) by default."""

    initiative_ref: str | None
    name: str
    position: int = 1


@dataclass(frozen=True)
class IdeaAddCommand:
    initiative_ref: str | None
    text: str


@dataclass(frozen=True)
class IdeaOutcomeCommand:
    reference: str
    outcome: str
    note: str | None = None


@dataclass(frozen=True)
class IdeasCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class IdeasSearchCommand:
    text: str


@dataclass(frozen=True)
class DigestShowCommand:
    """`digest`: this channel's digest and nudge settings."""


@dataclass(frozen=True)
class DigestScheduleCommand:
    """`digest at 09:30 [Europe/Berlin] [weekdays|daily|mon,wed,fri]`."""

    at: time
    timezone: str | None = None
    days: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DigestSwitchCommand:
    """`digest on|off`, `digest quiet [on|off]`."""

    setting: str  # "enabled" or "quiet"
    value: bool


@dataclass(frozen=True)
class DigestRunCommand:
    """`digest now` (post it) or `digest preview` (show it privately)."""

    post: bool


@dataclass(frozen=True)
class NudgesCommand:
    """`nudges on|off` for this channel, or `nudges on|off <initiative>` for one initiative."""

    enabled: bool
    initiative_ref: str | None = None


@dataclass(frozen=True)
class BlockerReportCommand:
    """`blocker <initiative> "what blocks it" [on:eng|ds|platform]`."""

    initiative_ref: str | None
    text: str
    direction: str | None = None


@dataclass(frozen=True)
class BlockerResolveCommand:
    reference: str


@dataclass(frozen=True)
class BlockersCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class StandupCommand:
    """`standup <initiative> [at 09:45 [zone] [days] | on | off | questions]`; no action shows the settings."""

    initiative_ref: str | None
    action: str = "show"  # show, at, on, off, questions
    at: time | None = None
    timezone: str | None = None
    days: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AwayCommand:
    """`away <from> <to>`, `away <date>`, `away 3d`, `away off`; no words shows your time away."""

    words: tuple[str, ...] = ()


BlockerCommand = BlockerReportCommand | BlockerResolveCommand | BlockersCommand
ScheduleCommand = DigestShowCommand | DigestScheduleCommand | DigestSwitchCommand | DigestRunCommand | NudgesCommand
ReadinessCommand = (
    DocAddCommand
    | DocRemoveCommand
    | DocsCommand
    | ChecklistChangeCommand
    | KpiAddCommand
    | KpiRecordCommand
    | KpiListCommand
    | KpiEditCommand
    | KpiRemoveCommand
    | KpiReadingRemoveCommand
    | IdeaAddCommand
    | IdeaOutcomeCommand
    | IdeasCommand
    | IdeasSearchCommand
)
Command = (
    HelpCommand
    | NewCommand
    | StatusCommand
    | PhaseCommand
    | EditCommand
    | ArchiveCommand
    | UnarchiveCommand
    | CheckpointCommand
    | ReadinessCommand
    | ScheduleCommand
    | BlockerCommand
    | StandupCommand
    | AwayCommand
)
FORCE_FLAGS = frozenset({"--force", "—force", "–force", "-force"})  # macOS turns a typed -- into a dash
CHECKPOINT_ACTIONS = ("add", "done", "reopen", "list", "edit", "remove", "mitigate")
CHECKPOINT_OPTIONS = frozenset({CheckpointField.OWNER, CheckpointField.DUE, CheckpointField.JIRA})
CHECKLIST_ACTIONS = ("add", "waive", "remove")
KPI_ACTIONS = ("add", "record", "list", "edit", "remove", "reading")
KPI_OPTIONS = frozenset({"unit", "owner"})
KPI_EDIT_OPTIONS = frozenset({"name", "target", "unit", "direction", "owner"})
DIGEST_ACTIONS = ("at", "on", "off", "now", "preview", "quiet")
DOC_ACTIONS = ("add", "remove")
STANDUP_ACTIONS = ("at", "on", "off", "questions")


def did_you_mean(word: str, known: tuple[str, ...]) -> str:
    """` Did you mean `status`?` for the known word nearest to a typo, or nothing when none is near."""
    nearest = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.6)
    return f" Did you mean `{nearest[0]}`?" if nearest else ""


def _unknown_action(
    token: Token, known: tuple[str, ...], what: str, usage_of: str, shown: tuple[str, ...] | None = None
) -> UsageError:
    """`checkpoint dnoe`: the nearest action, then every one (as `shown`, where an action takes a second word)."""
    suggestion = did_you_mean(token.text, known)
    listed = f"{what[:1].upper()}{what[1:]} commands: {', '.join(shown or known)}."
    return UsageError(f'"{escape(token.text)}" is not a {what} command.{suggestion} {listed}', usage_of)


def tokenize(text: str) -> list[Token]:
    """Split on whitespace; double quotes group words, including in `key:"some value"`."""
    text = text.translate(CURLY_DOUBLE_QUOTES).strip()
    tokens: list[Token] = []
    current: list[str] = []
    quoted = in_quotes = leading = started = False
    for char in text:
        if char == '"':
            if not started:
                leading = True
            in_quotes = not in_quotes
            quoted = started = True
        elif char.isspace() and not in_quotes:
            if started:
                tokens.append(Token(unescape("".join(current)), quoted, leading))
            current, quoted, leading, started = [], False, False, False
        else:
            current.append(char)
            started = True
    if in_quotes:
        raise UsageError('A double quote (") is not closed.')
    if started:
        tokens.append(Token(unescape("".join(current)), quoted, leading))
    return tokens


def parse_help(rest: list[Token]) -> HelpCommand:
    topic = " ".join(t.text for t in rest).strip().lower()
    return HelpCommand(topic or None)


def parse_new(rest: list[Token], today: date) -> NewCommand:
    if not rest:
        return NewCommand(open_modal=True)
    words, options = _split_options(rest, NEW_OPTIONS, "new")
    name = " ".join(words)
    if not name:
        raise UsageError('The initiative needs a name, e.g. `new "Churn model v2"`.', "new")
    values: dict[str, object] = {}
    for option, raw in options.items():
        value = _option_value(option, raw, "new", today)
        if value is CLEAR:
            raise UsageError(f"`{option}:` needs a value when creating an initiative.", "new")
        values[option] = value
    return NewCommand(
        open_modal=False,
        name=name,
        channel_id=_opt_str(values, Field.CHANNEL),
        ds_lead_id=_opt_str(values, Field.DS),
        eng_lead_id=_opt_str(values, Field.ENG),
        embedded_engineer_id=_opt_str(values, Field.EMBEDDED),
        goal=_opt_str(values, Field.GOAL),
        jira_epic_key=_opt_str(values, Field.JIRA),
        target_date=values.get(Field.DUE),  # type: ignore[arg-type]
    )


def parse_status(rest: list[Token]) -> StatusCommand:
    if not rest:
        return StatusCommand()
    if len(rest) == 1 and not rest[0].quoted and rest[0].text.lower() == "all":
        return StatusCommand(everything=True)
    return StatusCommand(reference=" ".join(t.text for t in rest))


def parse_list(rest: list[Token]) -> StatusCommand:
    if rest:
        raise UsageError("`list` takes no arguments; to see one initiative use `status &lt;name&gt;`.", "list")
    return StatusCommand(everything=True)


def parse_phase(rest: list[Token]) -> PhaseCommand:
    # A phase first leaves the initiative out (`phase research "note"`), unless a phase follows it too: then the
    # first is an initiative's name (`phase production development`).
    starts = 0 if rest and _is_phase(rest[0]) and not (len(rest) > 1 and _is_phase(rest[1])) else 1
    if len(rest) < 2 and starts:
        raise UsageError("`phase` needs an initiative and the phase to move it to.", "phase")
    # Unquoted names may have several words: the first word that names a phase ends the name.
    for index in range(starts, len(rest)):
        token = rest[index]
        if not token.quoted and token.text.lower() in Phase.__members__.values():
            reference = " ".join(t.text for t in rest[:index]) or None
            after = rest[index + 1 :]
            if after and not after[0].quoted and after[0].text.lower() in FORCE_FLAGS:
                reason = " ".join(t.text for t in after[1:]).strip()
                if not reason:
                    raise UsageError(
                        '`--force` needs the reason, in quotes: `--force "pilot for one customer"`.', "phase"
                    )
                return PhaseCommand(
                    reference=reference, phase=Phase(token.text.lower()), note=None, force_reason=reason
                )
            if any(not t.quoted and t.text.lower() in FORCE_FLAGS for t in after):
                raise UsageError("Put `--force` right after the phase, then the reason in quotes.", "phase")
            note = " ".join(t.text for t in after) or None
            return PhaseCommand(reference=reference, phase=Phase(token.text.lower()), note=note)
    phases = ", ".join(p.value for p in Phase)
    raise UsageError(f'"{echo(rest[1].text)}" is not a phase. Phases: {phases}.', "phase")


def parse_edit(rest: list[Token], today: date) -> EditCommand:
    words, options = _split_options(rest, frozenset(Field), "edit")
    if not words and not options:
        raise UsageError("`edit` needs the initiative to change.", "edit")
    if not options:
        fields = " ".join(f"`{f.value}:`" for f in Field)
        raise UsageError(f"Say which fields to change: {fields}.", "edit")
    values = {Field(option): _option_value(option, raw, "edit", today) for option, raw in options.items()}
    return EditCommand(reference=" ".join(words) or None, values=values)  # options first: this channel's


def parse_archive(rest: list[Token]) -> ArchiveCommand:
    if not rest:
        raise UsageError("`archive` needs the initiative to archive.", "archive")
    return ArchiveCommand(reference=" ".join(t.text for t in rest))


def parse_unarchive(rest: list[Token]) -> UnarchiveCommand:
    if not rest:
        raise UsageError("`unarchive` needs the archived initiative to bring back.", "unarchive")
    return UnarchiveCommand(reference=" ".join(t.text for t in rest))


def parse_checkpoint(rest: list[Token], today: date) -> Command:
    if not rest:
        return CheckpointAddCommand(open_modal=True)
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in CHECKPOINT_ACTIONS:
        raise _unknown_action(rest[0], CHECKPOINT_ACTIONS, "checkpoint", "checkpoint")
    usage = f"checkpoint {action}"
    if action == "add":
        return _parse_checkpoint_add(args, today)
    if action == "list":
        return CheckpointListCommand(" ".join(t.text for t in args) or None)
    if not args:
        raise UsageError(f"`checkpoint {action}` needs the checkpoint reference (e.g. `churn#3`).", usage)
    reference = _local_reference(args[0], LOCAL_CHECKPOINT)
    if action in ("done", "reopen", "remove"):
        if len(args) > 1:
            raise UsageError(f"`checkpoint {action}` takes one checkpoint reference, like `churn#3`.", usage)
        if action == "remove":
            return CheckpointRemoveCommand(reference)
        return CheckpointCompletionCommand(reference, done=action == "done")
    if action == "mitigate":
        plan = " ".join(t.text for t in args[1:]).strip()
        if not plan:
            raise UsageError("Say what the mitigation plan is, in quotes after the reference.", usage)
        return CheckpointMitigateCommand(reference, plan)
    words, options = _split_options(args[1:], frozenset(CheckpointField), usage)
    if words:
        raise UsageError(f'"{echo(words[0])}" is not a `field:value` pair.', usage)
    if not options:
        fields = " ".join(f"`{f.value}:`" for f in CheckpointField)
        raise UsageError(f"Say which fields to change: {fields}.", usage)
    values = {CheckpointField(o): _option_value(o, raw, usage, today) for o, raw in options.items()}
    return CheckpointEditCommand(reference, values)


def _parse_checkpoint_add(args: list[Token], today: date) -> CheckpointAddCommand:
    if not args:
        return CheckpointAddCommand(open_modal=True)
    initiative_ref: str | None = args[0].text
    words, options = _split_options(args[1:], CHECKPOINT_OPTIONS, "checkpoint add")
    if args[0].quoted and not words:  # `checkpoint add "Model card" due:…`: a quoted title, then only options
        initiative_ref, words = None, [args[0].text]
    title = " ".join(words)
    if not title:
        if options:
            raise UsageError("The checkpoint needs a title, in quotes after the initiative.", "checkpoint add")
        return CheckpointAddCommand(open_modal=True, initiative_ref=initiative_ref)
    values = {o: _option_value(o, raw, "checkpoint add", today) for o, raw in options.items()}
    for option, value in values.items():
        if value is CLEAR:
            raise UsageError(f"`{option}:` needs a value when adding a checkpoint.", "checkpoint add")
    return CheckpointAddCommand(
        open_modal=False,
        initiative_ref=initiative_ref,
        title=title,
        owner_id=_opt_str(values, CheckpointField.OWNER),
        due_date=values.get(CheckpointField.DUE),  # type: ignore[arg-type]
        jira=_opt_str(values, CheckpointField.JIRA),
        lone_title=initiative_ref is None and len(args) == 1,
    )


def parse_doc(rest: list[Token]) -> Command:
    if not rest:
        return DocAddCommand(open_modal=True)
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in DOC_ACTIONS:
        raise _unknown_action(rest[0], DOC_ACTIONS, "doc", "doc")
    if len(args) >= 2 and _looks_like_url(parse_link(args[1].text)):  # `doc add model-card https://…`
        note = " ".join(t.text for t in args[2:]).strip() or None
        if action == "remove":
            if note:
                raise UsageError("`doc remove` takes the kind and, when it has several, the link.", "doc")
            return DocRemoveCommand(None, args[0].text, parse_link(args[1].text))
        return DocAddCommand(
            open_modal=False, initiative_ref=None, kind=args[0].text, url=parse_link(args[1].text), note=note
        )
    if action == "remove":
        if len(args) < 2 or len(args) > 3:
            raise UsageError("`doc remove` needs the initiative and the kind, and the link if it has several.", "doc")
        return DocRemoveCommand(args[0].text, args[1].text, parse_link(args[2].text) if len(args) == 3 else None)
    if len(args) < 3:
        return DocAddCommand(
            open_modal=True,
            initiative_ref=args[0].text if args else None,
            kind=args[1].text if len(args) > 1 else None,
        )
    note = " ".join(t.text for t in args[3:]).strip() or None
    url = parse_link(args[2].text)
    return DocAddCommand(open_modal=False, initiative_ref=args[0].text, kind=args[1].text, url=url, note=note)


def parse_docs(rest: list[Token]) -> DocsCommand:
    return DocsCommand(" ".join(t.text for t in rest) or None)


def parse_checklist(rest: list[Token]) -> Command:
    if not rest:
        return DocsCommand(None)
    initiative_ref: str | None
    if _is_word(rest[0], CHECKLIST_ACTIONS) and not (len(rest) > 1 and _is_word(rest[1], CHECKLIST_ACTIONS)):
        initiative_ref, action, args = None, rest[0].text.lower(), rest[1:]  # `checklist waive …`: this channel's
    elif not any(_is_word(t, CHECKLIST_ACTIONS) for t in rest[1:]):
        return DocsCommand(" ".join(t.text for t in rest))  # `checklist Churn model v2` shows it
    else:
        initiative_ref, action, args = rest[0].text, rest[1].text.lower(), rest[2:]
    if rest[1].quoted or action not in CHECKLIST_ACTIONS:
        known = ", ".join(CHECKLIST_ACTIONS)
        raise UsageError(
            f'"{echo(rest[1].text)}" is not a checklist command. Checklist commands: {known}.', "checklist"
        )
    if not args:
        raise UsageError(f"`checklist {action}` needs the item, e.g. `privacy-review`.", "checklist")
    item = args[0].text
    words, options = _split_options(args[1:], frozenset({"for"}) if action == "add" else frozenset(), "checklist")
    reason = " ".join(words).strip()
    if action == "remove":
        if reason:
            raise UsageError("`checklist remove` takes only the item.", "checklist")
        return ChecklistChangeCommand(initiative_ref, action, item)
    if not reason:
        raise UsageError(f"`checklist {action}` needs the reason, in quotes after the item.", "checklist")
    gate = None
    if "for" in options:
        raw = options["for"].strip().lower()
        if raw not in Phase.__members__.values():
            raise UsageError(
                f"`for:{echo(raw)}` is not a phase. Phases: {', '.join(p.value for p in Phase)}.", "checklist"
            )
        gate = Phase(raw)
    return ChecklistChangeCommand(initiative_ref, action, item, reason, gate)


def parse_kpi(rest: list[Token]) -> Command:
    if not rest:
        raise UsageError("`kpi` needs a command: add, record, list, edit, remove or reading remove.", "kpi")
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in KPI_ACTIONS:
        shown = tuple("reading remove" if a == "reading" else a for a in KPI_ACTIONS)
        raise _unknown_action(rest[0], KPI_ACTIONS, "KPI", "kpi", shown)
    usage = f"kpi {action}"
    if action == "list":
        return KpiListCommand(" ".join(t.text for t in args) or None)
    if action == "edit":
        return _parse_kpi_edit(args)
    if action == "remove":
        if len(args) == 1 and args[0].quoted:  # `kpi remove "AUC"`: the name alone, of this channel's initiative
            return KpiRemoveCommand(None, args[0].text)
        if len(args) < 2:
            raise UsageError("`kpi remove` needs the initiative, then the KPI's name.", usage)
        return KpiRemoveCommand(args[0].text, " ".join(t.text for t in args[1:]))
    if action == "reading":
        return _parse_kpi_reading(args)
    # The name followed at once by the value (`kpi record "AUC" 0.84`) or the comparison (`kpi add "AUC" >= 0.8`)
    # leaves the initiative out: this channel's.
    left_out = len(args) >= 2 and not args[1].quoted and _kpi_value_or_comparison(action, args[1].text)
    initiative_ref, args = (None, args) if left_out else (args[0].text, args[1:])
    if len(args) < 2:
        shape = '"&lt;name&gt;" &gt;= &lt;target&gt;' if action == "add" else '"&lt;name&gt;" &lt;value&gt;'
        raise UsageError(f"`kpi {action}` needs the initiative, then {shape}.", usage)
    name = args[0].text
    if action == "record":
        # An unquoted name runs up to the first number: `kpi record churn AUC on holdout 0.84`.
        at = 1
        if not args[0].quoted:
            at = next((i for i in range(1, len(args)) if not args[i].quoted and looks_like_number(args[i].text)), 1)
        name = " ".join(t.text for t in args[:at])
        note = " ".join(t.text for t in args[at + 1 :]).strip() or None
        if at >= len(args):
            raise UsageError("`kpi record` needs the value after the KPI's name.", usage)
        return KpiRecordCommand(initiative_ref, name, args[at].text, note)
    # The name runs up to the comparison, so an unquoted `AUC on holdout >= 0.82` works too.
    at = next((i for i in range(1, len(args)) if not args[i].quoted and args[i].text[:1] in "<>=≥≤"), 1)
    name = " ".join(t.text for t in args[:at])
    direction, remainder = args[at].text, args[at + 1 :]
    # `>=0.82` typed without a space is the same as `>= 0.82`.
    for sign in (">=", "<=", "≥", "≤"):
        if direction.startswith(sign) and len(direction) > len(sign):
            direction, remainder = sign, [Token(direction[len(sign) :], quoted=False), *remainder]
            break
    if not remainder:
        raise UsageError("`kpi add` needs a target after the direction, like `>= 0.82`.", usage)
    target = remainder[0].text
    words, options = _split_options(remainder[1:], KPI_OPTIONS, usage)
    if words:
        raise UsageError(f'"{echo(words[0])}" is not an option; options: `unit:` `owner:`.', usage)
    owner = parse_user(options["owner"].strip(), "owner", usage) if "owner" in options else None
    unit = options["unit"].strip() if "unit" in options else None
    return KpiAddCommand(initiative_ref, name, direction, target, unit or None, owner)


def _parse_kpi_edit(args: list[Token]) -> KpiEditCommand:
    usage = "kpi edit"
    if not args:
        raise UsageError("`kpi edit` needs the initiative, the KPI's name and what to change.", usage)
    # `kpi edit "AUC" target:0.9`: a quoted name followed only by options leaves the initiative out.
    left_out = args[0].quoted and all(_option_match(t) is not None for t in args[1:])
    initiative_ref = None if left_out else args[0].text
    words, options = _split_options(args if left_out else args[1:], KPI_EDIT_OPTIONS, usage)
    if not words:
        raise UsageError("`kpi edit` needs the KPI's name after the initiative, in quotes.", usage)
    if not options:
        fields = " ".join(f"`{f}:`" for f in ("name", "target", "unit", "direction", "owner"))
        raise UsageError(f"Say what to change: {fields}.", usage)
    values: dict[str, object] = {}
    for option, raw in options.items():
        value = raw.strip()
        if not value:
            raise UsageError(f"`{option}:` is missing its value.", usage)
        if value.lower() in NONE_WORDS and option in ("unit", "owner"):
            values[option] = CLEAR
        elif value.lower() in NONE_WORDS:
            raise UsageError(f"A KPI always has a {option}; `{option}:` needs a new one.", usage)
        elif option == "owner":
            values[option] = parse_user(value, option, usage)
        else:
            values[option] = value
    return KpiEditCommand(initiative_ref, " ".join(words), values)


def _parse_kpi_reading(args: list[Token]) -> KpiReadingRemoveCommand:
    usage = "kpi reading remove"
    if not args or args[0].quoted or args[0].text.lower() != "remove":
        raise UsageError('`kpi reading` takes `remove`: `kpi reading remove churn "AUC on holdout" [n]`.', usage)
    args = args[1:]
    # `kpi reading remove "AUC" [n]`: a quoted name alone, or with a number, leaves the initiative out.
    left_out = bool(args) and args[0].quoted and (len(args) == 1 or (len(args) == 2 and _is_reading_number(args[1])))
    initiative_ref, name_and_position = (None, args) if left_out else (args[0].text if args else None, args[1:])
    if not name_and_position:
        raise UsageError("`kpi reading remove` needs the initiative, then the KPI's name.", usage)
    position = 1
    last = name_and_position[-1]
    if len(name_and_position) > 1 and _is_reading_number(last):
        if not last.text.isdigit() or int(last.text) < 1:
            raise UsageError(
                f'"{echo(last.text)}" is not a reading number: 1 is the newest, 2 the one before, and so on.', usage
            )
        position, name_and_position = int(last.text), name_and_position[:-1]
    return KpiReadingRemoveCommand(initiative_ref, " ".join(t.text for t in name_and_position), position)


def _is_reading_number(token: Token) -> bool:
    return not token.quoted and looks_like_number(token.text)


def parse_idea(rest: list[Token]) -> Command:
    if not rest:
        raise UsageError("`idea` needs the initiative and the idea, in quotes.", "idea")
    if not rest[0].quoted and rest[0].text.lower() == "outcome":
        args = rest[1:]
        if len(args) < 2:
            raise UsageError(
                "`idea outcome` needs the idea reference (like `churn#i2`) and worked, failed or dropped.", "idea"
            )
        note = " ".join(t.text for t in args[2:]).strip() or None
        return IdeaOutcomeCommand(_local_reference(args[0], LOCAL_IDEA), args[1].text, note)
    if len(rest) == 1 and rest[0].quoted:  # `idea "Try boosting"`: this channel's initiative
        return IdeaAddCommand(None, rest[0].text)
    text = " ".join(t.text for t in rest[1:]).strip()
    if not text:
        raise UsageError("Say what the idea is, in quotes after the initiative.", "idea")
    return IdeaAddCommand(rest[0].text, text)


def parse_ideas(rest: list[Token]) -> Command:
    if not rest:
        return IdeasCommand(None)
    if not rest[0].quoted and rest[0].text.lower() == "search":
        text = " ".join(t.text for t in rest[1:]).strip()
        if not text:
            raise UsageError("`ideas search` needs the words to look for.", "ideas")
        return IdeasSearchCommand(text)
    return IdeasCommand(" ".join(t.text for t in rest))


def parse_digest(rest: list[Token]) -> Command:
    if not rest:
        return DigestShowCommand()
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in DIGEST_ACTIONS:
        suggestion = did_you_mean(action, DIGEST_ACTIONS)
        raise UsageError(f"`digest {echo(rest[0].text)}` is not a digest setting.{suggestion}", "digest")
    if action == "at":
        return _parse_digest_at(args)
    if action in ("now", "preview", "on", "off") and args:
        raise UsageError(f"`digest {action}` takes nothing after it.", "digest")
    if action in ("now", "preview"):
        return DigestRunCommand(post=action == "now")
    if action in ("on", "off"):
        return DigestSwitchCommand("enabled", action == "on")
    if len(args) > 1 or (args and args[0].text.lower() not in ("on", "off")):
        raise UsageError("`digest quiet` takes on or off (on when left out).", "digest")
    return DigestSwitchCommand("quiet", not args or args[0].text.lower() == "on")


def _parse_digest_at(args: list[Token]) -> DigestScheduleCommand:
    if not args:
        raise UsageError("`digest at` needs a time, such as `digest at 09:30`.", "digest")
    at, timezone, days = _time_zone_days(args, "digest")
    return DigestScheduleCommand(at, timezone, days)


def _time_zone_days(args: list[Token], usage_of: str) -> tuple[time, str | None, tuple[str, ...] | None]:
    """A time, then optionally a time zone and days in either order: `09:30 Europe/Berlin mon,wed,fri`."""
    try:
        at = parse_time_of_day(args[0].text)
        timezone: str | None = None
        days: tuple[str, ...] | None = None
        for token in args[1:]:
            word = token.text
            if days is None and (looks_like_days(word) or _meant_as_days(word)):
                days = parse_days(word)
            elif timezone is None:
                timezone = parse_timezone(word)
            else:
                raise ScheduleError(f"`{word}` is one word too many: give a time, then a time zone and days.")
    except ScheduleError as error:
        raise UsageError(echo(str(error)), usage_of) from None
    return at, timezone, days


def _meant_as_days(word: str) -> bool:
    """A list (`mon,funday`) or a plain word (`funday`) is meant as days; a zone has a slash, is a zone name in any
    case (`cet`, `Japan`) or an abbreviation (`pst`), or is an unknown abbreviation in capitals (`XYZ`)."""
    if "/" in word or looks_like_timezone(word) or word.isupper():
        return False
    return "," in word or word.isalpha()


def parse_blocker(rest: list[Token]) -> Command:
    if not rest:
        raise UsageError("`blocker` needs the initiative and what blocks it, in quotes.", "blocker")
    if not rest[0].quoted and rest[0].text.lower() == "resolve":
        if len(rest) != 2:
            raise UsageError("`blocker resolve` needs one blocker reference, like `churn#b2`.", "blocker")
        return BlockerResolveCommand(_local_reference(rest[1], LOCAL_BLOCKER))
    # A quoted text followed by nothing but `on:` leaves the initiative out: `blocker "No access" on:eng`.
    left_out = rest[0].quoted and all(_blocker_direction(t) is not None for t in rest[1:])
    direction = None
    words = [rest[0].text] if left_out else []
    tokens = rest[1:]
    while tokens:
        token = tokens.pop(0)
        option = _blocker_direction(token)
        if option is not None:
            if direction is not None:
                raise UsageError("Give the direction once: `on:eng`, `on:ds` or `on:platform`.", "blocker")
            direction = option
            if not direction and tokens:  # `on: eng`
                direction = tokens.pop(0).text
        else:
            words.append(token.text)
    text = " ".join(words).strip()
    if not text:
        raise UsageError("Say what blocks the work, in quotes after the initiative.", "blocker")
    return BlockerReportCommand(None if left_out else rest[0].text, text, direction)


def _blocker_direction(token: Token) -> str | None:
    """The value of an `on:` option, or None when the token is not one."""
    option = OPTION.match(token.text) if not token.leading_quote else None
    return option.group(2) if option is not None and option.group(1).lower() == "on" else None


def parse_blockers(rest: list[Token]) -> BlockersCommand:
    return BlockersCommand(" ".join(t.text for t in rest) or None)


def parse_standup(rest: list[Token]) -> StandupCommand:
    if not rest:
        return StandupCommand(None)
    # A setting first leaves the initiative out: `standup at 09:45`, `standup off`.
    left_out = _is_word(rest[0], STANDUP_ACTIONS)
    reference, args = (None, rest) if left_out else (rest[0].text, rest[1:])
    if not args:
        return StandupCommand(reference)
    action = args[0].text.lower()
    if args[0].quoted or action not in STANDUP_ACTIONS:
        raise UsageError(f"`{echo(args[0].text)}` is not a standup setting: use at, on, off or questions.", "standup")
    typed = " ".join(w for w in ("standup", reference, action) if w)
    if action != "at":
        if len(args) > 1:
            raise UsageError(f"`{escape(typed)}` takes nothing after it.", "standup")
        return StandupCommand(reference, action)
    if len(args) < 2:
        raise UsageError("`standup at` needs a time, such as `at 09:45`.", "standup")
    at, timezone, days = _time_zone_days(args[1:], "standup")
    return StandupCommand(reference, "at", at, timezone, days)


def parse_away(rest: list[Token]) -> AwayCommand:
    if len(dates.group_date_words([t.text for t in rest])) > 2:
        raise UsageError("`away` takes two dates, one date, a length such as `3d`, or `off`.", "away")
    return AwayCommand(tuple(t.text for t in rest))


def parse_nudges(rest: list[Token]) -> NudgesCommand:
    if not rest or rest[0].quoted or rest[0].text.lower() not in ("on", "off"):
        raise UsageError("`nudges` needs on or off, and optionally an initiative.", "nudges")
    reference = " ".join(t.text for t in rest[1:]).strip() or None
    return NudgesCommand(rest[0].text.lower() == "on", reference)


def _split_options(tokens: list[Token], allowed: frozenset[str], usage_of: str) -> tuple[list[str], dict[str, str]]:
    """Words before the first `key:value` form the name; every later token must be an option.

    `due: 2027-03-01` and `ds: @alice` (a space after the colon) give the option the next token, unless that is an
    option itself; a `due:` value `next` takes the word after it too (`due:next friday`).
    """
    words: list[str] = []
    options: dict[str, str] = {}
    tokens = list(tokens)
    while tokens:
        token = tokens.pop(0)
        match = _option_match(token)
        if match is None:
            if options:
                raise UsageError(
                    f'"{echo(token.text)}" comes after the options; put the name first, or quote it.',
                    usage_of,
                )
            words.append(token.text)
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key not in allowed:
            names = " ".join(f"`{a}:`" for a in sorted(allowed))
            raise UsageError(f"`{key}:` is not an option here. Options: {names}.", usage_of)
        if key in options:
            raise UsageError(f"`{key}:` is given twice.", usage_of)
        if not value and tokens and _option_match(tokens[0]) is None:
            value = tokens.pop(0).text
        if key == Field.DUE and dates.takes_next_word(value) and tokens and _option_match(tokens[0]) is None:
            value = f"{value} {tokens.pop(0).text}"
        options[key] = value
    return words, options


def _option_match(token: Token) -> re.Match[str] | None:
    """`key:value`, unless quoted from its start (`"a: b"` is a word) or a link (`https://…`)."""
    if token.leading_quote or _looks_like_url(token.text):
        return None
    return OPTION.match(token.text)


def _is_word(token: Token, words: tuple[str, ...]) -> bool:
    """An unquoted keyword: a quoted word is never one."""
    return not token.quoted and token.text.lower() in words


def _is_phase(token: Token) -> bool:
    return _is_word(token, tuple(p.value for p in Phase))


def _kpi_value_or_comparison(action: str, text: str) -> bool:
    return looks_like_number(text) if action == "record" else text[:1] in "<>=≥≤"


def _local_reference(token: Token, local: re.Pattern[str]) -> str:
    """`3` or `#3` (likewise `#i2`, `#b1`) as `#3`, waiting for this channel's initiative; other text as typed."""
    if token.quoted or not local.match(token.text):
        return token.text
    return token.text if token.text.startswith("#") else f"#{token.text}"


def _looks_like_url(text: str) -> bool:
    return text.startswith(("http:", "https:", "mailto:"))


def _option_value(option: str, raw: str, usage_of: str, today: date) -> object:
    value = raw.strip()
    if not value:
        raise UsageError(f"`{option}:` is missing its value.", usage_of)
    if value.lower() in NONE_WORDS:
        return CLEAR
    if option in PERSON_OPTIONS:
        return parse_user(value, option, usage_of)
    if option == Field.CHANNEL:
        return parse_channel(value, usage_of)
    if option == Field.DUE:
        return parse_date(value, option, usage_of, today)
    return value


def parse_user(value: str, option: str, usage_of: str) -> str:
    match = USER_ENTITY.match(value)
    if match:
        return match.group(1)
    if value.startswith("@"):
        raise UsageError(
            f"Slack doesn't know a user called `{echo(value)}`. Type @ and pick the person from the list, so it "
            "becomes a mention.",
            usage_of,
        )
    raise UsageError(f"`{option}:` takes a person, mentioned with @ (e.g. `{option}:@alice`).", usage_of)


def parse_link(value: str) -> str:
    """Slack sends a typed URL as `<https://…>` or `<https://…|label>`; the link is the part before the bar."""
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].split("|", 1)[0]
    return value


def parse_channel(value: str, usage_of: str) -> str:
    match = CHANNEL_ENTITY.match(value)
    if match:
        return match.group(1)
    raise UsageError(
        f"`channel:` takes a channel picked with # (e.g. `channel:#churn`); `{echo(value)}` is not one. For a "
        "private channel, invite me first.",
        usage_of,
    )


def parse_date(value: str, option: str, usage_of: str, today: date) -> date:
    try:
        return dates.parse_date(value, today=today)
    except dates.DateError as error:
        raise UsageError(echo(error.explain(f"{option}:{value}")), usage_of) from None


def _opt_str(values: dict[str, object], key: str) -> str | None:
    value = values.get(key)
    return None if value is None else str(value)
