"""The **Share in channel** button of private answers, and how a shared copy says who shared it.

Status pages have their own (they re-read a page or a detail); every other private answer about one initiative
(its checkpoints, checklist, KPIs, ideas, blockers) and an idea search share through this one piece. The button
carries what to re-read, not the blocks: the channel sees what is true when it is shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from bot import ids
from bot.blocks.base import MAX_BUTTON_VALUE, MAX_MESSAGE_BLOCKS, Block, Message, actions, button, context

SHARE_LABEL = "Share in channel"
SHARE_BLOCK_ID = "share_buttons"


class SharedView(StrEnum):
    """The answers that can be shared, as the button names them."""

    CHECKPOINTS = "checkpoints"
    CHECKLIST = "checklist"
    KPIS = "kpis"
    IDEAS = "ideas"
    IDEA_SEARCH = "idea-search"
    BLOCKERS = "blockers"
    REPORT = "report"


@dataclass(frozen=True)
class ShareRequest:
    """What a Share button points at: the view and its subject (an initiative's key, or the words searched)."""

    view: SharedView
    subject: str


def share_value(request: ShareRequest) -> str:
    return json.dumps({"v": request.view.value, "s": request.subject}, separators=(",", ":"), ensure_ascii=False)


def read_share_value(raw: str) -> ShareRequest | None:
    """The request a Share button carries; None when the value is not one of ours."""
    try:
        value = json.loads(raw)
        return ShareRequest(SharedView(value["v"]), str(value["s"]))
    except (ValueError, KeyError, TypeError):
        return None


def shareable(message: Message, request: ShareRequest, *, shared_by: str | None) -> Message:
    """The private answer with a Share button, or (`shared_by`) the channel's copy, saying who shared it."""
    blocks = list(message.blocks)
    if shared_by is not None:
        return Message(message.text, [*blocks, context(f"Shared by <@{shared_by}>")])
    value = share_value(request)
    if len(value) > MAX_BUTTON_VALUE:
        return message  # an idea search too long to carry; the answer stays private
    share = button(SHARE_LABEL, ids.ACTION_SHARE_ANSWER, value=value)
    if blocks and blocks[-1]["type"] == "actions" and len(blocks[-1]["elements"]) < 25:
        last: Block = {**blocks[-1], "elements": [*blocks[-1]["elements"], share]}
        return Message(message.text, [*blocks[:-1], last])
    if len(blocks) >= MAX_MESSAGE_BLOCKS:
        return message
    return Message(message.text, [*blocks, actions(share, block_id=SHARE_BLOCK_ID)])


def without_share_button(message: Message) -> Message:
    """A shareable answer as posted for everyone by Handoff itself: there is nothing left to share."""
    kept = []
    for block in message.blocks:
        if block.get("block_id") == SHARE_BLOCK_ID:
            continue
        if block["type"] == "actions":
            elements = [e for e in block["elements"] if e.get("action_id") != ids.ACTION_SHARE_ANSWER]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return Message(message.text, kept)
