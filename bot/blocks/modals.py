"""The "new initiative" modal."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.base import Block, plain
from storage.models import GOAL_MAX, NAME_MAX

MODAL_TITLE = "New initiative"  # Slack caps modal titles at 24 characters


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": ids.INPUT_ACTION},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def render_new_initiative_modal(*, channel_id: str | None) -> dict[str, Any]:
    """The form behind `/handoff new` with no arguments; the home channel defaults to where it was typed."""
    channel_select: dict[str, Any] = {
        "type": "conversations_select",
        "placeholder": plain("Where both teams follow it"),
        "filter": {
            "include": ["public", "private"],
            "exclude_bot_users": True,
            "exclude_external_shared_channels": True,
        },
        # Slack then hands the submission a response_url for this channel, so the result can be told privately.
        "response_url_enabled": True,
    }
    if channel_id:
        channel_select["initial_conversation"] = channel_id
    else:
        channel_select["default_to_current_conversation"] = True
    blocks = [
        _input(
            ids.BLOCK_NEW_NAME,
            "Name",
            {"type": "plain_text_input", "max_length": NAME_MAX, "placeholder": plain("Churn model v2")},
        ),
        _input(
            ids.BLOCK_NEW_CHANNEL,
            "Home channel",
            channel_select,
            hint="The kickoff message is posted here and becomes the initiative's thread.",
        ),
        _input(ids.BLOCK_NEW_DS, "DS lead", {"type": "users_select"}, optional=True),
        _input(ids.BLOCK_NEW_ENG, "Engineering lead", {"type": "users_select"}, optional=True),
        _input(
            ids.BLOCK_NEW_EMBEDDED,
            "Embedded engineer",
            {"type": "users_select"},
            optional=True,
            hint="The engineer who joins the DS team's dailies.",
        ),
        _input(
            ids.BLOCK_NEW_GOAL,
            "Goal",
            {"type": "plain_text_input", "multiline": True, "max_length": GOAL_MAX},
            optional=True,
        ),
        _input(
            ids.BLOCK_NEW_JIRA,
            "Jira epic",
            {"type": "plain_text_input", "placeholder": plain("DS-12")},
            optional=True,
        ),
        _input(ids.BLOCK_NEW_DUE, "Target date", {"type": "datepicker"}, optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": ids.VIEW_NEW_INITIATIVE,
        "title": plain(MODAL_TITLE),
        "submit": plain("Create"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }
