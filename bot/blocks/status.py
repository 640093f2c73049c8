"""`/handoff status` and `list`: an overview page or one initiative in detail, private by default."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from bot import ids
from bot.blocks.base import (
    Block,
    Message,
    actions,
    button,
    channel,
    context,
    day,
    divider,
    header,
    jira_link,
    key_text,
    lines_as_sections,
    plain,
    plural,
    section,
    slack_date,
    user,
)
from bot.blocks.checkpoints import checkpoint_line
from bot.blocks.readiness import gate_title, item_line, kpi_line, kpi_status_text, outstanding_line, readiness_line
from bot.blocks.standups import participation_line
from bot.initiatives import Part
from bot.kpis import KpiView
from bot.readiness import ForcedChange, Readiness
from bot.status import InitiativeDetail, InitiativeSummary, JiraHealth, ScopeKind, StatusPage
from bot.text import escape, truncate
from storage.models import Initiative, PhaseChange

HISTORY_SHOWN = 10
CHECKPOINTS_SHOWN = 10
KPIS_SHOWN = 5
PHASE_EMOJI = {
    "discovery": ":mag:",
    "research": ":test_tube:",
    "summary": ":memo:",
    "development": ":hammer_and_wrench:",
    "production": ":rocket:",
    "monitoring": ":chart_with_upwards_trend:",
    "paused": ":double_vertical_bar:",
    "cancelled": ":x:",
}
EMPTY_CHANNEL = "No initiatives call this channel home yet. Start one with `/handoff new`."
EMPTY_WORKSPACE = "No active initiatives in this workspace yet. Start one with `/handoff new`."


CHANNEL_VIEW = "here"  # `/handoff` alone: this channel's page inside the channel view
_KIND_JSON = {kind: json.dumps(kind) for kind in ("channel", "all", "detail", CHANNEL_VIEW)}  # what buttons carry


def page_value(kind: str, *, page: int = 1, channel_id: str | None = None, initiative_id: int | None = None) -> str:
    """What a status button carries so the click can re-read fresh data instead of trusting old blocks: compact JSON,
    written out directly since every card of a page carries one."""
    value = f'{{"k":{_KIND_JSON.get(kind) or json.dumps(kind)},"p":{page}'
    if channel_id:
        value += f',"c":{json.dumps(channel_id)}'
    if initiative_id is not None:
        value += f',"i":{initiative_id}'
    return value + "}"


class NextStep(StrEnum):
    """What a status card's "Next step…" menu offers, named as its option values carry them."""

    DETAILS = "details"
    PHASE = "phase"
    EDIT = "edit"
    CHECKPOINT = "checkpoint"
    DOC = "doc"
    KPI = "kpi"
    READING = "reading"
    BLOCKER = "blocker"
    STANDUP = "standup"
    ARCHIVE = "archive"


NEXT_STEP_LABELS = {
    NextStep.DETAILS: "Details",
    NextStep.PHASE: "Change phase",
    NextStep.EDIT: "Edit",
    NextStep.CHECKPOINT: "Add checkpoint",
    NextStep.DOC: "Add doc",
    NextStep.KPI: "Add a KPI",
    NextStep.READING: "Record a KPI reading",
    NextStep.BLOCKER: "Report a blocker",
    NextStep.STANDUP: "Standup settings",
    NextStep.ARCHIVE: "Archive",
}
NEXT_STEP_PLACEHOLDER = "Next step…"


def next_step_menu(initiative_id: int, shown: str, *, details: bool = True) -> Block:
    """A card's menu of next steps: a `static_select`, since an `overflow` holds only 5 options.

    Each option's value is compact JSON: the step (`s`), the initiative (`i`) and what the message shows (`shown`, a
    `page_value`), so the pick can re-render that message afterwards; Slack fires a select only when its selection
    changes, and the fresh render resets it."""
    where = shown[1:-1]
    return {
        "type": "static_select",
        "action_id": ids.ACTION_CARD_MENU,
        "placeholder": plain(NEXT_STEP_PLACEHOLDER),
        "options": [
            {"text": plain(label), "value": f'{{"s":"{step.value}",{where},"i":{initiative_id}}}'}
            for step, label in NEXT_STEP_LABELS.items()
            if details or step is not NextStep.DETAILS
        ],
    }


def render_status_page(
    page: StatusPage, *, jira_url: str | None, shared_by: str | None = None, shown_as: str | None = None
) -> Message:
    """An overview page; private copies carry share and paging buttons and the cards' menus, shared copies say who
    shared them. `shown_as` is the kind of message a pick on a card re-renders, when a caller wraps the page."""
    scope = page.scope
    if scope.kind is ScopeKind.CHANNEL:
        title = "Initiatives in this channel"
        kind, fallback_scope = "channel", f"<#{scope.channel_id}>"
    else:
        title = "All active initiatives"
        kind, fallback_scope = "all", "this workspace"
    blocks: list[Block] = [header(title)]
    if not page.items:
        blocks.append(section(EMPTY_CHANNEL if scope.kind is ScopeKind.CHANNEL else EMPTY_WORKSPACE))
    shown = page_value(shown_as or kind, page=page.page, channel_id=scope.channel_id) if shared_by is None else None
    for summary in page.items:
        blocks += _summary_blocks(summary, jira_url=jira_url, shown=shown)
    footer = plural(page.total, "initiative")
    if page.page_count > 1:
        footer += f" · page {page.page} of {page.page_count}"
    if jira_url and page.jira is not None:
        footer += " · " + jira_health_text(page.jira)
    if shared_by:
        footer += f" · shared by <@{shared_by}>"
    blocks.append(context(footer))
    if shared_by is None:
        buttons = []
        if page.page > 1:
            buttons.append(
                button(
                    "‹ Previous",
                    ids.ACTION_STATUS_PREV,
                    value=page_value(kind, page=page.page - 1, channel_id=scope.channel_id),
                )
            )
        if page.page < page.page_count:
            buttons.append(
                button(
                    "Next ›",
                    ids.ACTION_STATUS_NEXT,
                    value=page_value(kind, page=page.page + 1, channel_id=scope.channel_id),
                )
            )
        if page.items:
            buttons.append(
                button(
                    "Share in channel",
                    ids.ACTION_STATUS_SHARE,
                    value=page_value(kind, page=page.page, channel_id=scope.channel_id),
                )
            )
        if buttons:
            blocks.append(actions(*buttons, block_id="status_buttons"))
    names = ", ".join(escape(s.initiative.name) for s in page.items[:5])
    text = f"{title} ({page.total}) in {fallback_scope}" + (f": {names}" if names else "")
    return Message(text=truncate(text, 3000), blocks=blocks)


def _summary_blocks(summary: InitiativeSummary, *, jira_url: str | None, shown: str | None) -> list[Block]:
    """One initiative's card; `shown` (the page, on private copies only) gives it the menu of next steps."""
    initiative = summary.initiative
    line = (
        f"{PHASE_EMOJI.get(initiative.phase, '')} *{escape(initiative.name)}* {key_text(initiative.ref_key)} · "
        f"{initiative.phase} for {plural(summary.days_in_phase, 'day')}"
    )
    if initiative.goal:
        line += f"\n{escape(truncate(initiative.goal, 200))}"
    accessory = next_step_menu(initiative.id or 0, shown) if shown is not None else None
    people = (
        f"DS {user(initiative.ds_lead_id)} · Eng {user(initiative.eng_lead_id)} · "
        f"Embedded {user(initiative.embedded_engineer_id)} · Due {day(initiative.target_date)}"
    )
    if initiative.jira_epic_key:
        people += f" · {jira_link(jira_url, initiative.jira_epic_key)}"
    progress = summary.progress
    if progress.total:
        line += f"\nCheckpoints {progress.done}/{progress.total} done"
        if progress.next_due:
            line += f" · next due {day(progress.next_due)}"
        if progress.overdue:
            line += f" · :red_circle: {progress.overdue} overdue"
    line += "".join(f"\n{extra}" for extra in readiness_lines(summary.readiness, summary.kpis, summary.forced))
    return [section(line, accessory=accessory), context(people)]


def readiness_lines(readiness: Readiness | None, kpis: Sequence[KpiView], forced: ForcedChange | None) -> list[str]:
    """Readiness for the next phase, items still missing from a phase entered (forced or added since), KPIs."""
    lines = []
    if readiness is not None:
        ahead = readiness_line(readiness)
        if ahead:
            lines.append(ahead)
        behind = outstanding_line(readiness, forced)
        if behind:
            lines.append(behind)
    kpi_text = kpi_status_text(kpis)
    if kpi_text:
        lines.append(kpi_text)
    return lines


def jira_health_text(health: JiraHealth) -> str:
    """ "Jira synced <date>", with a warning when the last attempt failed and the count of waiting pushes."""
    if health.last_success_at is not None:
        text = f"Jira synced {slack_date(health.last_success_at, '%Y-%m-%d %H:%M UTC')}"
    else:
        text = "Jira not synced yet"
    if health.last_error:
        text += " · :warning: last sync failed"
    if health.pending_pushes:
        text += f" · :hourglass_flowing_sand: {plural(health.pending_pushes, 'change')} waiting for Jira"
    return text


def render_detail(detail: InitiativeDetail, *, jira_url: str | None, shared_by: str | None = None) -> Message:
    """One initiative: who, what, where, when, and its phase history."""
    initiative = detail.initiative
    title = f"{initiative.name}" + (" (archived)" if initiative.archived else "")
    blocks: list[Block] = [header(title)]
    # An archived initiative's steps would all be refused; Undo or `unarchive` brings it back first.
    menu = (
        next_step_menu(initiative.id or 0, page_value("detail"), details=False)
        if shared_by is None and not initiative.archived
        else None
    )
    blocks.append(
        section(
            f"{PHASE_EMOJI.get(initiative.phase, '')} *Phase:* {initiative.phase} since "
            f"{slack_date(detail.phase_since)} ({plural(detail.days_in_phase, 'day')})   "
            f"*Key:* {key_text(initiative.ref_key)}\n"
            f"*Goal:* {escape(initiative.goal) if initiative.goal else '_not set_'}",
            accessory=menu,
        )
    )
    blocks.append(section(_people_and_places(initiative, jira_url)))
    shown = list(detail.history)[-HISTORY_SHOWN:]
    lines = [_history_line(change) for change in reversed(shown)]
    if len(detail.history) > HISTORY_SHOWN:
        lines.append(f"_…and {len(detail.history) - HISTORY_SHOWN} earlier_")
    blocks.append(section("*Phase history*\n" + "\n".join(lines)))
    blocks.append(section(_checkpoints_text(detail, jira_url)))
    if detail.readiness is not None:
        behind = outstanding_line(detail.readiness, detail.forced)
        if behind:
            blocks.append(section(behind))
        for gate in detail.readiness.gates:
            lines = [gate_title(gate)] + [item_line(initiative, s) for s in gate.items]
            blocks += lines_as_sections(lines, max_blocks=6, overflow=f"_…see `/handoff docs {initiative.ref_key}`_")
    blocks += _kpis_sections(detail)
    standups = participation_line(detail.standups) if detail.standups is not None else None
    if standups:
        blocks.append(section(standups))
    footer = f"Created by <@{initiative.created_by}> on {slack_date(initiative.created_at)}"
    if jira_url and detail.jira is not None:
        footer += " · " + jira_health_text(detail.jira)
    if shared_by:
        footer += f" · shared by <@{shared_by}>"
    blocks.append(context(footer))
    if shared_by is None:
        blocks.append(divider())
        blocks.append(
            actions(
                button(
                    "Share in channel",
                    ids.ACTION_STATUS_SHARE,
                    value=page_value("detail", initiative_id=initiative.id),
                ),
                block_id="status_buttons",
            )
        )
    text = f"{escape(initiative.name)}: {initiative.phase}"
    return Message(text=text, blocks=blocks)


def _checkpoints_text(detail: InitiativeDetail, jira_url: str | None) -> str:
    initiative, checkpoints = detail.initiative, list(detail.checkpoints)
    if not checkpoints:
        return f'*Checkpoints*\nNone yet: `/handoff checkpoint add {initiative.ref_key} "Model card reviewed"`'
    today = detail.today or date.today()
    done = sum(1 for c in checkpoints if c.status == "done")
    pending = detail.pending_by_checkpoint or {}
    lines = [
        checkpoint_line(initiative, c, today=today, jira_url=jira_url, pending=pending.get(c.id or 0, 0))
        for c in checkpoints[:CHECKPOINTS_SHOWN]
    ]
    if len(checkpoints) > CHECKPOINTS_SHOWN:
        lines.append(
            f"_…and {len(checkpoints) - CHECKPOINTS_SHOWN} more: `/handoff checkpoint list {initiative.ref_key}`_"
        )
    return truncate(f"*Checkpoints* ({done}/{len(checkpoints)} done)\n" + "\n".join(lines), 3000)


def _kpis_sections(detail: InitiativeDetail) -> list[Block]:
    """The KPIs in as many sections as their lines need, so a long one never cuts off those after it."""
    ref = detail.initiative.ref_key
    if not detail.kpis:
        return [section(f'*KPIs*\nNone agreed yet: `/handoff kpi add {ref} "AUC on holdout" >= 0.82`')]
    lines = ["*KPIs*"] + [kpi_line(v, stale_days=detail.stale_days) for v in detail.kpis[:KPIS_SHOWN]]
    if len(detail.kpis) > KPIS_SHOWN:
        lines.append(f"_…and {len(detail.kpis) - KPIS_SHOWN} more: `/handoff kpi list {ref}`_")
    return lines_as_sections(lines, max_blocks=3, overflow=f"_…see them all: `/handoff kpi list {ref}`_")


def _people_and_places(initiative: Initiative, jira_url: str | None) -> str:
    thread = f"<{initiative.thread_permalink}|kickoff thread>" if initiative.thread_permalink else "_not posted_"
    return (
        f"*DS lead:* {user(initiative.ds_lead_id)}   *Engineering lead:* {user(initiative.eng_lead_id)}\n"
        f"*Embedded engineer:* {user(initiative.embedded_engineer_id)}\n"
        f"*Home:* {channel(initiative.home_channel_id)} · {thread}\n"
        f"*Jira epic:* {jira_link(jira_url, initiative.jira_epic_key)}   *Target date:* {day(initiative.target_date)}"
    )


def _history_line(change: PhaseChange) -> str:
    step = f"{change.from_phase} → {change.to_phase}" if change.from_phase else f"created in {change.to_phase}"
    line = f"• {slack_date(change.changed_at)} {step} by <@{change.changed_by}>"
    if change.note:
        line += f": {escape(truncate(change.note, 200))}"
    return line


def render_parts(user_id: str, parts: Sequence[Part]) -> Message:
    """`whoami`: the active initiatives the person leads, is embedded in or created, and what they are to each."""
    if not parts:
        text = f"{user(user_id)}, you are not a lead, embedded engineer or creator of any active initiative."
        return Message(text=text, blocks=[section(text)])
    lines = [f"• *{escape(p.initiative.name)}* (`{p.initiative.ref_key}`): {', '.join(p.roles)}" for p in parts]
    title = f"{user(user_id)}, your part in the active initiatives:"
    return Message(
        text=title + "\n" + "\n".join(lines),
        blocks=[section(title), *lines_as_sections(lines, max_blocks=10, overflow="…and more")],
    )
