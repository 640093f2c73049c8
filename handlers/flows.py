"""The Slack-facing steps shared by commands and modals: call a service, then tell the channel's thread.

Each flow runs after the ack, opens its own short sessions, and returns the private confirmation to show.
Domain errors propagate for the caller to render.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import initiatives as service
from bot.blocks.base import Block, Message, actions
from bot.blocks.help import render_notice
from bot.blocks.undo import UndoKind, UndoRequest, undo_button
from bot.blocks.updates import (
    render_archive_update,
    render_edit_update,
    render_kickoff,
    render_phase_update,
    render_unarchive_update,
)
from bot.dates import describe_date
from bot.errors import HandoffError, SlackChannelUnavailable
from bot.initiatives import Actor, EditRequest, Field, InitiativeDraft, resolve_initiative
from bot.people import PeopleService
from bot.readiness import move_phase
from bot.runtime import Runtime
from bot.standups import engineer_changed
from bot.text import escape
from handlers.slack_io import SlackUserDirectory, permalink, post_in_thread, post_message
from storage.models import Initiative, Phase

log = logging.getLogger(__name__)


@contextmanager
def unit_of_work(runtime: Runtime, client: WebClient, team_id: str) -> Iterator[tuple[Session, PeopleService]]:
    """A session and the people service on it; profiles fetched from Slack survive a rolled-back change."""
    directory = SlackUserDirectory(client)
    people: PeopleService | None = None
    try:
        with runtime.session() as session:
            people = PeopleService(session=session, directory=directory, team_id=team_id, now=runtime.clock.now())
            yield session, people
    except Exception:
        if people is not None and people.fetched:
            with runtime.session() as session:
                keeper = PeopleService(session=session, directory=directory, team_id=team_id, now=runtime.clock.now())
                for profile in people.fetched:
                    keeper.remember(profile)
        raise


def create_and_announce(runtime: Runtime, client: WebClient, actor: Actor, draft: InitiativeDraft) -> Message:
    """Create the initiative, post its kickoff in the home channel and remember that thread.

    If the kickoff cannot be posted the initiative is removed again, so a failed `new` leaves nothing behind.
    """
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.create_initiative(
            session=session,
            actor=actor,
            draft=draft,
            people=people,
            now=runtime.clock.now(),
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
    try:
        posted = post_message(
            client,
            channel_id=initiative.home_channel_id,
            message=render_kickoff(initiative, jira_url=runtime.jira_url),
        )
    except (SlackChannelUnavailable, SlackApiError):
        with runtime.session() as session:
            service.discard_unannounced(session=session, initiative_id=initiative.id or 0)
        raise
    link = permalink(client, channel_id=posted.channel_id, ts=posted.ts)
    with runtime.session() as session:
        service.record_thread(
            session=session,
            initiative_id=initiative.id or 0,
            channel_id=posted.channel_id,
            ts=posted.ts,
            permalink=link,
        )
    where = f"<{link}|kickoff message>" if link else "kickoff message"
    target = f" Target date: {describe_date(initiative.target_date)}." if initiative.target_date else ""
    return render_notice(
        f":white_check_mark: Created *{escape(initiative.name)}* in <#{initiative.home_channel_id}>. "
        f"Its {where} is the thread for every update.{target}"
    )


def change_phase_and_announce(
    runtime: Runtime,
    client: WebClient,
    actor: Actor,
    reference: str,
    phase: Phase,
    note: str | None,
    force_reason: str | None = None,
) -> Message:
    """Move through the phase gates: refused with what is missing, unless a lead forces it with a reason."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        gated = move_phase(
            session=session,
            actor=actor,
            initiative=initiative,
            phase=phase,
            note=note,
            force_reason=force_reason,
            checklist=runtime.settings.checklist.for_team(actor.team_id),
            people=people,
            now=runtime.clock.now(),
        )
    result = gated.result
    confirmation = f":white_check_mark: *{escape(result.initiative.name)}* is now in *{phase.value}*."
    if gated.forced_past:
        names = ", ".join(escape(s.item.label) for s in gated.forced_past)
        confirmation += f" Forced past: {names}; `status` shows them until they are done."
    return announce(client, result.initiative, render_phase_update(result.initiative, result.change), confirmation)


def edit_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, reference: str, request: EditRequest
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        result = service.edit_initiative(
            session=session,
            actor=actor,
            initiative=initiative,
            request=request,
            people=people,
            now=runtime.clock.now(),
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
        new_engineer = any(c.field is Field.EMBEDDED for c in result.changes)
        if new_engineer:
            engineer_changed(session=session, initiative_id=result.initiative.id or 0, now=runtime.clock.now())
    if new_engineer:
        runtime.schedule_changed()
    update = render_edit_update(result.initiative, result.changes, actor.user_id, jira_url=runtime.jira_url)
    labels = ", ".join(service.FIELD_LABELS[c.field].lower() for c in result.changes)
    confirmation = f":white_check_mark: Updated {labels} of *{escape(result.initiative.name)}*."
    target = result.initiative.target_date
    if target is not None and any(c.field is Field.DUE for c in result.changes):
        confirmation += f" Target date: {describe_date(target)}."
    return announce(client, result.initiative, update, confirmation)


def archive_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_initiative(session=session, team_id=actor.team_id, reference=reference)
        archived = service.archive_initiative(
            session=session, actor=actor, initiative=initiative, people=people, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Archived *{escape(archived.name)}*. It is hidden from status and lists; its history is "
        f"kept. *Undo* or `/handoff unarchive {archived.ref_key}` brings it back."
    )
    undo = undo_button(UndoRequest(UndoKind.UNARCHIVE, archived.ref_key))
    return announce(client, archived, render_archive_update(archived, actor.user_id), confirmation, undo=undo)


def unarchive_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    """Bring an archived initiative back, found by key or name among the archived ones, and tell its thread."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = service.resolve_archived_initiative(session=session, team_id=actor.team_id, reference=reference)
        unarchived = service.unarchive_initiative(
            session=session, actor=actor, initiative=initiative, people=people, now=runtime.clock.now()
        )
    runtime.schedule_changed()  # its channel's digest, nudges and standups include it again
    confirmation = f":white_check_mark: Unarchived *{escape(unarchived.name)}*; it is back in status and lists."
    return announce(client, unarchived, render_unarchive_update(unarchived, actor.user_id), confirmation)


def announce(
    client: WebClient, initiative: Initiative, update: Message, confirmation: str, *, undo: Block | None = None
) -> Message:
    """Post the update in the thread; the change is saved either way, so a failed post is reported, not raised.
    `undo` is a button that takes the change back, shown with the answer."""
    try:
        post_in_thread(client, initiative=initiative, message=update)
    except HandoffError as error:
        answer = f"{confirmation}\n:warning: Saved, but I couldn't post it in the thread: {error.message}"
    except SlackApiError as error:
        log.warning("thread update not posted", extra={"slack_error": error.response.get("error")})
        answer = f"{confirmation}\n:warning: Saved, but Slack refused the thread update; try again later."
    else:
        answer = confirmation
    notice = render_notice(answer)
    if undo is None:
        return notice
    return Message(notice.text, [*notice.blocks, actions(undo, block_id="undo_buttons")])
