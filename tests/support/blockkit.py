"""Block Kit validation for every payload a test sees: slack_sdk's parser plus Slack's count limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000


def assert_valid_blocks(blocks: list[dict[str, Any]] | None, *, limit: int = MAX_MESSAGE_BLOCKS) -> None:
    if not blocks:
        return
    assert len(blocks) <= limit, f"{len(blocks)} blocks; Slack allows {limit}"
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, f"slack_sdk cannot parse block {raw!r}"
        parsed.to_dict()  # raises SlackObjectFormationError on many limit violations
        if raw.get("type") == "section" and "text" in raw:
            assert len(raw["text"]["text"]) <= MAX_SECTION_TEXT, "section text over 3000 characters"


def assert_valid_message(payload: dict[str, Any]) -> None:
    blocks = payload.get("blocks")
    if blocks:
        assert payload.get("text"), "a message with blocks needs fallback text"
    assert_valid_blocks(blocks)


def assert_valid_view(view: dict[str, Any]) -> None:
    assert_valid_blocks(view.get("blocks"), limit=MAX_VIEW_BLOCKS)
    if view.get("type") == "modal":
        assert len(view["title"]["text"]) <= 24, "modal titles are at most 24 characters"


def all_text(payload: dict[str, Any]) -> str:
    """Every string in a payload, joined: for asserting what a person would read."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return "\n".join(parts)
