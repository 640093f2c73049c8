"""Pickers that search as you type: Slack asks for an `external_select`'s options as the menu opens and with each
keystroke (`block_suggestion`), and they must come back in the ack, within 3 seconds, at most 100 of them.

The form that holds the picker says in its `private_metadata` which channel it was opened in (`"c"`), whose
initiatives are offered first, and, for a checkpoint picker, whose and which checkpoints it offers. Whatever that
metadata or the typed text holds, the answer is a list, empty when nothing fits; never an error."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot import ids
from bot.blocks.pickers import CHECKPOINTS_OF, CHECKPOINTS_WHICH, checkpoint_option, initiative_option
from bot.pickers import PickableCheckpoints, checkpoints_matching, initiatives_matching
from bot.runtime import Runtime
from handlers.tenancy import tenant_of

log = logging.getLogger(__name__)

ID_MAX = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a bigger number names nothing


def register(app: App, runtime: Runtime) -> None:
    def offer_initiatives(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        metadata = metadata_of(body)
        with runtime.session() as session:
            found = initiatives_matching(
                session=session, team_id=tenant_of(context), query=typed(body), channel_id=channel_of(body, metadata)
            )
            options = [initiative_option(i.name, i.ref_key, i.id or 0) for i in found]
        ack(options=options)

    def offer_checkpoints(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        metadata = metadata_of(body)
        scope = checkpoint_scope(metadata)
        if scope is None:
            log.warning("checkpoint picker in a form with an unreadable scope")
            ack(options=[])
            return
        which, initiative_ids = scope
        with runtime.session() as session:
            found = checkpoints_matching(
                session=session,
                team_id=tenant_of(context),
                query=typed(body),
                channel_id=channel_of(body, metadata),
                which=which,
                initiative_ids=initiative_ids,
            )
            options = [checkpoint_option(c.ref, c.checkpoint.title, c.checkpoint.id or 0) for c in found]
        ack(options=options)

    app.options(ids.ACTION_PICK_INITIATIVE)(offer_initiatives)
    app.options(ids.ACTION_PICK_CHECKPOINT)(offer_checkpoints)


def picked_id(value: object) -> int | None:
    """The id a picked option carries (`initiative_option`, `checkpoint_option`); None for anything that is not one."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or int(text) > ID_MAX:
        return None
    return int(text)


def typed(body: dict[str, Any]) -> str:
    """What the person has typed in the menu so far; empty when the menu has just opened."""
    value = body.get("value")
    return value if isinstance(value, str) else ""


def metadata_of(body: dict[str, Any]) -> dict[str, Any]:
    """The `private_metadata` of the form the picker is in, as a dict; empty when there is none or it is unreadable."""
    try:
        value = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def channel_of(body: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    """The channel whose initiatives come first: the one the form was opened in, or the message's for a picker in a
    message."""
    channel = metadata.get("c") if "view" in body else (body.get("channel") or {}).get("id")
    return channel if isinstance(channel, str) and channel else None


def checkpoint_scope(metadata: dict[str, Any]) -> tuple[PickableCheckpoints, list[int] | None] | None:
    """Which checkpoints (open ones unless the form says otherwise) of whose initiatives (every active one's unless
    the form names them) a checkpoint picker offers; None when the form says something unreadable."""
    try:
        which = PickableCheckpoints(metadata.get(CHECKPOINTS_WHICH) or PickableCheckpoints.OPEN.value)
    except (ValueError, TypeError):
        return None
    named = metadata.get(CHECKPOINTS_OF)
    if named is None:
        return which, None
    if not isinstance(named, list):
        return None
    initiative_ids = [picked_id(n) for n in named]
    if any(n is None for n in initiative_ids):
        return None
    return which, [n for n in initiative_ids if n is not None]
