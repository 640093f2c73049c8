"""The Slack-facing steps of blockers: report and resolve (told in the initiative's thread), and the list."""

from __future__ import annotations

from slack_sdk import WebClient

from bot import blockers as service
from bot.blocks.base import Message
from bot.blocks.blockers import render_blocker_reported, render_blocker_resolved, render_blockers
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.initiatives import Actor, resolve_initiative
from bot.runtime import Runtime
from handlers.flows import announce


def report_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, text: str, raw_direction: str | None
) -> Message:
    direction = service.parse_direction(raw_direction) if raw_direction is not None else None
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        located = service.report_blocker(
            session=session, actor=actor, initiative=initiative, text=text, direction=direction, now=runtime.clock.now()
        )
    confirmation = (
        f":white_check_mark: Reported `{located.ref}`; it stays in the digest until someone resolves it "
        f"(`/handoff blocker resolve {located.ref}` or the button)."
    )
    return announce(client, located.initiative, render_blocker_reported(located), confirmation)


def resolve_and_announce(runtime: Runtime, client: WebClient, actor: Actor, reference: str) -> Message:
    with runtime.session() as session:
        located = service.resolve_blocker(session=session, actor=actor, reference=reference, now=runtime.clock.now())
    confirmation = f":white_check_mark: Resolved `{located.ref}`."
    return announce(client, located.initiative, render_blocker_resolved(located), confirmation)


def show_blockers(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        blockers = service.open_blockers_of(session=session, initiative=initiative)
    listing = render_blockers(initiative, blockers, now=runtime.clock.now())
    return shareable(listing, ShareRequest(SharedView.BLOCKERS, initiative.ref_key), shared_by=shared_by)
