"""Block Kit validation for every payload a test sees: slack_sdk's parser plus Slack's count limits."""

from __future__ import annotations

from collections.abc import Iterator
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


def nodes(payload: Any) -> Iterator[Any]:
    """Every dict, list and value in a payload, depth first."""
    yield payload
    children = payload.values() if isinstance(payload, dict) else payload if isinstance(payload, list) else ()
    for child in children:
        yield from nodes(child)


def all_text(payload: dict[str, Any]) -> str:
    """Every string in a payload, joined: for asserting what a person would read."""
    return "\n".join(node for node in nodes(payload) if isinstance(node, str))


def button_values(payload: dict[str, Any], action_id: str) -> list[str]:
    """The values of every button with this action_id, wherever it sits in the payload."""
    return [
        node["value"]
        for node in nodes(payload)
        if isinstance(node, dict) and node.get("type") == "button" and node.get("action_id") == action_id
    ]
