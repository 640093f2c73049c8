"""Readiness messages: the checklist with its docs, KPIs, the ideas log, and the thread updates about them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot import ids
from bot.blocks.base import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    lines_as_sections,
    link,
    link_if_fits,
    plural,
    section,
    slack_date,
    user,
)
from bot.blocks.problems import how_to_satisfy
from bot.checklist import ItemType
from bot.ideas import IdeaList, LocatedIdea, SearchResult, idea_reference
from bot.kpi_source_setting import SourceSet
from bot.kpi_sources.spec import SourceSpec, describe, is_source_recorder, source_name
from bot.kpis import (
    KpiEdited,
    KpiRemoved,
    KpiView,
    ReadingRemoved,
    RecordResult,
    SourceState,
    Standing,
    format_value,
    meets,
    standing,
    target_text,
)
from bot.readiness import DocLike, EntryResult, ForcedChange, GateReadiness, ItemState, ItemStatus, Readiness
from bot.text import escape, truncate
from storage.models import ChecklistEntryAction, HandoffDoc, Idea, Initiative, Kpi, KpiSource

STATE_EMOJI = {
    ItemState.SATISFIED: ":white_check_mark:",
    ItemState.MISSING: ":x:",
    ItemState.WAIVED: ":heavy_minus_sign:",
}
OUTCOME_EMOJI = {"worked": ":white_check_mark:", "failed": ":x:", "dropped": ":wastebasket:"}
MISSING_SHOWN = 5


def doc_button_value(initiative_id: int, kind: str | None = None) -> str:
    """What an "Add a doc" button carries: the initiative, and the kind to preselect."""
    value: dict[str, object] = {"i": initiative_id}
    if kind:
        value["k"] = kind
    return json.dumps(value, separators=(",", ":"))


# --- the checklist ---------------------------------------------------------------------------------------


def readiness_line(readiness: Readiness) -> str | None:
    """ "3/5 for development", with what is missing, for status overviews; None when no gate lies ahead."""
    gate = readiness.next_gate()
    if gate is None:
        return None
    missing, satisfied, waived = [], 0, 0  # one pass: every status page asks this of every initiative
    for status in gate.items:
        if status.state is ItemState.MISSING:
            missing.append(status)
        elif status.state is ItemState.SATISFIED:
            satisfied += 1
        else:
            waived += 1
    text = f"Ready {satisfied}/{len(gate.items) - waived} for {gate.gate.value}"
    if missing:
        names = ", ".join(escape(s.item.label) for s in missing[:MISSING_SHOWN])
        more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        text += f" · missing: {names}{more}"
    if waived:
        text += f" · {waived} waived"
    return text


def outstanding_line(readiness: Readiness, forced: ForcedChange | None) -> str | None:
    """Items of gates already passed that are still missing: why, and what.

    The latest forced move is named only while something it was forced past is still missing: an item added to a
    passed gate afterwards was not skipped by whoever forced the move, and blaming them would mislead.
    """
    outstanding = readiness.outstanding()
    if not outstanding:
        return None
    names = ", ".join(escape(s.item.label) for s in outstanding[:MISSING_SHOWN])
    more = f" and {len(outstanding) - MISSING_SHOWN} more" if len(outstanding) > MISSING_SHOWN else ""
    forced_past = set((forced.forced_items or "").split(", ")) if forced is not None else set()
    if forced is not None and any(s.item.key in forced_past for s in outstanding):
        reason = f": {escape(truncate(forced.note, 150))}" if forced.note else ""
        return f":warning: Forced past the checklist by <@{forced.changed_by}>{reason} · still missing: {names}{more}"
    return f":warning: Still missing from a phase already entered: {names}{more}"


def item_line(initiative: Initiative, status: ItemStatus) -> str:
    item = status.item
    line = f"{STATE_EMOJI[status.state]} *{escape(item.label)}* (`{item.key}`)"
    if status.added is not None:
        line += f" · added for this initiative by <@{status.added.created_by}>"
    if status.state is ItemState.WAIVED and status.waiver is not None:
        waiver = status.waiver
        return (
            line + f"\n      waived by <@{waiver.created_by}> on {slack_date(waiver.created_at)}: "
            f"{escape(truncate(waiver.reason, 300))}"
        )
    if item.type is ItemType.KPI and status.kpi_names:
        return line + " · " + ", ".join(f'"{escape(n)}"' for n in status.kpi_names)
    if item.type is ItemType.OWNERS and status.leads is not None:
        line += f" · DS {user(status.leads[0])}, engineering {user(status.leads[1])}"
    for doc in status.docs:
        line += "\n      " + doc_line(doc)
    if status.state is ItemState.MISSING:
        line += f"\n      _{escape(item.help)}_ " if item.help else "\n      "
        line += how_to_satisfy(initiative.ref_key, item)
    return line


def doc_link(doc: DocLike) -> str:
    """The doc's link; its label is the URL too, escaped like any typed text so an `&` or `>` in a query string
    shows as typed instead of ending the link early."""
    return link(doc.url, escape(truncate(doc.url, 80)))


def doc_line(doc: DocLike) -> str:
    text = f"{doc_link(doc)} · <@{doc.added_by}>, {slack_date(doc.added_at)}"
    if doc.note:
        text += f" · {escape(truncate(doc.note, 200))}"
    return text


def gate_title(gate: GateReadiness) -> str:
    text = f"*To enter {gate.gate.value}:* {gate.satisfied}/{gate.required} ready"
    if gate.waived:
        text += f", {len(gate.waived)} waived"
    return text


def render_checklist(initiative: Initiative, readiness: Readiness, *, full: bool = False) -> Message:
    """`docs`: the items of the current and next phase (`full`: every gate), each satisfied, missing or waived."""
    blocks: list[Block] = [header(f"Handoff checklist: {initiative.name}")]
    gates = list(readiness.gates) if full else readiness.shown()
    if not gates:
        blocks.append(section(f"*{escape(initiative.name)}* is {initiative.phase}: no phase gate lies ahead."))
    for gate in gates:
        lines = [gate_title(gate)] + [item_line(initiative, s) for s in gate.items]
        blocks += lines_as_sections(lines, max_blocks=20, overflow="_…more items than fit in one message._")
    blocks.append(
        context(
            f"Phase: {initiative.phase} · add a doc: "
            f"`/handoff doc add {initiative.ref_key} &lt;kind&gt; &lt;url&gt;` · waive: "
            f'`/handoff checklist {initiative.ref_key} waive &lt;item&gt; "&lt;reason&gt;"`'
        )
    )
    if not initiative.archived:
        blocks.append(
            actions(
                button("Add a doc", ids.ACTION_ADD_DOC, value=doc_button_value(initiative.id or 0)),
                block_id="checklist_buttons",
            )
        )
    summary = "; ".join(f"{g.gate.value} {g.satisfied}/{g.required}" for g in gates)
    return Message(text=f"Handoff checklist of {escape(initiative.name)}: {summary}", blocks=blocks)


# --- thread updates ------------------------------------------------------------------------------------------


def render_doc_added(initiative: Initiative, doc: HandoffDoc, label: str) -> Message:
    line = (
        f":page_facing_up: <@{doc.added_by}> added the *{escape(label)}* of *{escape(initiative.name)}*: "
        f"{doc_link(doc)}"
    )
    if doc.note:
        line += f"\n> {escape(truncate(doc.note, 300))}"
    return Message(text=f"{escape(initiative.name)}: {escape(label)} added", blocks=[section(line)])


def render_doc_removed(initiative: Initiative, doc: HandoffDoc, label: str, actor_id: str) -> Message:
    line = (
        f":wastebasket: <@{actor_id}> removed the *{escape(label)}* doc of *{escape(initiative.name)}* "
        f"({doc_link(doc)})."
    )
    return Message(text=f"{escape(initiative.name)}: {escape(label)} removed", blocks=[section(line)])


def render_doc_restored(initiative: Initiative, doc: HandoffDoc, label: str, actor_id: str) -> Message:
    line = (
        f":leftwards_arrow_with_hook: <@{actor_id}> put back the *{escape(label)}* doc of *{escape(initiative.name)}* "
        f"({doc_link(doc)})."
    )
    return Message(text=f"{escape(initiative.name)}: {escape(label)} restored", blocks=[section(line)])


def render_checklist_change(initiative: Initiative, result: EntryResult) -> Message:
    entry, item = result.entry, result.item
    if entry.action == ChecklistEntryAction.WAIVE:
        line = f":heavy_minus_sign: <@{entry.created_by}> waived *{escape(item.label)}* for *{escape(initiative.name)}*"
        text = f"{escape(initiative.name)}: {escape(item.label)} waived"
    else:
        line = (
            f":heavy_plus_sign: <@{entry.created_by}> added *{escape(item.label)}* (`{item.key}`) to the checklist "
            f"of *{escape(initiative.name)}*, needed to enter {item.gate.value}"
        )
        text = f"{escape(initiative.name)}: {escape(item.label)} added to the checklist"
    line += f"\n> {escape(truncate(entry.reason, 500))}"
    return Message(text=text, blocks=[section(line)])


def render_checklist_entry_removed(initiative: Initiative, status: ItemStatus, actor_id: str) -> Message:
    what = "dropped" if status.added is not None else "lifted the waiver of"
    line = (
        f":leftwards_arrow_with_hook: <@{actor_id}> {what} *{escape(status.item.label)}* for "
        f"*{escape(initiative.name)}*."
    )
    return Message(text=f"{escape(initiative.name)}: checklist changed", blocks=[section(line)])


def render_kpi_added(initiative: Initiative, kpi: Kpi) -> Message:
    owner = f" · owner {user(kpi.owner_id)}" if kpi.owner_id else ""
    line = (
        f":dart: <@{kpi.created_by}> agreed a KPI for *{escape(initiative.name)}*: "
        f"*{escape(kpi.name)}* {escape(target_text(kpi))}{owner}"
    )
    return Message(text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} agreed", blocks=[section(line)])


def render_kpi_alert(initiative: Initiative, result: RecordResult) -> Message:
    """Posted once when a KPI goes from meeting its target to missing it."""
    kpi, reading, where = result.kpi, result.reading, result.standing
    owner = user(kpi.owner_id) if kpi.owner_id else "no owner set"
    line = (
        f":rotating_light: *{escape(kpi.name)}* of *{escape(initiative.name)}* {escape(where.phrase)}: "
        f"{escape(format_value(reading.value, kpi.unit))}. Owner: {owner}."
        f"\n{recorder(reading.recorded_by, first=True)}"
    )
    if reading.note:
        line += f": {escape(truncate(reading.note, 300))}"
    text = f"{escape(initiative.name)}: KPI {escape(kpi.name)} {where.short}"
    return Message(text=text, blocks=[section(line)])


def render_kpi_recovered(initiative: Initiative, result: RecordResult) -> Message:
    """Posted when a reading meets the target again after the thread was told of a breach."""
    kpi, reading, where = result.kpi, result.reading, result.standing
    line = (
        f":white_check_mark: *{escape(kpi.name)}* of *{escape(initiative.name)}* {escape(where.phrase)} again: "
        f"{escape(format_value(reading.value, kpi.unit))}, {recorder(reading.recorded_by)}."
    )
    return Message(text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} back {where.short}", blocks=[section(line)])


def recorder(recorded_by: str, *, first: bool = False) -> str:
    """Who gave a reading: `recorded by @alice`, or `read from MLflow` for one read from the KPI's source; `first`
    starts a sentence with it."""
    if is_source_recorder(recorded_by):
        return f"{'Read' if first else 'read'} from {source_name(recorded_by)}"
    return f"{'Recorded' if first else 'recorded'} by <@{recorded_by}>"


def short_recorder(recorded_by: str) -> str:
    """`by @alice`, or `from MLflow` for a reading read from the KPI's source."""
    if is_source_recorder(recorded_by):
        return f"from {source_name(recorded_by)}"
    return f"by <@{recorded_by}>"


def standing_mark(where: Standing) -> str:
    """A check mark only for a value that meets its target."""
    return ":white_check_mark:" if where.meets else ":red_circle:"


def latest_sentence(kpi_name: str, latest_value: str | None, where: Standing | None) -> str:
    """Where a KPI stands after a change, for the thread: `Latest: 150 ms, which is above its 120 ms ceiling.`"""
    if latest_value is None or where is None:
        return f"*{escape(kpi_name)}* has no readings now."
    return f"{standing_mark(where)} Latest: {escape(latest_value)}, which {escape(where.phrase)}."


def render_kpi_edited(initiative: Initiative, edited: KpiEdited, actor_id: str) -> Message:
    """The thread hears who changed a KPI, each change old → new, and where its latest reading now stands."""
    kpi, before = edited.kpi, edited.before
    changes = []
    if before.name != kpi.name:
        changes.append(f'name "{escape(before.name)}" → "{escape(kpi.name)}"')
    if before.target_text != target_text(kpi):
        changes.append(f"target {escape(before.target_text)} → {escape(target_text(kpi))}")
    if before.owner_id != kpi.owner_id:
        changes.append(f"owner {user(before.owner_id)} → {user(kpi.owner_id)}")
    line = f":pencil2: <@{actor_id}> changed KPI *{escape(kpi.name)}* of *{escape(initiative.name)}*: " + "; ".join(
        changes
    )
    if edited.restated:
        latest = edited.latest
        where = None if latest is None else standing(kpi, latest.value)
        shown = None if latest is None else format_value(latest.value, kpi.unit)
        line += "\n" + latest_sentence(kpi.name, shown, where)
    return Message(text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} changed", blocks=[section(line)])


def render_kpi_removed(initiative: Initiative, removed: KpiRemoved, actor_id: str) -> Message:
    """The thread hears who removed a KPI, its terms, and how many readings went with it."""
    kpi = removed.kpi
    readings = f" and its {plural(removed.readings, 'reading')}" if removed.readings else ""
    line = (
        f":wastebasket: <@{actor_id}> removed KPI *{escape(kpi.name)}* ({escape(kpi.target_text)}){readings} "
        f"from *{escape(initiative.name)}*."
    )
    return Message(text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} removed", blocks=[section(line)])


def render_reading_removed(initiative: Initiative, removed: ReadingRemoved, actor_id: str) -> Message:
    """The thread hears which reading went, who had recorded it, and where the KPI stands without it."""
    kpi, reading = removed.kpi, removed.reading
    latest = removed.latest
    shown = None if latest is None else format_value(latest.value, kpi.unit)
    line = (
        f":wastebasket: <@{actor_id}> removed a reading of *{escape(kpi.name)}* of *{escape(initiative.name)}*: "
        f"{escape(format_value(reading.value, kpi.unit))}, {recorder(reading.recorded_by)} on "
        f"{slack_date(reading.recorded_at)}.\n{latest_sentence(kpi.name, shown, removed.standing)}"
    )
    return Message(
        text=f"{escape(initiative.name)}: a reading of KPI {escape(kpi.name)} removed", blocks=[section(line)]
    )


DESCRIPTION_SHOWN = 200  # of a source's description: a PromQL query may run to 2000 characters, a filter to 1000


def described(spec: SourceSpec) -> str:
    """A source's description as messages show it: cut short, then escaped, so an escape is never cut in two."""
    return escape(truncate(describe(spec), DESCRIPTION_SHOWN))


def render_source_set(initiative: Initiative, result: SourceSet, actor_id: str) -> Message:
    """The thread hears, in one line, where a KPI is now read from and who set it."""
    kpi = result.kpi
    line = (
        f":electric_plug: <@{actor_id}> set *{escape(kpi.name)}* of *{escape(initiative.name)}* to be read from "
        f"{described(result.checked.spec)}."
    )
    return Message(
        text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} read from its source", blocks=[section(line)]
    )


def source_set_confirmation(initiative: Initiative, result: SourceSet) -> str:
    """The answer to whoever set a source: what it read just now, against the target, with the link."""
    kpi, checked = result.kpi, result.checked
    reading = checked.reading
    where = standing(kpi, reading.value)
    label = escape(reading.label)
    shown = link_if_fits(reading.url, label) if reading.url else label
    text = (
        f"{standing_mark(where)} *{escape(kpi.name)}* of *{escape(initiative.name)}* is now read from "
        f"{described(checked.spec)}"
        f"{' (in place of its earlier source)' if result.replaced else ''}. "
        f"It read *{escape(format_value(reading.value, kpi.unit))}* ({shown}), which {escape(where.phrase)}"
    )
    text += "; that reading was recorded before." if result.recorded is None else ", recorded as its reading."
    version = checked.model_version
    if version is not None:
        name = f"{escape(version.model)} @{escape(version.alias)}"
        at = f"version {escape(version.version)}"
        at = link_if_fits(version.url, at) if version.url else at
        text += f" {name} is at {at} now; later versions taking the alias are announced in the thread."
    return text


def render_source_removed(initiative: Initiative, kpi: Kpi, spec: SourceSpec, actor_id: str) -> Message:
    line = (
        f":electric_plug: <@{actor_id}> stopped reading *{escape(kpi.name)}* of *{escape(initiative.name)}* from "
        f"{source_name(spec.kind.value)}; its readings are typed by people again."
    )
    return Message(text=f"{escape(initiative.name)}: KPI {escape(kpi.name)} source off", blocks=[section(line)])


def render_source_shown(initiative: Initiative, kpi: Kpi, source: KpiSource | None) -> Message:
    """`kpi source <initiative> "<kpi>"`: where its readings come from, and how reading it went lately."""
    if source is None:
        text = (
            f"*{escape(kpi.name)}* of *{escape(initiative.name)}* has no source; its readings are typed by people. "
            f'Set one: `/handoff kpi source {initiative.ref_key} "{escape(kpi.name)}" mlflow '
            'experiment:&lt;name&gt; metric:&lt;key&gt;` or `… prometheus query:"&lt;PromQL&gt;"`.'
        )
        return Message(text=text, blocks=[section(text)])
    state = SourceState.of(source)
    text = f"*{escape(kpi.name)}* of *{escape(initiative.name)}*: {source_line(state)}"
    text += f"\n      Set by <@{source.set_by}> on {slack_date(source.set_at)}"
    if state.failing_since is None:
        text += f" · {last_good(state)}"
    text += f'\n      Stop: `/handoff kpi source {initiative.ref_key} "{escape(kpi.name)}" off`'
    return Message(text=f"Source of KPI {escape(kpi.name)}", blocks=[section(text)])


def render_idea_logged(located: LocatedIdea) -> Message:
    idea = located.idea
    line = f":bulb: <@{idea.author_id}> logged `{located.ref}`: {escape(truncate(idea.text, 1000))}"
    return Message(text=f"Idea {located.ref} logged", blocks=[section(line)])


def render_idea_outcome(located: LocatedIdea) -> Message:
    idea = located.idea
    line = (
        f"{OUTCOME_EMOJI.get(idea.outcome or '', '')} <@{idea.outcome_by}> marked `{located.ref}` *{idea.outcome}*: "
        f"{escape(truncate(idea.text, 300))}"
    )
    if idea.outcome_note:
        line += f"\n> {escape(truncate(idea.outcome_note, 500))}"
    return Message(text=f"Idea {located.ref}: {idea.outcome}", blocks=[section(line)])


# --- KPIs ------------------------------------------------------------------------------------------------------


def kpi_line(view: KpiView, *, stale_days: int) -> str:
    kpi, latest = view.kpi, view.latest
    line = f"*{escape(kpi.name)}* target {escape(target_text(kpi))}"
    if latest is None:
        line = f":grey_question: {line} · no reading yet"
    else:
        mark = standing_mark(standing(kpi, latest.value))
        line = f"{mark} {line} · latest *{escape(format_value(latest.value, kpi.unit))}*"
        line += f" on {slack_date(latest.recorded_at)} {short_recorder(latest.recorded_by)}"
        if len(view.readings) > 1:
            values = [format_value(r.value) for r in reversed(view.readings)]
            line += f" · trend {' → '.join(values)} {trend_arrow(view)}"
    if kpi.owner_id:
        line += f" · owner {user(kpi.owner_id)}"
    if view.stale:
        line += f" · :hourglass: stale (no reading for {plural(stale_days, 'day')} or more)"
    if view.source is not None:
        line += "\n      " + source_line(view.source)
    return line


def source_line(source: SourceState) -> str:
    """Where a KPI's readings come from, and since when reading it fails, with the last good reading's time."""
    shown = truncate(source.description or source_name(source.kind), DESCRIPTION_SHOWN)
    line = f":electric_plug: Reads from {escape(shown)}"
    if source.failing_since is None:
        return line
    failing = f":warning: {source_name(source.kind)} source failing since {slack_moment(source.failing_since)}"
    if source.failure:
        failing += f": {escape(truncate(source.failure, 300))}"
    return f"{line}\n      {failing} · {last_good(source)}"


def last_good(source: SourceState) -> str:
    if source.last_good_at is None:
        return "no good reading yet"
    return f"last good reading {slack_moment(source.last_good_at)}"


def slack_moment(moment: datetime) -> str:
    """A day and time Slack renders in each reader's own time zone, with a UTC fallback for old clients."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short}} {{time}}|{fallback}>"


def trend_arrow(view: KpiView) -> str:
    """Whether the last reading moved the KPI toward its target or away from it."""
    if len(view.readings) < 2:
        return ""
    newest, before = view.readings[0].value, view.readings[1].value
    if newest == before:
        return "→"
    better = newest > before if view.kpi.direction == ">=" else newest < before
    return ":arrow_upper_right: better" if better else ":arrow_lower_right: worse"


def kpi_status_text(views: Sequence[KpiView]) -> str | None:
    """A short KPI summary for status overviews: each latest value against its target, stale ones marked."""
    if not views:
        return None
    parts = []
    for view in views[:4]:
        kpi, latest = view.kpi, view.latest
        if latest is None:
            parts.append(f"{escape(kpi.name)}: no reading{failing_mark(view)}")
            continue
        mark = "" if meets(kpi, latest.value) else " :red_circle:"
        parts.append(
            f"{escape(kpi.name)} {escape(format_value(latest.value, kpi.unit))} ({escape(target_text(kpi))}){mark}"
            + failing_mark(view)
        )
    text = "KPIs: " + " · ".join(parts)
    if len(views) > 4:
        text += f" · +{len(views) - 4} more"
    stale = sum(1 for v in views if v.stale)
    if stale:
        text += f" · :hourglass: {stale} stale"
    return text


def failing_mark(view: KpiView) -> str:
    """For the status overview: a KPI whose source fails, with its last good reading's time."""
    source = view.source
    if source is None or source.failing_since is None:
        return ""
    return f" :warning: {source_name(source.kind)} failing, {last_good(source)}"


def numbered_readings(view: KpiView) -> str | None:
    """A KPI's recent readings numbered from the newest, as `kpi reading remove` counts them."""
    if not view.readings:
        return None
    numbered = " · ".join(
        f"{n}. {escape(format_value(r.value, view.kpi.unit))}" for n, r in enumerate(view.readings, start=1)
    )
    return f"*{escape(truncate(view.kpi.name, 80))}*, newest first: {numbered}"


def render_kpi_list(initiative: Initiative, views: Sequence[KpiView], *, stale_days: int) -> Message:
    blocks: list[Block] = [header(f"KPIs: {initiative.name}")]
    if not views:
        blocks.append(
            section(f'No KPI agreed yet: `/handoff kpi add {initiative.ref_key} "AUC on holdout" >= 0.82 unit:%`')
        )
    lines = [kpi_line(v, stale_days=stale_days) for v in views]
    blocks += lines_as_sections(lines, max_blocks=45, overflow="_…more KPIs than fit in one message._")
    numbered = [n for n in (numbered_readings(v) for v in views) if n]
    if numbered:
        blocks.append(context(*numbered))  # a context holds 10 elements: enough for the KPIs a team agrees
    blocks.append(
        context(
            f'Record a reading: `/handoff kpi record {initiative.ref_key} "&lt;name&gt;" &lt;value&gt; ["note"]` · '
            f'remove one: `/handoff kpi reading remove {initiative.ref_key} "&lt;name&gt;" [n]`'
        )
    )
    missing = sum(1 for v in views if v.meets_target is False)
    return Message(
        text=f"KPIs of {escape(initiative.name)}: {plural(len(views), 'KPI')}, {missing} off target",
        blocks=blocks,
    )


# --- ideas ------------------------------------------------------------------------------------------------------


def idea_line(initiative: Initiative, idea: Idea, *, with_initiative: bool = False) -> str:
    outcome = f"{OUTCOME_EMOJI.get(idea.outcome, '')} *{idea.outcome}*" if idea.outcome else ":hourglass: _open_"
    where = f" ({escape(initiative.name)})" if with_initiative else ""
    line = (
        f"`{idea_reference(initiative, idea)}`{where} {escape(truncate(idea.text, 500))}\n      {outcome} · "
        f"<@{idea.author_id}>, {slack_date(idea.created_at)}"
    )
    if idea.outcome_note:
        line += f" · {escape(truncate(idea.outcome_note, 300))}"
    return line


def render_ideas(ideas: IdeaList) -> Message:
    initiative = ideas.initiative
    blocks: list[Block] = [header(f"Ideas tried: {initiative.name}")]
    if not ideas.ideas:
        blocks.append(section(f'No ideas logged yet: `/handoff idea {initiative.ref_key} "Try gradient boosting"`'))
    lines = [idea_line(initiative, idea) for idea in ideas.ideas]
    blocks += lines_as_sections(lines, max_blocks=45, overflow="_…more ideas than fit in one message._")
    footer = f"{plural(ideas.total, 'idea')}, newest first"
    if ideas.total > len(ideas.ideas):
        footer += f" · showing the latest {len(ideas.ideas)}"
    footer += f' · outcome: `/handoff idea outcome {initiative.ref_key}#i1 worked|failed|dropped "note"`'
    blocks.append(context(footer))
    return Message(text=f"Ideas of {escape(initiative.name)}: {ideas.total}", blocks=blocks)


def render_idea_search(result: SearchResult) -> Message:
    words = " ".join(result.words)
    blocks: list[Block] = [header(f"Ideas matching: {truncate(words, 100)}")]
    if not result.found:
        blocks.append(section(f"No idea in this workspace mentions *{escape(words)}*."))
    lines = [idea_line(f.initiative, f.idea, with_initiative=True) for f in result.found]
    blocks += lines_as_sections(lines, max_blocks=45, overflow="_…more ideas than fit in one message._")
    return Message(text=f"{plural(len(result.found), 'idea')} matching {escape(words)}", blocks=blocks)
