"""A status button's value is the compact JSON of what the click re-reads, written out directly."""

from __future__ import annotations

import json

import pytest

from bot.blocks.status import page_value


@pytest.mark.parametrize(
    ("kind", "page", "channel_id", "initiative_id"),
    [
        ("detail", 1, None, 7),
        ("channel", 3, "C0GENERAL", None),
        ("all", 12, None, None),
        ("channel", 1, 'C"odd\\é', 0),
        ("all", 2, "", None),
    ],
)
def test_a_page_value_is_the_compact_json_of_its_fields(
    kind: str, page: int, channel_id: str | None, initiative_id: int | None
) -> None:
    expected: dict[str, object] = {"k": kind, "p": page}
    if channel_id:
        expected["c"] = channel_id
    if initiative_id is not None:
        expected["i"] = initiative_id
    value = page_value(kind, page=page, channel_id=channel_id, initiative_id=initiative_id)
    assert value == json.dumps(expected, separators=(",", ":"))
    assert json.loads(value) == expected
