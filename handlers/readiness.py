"""The Slack-facing steps of readiness: docs, checklist changes, KPIs and ideas.

Changes run after the ack and tell the initiative's thread; the read-only views (checklist, KPIs, ideas, search)
need only the database and are answered in the ack itself. Domain errors propagate for the caller to render.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot import ideas as idea_service
from bot import kpis as kpi_service
from bot import readiness as service
from bot.blocks.base import Message
from bot.blocks.help import render_notice
from bot.blocks.readiness import (
    render_checklist,
    render_checklist_change,
    render_checklist_entry_removed,
    render_doc_added,
    render_doc_removed,
    render_doc_restored,
    render_idea_logged,
    render_idea_outcome,
    render_idea_search,
    render_ideas,
    render_kpi_added,
    render_kpi_alert,
    render_kpi_edited,
    render_kpi_list,
    render_kpi_recovered,
    render_kpi_removed,
    render_reading_removed,
    standing_mark,
)
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.initiatives import CLEAR, Actor, resolve_initiative
from bot.kpis import KpiEdit, format_value, looks_like_number, parse_direction, parse_number, target_text
from bot.runtime import Runtime
from bot.text import echo, escape
from handlers.flows import announce, unit_of_work
from handlers.grammar import (
    LOCAL_IDEA,
    NONE_WORDS,
    Token,
    UsageError,
    is_word,
    local_reference,
    looks_like_url,
    option_match,
    parse_link,
    parse_user,
    split_options,
    unknown_action,
)
from handlers.modal_openers import open_add_doc_modal
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand, undated
from storage.models import Phase


def show_checklist(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        readiness = service.readiness_of(
            session=session, checklist=runtime.settings.checklist.for_team(actor.team_id), initiative=initiative
        )
    listing = render_checklist(initiative, readiness)
    return shareable(listing, ShareRequest(SharedView.CHECKLIST, initiative.ref_key), shared_by=shared_by)


def add_doc_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, kind: str, url: str, note: str | None
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        doc = service.add_doc(
            session=session,
            actor=actor,
            initiative=initiative,
            kind=kind,
            url=url,
            note=note,
            checklist=checklist,
            now=runtime.clock.now(),
        )
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: Added the {escape(label)} of *{escape(initiative.name)}*."
    upcoming = readiness.next_gate()
    if upcoming is not None:
        confirmation += f" Ready {upcoming.satisfied}/{upcoming.required} for {upcoming.gate.value}."
    return announce(client, initiative, render_doc_added(initiative, doc, label), confirmation)


def remove_doc_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, kind: str, url: str | None
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        doc = service.remove_doc(
            session=session,
            actor=actor,
            initiative=initiative,
            kind=kind,
            url=url,
            people=people,
            now=runtime.clock.now(),
        )
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: Removed the {escape(label)} doc of *{escape(initiative.name)}*."
    undo = undo_button(UndoRequest(UndoKind.RESTORE_DOC, str(doc.id)))
    update = render_doc_removed(initiative, doc, label, actor.user_id)
    return announce(client, initiative, update, confirmation, undo=undo)


def restore_doc_and_announce(runtime: Runtime, client: WebClient, actor: Actor, doc_id: int) -> Message:
    """The Undo of `doc remove`: the doc satisfies its item again, and the thread is told."""
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative, doc = service.restore_doc(session=session, actor=actor, doc_id=doc_id, people=people)
        readiness = service.readiness_of(session=session, checklist=checklist, initiative=initiative)
    label = _label(readiness, doc.kind)
    confirmation = f":white_check_mark: The {escape(label)} doc of *{escape(initiative.name)}* is back."
    return announce(client, initiative, render_doc_restored(initiative, doc, label, actor.user_id), confirmation)


def change_checklist_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, command: ChecklistChangeCommand
) -> Message:
    checklist = runtime.settings.checklist.for_team(actor.team_id)
    now = runtime.clock.now()
    if command.action == "remove":
        with unit_of_work(runtime, client, actor.team_id) as (session, people):
            initiative = resolve_initiative(
                session=session, team_id=actor.team_id, reference=command.initiative_ref or ""
            )
            status = service.remove_entry(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                checklist=checklist,
                people=people,
            )
        # Told only once committed, like every other change: the thread never hears of an undo that rolled back,
        # and no database transaction stays open while Slack answers.
        update = render_checklist_entry_removed(initiative, status, actor.user_id)
        confirmation = f":white_check_mark: Undid this initiative's change to *{escape(status.item.label)}*."
        return announce(client, initiative, update, confirmation)
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        if command.action == "waive":
            result = service.waive_item(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                reason=command.reason,
                checklist=checklist,
                people=people,
                now=now,
            )
            confirmation = f":white_check_mark: Waived *{escape(result.item.label)}* for *{escape(initiative.name)}*."
        else:
            result = service.add_item(
                session=session,
                actor=actor,
                initiative=initiative,
                key=command.item,
                reason=command.reason,
                gate=command.gate,
                checklist=checklist,
                people=people,
                now=now,
            )
            confirmation = (
                f":white_check_mark: Added *{escape(result.item.label)}* (`{result.item.key}`) to the checklist of "
                f"*{escape(initiative.name)}*. A doc satisfies it: "
                f"`/handoff doc add {initiative.ref_key} {result.item.key} &lt;url&gt;`."
            )
    return announce(client, initiative, render_checklist_change(initiative, result), confirmation)


def add_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiAddCommand) -> Message:
    direction = parse_direction(command.direction)
    target = parse_number(command.target, "target")
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        kpi = kpi_service.add_kpi(
            session=session,
            actor=actor,
            initiative=initiative,
            name=command.name,
            direction=direction,
            target=target,
            unit=command.unit,
            owner_id=command.owner_id,
            people=people,
            now=runtime.clock.now(),
        )
    confirmation = (
        f":white_check_mark: Agreed *{escape(kpi.name)}* {escape(target_text(kpi))} for *{escape(initiative.name)}*"
        f"{read_as(command.target, target)}. "
        f'Record readings with `/handoff kpi record {initiative.ref_key} "{escape(kpi.name)}" &lt;value&gt;`.'
    )
    return announce(client, initiative, render_kpi_added(initiative, kpi), confirmation)


def record_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, raw_value: str, note: str | None
) -> Message:
    """Record a reading; the thread hears only of a breach (once) and of a recovery, not of every reading."""
    value = parse_number(raw_value, "value")
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        result = kpi_service.record_reading(
            session=session,
            actor=actor,
            initiative=initiative,
            name=name,
            value=value,
            note=note,
            now=runtime.clock.now(),
        )
    kpi, where = result.kpi, result.standing
    shown = escape(format_value(result.reading.value, kpi.unit))
    confirmation = (
        f"{standing_mark(where)} Recorded {shown}{read_as(raw_value, value)} for *{escape(kpi.name)}*; "
        f"it {escape(where.phrase)}."
    )
    if result.alert:
        return announce(client, initiative, render_kpi_alert(initiative, result), confirmation)
    if result.recovered:
        return announce(client, initiative, render_kpi_recovered(initiative, result), confirmation)
    return render_notice(confirmation)


def edit_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiEditCommand) -> Message:
    """Change a KPI's terms; the thread hears old → new and where the latest reading now stands."""
    values = command.values
    raw_target = values.get("target")
    target = parse_number(str(raw_target), "target") if raw_target is not None else None
    raw_direction = values.get("direction")
    direction = parse_direction(str(raw_direction), named=True) if raw_direction is not None else None
    name = values.get("name")
    edit = KpiEdit(
        name=str(name) if name is not None else None,
        target=target,
        unit=values.get("unit"),
        direction=direction,
        owner_id=values.get("owner"),
    )
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        edited = kpi_service.edit_kpi(
            session=session, actor=actor, initiative=initiative, name=command.name, edit=edit, people=people
        )
    kpi = edited.kpi
    confirmation = (
        f":white_check_mark: Changed *{escape(kpi.name)}* of *{escape(initiative.name)}*: "
        f"{escape(target_text(kpi))}{read_as(str(raw_target or ''), target)}."
    )
    return announce(client, initiative, render_kpi_edited(initiative, edited, actor.user_id), confirmation)


def remove_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_kpi(session=session, actor=actor, initiative=initiative, name=name, people=people)
    confirmation = f":white_check_mark: Removed *{escape(removed.kpi.name)}* from *{escape(initiative.name)}*."
    if removed.remaining == 0:
        confirmation += (
            " It has no KPI now, so the checklist's KPI item is missing until one is agreed with "
            f'`/handoff kpi add {initiative.ref_key} "&lt;name&gt;" &gt;= &lt;target&gt;`.'
        )
    return announce(client, initiative, render_kpi_removed(initiative, removed, actor.user_id), confirmation)


def remove_reading_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, position: int
) -> Message:
    """Remove a wrong reading; the KPI's breach state follows the reading that is now the latest."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_reading(
            session=session, actor=actor, initiative=initiative, name=name, position=position, people=people
        )
    kpi = removed.kpi
    confirmation = (
        f":white_check_mark: Removed the reading {escape(format_value(removed.reading.value, kpi.unit))} of "
        f"*{escape(kpi.name)}*."
    )
    return announce(client, initiative, render_reading_removed(initiative, removed, actor.user_id), confirmation)


def read_as(raw: str, value: float | None) -> str:
    """Say how a number typed with a comma was read, so `0,85` is seen to be 0.85 and not 85."""
    if value is None or "," not in raw:
        return ""
    return f" (`{escape(raw.strip())}` read as {escape(format_value(value))})"


def show_kpis(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    stale_days = runtime.settings.kpi_stale_days
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        views = kpi_service.kpi_views(
            session=session, initiative=initiative, now=runtime.clock.now(), stale_days=stale_days
        )
    listing = render_kpi_list(initiative, views, stale_days=stale_days)
    return shareable(listing, ShareRequest(SharedView.KPIS, initiative.ref_key), shared_by=shared_by)


def log_idea_and_announce(runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, text: str) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = idea_service.log_idea(
            session=session, actor=actor, initiative=initiative, text=text, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Logged `{located.ref}`. When you know how it went: "
        f'`/handoff idea outcome {located.ref} worked|failed|dropped "note"`.'
    )
    return announce(client, located.initiative, render_idea_logged(located), confirmation)


def record_outcome_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, raw_outcome: str, note: str | None
) -> Message:
    outcome = idea_service.parse_outcome(raw_outcome)
    with runtime.session() as session:
        located = idea_service.record_outcome(
            session=session, actor=actor, reference=reference, outcome=outcome, note=note, now=runtime.clock.now()
        )
    confirmation = f":white_check_mark: `{located.ref}` {outcome.value}."
    return announce(client, located.initiative, render_idea_outcome(located), confirmation)


def show_ideas(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        ideas = idea_service.list_ideas(session=session, initiative=initiative)
    return shareable(render_ideas(ideas), ShareRequest(SharedView.IDEAS, initiative.ref_key), shared_by=shared_by)


def search_ideas(runtime: Runtime, actor: Actor, text: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        result = idea_service.search_ideas(session=session, team_id=actor.team_id, text=text)
    return shareable(render_idea_search(result), ShareRequest(SharedView.IDEA_SEARCH, text), shared_by=shared_by)


def _label(readiness: service.Readiness, key: str) -> str:
    found = service.find_item(readiness, key)
    return found.item.label if found is not None else key


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


CHECKLIST_ACTIONS = ("add", "waive", "remove")
KPI_ACTIONS = ("add", "record", "list", "edit", "remove", "reading")
KPI_OPTIONS = frozenset({"unit", "owner"})
KPI_EDIT_OPTIONS = frozenset({"name", "target", "unit", "direction", "owner"})
DOC_ACTIONS = ("add", "remove")


def parse_doc(rest: list[Token]) -> DocAddCommand | DocRemoveCommand:
    if not rest:
        return DocAddCommand(open_modal=True)
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in DOC_ACTIONS:
        raise unknown_action(rest[0], DOC_ACTIONS, "doc", "doc")
    if len(args) >= 2 and looks_like_url(parse_link(args[1].text)):  # `doc add model-card https://…`
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


def parse_checklist(rest: list[Token]) -> DocsCommand | ChecklistChangeCommand:
    if not rest:
        return DocsCommand(None)
    initiative_ref: str | None
    if is_word(rest[0], CHECKLIST_ACTIONS) and not (len(rest) > 1 and is_word(rest[1], CHECKLIST_ACTIONS)):
        initiative_ref, action, args = None, rest[0].text.lower(), rest[1:]  # `checklist waive …`: this channel's
    elif not any(is_word(t, CHECKLIST_ACTIONS) for t in rest[1:]):
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
    words, options = split_options(args[1:], frozenset({"for"}) if action == "add" else frozenset(), "checklist")
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


def parse_kpi(
    rest: list[Token],
) -> KpiAddCommand | KpiRecordCommand | KpiListCommand | KpiEditCommand | KpiRemoveCommand | KpiReadingRemoveCommand:
    if not rest:
        raise UsageError("`kpi` needs a command: add, record, list, edit, remove or reading remove.", "kpi")
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in KPI_ACTIONS:
        shown = tuple("reading remove" if a == "reading" else a for a in KPI_ACTIONS)
        raise unknown_action(rest[0], KPI_ACTIONS, "KPI", "kpi", shown)
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
    words, options = split_options(remainder[1:], KPI_OPTIONS, usage)
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
    left_out = args[0].quoted and all(option_match(t) is not None for t in args[1:])
    initiative_ref = None if left_out else args[0].text
    words, options = split_options(args if left_out else args[1:], KPI_EDIT_OPTIONS, usage)
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


def parse_idea(rest: list[Token]) -> IdeaAddCommand | IdeaOutcomeCommand:
    if not rest:
        raise UsageError("`idea` needs the initiative and the idea, in quotes.", "idea")
    if not rest[0].quoted and rest[0].text.lower() == "outcome":
        args = rest[1:]
        if len(args) < 2:
            raise UsageError(
                "`idea outcome` needs the idea reference (like `churn#i2`) and worked, failed or dropped.", "idea"
            )
        note = " ".join(t.text for t in args[2:]).strip() or None
        return IdeaOutcomeCommand(local_reference(args[0], LOCAL_IDEA), args[1].text, note)
    if len(rest) == 1 and rest[0].quoted:  # `idea "Try boosting"`: this channel's initiative
        return IdeaAddCommand(None, rest[0].text)
    text = " ".join(t.text for t in rest[1:]).strip()
    if not text:
        raise UsageError("Say what the idea is, in quotes after the initiative.", "idea")
    return IdeaAddCommand(rest[0].text, text)


def parse_ideas(rest: list[Token]) -> IdeasCommand | IdeasSearchCommand:
    if not rest:
        return IdeasCommand(None)
    if not rest[0].quoted and rest[0].text.lower() == "search":
        text = " ".join(t.text for t in rest[1:]).strip()
        if not text:
            raise UsageError("`ideas search` needs the words to look for.", "ideas")
        return IdeasSearchCommand(text)
    return IdeasCommand(" ".join(t.text for t in rest))


def _kpi_value_or_comparison(action: str, text: str) -> bool:
    return looks_like_number(text) if action == "record" else text[:1] in "<>=≥≤"


def _add_doc(request: Request, command: DocAddCommand) -> Message | None:
    runtime, client = request.runtime, request.client
    if command.open_modal:
        return open_add_doc_modal(
            runtime,
            client,
            team_id=request.team_id,
            trigger_id=request.trigger_id,
            channel_id=request.channel_id,
            initiative_ref=command.initiative_ref,
            kind=command.kind,
        )
    return add_doc_and_announce(
        runtime, client, request.actor, command.initiative_ref or "", command.kind or "", command.url, command.note
    )


def _remove_doc(request: Request, command: DocRemoveCommand) -> Message:
    return remove_doc_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.kind, command.url
    )


def _docs(request: Request, command: DocsCommand) -> Message:
    return show_checklist(request.runtime, request.actor, command.initiative_ref or "")


def _change_checklist(request: Request, command: ChecklistChangeCommand) -> Message:
    return change_checklist_and_announce(request.runtime, request.client, request.actor, command)


def _add_kpi(request: Request, command: KpiAddCommand) -> Message:
    return add_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _record_kpi(request: Request, command: KpiRecordCommand) -> Message:
    return record_kpi_and_announce(
        request.runtime,
        request.client,
        request.actor,
        command.initiative_ref or "",
        command.name,
        command.value,
        command.note,
    )


def _list_kpis(request: Request, command: KpiListCommand) -> Message:
    return show_kpis(request.runtime, request.actor, command.initiative_ref or "")


def _edit_kpi(request: Request, command: KpiEditCommand) -> Message:
    return edit_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _remove_kpi(request: Request, command: KpiRemoveCommand) -> Message:
    return remove_kpi_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name
    )


def _remove_reading(request: Request, command: KpiReadingRemoveCommand) -> Message:
    return remove_reading_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name, command.position
    )


def _log_idea(request: Request, command: IdeaAddCommand) -> Message:
    return log_idea_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.text
    )


def _record_outcome(request: Request, command: IdeaOutcomeCommand) -> Message:
    return record_outcome_and_announce(
        request.runtime, request.client, request.actor, command.reference, command.outcome, command.note
    )


def _ideas(request: Request, command: IdeasCommand) -> Message:
    return show_ideas(request.runtime, request.actor, command.initiative_ref or "")


def _search_ideas(request: Request, command: IdeasSearchCommand) -> Message:
    return search_ideas(request.runtime, request.actor, command.text)


DOCS = Action(DocsCommand, _docs, "docs", Answer.IN_ACK, Slot.INITIATIVE_REF)
# Usage of each KPI action, shown with an error about it; help shows them all under `kpi`.
KPI_USAGE = (
    (
        "kpi add",
        '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  (>= higher is better, <= lower is)',
    ),
    ("kpi record", '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"'),
    ("kpi list", "/handoff kpi list churn"),
    (
        "kpi edit",
        (
            '/handoff kpi edit churn "AUC on holdout" name:"AUC on holdout v2" target:0.85 unit:% '
            "direction:>= owner:@bob  (direction also higher or lower; unit:none, owner:none clear)"
        ),
    ),
    ("kpi remove", '/handoff kpi remove churn "AUC on holdout"  (with its readings)'),
    (
        "kpi reading remove",
        ('/handoff kpi reading remove churn "AUC on holdout" 2  (1, the latest, by default; `kpi list` numbers them)'),
    ),
)
SUBCOMMANDS = (
    Subcommand(
        "doc",
        summary=(
            "Attach a handoff doc (an http/https link) that satisfies a checklist item, attested by you; with missing "
            "arguments, a form. Kinds: {kinds}."
        ),
        usage=(
            '/handoff doc add churn model-card https://wiki.example.com/churn/card "v2, with slices"  ·  '
            "/handoff doc remove churn model-card"
        ),
        parse=undated(parse_doc),
        actions=(
            Action(
                DocAddCommand,
                _add_doc,
                "doc",
                lambda c: Answer.FORM if c.open_modal else Answer.AFTER_ACK,
                slot=lambda c: Slot.NONE if c.open_modal else Slot.INITIATIVE_REF,
            ),
            Action(DocRemoveCommand, _remove_doc, "doc", slot=Slot.INITIATIVE_REF),
        ),
        family="readiness",
        takes_action=True,
    ),
    Subcommand(
        "docs",
        summary=(
            "The readiness checklist of the current and next phase: each item satisfied (with its docs), missing (with "
            "how to add it) or waived."
        ),
        usage="/handoff docs churn",
        parse=undated(parse_docs),
        actions=(DOCS,),
        family="readiness",
    ),
    Subcommand(
        "checklist",
        summary=(
            "Change one initiative's checklist: `add` an item it needs, `waive` one it does not (with why), `remove` "
            "either change. `checklist churn` alone shows it."
        ),
        usage=(
            '/handoff checklist churn waive privacy-review "aggregated counts only"  ·  '
            '/handoff checklist churn add fairness-review "credit decisions" for:production  ·  '
            "/handoff checklist churn remove fairness-review"
        ),
        parse=undated(parse_checklist),
        actions=(DOCS, Action(ChecklistChangeCommand, _change_checklist, "checklist", slot=Slot.INITIATIVE_REF)),
        family="readiness",
    ),
    Subcommand(
        "kpi",
        summary=(
            "The agreed measure of good: `add` with a target and direction, `record` readings (a decimal comma such as "
            "`0,85` counts as a point), `list` them with their trend; `edit` or `remove` a KPI and `reading remove` a "
            "wrong reading (the KPI's owner and the initiative's managers). A KPI name may be shortened to an "
            "unambiguous prefix. The thread is alerted once when a KPI misses its target."
        ),
        usage=(
            '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  ·  /handoff kpi record churn "AUC on '
            'holdout" 0.84 "after retrain"  ·  /handoff kpi list churn  ·  /handoff kpi edit churn "AUC on holdout" '
            'target:0.85  ·  /handoff kpi reading remove churn "AUC on holdout"'
        ),
        parse=undated(parse_kpi),
        actions=(
            Action(KpiAddCommand, _add_kpi, "kpi add", slot=Slot.INITIATIVE_REF),
            Action(KpiRecordCommand, _record_kpi, "kpi record", slot=Slot.INITIATIVE_REF),
            Action(KpiListCommand, _list_kpis, "kpi list", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(KpiEditCommand, _edit_kpi, "kpi edit", slot=Slot.INITIATIVE_REF),
            Action(KpiRemoveCommand, _remove_kpi, "kpi remove", slot=Slot.INITIATIVE_REF),
            Action(KpiReadingRemoveCommand, _remove_reading, "kpi reading remove", slot=Slot.INITIATIVE_REF),
        ),
        family="kpis",
        aliases=(Alias("kpis", "list"),),
        action_usage=KPI_USAGE,
        takes_action=True,
    ),
    Subcommand(
        "idea",
        summary="Log an idea tried, then its outcome (worked, failed or dropped), so nobody repeats a dead end.",
        usage='/handoff idea churn "Try gradient boosting"  ·  /handoff idea outcome churn#i2 failed "no lift"',
        parse=undated(parse_idea),
        actions=(
            Action(IdeaAddCommand, _log_idea, "idea", slot=Slot.INITIATIVE_REF),
            Action(IdeaOutcomeCommand, _record_outcome, "idea", slot=Slot.ITEM),
        ),
        family="ideas",
        local_reference_actions=("outcome",),
    ),
    Subcommand(
        "ideas",
        summary="An initiative's ideas, newest first; `search` finds ideas across the workspace.",
        usage="/handoff ideas churn  ·  /handoff ideas search boosting",
        parse=undated(parse_ideas),
        actions=(
            Action(IdeasCommand, _ideas, "ideas", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(IdeasSearchCommand, _search_ideas, "ideas", Answer.IN_ACK),
        ),
        family="ideas",
    ),
)
