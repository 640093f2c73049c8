"""Messages as plain text for a terminal (`handoff run … --dry-run`): what a reader would see in Slack."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.blocks.base import Message

ENTITY = re.compile(r"<(?:([@#!])([^>|]+)(?:\|([^>]*))?|(https?://[^>|]+)(?:\|([^>]*))?)>")


def message_as_text(message: Message, names: Mapping[str, str] | None = None) -> str:
    """The message as a reader would see it in Slack; `names` maps user ids to the names shown for mentions."""
    names = names or {}
    if not message.blocks:
        return readable(message.text, names)
    return "\n".join(line for block in message.blocks for line in _block_lines(block, names))


def mentioned_users(messages: Iterable[Message]) -> set[str]:
    """Every user id the messages mention, so their names can be looked up once."""
    found: set[str] = set()
    for message in messages:
        for text in (message.text, repr(message.blocks)):
            found.update(m.group(2) for m in ENTITY.finditer(text) if m.group(1) == "@")
    return found


def readable(mrkdwn: str, names: Mapping[str, str] | None = None) -> str:
    """Mentions as `@name` (or `@U123` when the name is unknown), channels as `#C123`, links as `label (url)`,
    dates as their fallback, entities decoded."""
    names = names or {}

    def entity(match: re.Match[str]) -> str:
        sigil, target, label, url, url_label = match.groups()
        if url:
            return f"{url_label} ({url})" if url_label else url
        if sigil == "@":
            return f"@{label or names.get(target) or target}"
        if sigil == "#":
            return f"#{label or target}"
        return label or f"@{target}"  # <!date^…|fallback>, <!here>

    return ENTITY.sub(entity, mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_lines(block: dict[str, Any], names: Mapping[str, str]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"== {block['text']['text']} =="]
    if kind == "section":
        lines = [readable(block["text"]["text"], names)]
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            lines[-1] += f"  [{accessory['text']['text']}]"
        return lines
    if kind == "context":
        return ["   " + " ".join(readable(e.get("text", ""), names) for e in block["elements"])]
    if kind == "actions":
        return ["   " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"] if "text" in e)]
    if kind == "divider":
        return ["   ───"]
    return []
