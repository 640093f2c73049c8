"""The daily digest of a channel: one message, continued in its thread when it would pass Slack's 50 blocks."""

from __future__ import annotations

import json
from datetime import datetime

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
    slack_date,
    split_messages,
    user,
)
from bot.blocks.blockers import blocker_line, resolve_button
from bot.blocks.checkpoints import status_change_line
from bot.blocks.readiness import doc_button_value
from bot.blocks.status import PHASE_EMOJI, readiness_lines
from bot.checklist import ItemType
from bot.digest import ChannelDigest, CheckpointLine, DigestEntry
from bot.nudges import WHOLE_INITIATIVE
from bot.text import escape, truncate

OVERDUE_SHOWN = 5
JIRA_CHANGES_SHOWN = 5
BLOCKERS_SHOWN = 5  # new and older open ones together
BLOCKER_TEXT = 150
TITLE = "Daily digest"


def snooze_value(initiative_id: int, gap_key: str, days: int) -> str:
    return json.dumps({"i": initiative_id, "g": gap_key, "d": days}, separators=(",", ":"))


def render_digest(digest: ChannelDigest, *, jira_url: str | None) -> list[Message]:
    """The digest's messages: the first for the channel, any others for its thread. A channel where nothing
    changed gets one line."""
    count = plural(len(digest.entries), "initiative")
    if not digest.changed:
        line = f":sunrise: *{TITLE}*: nothing new in {count} since {slack_date(digest.since)}."
        still = _still_open(digest)
        if still:
            line += f" Still open: {still}."
        line += " `/handoff status` shows where each one stands."
        return [Message(f"{TITLE}: nothing new since the previous digest", [section(line)])]
    overdue = sum(len(e.overdue) for e in digest.entries)
    changed = sum(1 for e in digest.entries if e.changed)
    summary = f"{count} · {changed} with news since {slack_date(digest.since)}"
    if overdue:
        summary += f" · :rotating_light: {plural(overdue, 'overdue checkpoint')}"
    head = [header(f"{TITLE} · {digest.today.strftime('%a %-d %b')}"), context(summary)]
    groups = [_entry_blocks(entry, jira_url=jira_url, now=digest.composed_at) for entry in digest.entries]
    text = f"{TITLE}: {count}" + (f", {plural(overdue, 'overdue checkpoint')}" if overdue else "")
    return split_messages(head, groups, text=text, continued=f"{TITLE}, continued")


def _entry_blocks(entry: DigestEntry, *, jira_url: str | None, now: datetime) -> list[Block]:
    summary = entry.summary
    card = summary.initiative
    lines = [
        f"{PHASE_EMOJI.get(card.phase, '')} *{escape(card.name)}* `{entry.ref_key}` · {card.phase} for "
        f"{plural(summary.days_in_phase, 'day')}"
    ]
    progress = summary.progress
    if progress.total:
        line = f"Checkpoints {progress.done}/{progress.total} done"
        if entry.next_due is not None:
            due = entry.next_due.checkpoint
            line += f" · next `{entry.next_due.ref}` {escape(truncate(due.title, 80))} due {day(due.due_date)}"
        lines.append(line)
    lines += [_overdue_line(o) for o in entry.overdue[:OVERDUE_SHOWN]]
    if len(entry.overdue) > OVERDUE_SHOWN:
        lines.append(
            f"…and {len(entry.overdue) - OVERDUE_SHOWN} more overdue (`/handoff checkpoint list {entry.ref_key}`)"
        )
    for jira in entry.jira_changes[:JIRA_CHANGES_SHOWN]:
        lines.append(f"{status_change_line(jira.change, jira_url=jira_url)} (`{jira.ref}`)")
    if len(entry.jira_changes) > JIRA_CHANGES_SHOWN:
        lines.append(f"…and {plural(len(entry.jira_changes) - JIRA_CHANGES_SHOWN, 'more Jira change')}")
    shown = [(":new: ", b) for b in entry.new_blockers] + [("", b) for b in entry.open_blockers]
    lines += [mark + blocker_line(b.ref, b.blocker, now=now, limit=BLOCKER_TEXT) for mark, b in shown[:BLOCKERS_SHOWN]]
    if len(shown) > BLOCKERS_SHOWN:
        lines.append(
            f"…and {plural(len(shown) - BLOCKERS_SHOWN, 'more blocker')} (`/handoff blockers {entry.ref_key}`)"
        )
    lines += readiness_lines(summary.readiness, summary.kpis, summary.forced)
    # Long lists spill into a second section rather than being cut at Slack's 3000 characters.
    blocks: list[Block] = lines_as_sections(
        lines, max_blocks=3, overflow=f"_…more in `/handoff status {entry.ref_key}`._"
    )
    buttons = _buttons(entry, jira_url=jira_url)
    if buttons:
        blocks.append(actions(*buttons))
    return blocks


def _still_open(digest: ChannelDigest) -> str:
    """What a day without news still owes: open blockers (with the oldest's age) and overdue checkpoints."""
    parts = []
    blockers = [b.blocker for e in digest.entries for b in e.open_blockers if b.blocker.resolved_at is None]
    if blockers:
        oldest = max(0, (digest.composed_at - min(b.reported_at for b in blockers)).days)
        parts.append(f":construction: {plural(len(blockers), 'blocker')} (the oldest open {plural(oldest, 'day')})")
    overdue = sum(len(e.overdue) for e in digest.entries)
    if overdue:
        parts.append(f":rotating_light: {plural(overdue, 'overdue checkpoint')}")
    return ", ".join(parts)


def _overdue_line(line: CheckpointLine) -> str:
    checkpoint = line.checkpoint
    text = (
        f":rotating_light: *Overdue* `{line.ref}` {escape(truncate(checkpoint.title, 120))} · due "
        f"{day(checkpoint.due_date)} · owner {user(checkpoint.owner_id)}"
    )
    if checkpoint.mitigation:
        return text + f"\n>  Mitigation: {escape(truncate(checkpoint.mitigation, 300))}"
    return text + " · _no mitigation plan yet_"


def _buttons(entry: DigestEntry, *, jira_url: str | None) -> list[Block]:
    card = entry.summary.initiative
    buttons = []
    focus = entry.overdue[0] if entry.overdue else entry.next_due
    if focus is not None:
        buttons.append(button(f"Mark {focus.ref} done", ids.ACTION_CHECKPOINT_DONE, value=focus.ref))
    jira_key = card.jira_epic_key or (focus.checkpoint.jira_key if focus else None)
    if jira_url and jira_key:
        buttons.append(button("Open in Jira", ids.ACTION_OPEN_JIRA, url=f"{jira_url}/browse/{jira_key}"))
    readiness = entry.summary.readiness
    gate = readiness.next_gate() if readiness else None
    missing_doc = next((s for s in gate.missing if s.item.type is not ItemType.KPI), None) if gate else None
    if missing_doc is not None:
        buttons.append(button("Add a doc", ids.ACTION_ADD_DOC, value=doc_button_value(card.id, missing_doc.item.key)))
    unresolved = [b for b in (*entry.new_blockers, *entry.open_blockers) if b.blocker.resolved_at is None]
    if unresolved:
        # New blockers are listed first, but the one waited on longest is the one to resolve.
        oldest = min(unresolved, key=lambda b: (b.blocker.reported_at, b.blocker.number))
        buttons.append(resolve_button(oldest.ref))
    buttons.append(
        button("Snooze nudges 1 day", ids.ACTION_SNOOZE_DAY, value=snooze_value(card.id, WHOLE_INITIATIVE, 1))
    )
    return buttons
