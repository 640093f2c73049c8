"""App Home: the initiatives the viewer is part of."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.base import MAX_VIEW_BLOCKS, Block, actions, button, context, divider, header, key_text, section
from bot.blocks.status import PHASE_EMOJI
from bot.status import InitiativeSummary
from bot.text import escape, truncate

HOME_INTRO = (
    "Handoff keeps data science and engineering on one path to production: phases, checkpoints, handoff "
    "docs and KPIs, in the channels both teams already use. Type `/handoff help` anywhere for every command."
)


def render_home(summaries: list[InitiativeSummary]) -> dict[str, Any]:
    """The App Home tab: intro, a button to start an initiative, and the viewer's own initiatives."""
    blocks: list[Block] = [
        header("Handoff"),
        section(HOME_INTRO),
        actions(button("New initiative", ids.ACTION_HOME_NEW, style="primary"), block_id="home_buttons"),
        divider(),
        header("Your initiatives"),
    ]
    if not summaries:
        blocks.append(section("You are not a lead, embedded engineer or creator of any active initiative."))
    room = (MAX_VIEW_BLOCKS - len(blocks) - 1) // 2
    for summary in summaries[:room]:
        initiative = summary.initiative
        blocks.append(
            section(
                f"{PHASE_EMOJI.get(initiative.phase, '')} *{escape(initiative.name)}* {key_text(initiative.ref_key)} · "
                f"{initiative.phase} for {summary.days_in_phase}d · <#{initiative.home_channel_id}>"
            )
        )
        if initiative.goal:
            blocks.append(context(escape(truncate(initiative.goal, 300))))
    if len(summaries) > room:
        blocks.append(context(f"…and {len(summaries) - room} more: `/handoff list` shows them all."))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
