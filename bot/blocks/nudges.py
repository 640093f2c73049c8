"""Nudges in a channel, the direct message that escalates them to the leads, and the notice that a channel's
digest was turned off because Slack refused it."""

from __future__ import annotations

from bot import ids
from bot.blocks.base import Block, Message, actions, button, context, day, section, split_messages, user
from bot.blocks.digest import snooze_value
from bot.blocks.readiness import doc_button_value
from bot.nudges import Escalation, Gap, GapKind, InitiativeGaps, NudgePlan
from bot.text import escape, truncate

TITLE = "Nudges"
SLACK_REFUSALS = {
    "not_in_channel": "I'm not a member of it. Invite me with `/invite @Handoff` in the channel",
    "channel_not_found": "I can't see it (a private channel I'm not in, or a deleted one). Invite me with "
    "`/invite @Handoff` in the channel",
    "is_archived": "it is archived. Unarchive it, or move the initiatives to another channel with "
    "`/handoff edit <initiative> channel:#other`",
}


def render_nudges(plan: NudgePlan) -> list[Message]:
    """One message for the channel (continued in its thread past 50 blocks), each gap with its owners and buttons."""
    head = [section(":wave: *What's missing before the next step*, and who can close it:")]
    groups = [_initiative_blocks(entry) for entry in plan.post]
    count = sum(len(entry.gaps) for entry in plan.post)
    return split_messages(head, groups, text=f"{TITLE}: {count} open", continued=f"{TITLE}, continued")


def render_escalation(escalation: Escalation, *, channel_id: str) -> list[Message]:
    """What a lead hears directly once a gap was raised in the channel three times without an answer."""
    head = [
        section(
            f":mega: These gaps in <#{channel_id}> were raised there three times and are still open. "
            "Can you get them closed, or snooze them if they can wait?"
        )
    ]
    groups = [
        [
            section(f"*{escape(entry.initiative.name)}* `{entry.ref_key}` · {_gap_text(entry, gap)}"),
            _gap_actions(entry, gap),
        ]
        for entry, gap in escalation.items
    ]
    return split_messages(
        head, groups, text=f"{len(escalation.items)} gaps still open in a channel", continued=f"{TITLE}, continued"
    )


def render_channel_refused(channel_id: str, error: str) -> Message:
    """The direct message to whoever set up a channel's digest, when Slack refuses posts there."""
    reason = SLACK_REFUSALS.get(error, f"Slack answered `{escape(error)}`")
    line = (
        f":warning: I turned off the daily digest and nudges for <#{channel_id}>: I couldn't post there because "
        f"{reason}. Then turn them back on with `/handoff digest on` in the channel."
    )
    return Message(f"The digest for a channel is off: {error}", [section(line)])


def _initiative_blocks(entry: InitiativeGaps) -> list[Block]:
    gate = f" before *{entry.gate.value}*" if entry.gate else ""
    blocks: list[Block] = [context(f"*{escape(entry.initiative.name)}* `{entry.ref_key}`{gate}")]
    for gap in entry.gaps:
        blocks += [section(_gap_text(entry, gap)), _gap_actions(entry, gap)]
    return blocks


def _gap_text(entry: InitiativeGaps, gap: Gap) -> str:
    owners = " ".join(user(o) for o in gap.owners) if gap.owners else "_nobody owns this yet_ (set the leads)"
    label = escape(truncate(gap.label, 150))
    ref = entry.ref_key
    match gap.kind:
        case GapKind.MISSING_DOC:
            return (
                f":page_facing_up: *{label}* is missing · {owners}: add the link with the button or "
                f"`/handoff doc add {ref} {gap.item_key} <link>`"
            )
        case GapKind.MISSING_KPI:
            return (
                f":dart: *{label}*: none agreed yet · {owners}: "
                f'`/handoff kpi add {ref} "name" >= target` once both teams agree on it'
            )
        case GapKind.KPI_STALE:
            return (
                f":hourglass: KPI *{label}* has no recent reading · {owners}: "
                f'`/handoff kpi record {ref} "{label}" <value>`'
            )
        case GapKind.KPI_OFF_TARGET:
            where = f" {escape(gap.standing.phrase)}" if gap.standing else " misses its target"
            return f":red_circle: KPI *{label}*{where} · {owners}: what is the plan?"
        case GapKind.OVERDUE:
            return (
                f":rotating_light: `{gap.checkpoint_ref}` *{label}* was due {day(gap.due)} · {owners}: "
                "what is the mitigation plan?"
            )
    raise AssertionError(gap.kind)


def _gap_actions(entry: InitiativeGaps, gap: Gap) -> Block:
    elements: list[Block] = []
    if gap.kind is GapKind.MISSING_DOC:
        elements.append(
            button("Add the doc", ids.ACTION_ADD_DOC, value=doc_button_value(entry.initiative.id, gap.item_key))
        )
    elif gap.kind is GapKind.OVERDUE and gap.checkpoint_ref:
        elements.append(button("Record a mitigation", ids.ACTION_MITIGATE, value=gap.checkpoint_ref, style="primary"))
    elements += [
        button("Snooze 1 day", ids.ACTION_SNOOZE_DAY, value=snooze_value(entry.initiative.id, gap.key, 1)),
        button("Snooze 1 week", ids.ACTION_SNOOZE_WEEK, value=snooze_value(entry.initiative.id, gap.key, 7)),
    ]
    return actions(*elements)
