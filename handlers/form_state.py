"""Reading a submitted form: each input block holds one element, read whatever its action id (a plain input uses
`ids.INPUT_ACTION`; a picker that loads its options keeps its own)."""

from __future__ import annotations

import json
from typing import Any


def element_state(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The submitted state of the one element in an input block; empty when the block is missing."""
    block = values.get(block_id) or {}
    return next(iter(block.values()), None) or {}


def selected_value(values: dict[str, Any], block_id: str) -> str | None:
    """The value of the option picked in a select (static or external), or None when nothing was picked."""
    value = (element_state(values, block_id).get("selected_option") or {}).get("value")
    return str(value) if value else None


def text_value(values: dict[str, Any], block_id: str) -> str:
    """What was typed in a text input, stripped; empty when nothing was."""
    return str(element_state(values, block_id).get("value") or "").strip()


def form_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """What a submitted form carried in `private_metadata` (`c` the channel, `i` the initiative id, `s` the source
    message's permalink, `r` who reported a blocker); empty when unreadable."""
    try:
        value = json.loads(body["view"].get("private_metadata") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
