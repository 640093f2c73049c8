"""Checkpoint messages: the list, thread updates, Jira status changes, replies about Jira keys, and unfurls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from bot import ids
from bot.blocks.base import (
    Block,
    Message,
    actions,
    button,
    context,
    day,
    header,
    lines_as_sections,
    plural,
    section,
    user,
)
from bot.checkpoints import (
    CHECKPOINT_FIELD_LABELS,
    CheckpointChange,
    CheckpointField,
    Located,
    effective_status,
    reference_of,
)
from bot.jira_gateway import JiraIssue
from bot.text import escape, truncate
from storage.models import Checkpoint, CheckpointStatus, Initiative, JiraStatusChange

STATUS_EMOJI = {
    CheckpointStatus.OPEN: ":white_circle:",
    CheckpointStatus.IN_PROGRESS: ":large_blue_circle:",
    CheckpointStatus.DONE: ":white_check_mark:",
    CheckpointStatus.MISSED: ":red_circle:",
}
STATUS_LABEL = {
    CheckpointStatus.OPEN: "open",
    CheckpointStatus.IN_PROGRESS: "in progress",
    CheckpointStatus.DONE: "done",
    CheckpointStatus.MISSED: "missed",
}
CATEGORY_EMOJI = {"new": ":white_circle:", "indeterminate": ":large_blue_circle:", "done": ":white_check_mark:"}
NO_CHECKPOINTS = (
    'No checkpoints yet. Add one with `/handoff checkpoint add {ref} "Model card reviewed" due:2027-02-15`.'
)


def issue_link(jira_url: str | None, key: str | None, label: str | None = None) -> str:
    if not key:
        return ""
    text = escape(label) if label else key
    return f"<{jira_url}/browse/{key}|{text}>" if jira_url else text


def checkpoint_line(
    initiative: Initiative, checkpoint: Checkpoint, *, today: date, jira_url: str | None, pending: int = 0
) -> str:
    """One checkpoint as a line: status, reference, title, owner, due date, Jira issue and mitigation."""
    status = effective_status(checkpoint, today)
    line = (
        f"{STATUS_EMOJI[status]} `{reference_of(initiative, checkpoint)}` *{escape(truncate(checkpoint.title, 150))}*"
        f" · {STATUS_LABEL[status]}"
    )
    if checkpoint.owner_id:
        line += f" · {user(checkpoint.owner_id)}"
    if checkpoint.due_date:
        line += f" · due {day(checkpoint.due_date)}"
    if checkpoint.status == CheckpointStatus.DONE.value and checkpoint.done_at:
        by = f" by {user(checkpoint.done_by)}" if checkpoint.done_by else " in Jira"
        line += f" · done {checkpoint.done_at.date().isoformat()}{by}"
    if checkpoint.jira_key:
        line += f" · {issue_link(jira_url, checkpoint.jira_key)}"
        if checkpoint.jira_status:
            line += f" ({escape(checkpoint.jira_status)})"
    if pending:
        line += f" · :hourglass_flowing_sand: {plural(pending, 'change')} waiting for Jira"
    if status is CheckpointStatus.MISSED:
        if checkpoint.mitigation:
            line += (
                f"\n>  Mitigation by {user(checkpoint.mitigated_by)}: {escape(truncate(checkpoint.mitigation, 300))}"
            )
        else:
            line += (
                "\n>  _No mitigation plan yet_ — `/handoff checkpoint mitigate "
                + reference_of(initiative, checkpoint)
                + ' "…"`'
            )
    return line


def render_checkpoint_list(
    initiative: Initiative,
    checkpoints: Sequence[Checkpoint],
    *,
    today: date,
    jira_url: str | None,
    pending: dict[int, int],
) -> Message:
    """`checkpoint list`: every checkpoint of an initiative, oldest first, missed ones with their mitigation."""
    blocks: list[Block] = [header(f"Checkpoints: {initiative.name}")]
    done = sum(1 for c in checkpoints if c.status == CheckpointStatus.DONE.value)
    missed = sum(1 for c in checkpoints if effective_status(c, today) is CheckpointStatus.MISSED)
    if not checkpoints:
        blocks.append(section(NO_CHECKPOINTS.format(ref=initiative.ref_key)))
    lines = [
        checkpoint_line(initiative, c, today=today, jira_url=jira_url, pending=pending.get(c.id or 0, 0))
        for c in checkpoints
    ]
    blocks += lines_as_sections(lines, max_blocks=45, overflow="_…more checkpoints than fit in one message._")
    summary = f"{done}/{len(checkpoints)} done"
    if missed:
        summary += f" · {missed} missed"
    blocks.append(context(summary + f" · references look like `{initiative.ref_key}#1`"))
    return Message(text=f"Checkpoints of {escape(initiative.name)}: {summary}", blocks=blocks)


def render_checkpoint_added(located: Located, actor_id: str, *, jira_url: str | None, created_issue: bool) -> Message:
    checkpoint = located.checkpoint
    line = f":pushpin: {user(actor_id)} added checkpoint `{located.ref}` *{escape(checkpoint.title)}*"
    details = []
    if checkpoint.owner_id:
        details.append(f"owner {user(checkpoint.owner_id)}")
    if checkpoint.due_date:
        details.append(f"due {day(checkpoint.due_date)}")
    if checkpoint.jira_key:
        verb = "created" if created_issue else "linked"
        details.append(f"{verb} {_issue_with_status(checkpoint, jira_url)}")
    if details:
        line += " · " + " · ".join(details)
    return Message(text=f"{escape(located.initiative.name)}: checkpoint {located.ref} added", blocks=[section(line)])


def render_checkpoint_completion(
    located: Located, actor_id: str, *, done: bool, jira_url: str | None, note: str = ""
) -> Message:
    checkpoint = located.checkpoint
    if done:
        line = f":white_check_mark: {user(actor_id)} marked `{located.ref}` *{escape(checkpoint.title)}* done"
    else:
        line = f":leftwards_arrow_with_hook: {user(actor_id)} reopened `{located.ref}` *{escape(checkpoint.title)}*"
    if checkpoint.jira_key:
        line += f" · {_issue_with_status(checkpoint, jira_url)}"
    if note:
        line += f"\n{note}"
    verb = "done" if done else "reopened"
    return Message(text=f"{escape(located.initiative.name)}: {located.ref} {verb}", blocks=[section(line)])


def render_checkpoint_edit(
    located: Located, changes: Sequence[CheckpointChange], actor_id: str, *, jira_url: str | None
) -> Message:
    lines = [f":pencil2: {user(actor_id)} updated `{located.ref}` *{escape(located.checkpoint.title)}*:"]
    for change in changes:
        lines.append(
            f"• {CHECKPOINT_FIELD_LABELS[change.field]}: {_describe(change.field, change.old, jira_url)} → "
            f"{_describe(change.field, change.new, jira_url)}"
        )
    return Message(text=f"{escape(located.initiative.name)}: {located.ref} updated", blocks=[section("\n".join(lines))])


def render_checkpoint_removed(located: Located, actor_id: str) -> Message:
    line = f":wastebasket: {user(actor_id)} removed checkpoint `{located.ref}` *{escape(located.checkpoint.title)}*."
    return Message(text=f"{escape(located.initiative.name)}: {located.ref} removed", blocks=[section(line)])


def render_checkpoint_restored(located: Located, actor_id: str) -> Message:
    title = escape(located.checkpoint.title)
    line = f":leftwards_arrow_with_hook: {user(actor_id)} put checkpoint `{located.ref}` *{title}* back."
    return Message(text=f"{escape(located.initiative.name)}: {located.ref} restored", blocks=[section(line)])


def render_mitigation(located: Located, actor_id: str) -> Message:
    checkpoint = located.checkpoint
    missed = f"due {day(checkpoint.due_date)}" if checkpoint.due_date else "missed"
    line = (
        f":rotating_light: {user(actor_id)} recorded a mitigation plan for `{located.ref}` "
        f"*{escape(checkpoint.title)}* ({missed}):\n> {escape(checkpoint.mitigation or '')}"
    )
    return Message(text=f"{escape(located.initiative.name)}: mitigation for {located.ref}", blocks=[section(line)])


def render_status_change(change: JiraStatusChange, ref: str, *, jira_url: str | None) -> Message:
    """ "DS-42 Model card review: In Review → Done", posted once per change in the initiative's thread."""
    line = status_change_line(change, jira_url=jira_url)
    if change.checkpoint_effect == "done":
        line += f"\n`{ref}` is done."
    elif change.checkpoint_effect == "reopened":
        line += f"\n`{ref}` is open again."
    text = f"{change.issue_key} {change.summary or ''}: {change.from_status or '?'} → {change.to_status}"
    return Message(text=escape(truncate(text, 300)), blocks=[section(line), context(f"In Jira · checkpoint `{ref}`")])


def status_change_line(change: JiraStatusChange, *, jira_url: str | None) -> str:
    summary = escape(truncate(change.summary or "", 150))
    emoji = CATEGORY_EMOJI.get(change.to_category or "", ":arrows_counterclockwise:")
    old = escape(change.from_status) if change.from_status else "_unknown_"
    return f"{emoji} {issue_link(jira_url, change.issue_key)} {summary}: {old} → *{escape(change.to_status)}*"


def render_push_failure(ref: str, issue_key: str, action: str, reason: str, *, jira_url: str | None) -> Message:
    """Told once, to the person and in the thread, when Jira refused a change for good."""
    what = {"done": "mark it done", "reopen": "reopen it", "remote_link": "link it to this thread"}.get(action, action)
    line = (
        f":warning: I couldn't update {issue_link(jira_url, issue_key)} in Jira to {what} (for `{ref}`): "
        f"{escape(reason)}\nThe checkpoint in Slack and the issue in Jira now disagree; please fix the issue in Jira."
    )
    return Message(text=f"Jira update failed for {issue_key}", blocks=[section(line)])


def render_jira_mention(issue: JiraIssue, *, linkable: bool, linked_ref: str | None, value: str) -> Message:
    """A reply when a thread mentions a Jira issue: link, summary and status, and a button to link it."""
    emoji = CATEGORY_EMOJI.get(issue.status_category, ":jira:")
    line = f"{emoji} <{issue.url}|{issue.key}> *{escape(truncate(issue.summary, 200))}* · {escape(issue.status)}"
    if issue.assignee:
        line += f" · {escape(issue.assignee)}"
    blocks: list[Block] = [section(line)]
    if linked_ref:
        blocks.append(context(f"Tracks checkpoint `{linked_ref}`"))
    elif linkable:
        blocks.append(
            actions(button("Link to a checkpoint", ids.ACTION_LINK_ISSUE, value=value), block_id="jira_mention")
        )
    return Message(text=f"{issue.key} {escape(truncate(issue.summary, 200))} ({escape(issue.status)})", blocks=blocks)


def render_unfurl(issue: JiraIssue) -> dict[str, object]:
    """What `chat.unfurl` shows for a link to a Jira issue."""
    line = f"<{issue.url}|{issue.key}> *{escape(truncate(issue.summary, 200))}*"
    facts = f"Status: *{escape(issue.status)}*"
    if issue.assignee:
        facts += f" · Assignee: {escape(issue.assignee)}"
    return {"blocks": [section(line), context(facts)]}


def mention_value(issue_key: str, initiative_ids: Sequence[int]) -> str:
    return json.dumps({"k": issue_key, "i": list(initiative_ids)}, separators=(",", ":"))


def _issue_with_status(checkpoint: Checkpoint, jira_url: str | None) -> str:
    link = issue_link(jira_url, checkpoint.jira_key)
    return f"{link} ({escape(checkpoint.jira_status)})" if checkpoint.jira_status else link


def _describe(fld: CheckpointField, value: object, jira_url: str | None) -> str:
    if value is None or value == "":
        return "_none_"
    if fld is CheckpointField.OWNER:
        return user(str(value))
    if fld is CheckpointField.JIRA:
        return issue_link(jira_url, str(value))
    if fld is CheckpointField.DUE and isinstance(value, date):
        return day(value)
    return escape(truncate(str(value), 300))
