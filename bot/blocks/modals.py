"""Modals: a new initiative, a new checkpoint, and linking a Jira issue to a checkpoint."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import ids
from bot.blocks.base import Block, plain, section
from bot.blocks.pickers import (
    CHECKPOINTS_OF,
    CHECKPOINTS_WHICH,
    checkpoint_picker,
    initiative_option,
    initiative_picker,
)
from bot.pickers import PickableCheckpoints
from bot.text import escape, truncate
from storage.models import CHECKPOINT_TITLE_MAX, GOAL_MAX, MITIGATION_MAX, NAME_MAX, NOTE_MAX, Initiative

MODAL_TITLE = "New initiative"  # Slack caps modal titles at 24 characters


def form_modal(
    callback_id: str, title: str, submit: str | None, metadata: str | None, blocks: list[Block]
) -> dict[str, Any]:
    """A form modal closed with Cancel; `submit` and `metadata` (its `private_metadata`, JSON) left out when None."""
    view: dict[str, Any] = {"type": "modal", "callback_id": callback_id, "title": plain(title)}
    if submit is not None:
        view["submit"] = plain(submit)
    view["close"] = plain("Cancel")
    if metadata is not None:
        view["private_metadata"] = metadata
    view["blocks"] = blocks
    return view


def input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        # A picker that loads its options keeps its own action id: Slack asks for its options by that id.
        "element": {"action_id": ids.INPUT_ACTION, **element},
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
        input_block(
            ids.BLOCK_NEW_NAME,
            "Name",
            {"type": "plain_text_input", "max_length": NAME_MAX, "placeholder": plain("Churn model v2")},
        ),
        input_block(
            ids.BLOCK_NEW_CHANNEL,
            "Home channel",
            channel_select,
            hint="The kickoff message is posted here and becomes the initiative's thread.",
        ),
        input_block(ids.BLOCK_NEW_DS, "DS lead", {"type": "users_select"}, optional=True),
        input_block(ids.BLOCK_NEW_ENG, "Engineering lead", {"type": "users_select"}, optional=True),
        input_block(
            ids.BLOCK_NEW_EMBEDDED,
            "Embedded engineer",
            {"type": "users_select"},
            optional=True,
            hint="The engineer who joins the DS team's dailies.",
        ),
        input_block(
            ids.BLOCK_NEW_GOAL,
            "Goal",
            {"type": "plain_text_input", "multiline": True, "max_length": GOAL_MAX},
            optional=True,
        ),
        input_block(
            ids.BLOCK_NEW_JIRA,
            "Jira epic",
            {"type": "plain_text_input", "placeholder": plain("DS-12")},
            optional=True,
        ),
        input_block(ids.BLOCK_NEW_DUE, "Target date", {"type": "datepicker"}, optional=True),
    ]
    return form_modal(ids.VIEW_NEW_INITIATIVE, MODAL_TITLE, "Create", None, blocks)


MAX_SELECT_OPTIONS = 100  # Slack's limit for a static_select, across all option groups
OPTION_TEXT_MAX = 75


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(truncate(text, OPTION_TEXT_MAX)), "value": value}


def _initiative_picker(selected: Initiative | None) -> dict[str, Any]:
    return initiative_picker(initiative_option(selected.name, selected.ref_key, selected.id or 0) if selected else None)


def render_add_checkpoint_modal(*, selected: Initiative | None, channel_id: str | None) -> dict[str, Any]:
    """The form behind `/handoff checkpoint add` with no title; `selected` is the initiative shown picked."""
    blocks = [
        input_block(ids.BLOCK_CHECKPOINT_INITIATIVE, "Initiative", _initiative_picker(selected)),
        input_block(
            ids.BLOCK_CHECKPOINT_TITLE,
            "Checkpoint",
            {
                "type": "plain_text_input",
                "max_length": CHECKPOINT_TITLE_MAX,
                "placeholder": plain("Model card reviewed"),
            },
        ),
        input_block(ids.BLOCK_CHECKPOINT_OWNER, "Owner", {"type": "users_select"}, optional=True),
        input_block(ids.BLOCK_CHECKPOINT_DUE, "Due date", {"type": "datepicker"}, optional=True),
        input_block(
            ids.BLOCK_CHECKPOINT_JIRA,
            "Jira issue",
            {"type": "plain_text_input", "placeholder": plain("DS-42, or new to create one")},
            optional=True,
            hint="An existing issue key links it; `new` creates the issue in the initiative's Jira project.",
        ),
    ]
    return form_modal(ids.VIEW_ADD_CHECKPOINT, "New checkpoint", "Add", json.dumps({"c": channel_id}), blocks)


def render_link_issue_modal(
    *, issue_key: str, initiative_ids: Sequence[int], any_to_pick: bool, reply_to: dict[str, str]
) -> dict[str, Any]:
    """Pick which checkpoint a mentioned Jira issue tracks, among the open, unlinked ones of these initiatives."""
    blocks: list[Block] = [section(f"Which checkpoint does *{escape(issue_key)}* track?")]
    if any_to_pick:
        blocks.append(input_block(ids.BLOCK_LINK_CHECKPOINT, "Checkpoint", checkpoint_picker()))
    else:
        blocks.append(section("These initiatives have no checkpoints yet: add one with `/handoff checkpoint add`."))
    # The picker asks for options by what the form keeps here: these initiatives' open, unlinked checkpoints.
    unlinked = PickableCheckpoints.UNLINKED.value
    metadata = {"k": issue_key, **reply_to, CHECKPOINTS_OF: list(initiative_ids), CHECKPOINTS_WHICH: unlinked}
    submit = "Link" if any_to_pick else None
    return form_modal(ids.VIEW_LINK_ISSUE, "Link Jira issue", submit, json.dumps(metadata), blocks)


def render_add_doc_modal(
    *,
    selected: Initiative | None,
    kinds: Sequence[tuple[str, str]],
    selected_kind: str | None,
    channel_id: str | None,
) -> dict[str, Any]:
    """The form behind `/handoff doc add` with missing arguments, and the checklist's "Add a doc" button.

    `kinds` are (key, label) pairs; Slack's URL input checks the link is a URL before we see it.
    """
    kind_options = [_option(f"{label} ({key})", key) for key, label in kinds[:MAX_SELECT_OPTIONS]]
    kind_select: dict[str, Any] = {"type": "static_select", "placeholder": plain("What it is"), "options": kind_options}
    chosen = next((o for o in kind_options if o["value"] == selected_kind), None)
    if chosen is not None:
        kind_select["initial_option"] = chosen
    blocks = [
        input_block(ids.BLOCK_DOC_INITIATIVE, "Initiative", _initiative_picker(selected)),
        input_block(ids.BLOCK_DOC_KIND, "Kind", kind_select),
        input_block(
            ids.BLOCK_DOC_URL,
            "Link",
            {"type": "url_text_input", "placeholder": plain("https://wiki.example.com/churn/model-card")},
            hint="An http:// or https:// link to the doc.",
        ),
        input_block(ids.BLOCK_DOC_NOTE, "Note", {"type": "plain_text_input", "max_length": NOTE_MAX}, optional=True),
    ]
    return form_modal(ids.VIEW_ADD_DOC, "Add a handoff doc", "Add", json.dumps({"c": channel_id}), blocks)


def render_mitigation_modal(reference: str, *, channel_id: str | None) -> dict[str, Any]:
    """The form behind a nudge's "Record a mitigation" button: the plan for a missed checkpoint."""
    blocks = [
        section(f"`{escape(reference)}` is overdue. What is the plan to get it back on track?"),
        input_block(
            ids.BLOCK_MITIGATION_PLAN,
            "Plan",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": MITIGATION_MAX,
                "placeholder": plain("Ship with the v1 schema; v2 in March"),
            },
        ),
    ]
    return form_modal(
        ids.VIEW_MITIGATION, "Mitigation plan", "Save", json.dumps({"c": channel_id, "r": reference}), blocks
    )
