"""Whose data a request touches, end to end over signed HTTP: forms and buttons used by another company's member of
a Slack Connect channel, and every kind of request to an org-wide (Enterprise Grid) install, act in the install's
tenant, the workspace it was installed in or, for an org-wide install, the org."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import ids
from bot.blocks.status import page_value
from bot.config import JiraAuth, JiraSettings
from bot.fake_slack import FakeChannel, FakeSlack, FakeUser
from storage.initiatives import get_initiative_by_name
from storage.models import Checkpoint, Initiative, SlackUser
from tests.conftest import RunningApp, ServeApp
from tests.e2e.test_checkpoints import JIRA_EMAIL, JIRA_TOKEN, fake_jira
from tests.e2e.test_interactive import state, user_change_event
from tests.support.blockkit import all_text, button_values
from tests.support.fake_jira import FakeJira
from tests.support.slack_driver import TEAM_ID, Origin
from tests.support.workspace import ALICE, BOB, DAVE, GENERAL

# Pytest finds a fixture by name in the module of the test that asks for it, so the shared one is imported;
# listing it here tells linters that the import is used.
__all__ = ["fake_jira"]

PARTNER_TEAM = "T0PARTNER"
PAT = "U0PAT"  # the partner company's member of the shared channel
SHARED = "C0SHARED"  # a Slack Connect channel between our workspace and the partner's
ENTERPRISE = "E0ORG"

# Pat acts from the partner's workspace; the app is installed in ours.
FROM_PARTNER = Origin(user_team_id=PARTNER_TEAM)
# Handoff installed org-wide; people act from the org's workspace T0001.
ORG_WIDE = Origin(installed_team_id=None, enterprise_id=ENTERPRISE, user_team_id=TEAM_ID)


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def shared_channel(fake_slack: FakeSlack) -> str:
    """A Slack Connect channel with Pat from the partner company in it."""
    fake_slack.add_user(FakeUser(PAT, "pat", "Pat Partner"))
    fake_slack.add_channel(FakeChannel(SHARED, "acme-partner", members={"UBOT", ALICE, BOB, PAT}))
    return SHARED


@pytest.fixture
def org_wide(serve_app: ServeApp, fake_slack: FakeSlack, fake_jira: FakeJira) -> Iterator[RunningApp]:
    """The app installed org-wide, with Jira, so that the Jira-mention listener runs for messages."""
    fake_slack.enterprise_id = ENTERPRISE
    jira = JiraSettings(url=fake_jira.url, auth=JiraAuth.CLOUD, email=JIRA_EMAIL, api_token=JIRA_TOKEN)
    with serve_app(jira=jira, jira_sleep=lambda _seconds: None) as running_app:
        yield running_app


def answer(running: RunningApp, text: str, *, origin: Origin, user: str = ALICE, channel: str = GENERAL) -> str:
    """The private answer to a command, in the ack or through its response_url."""
    before = len(running.fake.response_posts)
    result = running.slack.command(text, user=user, channel=channel, origin=origin)
    assert result.status == 200, result.body
    running.settle()
    posts = [p.body for p in running.fake.response_posts[before:]]
    return result.text if result.body else " ".join(all_text(p) for p in posts)


def opened_view(running: RunningApp, before: int) -> dict[str, Any]:
    """The modal the app opened, as Slack stored it."""
    [call] = running.fake.calls_to("views.open")[before:]
    assert call.response["ok"] is True, call.response
    return dict(call.response["view"])


def tenants_of(running: RunningApp, name: str) -> list[str]:
    with Session(running.engine) as session:
        return [i.team_id for i in session.exec(select(Initiative).where(Initiative.name == name)).all()]


def initiative_in(running: RunningApp, tenant: str, name: str) -> Initiative:
    with Session(running.engine) as session:
        initiative = get_initiative_by_name(session=session, team_id=tenant, name=name)
    assert initiative is not None, f"no {name!r} under {tenant}"
    return initiative


# --- Slack Connect ----------------------------------------------------------------------------------------


def test_a_form_submitted_from_a_slack_connect_channel_is_kept_under_the_installing_workspace(
    running: RunningApp, shared_channel: str
) -> None:
    before = len(running.fake.calls_to("views.open"))
    answer(running, "new", origin=Origin(), channel=shared_channel)
    view = opened_view(running, before)

    # The form as the partner's member sends it: team and view.team_id are theirs, app_installed_team_id ours.
    values = state(name="Partner pilot", channel=shared_channel, ds=PAT, eng=BOB)
    result = running.slack.submit_view(view, values, user=PAT, response_channel=shared_channel, origin=FROM_PARTNER)
    assert (result.status, result.body) == (200, "")
    running.settle()

    assert tenants_of(running, "Partner pilot") == [TEAM_ID]
    initiative = initiative_in(running, TEAM_ID, "Partner pilot")
    assert (initiative.created_by, initiative.ds_lead_id, initiative.home_channel_id) == (PAT, PAT, shared_channel)
    [kickoff] = running.fake.messages_in(shared_channel)
    assert kickoff.text == "New initiative: Partner pilot"
    # Our own members see it: a command typed in the shared channel comes from our workspace.
    assert "Partner pilot" in answer(running, "list", origin=Origin(), channel=shared_channel)
    assert "Partner pilot" in answer(running, "status", origin=Origin(), channel=shared_channel)


def test_a_partner_records_a_mitigation_through_a_button_and_form_in_a_slack_connect_channel(
    running: RunningApp, shared_channel: str
) -> None:
    created = answer(running, f'new "Churn model v2" channel:<#{shared_channel}|acme-partner>', origin=Origin())
    assert "Created" in created, created
    added = answer(running, 'checkpoint add churn "Model card" owner:<@U0PAT|pat> due:2027-01-06', origin=Origin())
    assert "churn#1" in added, added
    running.clock.advance(timedelta(days=3))  # the checkpoint is missed

    # Pat presses "Record a mitigation" on the nudge in the shared channel: `team` is ours, `user.team_id` theirs.
    before = len(running.fake.calls_to("views.open"))
    container = {"type": "message", "message_ts": "1.0", "channel_id": shared_channel, "is_ephemeral": False}
    pressed = running.slack.action(
        ids.ACTION_MITIGATE, value="churn#1", user=PAT, channel=shared_channel, container=container, origin=FROM_PARTNER
    )
    assert (pressed.status, pressed.body) == (200, "")
    running.settle()
    view = opened_view(running, before)

    plan = {ids.BLOCK_MITIGATION_PLAN: {"value": {"type": "plain_text_input", "value": "Ship the v1 card first"}}}
    result = running.slack.submit_view(view, plan, user=PAT, origin=FROM_PARTNER)
    assert (result.status, result.body) == (200, "")
    running.settle()

    with Session(running.engine) as session:
        [checkpoint] = session.exec(select(Checkpoint)).all()
    assert (checkpoint.mitigation, checkpoint.mitigated_by) == ("Ship the v1 card first", PAT)
    [told] = running.fake.calls_to("chat.postEphemeral")
    assert told.args["user"] == PAT
    assert "Recorded the mitigation plan for `churn#1`" in all_text(told.args)


# --- org-wide install -------------------------------------------------------------------------------------


def test_an_org_wide_install_keeps_commands_forms_and_buttons_under_the_enterprise(org_wide: RunningApp) -> None:
    created = answer(org_wide, 'new "Churn model v2" ds:<@U0BOB|bob>', origin=ORG_WIDE)
    assert "Created" in created, created

    before = len(org_wide.fake.calls_to("views.open"))
    answer(org_wide, "new", origin=ORG_WIDE)
    form = state(name="Pricing engine", channel=GENERAL, eng=BOB)
    submitted = org_wide.slack.submit_view(opened_view(org_wide, before), form, origin=ORG_WIDE)
    assert (submitted.status, submitted.body) == (200, "")
    org_wide.settle()

    assert tenants_of(org_wide, "Churn model v2") == [ENTERPRISE]
    assert tenants_of(org_wide, "Pricing engine") == [ENTERPRISE]
    listed = answer(org_wide, "list", origin=ORG_WIDE)
    assert "Churn model v2" in listed
    assert "Pricing engine" in listed

    # A button in an org-wide install carries no team at all.
    churn = initiative_in(org_wide, ENTERPRISE, "Churn model v2")
    before_posts = len(org_wide.fake.response_posts)
    pressed = org_wide.slack.action(
        ids.ACTION_STATUS_DETAIL, value=page_value("detail", initiative_id=churn.id), origin=ORG_WIDE
    )
    assert (pressed.status, pressed.body) == (200, "")
    org_wide.settle()
    [detail] = [p.body for p in org_wide.fake.response_posts[before_posts:]]
    assert "Churn model v2" in all_text(detail)
    assert "(deleted)" not in all_text(detail)


def test_org_wide_events_act_under_the_enterprise(org_wide: RunningApp) -> None:
    created = answer(org_wide, 'new "Churn model v2" ds:<@U0BOB|bob> jira:DS-12', origin=ORG_WIDE)
    assert "Created" in created, created
    churn = initiative_in(org_wide, ENTERPRISE, "Churn model v2")

    # App Home: `authorizations[0].team_id` is null and the event names no team.
    home = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
    assert org_wide.slack.event(home, origin=ORG_WIDE).status == 200
    org_wide.settle()
    assert "*Churn model v2*" in all_text(org_wide.fake.home_views[ALICE])

    # A Jira key mentioned in the initiative's thread gets its reply.
    assert churn.thread_channel_id and churn.thread_ts
    message = {
        "type": "message",
        "channel": churn.thread_channel_id,
        "channel_type": "channel",
        "user": BOB,
        "text": "Is DS-42 blocked on legal?",
        "ts": f"{float(churn.thread_ts) + 1:.6f}",
        "thread_ts": churn.thread_ts,
    }
    assert org_wide.slack.event(message, origin=ORG_WIDE).status == 200
    org_wide.settle()
    replies = [
        m
        for m in org_wide.fake.messages_in(churn.thread_channel_id, thread_ts=churn.thread_ts)
        if m.user == org_wide.fake.bot_user_id and "DS-42" in m.text
    ]
    assert len(replies) == 1
    [link] = [json.loads(v) for v in button_values({"blocks": replies[0].blocks or []}, ids.ACTION_LINK_ISSUE)]
    assert link == {"k": "DS-42", "i": [churn.id]}

    # A profile change is cached where permission checks look for it.
    changed = user_change_event(DAVE, "dave", tz="Asia/Tokyo", is_admin=True)
    assert org_wide.slack.event(changed, origin=ORG_WIDE).status == 200
    org_wide.settle()
    with Session(org_wide.engine) as session:
        cached = session.get(SlackUser, (ENTERPRISE, DAVE))
    assert cached is not None
    assert (cached.tz, cached.is_admin) == ("Asia/Tokyo", True)
