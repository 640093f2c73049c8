"""`/handoff` alone: this channel's initiatives, as `status` shows them, with the next steps one button away."""

from __future__ import annotations

from bot import ids
from bot.blocks.base import Block, Message, actions, button, context, section
from bot.blocks.status import CHANNEL_VIEW, render_status_page
from bot.status import StatusPage

NO_INITIATIVE_HERE = "No initiative calls this channel home yet."
COMMANDS_HINT = "`/handoff help` lists the commands, for those who like typing."
BUTTONS_BLOCK = "channel_view_buttons"


def render_channel_view(page: StatusPage, *, jira_url: str | None) -> Message:
    """This channel's status page (or a line saying it has none) and buttons: new initiative, help, all of them."""
    buttons = actions(
        button("New initiative", ids.ACTION_HOME_NEW, style="primary"),
        button("Help", ids.ACTION_SHOW_HELP),
        button("All initiatives", ids.ACTION_SHOW_ALL_INITIATIVES),
        block_id=BUTTONS_BLOCK,
    )
    if not page.items:
        blocks: list[Block] = [section(NO_INITIATIVE_HERE), buttons, context(COMMANDS_HINT)]
        return Message(text=NO_INITIATIVE_HERE, blocks=blocks)
    status = render_status_page(page, jira_url=jira_url, shown_as=CHANNEL_VIEW)
    return Message(text=status.text, blocks=[*status.blocks, buttons, context(COMMANDS_HINT)])
