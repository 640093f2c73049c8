"""Messages in an initiative's home channel: the kickoff that opens its thread, and the updates posted there."""

from __future__ import annotations

from datetime import date

from bot.blocks.base import Message, channel, context, day, header, jira_link, key_text, section, user
from bot.initiatives import FIELD_LABELS, Field, FieldChange
from bot.text import escape, truncate
from storage.models import Initiative, PhaseChange

KICKOFF_FOOTER = (
    "Key {key}: commands take it (`/handoff status {ref}`), and its checkpoints are `{ref}#1`, `{ref}#2`… "
    "Updates on this initiative are posted in this thread."
)


def render_kickoff(initiative: Initiative, *, jira_url: str | None) -> Message:
    """The first message of an initiative; its thread carries every later update."""
    goal = escape(initiative.goal) if initiative.goal else "_not set yet_"
    body = (
        f":checkered_flag: <@{initiative.created_by}> started a joint DS/engineering initiative.\n"
        f"*Goal:* {goal}\n"
        f"*DS lead:* {user(initiative.ds_lead_id)}   *Engineering lead:* {user(initiative.eng_lead_id)}   "
        f"*Embedded engineer:* {user(initiative.embedded_engineer_id)}\n"
        f"*Phase:* {initiative.phase}   *Target date:* {day(initiative.target_date)}   "
        f"*Jira epic:* {jira_link(jira_url, initiative.jira_epic_key)}"
    )
    return Message(
        text=f"New initiative: {escape(initiative.name)}",
        blocks=[
            header(initiative.name),
            section(body),
            context(KICKOFF_FOOTER.format(key=key_text(initiative.ref_key), ref=escape(initiative.ref_key))),
        ],
    )


def render_phase_update(initiative: Initiative, change: PhaseChange) -> Message:
    """Posted in the thread when the phase moves."""
    line = (
        f":arrow_forward: <@{change.changed_by}> moved *{escape(initiative.name)}* from "
        f"*{change.from_phase}* to *{change.to_phase}*."
    )
    if change.forced:
        line += f"\n:warning: Forced past the readiness checklist, still missing: {escape(change.forced_items or '')}."
    if change.note:
        line += f"\n> {escape(truncate(change.note, 500))}"
    return Message(text=f"{escape(initiative.name)}: {change.from_phase} → {change.to_phase}", blocks=[section(line)])


def render_edit_update(
    initiative: Initiative, changes: list[FieldChange], editor_id: str, *, jira_url: str | None
) -> Message:
    """Posted in the thread when fields change: old → new for each."""
    lines = [f":pencil2: <@{editor_id}> updated *{escape(initiative.name)}*:"]
    for change in changes:
        old = describe_value(change.field, change.old, jira_url)
        new = describe_value(change.field, change.new, jira_url)
        lines.append(f"• {FIELD_LABELS[change.field]}: {old} → {new}")
    labels = ", ".join(FIELD_LABELS[c.field].lower() for c in changes)
    return Message(text=f"{escape(initiative.name)}: updated {labels}", blocks=[section("\n".join(lines))])


def render_archive_update(initiative: Initiative, archived_by: str) -> Message:
    line = f":file_cabinet: <@{archived_by}> archived *{escape(initiative.name)}*. Its history is kept."
    return Message(text=f"{escape(initiative.name)} was archived", blocks=[section(line)])


def render_unarchive_update(initiative: Initiative, unarchived_by: str) -> Message:
    line = f":outbox_tray: <@{unarchived_by}> unarchived *{escape(initiative.name)}*. It is back in status and lists."
    return Message(text=f"{escape(initiative.name)} was unarchived", blocks=[section(line)])


def describe_value(fld: Field, value: object, jira_url: str | None) -> str:
    if value is None or value == "":
        return "_none_"
    if fld in (Field.DS, Field.ENG, Field.EMBEDDED):
        return user(str(value))
    if fld is Field.CHANNEL:
        return channel(str(value))
    if fld is Field.JIRA:
        return jira_link(jira_url, str(value))
    if fld is Field.DUE and isinstance(value, date):
        return day(value)
    return escape(truncate(str(value), 300))
