"""Shared Block Kit pieces and Slack's size limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.text import escape, truncate

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_TEXT = 2000
MAX_ALT_TEXT = 2000  # an image block's alt text
MAX_BUTTON_VALUE = 2000
MAX_MESSAGE_TEXT = 40000


@dataclass(frozen=True)
class Message:
    """A message payload: `text` is the notification and screen-reader fallback for `blocks`."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": truncate(self.text, MAX_MESSAGE_TEXT), "blocks": self.blocks}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) if limit else text, "emoji": True}


def section(text: str, *, accessory: Block | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(truncate(text, MAX_SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(truncate(t, MAX_CONTEXT_TEXT)) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, *, value: str | None = None, style: str | None = None, url: str | None = None
) -> Block:
    element: Block = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        element["value"] = value[:MAX_BUTTON_VALUE]
    if style is not None:
        element["style"] = style
    if url is not None:
        element["url"] = url
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def lines_as_sections(lines: Sequence[str], *, max_blocks: int, overflow: str) -> list[Block]:
    """Pack lines into as few sections as fit Slack's 3000 characters each, at most `max_blocks` of them; the
    last one says `overflow` when they do not all fit."""
    blocks: list[Block] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= MAX_SECTION_TEXT:
            current = candidate
            continue
        if current:
            blocks.append(section(current))
        current = line
    if current:
        blocks.append(section(current))
    if len(blocks) > max_blocks:
        blocks = [*blocks[: max_blocks - 1], section(overflow)]
    return blocks


def key_text(ref_key: str) -> str:
    """An initiative's reference key as every card shows it, ready to type: `churn`."""
    return f"`{escape(ref_key)}`"


def link(url: str, label: str) -> str:
    """A mrkdwn link to a URL someone typed: its `&`, `<`, `>` escaped and a `|` encoded, so it stays one link."""
    safe = url.replace("|", "%7C").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{safe}|{label}>"


MAX_LINK_URL = 1500  # a longer address (a long PromQL query's graph) would crowd its message past Slack's limits


def link_if_fits(url: str, label: str) -> str:
    """`link`, or the label alone when the URL is too long to fit a message beside the text around it."""
    return link(url, label) if len(url) <= MAX_LINK_URL else label


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_not set_"


def channel(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "_not set_"


def day(value: date | None) -> str:
    return value.isoformat() if value else "_not set_"


def slack_date(moment: datetime, fallback_format: str = "%Y-%m-%d") -> str:
    """A date Slack renders in each reader's own time zone, with a UTC fallback for old clients."""
    fallback = moment.strftime(fallback_format)
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{fallback}>"


def jira_link(jira_url: str | None, key: str | None) -> str:
    if not key:
        return "_not set_"
    return f"<{jira_url}/browse/{key}|{key}>" if jira_url else key


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def split_messages(
    head: Sequence[Block],
    groups: Sequence[Sequence[Block]],
    *,
    text: str,
    continued: str,
    limit: int = MAX_MESSAGE_BLOCKS,
) -> list[Message]:
    """Pack `head` and then whole groups into messages of at most `limit` blocks; every message after the first
    opens with a `continued` context line and is meant for the first one's thread. A group never splits."""
    messages: list[list[Block]] = [list(head)]
    for group in groups:
        if len(messages[-1]) + len(group) > limit:
            messages.append([context(continued)])
        messages[-1].extend(group[: limit - 1])
    count = len(messages)
    return [Message(text if i == 0 else f"{text} ({i + 1}/{count})", blocks) for i, blocks in enumerate(messages)]
