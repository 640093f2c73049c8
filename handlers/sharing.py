"""**Share in channel** on private answers other than status: re-read the answer and post it for everyone."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Respond

from bot.blocks.base import Message
from bot.blocks.help import render_error
from bot.blocks.share import SharedView, read_share_value
from bot.errors import HandoffError
from bot.initiatives import Actor
from bot.runtime import Runtime
from handlers.blockers import show_blockers
from handlers.checkpoints import show_checkpoints
from handlers.ideas import search_ideas, show_ideas
from handlers.kpis import show_kpis
from handlers.readiness import show_checklist
from handlers.reports import show_report

log = logging.getLogger(__name__)
OUT_OF_DATE = "That answer can't be shared any more; run the command again."

# Each view as its command shows it: (runtime, actor, subject, shared_by) -> message.
VIEWS: dict[SharedView, Callable[..., Message]] = {
    SharedView.CHECKPOINTS: show_checkpoints,
    SharedView.CHECKLIST: show_checklist,
    SharedView.KPIS: show_kpis,
    SharedView.IDEAS: show_ideas,
    SharedView.IDEA_SEARCH: search_ideas,
    SharedView.BLOCKERS: show_blockers,
    SharedView.REPORT: show_report,
}


def share_answer(runtime: Runtime, actor: Actor, raw_value: str, respond: Respond) -> None:
    """Post the answer a Share button points at in the channel, as it is now, and delete the private copy."""
    request = read_share_value(raw_value)
    if request is None:
        log.warning("share button with an unreadable value")
        respond(response_type="ephemeral", replace_original=False, text=OUT_OF_DATE)
        return
    try:
        message = VIEWS[request.view](runtime, actor, request.subject, shared_by=actor.user_id)
    except HandoffError as error:
        respond(response_type="ephemeral", replace_original=False, **render_error(error).as_kwargs())
        return
    # response_url posts in the channel even where the bot is not a member.
    respond(response_type="in_channel", replace_original=False, **message.as_kwargs())
    respond(delete_original=True)
