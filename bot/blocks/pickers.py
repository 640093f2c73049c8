"""Pickers that search as you type: `external_select` menus whose options Handoff answers, so a workspace with more
than Slack's 100 static options can still pick any initiative or checkpoint."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.blocks.base import plain
from bot.text import truncate

OPTION_TEXT_MAX = 75  # Slack's limit for an option's text
SEARCH_PLACEHOLDER = "Type a name or key"


def picked_option(text: str, value: str) -> dict[str, Any]:
    """One option of a picker, as Slack shows it and sends it back."""
    return {"text": plain(truncate(text, OPTION_TEXT_MAX)), "value": value}


def initiative_option(name: str, ref_key: str, initiative_id: int) -> dict[str, Any]:
    """An initiative as a picker shows it: its name and reference key; its id is what the form sends back."""
    return picked_option(f"{name} ({ref_key})", str(initiative_id))


def searching_picker(action_id: str, placeholder: str, selected: dict[str, Any] | None) -> dict[str, Any]:
    """An `external_select` that asks for its options as soon as it opens (`min_query_length` 0), `selected` shown
    picked."""
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "min_query_length": 0,
    }
    if selected is not None:
        element["initial_option"] = selected
    return element


def initiative_picker(selected: dict[str, Any] | None = None) -> dict[str, Any]:
    """An initiative picker for a form's input block; `selected` (an `initiative_option`) is shown picked.

    `min_query_length` 0: Slack asks for options as soon as the menu opens, so this channel's initiatives show
    before anything is typed. The form's `private_metadata` carries the channel (`{"c": …}`) for that ordering."""
    return searching_picker(ids.ACTION_PICK_INITIATIVE, SEARCH_PLACEHOLDER, selected)


CHECKPOINT_PLACEHOLDER = "Type a reference or title"
# What a form with a checkpoint picker keeps in its `private_metadata`, besides its channel (`"c"`): whose checkpoints
# the picker offers (a list of initiative ids; every active initiative's without it), and which of them.
CHECKPOINTS_OF = "ci"
CHECKPOINTS_WHICH = "cw"


def checkpoint_option(reference: str, title: str, checkpoint_id: int) -> dict[str, Any]:
    """A checkpoint as a picker shows it: its reference and title; its id is what the form sends back."""
    return picked_option(f"{reference} {title}", str(checkpoint_id))


def checkpoint_picker(selected: dict[str, Any] | None = None) -> dict[str, Any]:
    """A checkpoint picker for a form's input block; `selected` (a `checkpoint_option`) is shown picked. The form's
    `private_metadata` says whose and which checkpoints it offers (`CHECKPOINTS_OF`, `CHECKPOINTS_WHICH`)."""
    return searching_picker(ids.ACTION_PICK_CHECKPOINT, CHECKPOINT_PLACEHOLDER, selected)
