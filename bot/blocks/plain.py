"""Messages as plain text for a terminal (`handoff run … --dry-run`): what a reader would see in Slack."""

from __future__ import annotations

import re
from typing import Any

from bot.blocks.base import Message

ENTITY = re.compile(r"<(?:([@#!])([^>|]+)(?:\|([^>]*))?|(https?://[^>|]+)(?:\|([^>]*))?)>")


def message_as_text(message: Message) -> str:
    if not message.blocks:
        return readable(message.text)
    return "\n".join(line for block in message.blocks for line in _block_lines(block))


def readable(mrkdwn: str) -> str:
    """Mentions as `@U123`, channels as `#C123`, links as `label (url)`, dates as their fallback, entities decoded."""

    def entity(match: re.Match[str]) -> str:
        sigil, target, label, url, url_label = match.groups()
        if url:
            return f"{url_label} ({url})" if url_label else url
        if sigil in "@#":
            return f"{sigil}{label or target}"
        return label or f"@{target}"  # <!date^…|fallback>, <!here>

    return ENTITY.sub(entity, mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"== {block['text']['text']} =="]
    if kind == "section":
        lines = [readable(block["text"]["text"])]
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            lines[-1] += f"  [{accessory['text']['text']}]"
        return lines
    if kind == "context":
        return ["   " + " ".join(readable(e.get("text", "")) for e in block["elements"])]
    if kind == "actions":
        return ["   " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"] if "text" in e)]
    if kind == "divider":
        return ["   ───"]
    return []
