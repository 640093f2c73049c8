"""Drives the running app over HTTP the way Slack does: signed, form-encoded or JSON bodies."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.fake_slack import FakeSlack
from tests.support.blockkit import assert_valid_message

TEAM_ID = "T0001"
ACK_DEADLINE_SECONDS = 3.0


@dataclass(frozen=True)
class Origin:
    """Where a request comes from, as the team fields of Slack's payloads tell it: the install the app runs as, and
    the workspace of the person acting (another company's in a Slack Connect channel)."""

    installed_team_id: str | None = TEAM_ID  # None for an org-wide (Enterprise Grid) install, which has no team
    enterprise_id: str | None = None
    user_team_id: str = TEAM_ID

    @property
    def org_wide(self) -> bool:
        return self.installed_team_id is None

    @property
    def enterprise(self) -> dict[str, str] | None:
        return {"id": self.enterprise_id, "name": "Handoff Org"} if self.enterprise_id else None

    def team_fields(self) -> dict[str, Any]:
        """The team fields of a shortcut or options request: unlike `block_actions`, they name a team even for an
        org-wide install (the acting person's workspace)."""
        return {
            "team": {"id": self.installed_team_id or self.user_team_id, "domain": "handoff-test"},
            "enterprise": self.enterprise,
            "is_enterprise_install": self.org_wide,
        }


OUR_WORKSPACE = Origin()


@dataclass
class HttpResult:
    status: int
    body: str
    seconds: float

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    @property
    def text(self) -> str:
        """What a person reads in an ack: the fallback text plus every block's text."""
        from tests.support.blockkit import all_text

        return all_text(self.json)


def plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


class SlackDriver:
    def __init__(self, *, url: str, signing_secret: str, fake: FakeSlack):
        self.url = url
        self.fake = fake
        self._verifier = SignatureVerifier(signing_secret)

    # --- raw HTTP -------------------------------------------------------------------------------------
    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> HttpResult:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or self._verifier.generate_signature(timestamp=ts, body=body),
            **(extra_headers or {}),
        }
        request = urllib.request.Request(self.url, data=body.encode(), headers=headers, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                result = HttpResult(response.status, response.read().decode(), time.perf_counter() - started)
        except urllib.error.HTTPError as error:
            result = HttpResult(error.code, error.read().decode(), time.perf_counter() - started)
        assert result.seconds < ACK_DEADLINE_SECONDS, f"acked after {result.seconds:.2f}s; Slack waits 3s"
        return result

    # --- what Slack sends -----------------------------------------------------------------------------
    def command(
        self,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        command: str = "/handoff",
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """A slash command. Slack sends one only from a workspace the app is installed in (another company's member
        of a Slack Connect channel is told it is not a valid command), with `team_id` the workspace it was typed
        in; with an org-wide install that is one of the org's workspaces, and `enterprise_id` names the org."""
        form = {
            "token": "legacy-verification-token",
            "team_id": origin.user_team_id,
            "team_domain": "handoff-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
            "is_enterprise_install": "true" if origin.org_wide else "false",
        }
        if origin.enterprise_id:
            form.update(enterprise_id=origin.enterprise_id, enterprise_name="Handoff Org")
        result = self.post(urllib.parse.urlencode(form))
        if result.status == 200 and result.body:
            assert_valid_message(result.json)
        return result

    def action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        container: dict[str, Any] | None = None,
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """A button pressed on a message. `team` is the install's workspace even when another company's member of a
        Slack Connect channel pressed it (their workspace is `user.team_id`); an org-wide install has no team."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b",
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        return self._message_action(action, user=user, channel=channel, container=container, origin=origin)

    def select(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        container: dict[str, Any] | None = None,
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """An option picked from a `static_select` menu on a message: Slack sends `selected_option`, not `value`."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b",
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            "action_ts": f"{time.time():.6f}",
        }
        return self._message_action(action, user=user, channel=channel, container=container, origin=origin)

    def _message_action(
        self,
        action: dict[str, Any],
        *,
        user: str,
        channel: str,
        container: dict[str, Any] | None,
        origin: Origin,
    ) -> HttpResult:
        """The `block_actions` payload of one element used on a message (by default an ephemeral one)."""
        payload = {
            "type": "block_actions",
            "team": None if origin.org_wide else {"id": origin.installed_team_id, "domain": "handoff-test"},
            "enterprise": origin.enterprise,
            "is_enterprise_install": origin.org_wide,
            "user": {"id": user, "username": user.lower(), "team_id": origin.user_team_id},
            "api_app_id": "A0001",
            "trigger_id": self.fake.new_trigger_id(),
            "channel": {"id": channel, "name": "general"},
            "container": container
            or {"type": "message", "message_ts": "1.0", "channel_id": channel, "is_ephemeral": True},
            "response_url": self.fake.new_response_url(),
            "actions": [action],
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def home_action(self, action_id: str, value: str, *, user: str = "U0ALICE", select: bool = False) -> HttpResult:
        """A button pressed (or, with `select`, a menu option picked) on the person's App Home as last published:
        its container is the view, and Slack gives it no response_url and no channel."""
        home = self.fake.home_views[user]
        action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "action_ts": f"{time.time():.6f}"}
        if select:
            action |= {"type": "static_select", "selected_option": {"text": plain_text(value), "value": value}}
        else:
            action |= {"type": "button", "value": value}
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "handoff-test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0001",
            "trigger_id": self.fake.new_trigger_id(),
            "container": {"type": "view", "view_id": home["id"]},
            "view": home,
            "actions": [action],
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """A shortcut picked from a message's "More actions" menu (`message_action`): the whole message comes with it,
        `thread_ts` when it is in a thread, `bot_id` and `subtype: bot_message` (and maybe no `user`) from a bot."""
        payload = {
            "type": "message_action",
            "token": "legacy-verification-token",
            "action_ts": f"{time.time():.6f}",
            **origin.team_fields(),
            "user": {"id": user, "name": user.lower(), "username": user.lower(), "team_id": origin.user_team_id},
            "channel": {"id": channel, "name": "general"},
            "callback_id": callback_id,
            "trigger_id": self.fake.new_trigger_id(),
            "response_url": self.fake.new_response_url(),
            "message_ts": message.get("ts", "1.0"),
            "message": {"type": "message", **message},
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def global_shortcut(self, callback_id: str, *, user: str = "U0ALICE", origin: Origin = OUR_WORKSPACE) -> HttpResult:
        """A shortcut from the lightning-bolt menu or search (`shortcut`): no channel, no message, no response_url."""
        payload = {
            "type": "shortcut",
            "token": "legacy-verification-token",
            "action_ts": f"{time.time():.6f}",
            **origin.team_fields(),
            "user": {"id": user, "username": user.lower(), "team_id": origin.user_team_id},
            "callback_id": callback_id,
            "trigger_id": self.fake.new_trigger_id(),
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def suggest_options(
        self,
        view: dict[str, Any],
        *,
        block_id: str,
        action_id: str,
        value: str,
        user: str = "U0ALICE",
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """What Slack asks an `external_select` in an open modal for, as the person types (`block_suggestion`); the
        answer is `{"options": [...]}` or `{"option_groups": [...]}`, at most 100 in all."""
        payload = {
            "type": "block_suggestion",
            "user": {"id": user, "username": user.lower(), "team_id": origin.user_team_id},
            "container": {"type": "view", "view_id": view.get("id", "V0")},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            **origin.team_fields(),
            "view": {**view, "team_id": origin.user_team_id, "state": {"values": {}}},
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def submit_view(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        *,
        user: str = "U0ALICE",
        response_channel: str | None = None,
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """A form submitted. `team` and `view.team_id` are the submitter's workspace, another company's when the
        form was opened in a Slack Connect channel; `view.app_installed_team_id` is the install's workspace."""
        submitted = {
            **view,
            "id": "V" + uuid.uuid4().hex[:8].upper(),
            "team_id": origin.user_team_id,
            "state": {"values": values},
        }
        if origin.installed_team_id:
            submitted["app_installed_team_id"] = origin.installed_team_id
        team: dict[str, Any] = {"id": origin.user_team_id, "domain": "handoff-test"}
        if origin.enterprise_id:
            team.update(enterprise_id=origin.enterprise_id, enterprise_name="Handoff Org")
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": team,
            "enterprise": origin.enterprise,
            "is_enterprise_install": origin.org_wide,
            "user": {"id": user, "username": user.lower(), "team_id": origin.user_team_id},
            "api_app_id": "A0001",
            "trigger_id": self.fake.new_trigger_id(),
            "view": submitted,
            "response_urls": [],
        }
        if response_channel:
            payload["response_urls"] = [
                {
                    "block_id": "channel",
                    "action_id": "value",
                    "channel_id": response_channel,
                    "response_url": self.fake.new_response_url(),
                }
            ]
        return self.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        origin: Origin = OUR_WORKSPACE,
    ) -> HttpResult:
        """An Events API delivery. `authorizations[0]` is the install it is delivered to: its `team_id` is null for
        an org-wide install, whose `enterprise_id` names the org; the outer `team_id` is where it happened."""
        body = {
            "token": "legacy-verification-token",
            "team_id": origin.installed_team_id or origin.user_team_id,
            "enterprise_id": origin.enterprise_id,
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": origin.enterprise_id,
                    "team_id": origin.installed_team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": origin.org_wide,
                }
            ],
            "is_ext_shared_channel": origin.user_team_id != (origin.installed_team_id or origin.user_team_id),
        }
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.post(json.dumps(body), content_type="application/json", extra_headers=headers)
