"""The forms a status card's "Next step…" menu opens: change phase, edit, add a KPI, record a KPI reading, standup
settings, and the confirmation before archiving. Each carries `{"c": channel, "i": initiative id}` in
`private_metadata`, so the submission knows what it is about and where to answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import ids
from bot.blocks.base import Block, context, plain, section
from bot.blocks.modals import form_modal, input_block
from bot.blocks.pickers import picked_option
from bot.kpi_sources.spec import RunPick
from bot.kpis import KpiView, target_text
from bot.readiness import GateReadiness
from bot.recurrence import WEEKDAYS
from bot.standups import MAX_QUESTIONS, QUESTION_MAX, StandupPlan
from bot.text import escape, truncate
from storage.models import (
    GOAL_MAX,
    KPI_NAME_MAX,
    KPI_UNIT_MAX,
    NAME_MAX,
    NOTE_MAX,
    SOURCE_FILTER_MAX,
    SOURCE_QUERY_MAX,
    SOURCE_TEXT_MAX,
    Initiative,
    KpiDirection,
    KpiSourceKind,
    Phase,
)

CURRENT_PHASE_MARK = " (now)"
# The directions `/handoff kpi add` takes, as the form offers them; the value is what the command would be typed with.
KPI_DIRECTION_CHOICES = {
    KpiDirection.AT_LEAST: "Higher is better (>=)",
    KpiDirection.AT_MOST: "Lower is better (<=)",
}
# Where a new KPI's readings come from, as the form offers it; the value is the source's kind, or `people`.
TYPED_BY_PEOPLE = "people"
KPI_SOURCE_CHOICES = {
    TYPED_BY_PEOPLE: "Typed by people",
    KpiSourceKind.MLFLOW.value: "MLflow: an experiment's metric",
    KpiSourceKind.PROMETHEUS.value: "Prometheus: a PromQL query",
}
RUN_CHOICES = {RunPick.LATEST.value: "The latest run", RunPick.BEST.value: "The best run"}
NO_KPI_YET = "No KPI is agreed yet for *{name}*, so there is nothing to record a reading of: agree one here first."
KPI_INTRO = "A KPI for *{name}*: the agreed measure of good, with its target."
STANDUP_ON, STANDUP_OFF = "on", "off"
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def form_metadata(initiative_id: int, channel_id: str | None) -> str:
    """What every card form remembers: the initiative it is about and the channel to answer in."""
    return json.dumps({"c": channel_id, "i": initiative_id})


def phase_option(phase: Phase, current: str) -> dict[str, Any]:
    """A phase as the form lists it; the one the initiative is in is marked."""
    return picked_option(phase.value + (CURRENT_PHASE_MARK if phase.value == current else ""), phase.value)


def render_change_phase_modal(
    initiative: Initiative,
    *,
    next_gate: GateReadiness | None,
    may_force: bool,
    channel_id: str | None,
    preselected: Phase | None = None,
) -> dict[str, Any]:
    """Move an initiative to another phase (`preselected` when a suggestion opened it): what the next gate still
    misses, a note, and for those allowed to force a move past missing items, the reason."""
    blocks: list[Block] = [section(f"*{escape(initiative.name)}* is in *{initiative.phase}*.")]
    if next_gate is not None:
        missing = next_gate.missing
        if missing:
            labels = ", ".join(escape(s.item.label) for s in missing)
            blocks.append(context(truncate(f"Still missing before *{next_gate.gate.value}*: {labels}", 2000)))
        else:
            blocks.append(context(f"The checklist for *{next_gate.gate.value}* is complete."))
    select = {
        "type": "static_select",
        "placeholder": plain("Pick a phase"),
        "options": [phase_option(p, initiative.phase) for p in Phase],
    }
    if preselected is not None:
        select["initial_option"] = phase_option(preselected, initiative.phase)
    blocks.append(input_block(ids.BLOCK_PHASE_TARGET, "Move to", select))
    blocks.append(
        input_block(
            ids.BLOCK_PHASE_NOTE,
            "Note",
            {"type": "plain_text_input", "multiline": True, "max_length": NOTE_MAX},
            optional=True,
            hint="Recorded in the phase history and posted in the thread.",
        )
    )
    if may_force:
        blocks.append(
            input_block(
                ids.BLOCK_PHASE_REASON,
                "Reason to move anyway",
                {"type": "plain_text_input", "max_length": NOTE_MAX},
                optional=True,
                hint="Only when required checklist items are missing: the move is recorded as forced, with this "
                "reason as its note.",
            )
        )
    return form_modal(
        ids.VIEW_CHANGE_PHASE, "Change phase", "Move", form_metadata(initiative.id or 0, channel_id), blocks
    )


def render_edit_modal(initiative: Initiative, *, channel_id: str | None) -> dict[str, Any]:
    """The initiative's fields filled in with their values: what is changed is sent, an emptied optional field
    is cleared."""

    def person(user_id: str | None) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "users_select"}
        if user_id:
            element["initial_user"] = user_id
        return element

    def text(value: str | None, **extra: Any) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", **extra}
        if value:
            element["initial_value"] = value
        return element

    due: dict[str, Any] = {"type": "datepicker"}
    if initiative.target_date is not None:
        due["initial_date"] = initiative.target_date.isoformat()
    channel_select = {
        "type": "conversations_select",
        "initial_conversation": initiative.home_channel_id,
        "filter": {
            "include": ["public", "private"],
            "exclude_bot_users": True,
            "exclude_external_shared_channels": True,
        },
    }
    blocks = [
        input_block(ids.BLOCK_NEW_NAME, "Name", text(initiative.name, max_length=NAME_MAX)),
        input_block(ids.BLOCK_NEW_CHANNEL, "Home channel", channel_select),
        input_block(ids.BLOCK_NEW_DS, "DS lead", person(initiative.ds_lead_id), optional=True),
        input_block(ids.BLOCK_NEW_ENG, "Engineering lead", person(initiative.eng_lead_id), optional=True),
        input_block(
            ids.BLOCK_NEW_EMBEDDED,
            "Embedded engineer",
            person(initiative.embedded_engineer_id),
            optional=True,
            hint="The engineer who joins the DS team's dailies.",
        ),
        input_block(
            ids.BLOCK_NEW_GOAL, "Goal", text(initiative.goal, multiline=True, max_length=GOAL_MAX), optional=True
        ),
        input_block(ids.BLOCK_NEW_JIRA, "Jira epic", text(initiative.jira_epic_key), optional=True),
        input_block(ids.BLOCK_NEW_DUE, "Target date", due, optional=True),
    ]
    return form_modal(
        ids.VIEW_EDIT_INITIATIVE, "Edit initiative", "Save", form_metadata(initiative.id or 0, channel_id), blocks
    )


def render_add_kpi_modal(
    initiative: Initiative, *, channel_id: str | None, instead_of_reading: bool = False
) -> dict[str, Any]:
    """Agree a KPI as `/handoff kpi add` does: name, direction, target, and optionally unit and owner; opened
    `instead_of_reading` when a reading was asked for and there is no KPI to record it of, it says so."""
    directions = [picked_option(label, direction.value) for direction, label in KPI_DIRECTION_CHOICES.items()]
    intro = NO_KPI_YET if instead_of_reading else KPI_INTRO
    blocks: list[Block] = [
        section(intro.format(name=escape(initiative.name))),
        input_block(
            ids.BLOCK_KPI_NAME,
            "Name",
            {"type": "plain_text_input", "max_length": KPI_NAME_MAX, "placeholder": plain("AUC on holdout")},
            hint="Unique among this initiative's KPIs.",
        ),
        input_block(
            ids.BLOCK_KPI_DIRECTION,
            "Direction",
            {"type": "static_select", "placeholder": plain("Pick a direction"), "options": directions},
        ),
        input_block(
            ids.BLOCK_KPI_TARGET,
            "Target",
            {"type": "plain_text_input", "placeholder": plain("0.82")},
            hint="A number such as 0.82 or 120; 0,82 with a decimal comma is read as 0.82, and 82% as 82.",
        ),
        input_block(
            ids.BLOCK_KPI_UNIT,
            "Unit",
            {"type": "plain_text_input", "max_length": KPI_UNIT_MAX, "placeholder": plain("%")},
            optional=True,
        ),
        input_block(
            ids.BLOCK_KPI_OWNER,
            "Owner",
            {"type": "users_select"},
            optional=True,
            hint="Who is reminded when its readings are stale or miss the target; the owner may also change it.",
        ),
        *source_blocks(),
    ]
    return form_modal(ids.VIEW_ADD_KPI, "Add a KPI", "Agree", form_metadata(initiative.id or 0, channel_id), blocks)


def source_blocks() -> list[Block]:
    """Where the new KPI's readings come from, as `/handoff kpi source` sets it: people by default, else an MLflow
    experiment's metric or a PromQL query, checked by reading it once the KPI is agreed."""
    sources = [picked_option(label, value) for value, label in KPI_SOURCE_CHOICES.items()]
    runs = [picked_option(label, value) for value, label in RUN_CHOICES.items()]

    def text(block_id: str, label: str, limit: int, placeholder: str, hint: str | None = None) -> Block:
        element = {"type": "plain_text_input", "max_length": limit, "placeholder": plain(placeholder)}
        return input_block(block_id, label, element, optional=True, hint=hint)

    return [
        input_block(
            ids.BLOCK_KPI_SOURCE,
            "Reads from",
            {"type": "static_select", "options": sources, "initial_option": sources[0]},
            optional=True,
            hint="MLflow or Prometheus: Handoff reads the KPI there now and then, instead of people typing it.",
        ),
        text(ids.BLOCK_KPI_EXPERIMENT, "MLflow experiment", SOURCE_TEXT_MAX, "churn-model"),
        text(ids.BLOCK_KPI_METRIC, "MLflow metric", SOURCE_TEXT_MAX, "val_auc"),
        input_block(
            ids.BLOCK_KPI_RUN,
            "Which MLflow run",
            {"type": "static_select", "options": runs, "initial_option": runs[0]},
            optional=True,
            hint="The best run is the best value as the KPI's direction reads it.",
        ),
        text(ids.BLOCK_KPI_FILTER, "MLflow run filter", SOURCE_FILTER_MAX, "tags.dataset = 'holdout'"),
        text(
            ids.BLOCK_KPI_MODEL,
            "MLflow registered model",
            SOURCE_TEXT_MAX,
            "churn",
            hint="With an alias: each new version taking the alias is announced in the thread.",
        ),
        text(ids.BLOCK_KPI_ALIAS, "Its alias", SOURCE_TEXT_MAX, "champion"),
        input_block(
            ids.BLOCK_KPI_QUERY,
            "Prometheus query",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": SOURCE_QUERY_MAX,
                "placeholder": plain('histogram_quantile(0.95, rate(latency_bucket{job="api"}[5m]))'),
            },
            optional=True,
            hint="An instant query returning one series.",
        ),
    ]


def render_record_reading_modal(
    initiative: Initiative, kpis: Sequence[KpiView], *, channel_id: str | None
) -> dict[str, Any]:
    """Record a reading of one of the initiative's KPIs; the KPI's name is what the form sends back."""
    options = [picked_option(f"{v.kpi.name} ({target_text(v.kpi)})", v.kpi.name) for v in kpis[:100]]
    select: dict[str, Any] = {"type": "static_select", "placeholder": plain("Pick a KPI"), "options": options}
    if len(options) == 1:
        select["initial_option"] = options[0]
    blocks = [
        section(f"A reading for *{escape(initiative.name)}*, recorded with who and when."),
        input_block(ids.BLOCK_READING_KPI, "KPI", select),
        input_block(
            ids.BLOCK_READING_VALUE,
            "Value",
            {"type": "plain_text_input", "placeholder": plain("0.84")},
            hint="A number; 0,84 with a decimal comma is read as 0.84.",
        ),
        input_block(
            ids.BLOCK_READING_NOTE, "Note", {"type": "plain_text_input", "max_length": NOTE_MAX}, optional=True
        ),
    ]
    return form_modal(
        ids.VIEW_RECORD_READING, "Record a KPI reading", "Record", form_metadata(initiative.id or 0, channel_id), blocks
    )


def render_standup_settings_modal(
    initiative: Initiative, plan: StandupPlan, *, channel_id: str | None
) -> dict[str, Any]:
    """What `/handoff standup` changes, filled in as it stands: on or off, time, days, time zone, and the questions."""
    on_off = [picked_option("On", STANDUP_ON), picked_option("Off", STANDUP_OFF)]
    days = [picked_option(DAY_NAMES[d], d) for d in WEEKDAYS]
    chosen_days = [o for o in days if o["value"] in plan.schedule.days]
    days_element: dict[str, Any] = {"type": "checkboxes", "options": days}
    if chosen_days:
        days_element["initial_options"] = chosen_days
    blocks: list[Block] = [
        section(f"*{escape(initiative.name)}*: <@{plan.user_id}> is asked by direct message."),
        input_block(
            ids.BLOCK_STANDUP_ENABLED,
            "Standup",
            {"type": "radio_buttons", "options": on_off, "initial_option": on_off[0 if plan.enabled else 1]},
        ),
        input_block(
            ids.BLOCK_STANDUP_TIME,
            "Time",
            {"type": "timepicker", "initial_time": plan.schedule.at.strftime("%H:%M")},
        ),
        input_block(ids.BLOCK_STANDUP_DAYS, "Days", days_element),
        input_block(
            ids.BLOCK_STANDUP_ZONE,
            "Time zone",
            {"type": "plain_text_input", "initial_value": plan.schedule.timezone, "max_length": 64},
            hint="Left as it is, it stays; another zone, such as Europe/Berlin, pins this standup to it.",
        ),
    ]
    for index in range(MAX_QUESTIONS):
        element: dict[str, Any] = {"type": "plain_text_input", "max_length": QUESTION_MAX}
        if index < len(plan.questions):
            element["initial_value"] = plan.questions[index]
        blocks.append(
            input_block(ids.block_standup_question(index), f"Question {index + 1}", element, optional=index > 0)
        )
    blocks.append(context("Blockers, and who waits on whom, are always asked last."))
    return form_modal(
        ids.VIEW_STANDUP_SETTINGS, "Standup settings", "Save", form_metadata(initiative.id or 0, channel_id), blocks
    )


def render_archive_modal(initiative: Initiative, *, channel_id: str | None) -> dict[str, Any]:
    """Ask before archiving; the answer's Undo brings it back."""
    text = (
        f"Archive *{escape(initiative.name)}*? It leaves status and lists; its history is kept, and *Undo* or "
        f"`/handoff unarchive {escape(initiative.ref_key)}` brings it back."
    )
    return form_modal(
        ids.VIEW_ARCHIVE,
        "Archive initiative",
        "Archive",
        form_metadata(initiative.id or 0, channel_id),
        [section(text)],
    )
