"""Blockers: the thread post when one is reported or resolved, and the list of an initiative's open ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import ids
from bot.blockers import LocatedBlocker, direction_label
from bot.blocks.base import Block, Message, button, context, header, plural, section
from bot.text import escape, truncate
from storage.models import Blocker, Initiative

LISTED = 20


def blocker_line(ref: str, blocker: Blocker, *, now: datetime, limit: int = 300) -> str:
    """ "`churn#b2` No read access to the events table · DS waiting on engineering · open 3 days, by @carol" """
    line = f":construction: `{ref}` *{escape(truncate(blocker.text, limit))}*"
    direction = direction_label(blocker.direction)
    if direction:
        line += f" · {direction}"
    if blocker.resolved_at is not None:
        return line + f" · resolved by <@{blocker.resolved_by}>"
    age = max(0, (now - blocker.reported_at).days)
    return line + f" · open {plural(age, 'day')}, reported by <@{blocker.reported_by}>"


def resolve_button(ref: str) -> Block:
    return button(f"Resolve {ref}", ids.ACTION_RESOLVE_BLOCKER, value=ref)


def render_blocker_reported(located: LocatedBlocker) -> Message:
    blocker = located.blocker
    # Cut before escaping: an escaped `&` is five characters, and Slack cuts a section at 3000.
    text = escape(truncate(blocker.text, 500))
    line = f":construction: <@{blocker.reported_by}> reported a blocker, `{located.ref}`: *{text}*"
    direction = direction_label(blocker.direction)
    if direction:
        line += f"\n_{direction}_"
    return Message(
        text=f"Blocker {located.ref}: {escape(truncate(blocker.text, 200))}",
        blocks=[section(line, accessory=resolve_button(located.ref))],
    )


def render_blocker_resolved(located: LocatedBlocker) -> Message:
    blocker = located.blocker
    line = (
        f":white_check_mark: <@{blocker.resolved_by}> resolved `{located.ref}`: {escape(truncate(blocker.text, 300))}"
    )
    return Message(text=f"Blocker {located.ref} resolved", blocks=[section(line)])


def render_blockers(initiative: Initiative, blockers: Sequence[Blocker], *, now: datetime) -> Message:
    """An initiative's open blockers, oldest first, each with its Resolve button."""
    blocks: list[Block] = [header(f"Open blockers: {truncate(initiative.name, 120)}")]
    if not blockers:
        blocks.append(section(f"Nothing blocks *{escape(initiative.name)}* right now."))
    for blocker in blockers[:LISTED]:
        ref = f"{initiative.ref_key}#b{blocker.number}"
        blocks.append(section(blocker_line(ref, blocker, now=now), accessory=resolve_button(ref)))
    footer = f'Report one: `/handoff blocker {initiative.ref_key} "what blocks the work" on:eng|ds|platform`'
    if len(blockers) > LISTED:
        footer = f"Showing the oldest {LISTED} of {len(blockers)}. " + footer
    blocks.append(context(footer))
    return Message(text=f"{plural(len(blockers), 'open blocker')} in {escape(initiative.name)}", blocks=blocks)
