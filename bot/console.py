"""`handoff console`: try Handoff from a terminal, without a Slack workspace.

The real Bolt app and handlers run against the configured database and a local fake Slack Web API (the one the
tests use). Each `/handoff …` line is turned into the signed request Slack would send, with `@name` and
`#channel` resolved the way Slack's `should_escape` does; everything the bot then posts, answers privately or
opens as a modal is printed as readable text.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot import ids
from bot.app import KPI_SOURCE_SETTINGS, SCHEDULED_JOBS, HandoffApp, create_app
from bot.blocks.problems import describe
from bot.channel_settings import scheduled_channels
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.dates import DateError, parse_date
from bot.errors import HandoffError
from bot.fake_slack import FakeChannel, FakeSlack, FakeUser
from bot.slot_ledger import Job
from bot.standups import standup_plans
from bot.text import escape
from bot.weekly_report import weekly_report_plans
from storage.db import make_engine, upgrade_schema

if TYPE_CHECKING:
    from handlers.outbox import RunReport

TEAM_ID = "T0CONSOLE"
DEMO_USERS = (
    FakeUser("U0ALICE", "alice", "Alice (DS lead)", tz="Europe/Berlin"),
    FakeUser("U0BOB", "bob", "Bob (engineering lead)", tz="America/New_York"),
    FakeUser("U0CAROL", "carol", "Carol (embedded engineer)", tz="Europe/London"),
    FakeUser("U0DANA", "dana", "Dana (workspace admin)", is_admin=True),
    FakeUser("U0EVE", "eve", "Eve (analyst)"),
)
DEMO_CHANNELS = (
    FakeChannel("C0GENERAL", "general"),
    FakeChannel("C0CHURN", "churn"),
    FakeChannel("C0FRAUD", "fraud-detection"),
    FakeChannel("G0PRIVATE", "private-research", is_private=True),
)
CONSOLE_HELP = """\
Type /handoff commands as you would in Slack, e.g. /handoff new "Churn model v2" ds:@alice eng:@bob
  :as NAME          type as another person (:users lists them)
  :in CHANNEL       type in another channel (:channels lists them)
  :click N          press button [N] from the output above, or pick option [N] of a menu
  :submit k=v …     submit the open modal; k is a field's id or its label as listed with the modal
                    ("Due date"=2027-03-01); fields you leave out keep what the form shows; a picker
                    that searches as you type takes what you would type (initiative=churn)
  :shortcut N NAME  use a message shortcut on message N (numbered as shown): blocker, checkpoint, idea, doc
  :shortcut new     the global shortcut: New initiative
  :say TEXT         post a message as yourself in this channel, numbered for :shortcut
  :reply N TEXT     post a message as yourself in message N's thread
  :history          this channel's messages again, numbered, with their buttons and menus
  :run JOB [CHANNEL]  run a scheduled job now, as the scheduler would at the console's time:
                    digest, nudges, report (CHANNEL: only that one), standups (CHANNEL: its initiatives),
                    jira-sync, kpi-poll (reads every sourced KPI now)
  :time [WHEN]      show or move the console's clock: 2027-01-04 09:30, 09:30, +1h, +30m, +1d, now
  :home             open your App Home tab
  :users            the demo people
  :channels         the demo channels
  :help             this list
  :quit             leave"""
_SHIFT = re.compile(r"([+-])(\d+)([mhd])")
_SHIFT_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_ENTITY = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>|<(https?://[^>|]+)(?:\|([^>]*))?>")


@dataclass
class Button:
    """A button, or one option of a menu (`static_select`, `overflow`), that `:click N` presses or picks."""

    action_id: str
    value: str | None
    response_url: str | None  # the message's response_url, as Slack would send with a click
    channel_id: str
    message_ts: str | None = None  # the message the button is on, when it was posted with chat.postMessage
    element_type: str = "button"
    block_id: str | None = None
    selected_option: dict[str, Any] | None = None  # for a menu: the option picked, which Slack sends back whole
    home_view_id: str | None = None  # on App Home: Slack sends the view as the container, and no response_url

    def as_action(self) -> dict[str, Any]:
        """The `actions[0]` of the `block_actions` Slack sends: a button's `value`, a menu's `selected_option`."""
        action: dict[str, Any] = {"action_id": self.action_id, "type": self.element_type}
        if self.block_id:
            action["block_id"] = self.block_id
        if self.selected_option is not None:
            action["selected_option"] = self.selected_option
        else:
            action["value"] = self.value
        return action


class FormError(Exception):
    """What is wrong with a `:submit` line, said to the person typing it."""


@dataclass
class ConsoleSession:
    """One person typing in one channel, talking to the app as Slack would."""

    app: HandoffApp
    fake: FakeSlack
    signing_secret: str
    user_id: str
    channel_id: str
    out: IO[str]
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    buttons: list[Button] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts): `:shortcut N` counts from 1
    _home_view_id: str | None = None  # while showing an App Home just published: its buttons are pressed there
    open_modal: dict[str, Any] | None = None
    modal_channel: str | None = None  # where the open modal was opened: Slack's "current conversation"
    # Where a chart the bot shares is written, so it can be opened: a console has no Slack to show images.
    charts_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "handoff-console-charts")

    # --- sending what Slack sends ------------------------------------------------------------------------
    def command(self, line: str) -> None:
        command, _, text = line.strip().partition(" ")
        if command != "/handoff":
            # Slack itself refuses a command no app in the workspace registered; Handoff never hears of it.
            self._say(f"{command} is not a valid command. Handoff's one command is /handoff; try /handoff help.")
            return
        form = {
            "team_id": TEAM_ID,
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "command": command,
            "text": self.slack_escape(text.strip()),
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
        }
        self.modal_channel = self.channel_id
        self._dispatch(urllib.parse.urlencode(form), ack_response_url=form["response_url"])

    def click(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self._say(f"There is no button [{number}].")
            return
        pressed = self.buttons[number - 1]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "trigger_id": self.fake.new_trigger_id(),
            "channel": {"id": pressed.channel_id},
            "response_url": pressed.response_url or self.fake.new_response_url(),
            "actions": [{**pressed.as_action(), "action_ts": f"{time.time():.6f}"}],
        }
        if pressed.home_view_id:
            del payload["channel"], payload["response_url"]
            home = self.fake.home_views.get(self.user_id) or {"id": pressed.home_view_id, "type": "home"}
            payload |= {"container": {"type": "view", "view_id": pressed.home_view_id}, "view": home}
        elif pressed.message_ts:
            payload["container"] = {
                "type": "message",
                "message_ts": pressed.message_ts,
                "channel_id": pressed.channel_id,
            }
        self.modal_channel = pressed.channel_id
        self._dispatch(urllib.parse.urlencode({"payload": json.dumps(payload)}), ack_response_url=None)

    def shortcut(self, arg: str) -> None:
        """`:shortcut N NAME` on message N, as Slack sends a message shortcut; `:shortcut NAME` for a global one."""
        words = arg.split()
        number = int(words.pop(0)) if words and words[0].isdigit() else None
        callbacks = ids.GLOBAL_SHORTCUTS if number is None else ids.MESSAGE_SHORTCUTS
        typed = " ".join(words)
        matches = [c for c in callbacks if typed and _names_shortcut(typed, c)]
        if len(matches) != 1:
            kind = "Global shortcuts" if number is None else "Message shortcuts"
            problem = f"{typed!r} names several shortcuts" if matches else f"No shortcut called {typed!r}"
            listed = ", ".join(ids.SHORTCUT_NAMES[c] for c in callbacks)
            self._say(f"{problem if typed else 'Say which shortcut'}. {kind}: {listed}. {SHORTCUT_USAGE}")
            return
        payload: dict[str, Any] = {
            "token": "console",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM_ID, "domain": "handoff-console"},
            "enterprise": None,
            "is_enterprise_install": False,
            "user": self._payload_user(),
            "callback_id": matches[0],
            "trigger_id": self.fake.new_trigger_id(),
        }
        if number is None:
            payload["type"] = "shortcut"  # the lightning-bolt menu: no channel, no message, no response_url
            self.modal_channel = self.channel_id
        else:
            if not 1 <= number <= len(self.messages):
                self._say(f"There is no message {number}; messages are numbered as they are shown (:history).")
                return
            channel_id, ts = self.messages[number - 1]
            message = self.fake.message_payload(channel_id, ts)
            if message is None:
                self._say(f"Message {number} was deleted.")
                return
            payload.update(
                type="message_action",
                channel={"id": channel_id, "name": self.channel_name(channel_id)},
                response_url=self.fake.new_response_url(),
                message_ts=ts,
                message=message,
            )
            self.modal_channel = channel_id
        self._dispatch(urllib.parse.urlencode({"payload": json.dumps(payload)}), ack_response_url=None)

    def say(self, text: str, *, thread_of: int | None = None) -> None:
        """Post a message as the person typing, in this channel or a thread, and tell the app as Slack would."""
        if not text:
            self._say("Usage: :say TEXT  ·  :reply N TEXT")
            return
        channel_id, thread_ts = self.channel_id, None
        if thread_of is not None:
            if not 1 <= thread_of <= len(self.messages):
                self._say(f"There is no message {thread_of}.")
                return
            channel_id, root_ts = self.messages[thread_of - 1]
            root = self.fake.message_payload(channel_id, root_ts) or {}
            thread_ts = root.get("thread_ts") or root_ts  # a reply to a reply joins the same thread
        posted = self.fake.add_message(channel_id, self.slack_escape(text), user=self.user_id, thread_ts=thread_ts)
        where = self.where(channel_id) + (" (thread)" if thread_ts else "")
        self._say(f"── you posted in {where} ── message {self._number_of(posted.channel, posted.ts)} ──")
        event: dict[str, Any] = {
            "type": "message",
            "channel": posted.channel,
            "user": self.user_id,
            "text": posted.text,
            "ts": posted.ts,
            "channel_type": "group" if posted.channel.startswith("G") else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        body = {"type": "event_callback", "team_id": TEAM_ID, "event_id": f"Ev{secrets.token_hex(5)}", "event": event}
        self._dispatch(json.dumps(body), ack_response_url=None, content_type="application/json")

    def reply(self, arg: str) -> None:
        number, _, text = arg.partition(" ")
        if not number.isdigit():
            self._say("Usage: :reply N TEXT")
            return
        self.say(text.strip(), thread_of=int(number))

    def history(self, _arg: str = "") -> None:
        """This channel's messages, oldest first, with their numbers and their buttons and menus numbered anew."""
        shown = self.fake.messages_in(self.channel_id)
        self.buttons = []
        if not shown:
            self._say(f"No messages in #{self.channel_name(self.channel_id)} yet.")
        for message in shown:
            who = "bot" if message.user == self.fake.bot_user_id else f"@{self.user_name(message.user)}"
            where = " (thread)" if message.thread_ts not in (None, message.ts) else ""
            heading = f"{who}{where} ── message {self._number_of(message.channel, message.ts)}"
            payload = {"text": message.text, "blocks": message.blocks or []}
            self._show(heading, payload, None, message=(message.channel, message.ts))

    def _payload_user(self) -> dict[str, str]:
        name = self.user_name(self.user_id)
        return {"id": self.user_id, "name": name, "username": name, "team_id": TEAM_ID}

    def _number_of(self, channel_id: str, ts: str) -> int:
        """A message's number for `:shortcut N`, given the first time it is shown and kept after."""
        if (channel_id, ts) not in self.messages:
            self.messages.append((channel_id, ts))
        return self.messages.index((channel_id, ts)) + 1

    def submit(self, assignments: str) -> None:
        modal = self.open_modal
        if modal is None:
            self._say("No modal is open. `/handoff new` opens one.")
            return
        try:
            given = self._assignments(assignments, modal)
            values, response_urls = self._form_state(modal, given)
        except FormError as error:
            self._say(str(error))
            return
        view = {**modal, "id": "V0CONSOLE", "team_id": TEAM_ID, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "trigger_id": self.fake.new_trigger_id(),
            "view": view,
            "response_urls": response_urls,
        }
        self.open_modal = None  # Slack closes the modal unless the app answers with errors or another view
        answer = self._dispatch(urllib.parse.urlencode({"payload": json.dumps(payload)}), ack_response_url=None)
        if answer.get("response_action") == "errors" and self.open_modal is None:
            self.open_modal = modal

    def _assignments(self, assignments: str, modal: dict[str, Any]) -> dict[str, str]:
        """`field=value` pairs keyed by block id; a field may be named by its id or its label, in any case."""
        try:
            pairs = shlex.split(assignments)
        except ValueError as error:
            raise FormError(f"Could not read that: {error}.") from error
        inputs = _inputs_of(modal)
        given: dict[str, str] = {}
        for pair in pairs:
            key, equals, raw = pair.partition("=")
            block = next((b for b in inputs if key == b["block_id"] or key.lower() == b["label"]["text"].lower()), None)
            if not equals or block is None:
                fields = ", ".join(b["block_id"] for b in inputs)
                raise FormError(f"Unknown field {key!r}; this form's fields: {fields} (or their labels).")
            given[block["block_id"]] = raw
        return given

    def _form_state(self, modal: dict[str, Any], given: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """`view.state.values` as Slack sends them: every input, with what was typed or else its initial value."""
        values: dict[str, Any] = {}
        response_urls: list[dict[str, str]] = []
        for block in _inputs_of(modal):
            element = block["element"]
            kind, block_id, action_id = element["type"], block["block_id"], element["action_id"]
            raw = given.get(block_id)
            state: dict[str, Any] = {"type": kind}
            if kind in ("plain_text_input", "url_text_input", "email_text_input", "number_input"):
                state["value"] = (raw or None) if raw is not None else element.get("initial_value")
            elif kind == "users_select":
                state["selected_user"] = self._user_id_for(raw, block) if raw else element.get("initial_user")
            elif kind in ("conversations_select", "channels_select"):
                chosen = self._channel_id_for(raw, block) if raw else element.get("initial_conversation")
                if chosen is None and element.get("default_to_current_conversation"):
                    chosen = self.modal_channel or self.channel_id
                state["selected_conversation" if kind == "conversations_select" else "selected_channel"] = chosen
                if chosen and element.get("response_url_enabled"):
                    response_urls.append(
                        {
                            "block_id": block_id,
                            "action_id": action_id,
                            "channel_id": chosen,
                            "response_url": self.fake.new_response_url(),
                        }
                    )
            elif kind == "datepicker":
                today = self.clock.now().astimezone(self.app.runtime.settings.tz).date()
                state["selected_date"] = _date_for(raw, block, today) if raw else element.get("initial_date")
            elif kind == "static_select":
                state["selected_option"] = _option_for(raw, block) if raw else element.get("initial_option")
            elif kind == "external_select":
                state["selected_option"] = (
                    self._suggested_option(raw, block, modal) if raw else element.get("initial_option")
                )
            else:
                raise FormError(f"The console cannot fill in a {kind} ({block_id}).")
            values[block_id] = {action_id: state}
        return values, response_urls

    def _user_id_for(self, raw: str, block: dict[str, Any]) -> str:
        user = self._user_by_name(raw.lstrip("@"))
        if user is None:
            names = ", ".join(u.name for u in DEMO_USERS)
            raise FormError(f"{block['label']['text']}: no demo user {raw!r}; pick one of {names}.")
        return user.id

    def _channel_id_for(self, raw: str, block: dict[str, Any]) -> str:
        channel = self._channel_by_name(raw)
        if channel is None:
            names = ", ".join(c.name for c in DEMO_CHANNELS)
            raise FormError(f"{block['label']['text']}: no demo channel {raw!r}; pick one of {names}.")
        return channel.id

    def open_home(self) -> None:
        body = {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": f"Ev{secrets.token_hex(5)}",
            "event": {"type": "app_home_opened", "user": self.user_id, "tab": "home"},
        }
        self._dispatch(json.dumps(body), ack_response_url=None, content_type="application/json")

    def _dispatch(
        self, body: str, *, ack_response_url: str | None, content_type: str = "application/x-www-form-urlencoded"
    ) -> dict[str, Any]:
        """Send one signed request as Slack would; show its answer and all the bot did. Returns the ack's body."""
        answer: dict[str, Any] = {}
        with self._showing_what_the_bot_does():
            response = self._send(body, content_type)
            if response.status != 200:
                self._say(f"(Slack would show an error: HTTP {response.status} {response.body})")
            elif response.body:
                answer = json.loads(response.body)
                if answer.get("response_action") == "errors":
                    for block_id, message in answer["errors"].items():
                        self._say(f"(modal field {block_id}) {message}")
                elif answer.get("response_action") in ("update", "push"):
                    self.open_modal = answer["view"]
                    self._show_view(answer["view"])
                elif not answer.get("response_action"):
                    self._show("only you see this", answer, ack_response_url)
        return answer

    def _send(self, body: str, content_type: str = "application/x-www-form-urlencoded") -> BoltResponse:
        """One signed request to the app, as Slack sends it; waits for the work it does after the ack."""
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(self.signing_secret).generate_signature(timestamp=timestamp, body=body)
        headers: dict[str, str | Sequence[str]] = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature or "",
        }
        response = self.app.bolt.dispatch(BoltRequest(body=body, headers=headers))
        self.app.executor.wait_until_idle(timeout=30)
        return response

    def _suggested_option(self, raw: str, block: dict[str, Any], modal: dict[str, Any]) -> dict[str, Any]:
        """What a picker that searches as you type shows for `raw`: asked of the app as Slack asks it
        (`block_suggestion`); the one match, or the first of several, said so."""
        element, label = block["element"], block["label"]["text"]
        payload = {
            "type": "block_suggestion",
            "user": {"id": self.user_id, "username": self.user_name(self.user_id), "team_id": TEAM_ID},
            "container": {"type": "view", "view_id": "V0CONSOLE"},
            "api_app_id": "A0CONSOLE",
            "token": "console",
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "value": raw,
            "team": {"id": TEAM_ID, "domain": "handoff-console"},
            "view": {**modal, "id": "V0CONSOLE", "team_id": TEAM_ID, "state": {"values": {}}},
        }
        response = self._send(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        if response.status != 200:
            raise FormError(f"{label}: Handoff did not answer the search for {raw!r} (HTTP {response.status}).")
        answer = json.loads(response.body or "{}")
        options = list(answer.get("options") or []) + [
            o for group in answer.get("option_groups") or [] for o in group["options"]
        ]
        if not options:
            raise FormError(f"{label}: nothing matches {raw!r}.")
        wanted = raw.lower()
        exact = [
            o
            for o in options
            if wanted in (o["value"].lower(), o["text"]["text"].lower())
            # an initiative shows as `name (key)`: its exact name or key picks it among several
            or o["text"]["text"].lower().endswith(f"({wanted})")
            or o["text"]["text"].lower().startswith(f"{wanted} (")
        ]
        if len(exact) == 1 or len(options) == 1:
            return dict((exact or options)[0])
        listed = "; ".join(o["text"]["text"] for o in options[:10])
        self._say(f"({label}: {len(options)} match {raw!r}: {listed}; took the first, {options[0]['text']['text']})")
        return dict(options[0])

    @contextmanager
    def _showing_what_the_bot_does(self) -> Iterator[None]:
        """Print every Slack call and response_url post the app makes inside the block, in order."""
        seen_calls, seen_posts = len(self.fake.calls), len(self.fake.response_posts)
        self.buttons = []  # `:click N` counts the buttons shown since the last thing typed
        yield
        for post in self.fake.response_posts[seen_posts:]:
            self._show_response_post(post.body)
        for call in self.fake.calls[seen_calls:]:
            self._show_call(call.method, call.args, call.response)

    # --- the clock and the scheduled jobs ----------------------------------------------------------------
    def run_job(self, arg: str) -> None:
        """Run a scheduled job now, through the scheduler's own path, at the console's time."""
        words = arg.split()
        if not words or words[0] not in SCHEDULED_JOBS or len(words) > 2:
            self._say(f"Usage: :run {'|'.join(SCHEDULED_JOBS)} [CHANNEL]")
            return
        job, channel_id = words[0], None
        if len(words) == 2:
            channel = self._channel_by_name(words[1])
            if channel is None:
                self._say(f"No channel {words[1]!r}. Channels: {', '.join(c.name for c in DEMO_CHANNELS)}.")
                return
            channel_id = channel.id
        self._say(f"── {job} at {self._local_time()} ──")
        if job == Job.KPI_POLL.value:
            self._poll_kpis()
            return
        with self._showing_what_the_bot_does():
            try:
                report = self.app.run_scheduled(job, channel=(TEAM_ID, channel_id) if channel_id else None)
            except HandoffError as error:
                self._say(describe(error))
                return
        if job == "jira-sync":
            self._say("(Jira sync finished)")
        elif not self._reported(report):
            self._nothing_due(job, channel_id)

    def _poll_kpis(self) -> None:
        """Read every sourced KPI now, as `handoff run kpi-poll` does: again within an interval too, each reading
        still recorded once, so a run just logged to MLflow shows at once."""
        from handlers.kpi_poll import summary

        poller = self.app.kpi_poller
        if poller is None or not poller.readers.any:
            self._say(f"No KPI source is configured: {KPI_SOURCE_SETTINGS}.")
            return
        with self._showing_what_the_bot_does():
            report = poller.run_now()
        self._say(f"({summary(report)})")

    def _nothing_due(self, job: str, channel_id: str | None) -> None:
        """Why a run posted nothing: when each channel's job (or each standup) is due instead."""
        runtime = self.app.runtime
        zone = runtime.settings.timezone
        with runtime.session() as session:
            channels = scheduled_channels(session=session, default_timezone=zone)
            standups = standup_plans(session=session, default_timezone=zone)
        if job == "standups":
            plans = [p for p in standups if channel_id is None or p.home_channel_id == channel_id]
            if not plans:
                self._say("No standups here: an initiative has one once it has an embedded engineer.")
            for plan in plans:
                state = "" if plan.enabled else " (turned off)"
                who = f"@{self.user_name(plan.user_id)}"
                self._say(f"Nothing due for {plan.name}: {who} is asked {plan.schedule.describe()}{state}.")
            return
        if job == "report":
            self._no_report_due(channel_id)
            return
        homes = [p for p in channels if channel_id is None or p.channel_id == channel_id]
        if not homes:
            self._say("No active initiative calls that channel home, so nothing is scheduled there.")
        for home in homes:
            schedule, on = home.schedule, home.digest_enabled
            if job == "nudges":
                schedule, on = schedule.later_by(runtime.settings.nudge_delay_minutes), home.nudges_on
            when = schedule.describe() if on else "never (turned off)"
            verb = "run" if job == "nudges" else "runs"
            self._say(f"Nothing due in #{self.channel_name(home.channel_id)} now: its {job} {verb} {when}.")

    def _no_report_due(self, channel_id: str | None) -> None:
        """Why `:run report` posted nothing: when each weekly report is due, or how to set one."""
        with self.app.runtime.session() as session:
            plans = weekly_report_plans(session=session, default_timezone=self.app.runtime.settings.timezone)
        plans = [p for p in plans if channel_id is None or p.channel_id == channel_id]
        if not plans:
            self._say("No weekly report is set there: `/handoff report weekly #channel` sets one.")
        for plan in plans:
            self._say(
                f"Nothing due in #{self.channel_name(plan.channel_id)} now: its weekly report runs "
                f"{plan.schedule.describe()}."
            )

    def _reported(self, report: RunReport) -> bool:
        """Say what a run skipped or failed; False when it did nothing at all."""
        for line in report.skipped:
            self._say(f"(skipped: {line})")
        for line in report.failed + report.retrying:
            self._say(f"(not posted: {line})")
        return bool(report.posted or report.skipped or report.failed or report.retrying or report.messages)

    def set_time(self, arg: str) -> None:
        """`:time` shows the console's clock; `:time 2027-01-04 09:30`, `09:30`, `+1h`, `+1d`, `now` move it."""
        text = arg.strip()
        tz = self.app.runtime.settings.tz
        shift = _SHIFT.fullmatch(text)
        if not text:
            pass
        elif text == "now":
            self.clock.set(datetime.now(tz))
        elif shift:
            sign, amount, unit = shift.groups()
            delta = timedelta(**{_SHIFT_UNITS[unit]: int(amount)})
            self.clock.advance(delta if sign == "+" else -delta)
        else:
            try:
                if re.fullmatch(r"\d{1,2}:\d{2}", text):
                    moment = datetime.combine(self.clock.now().astimezone(tz).date(), _clock_time(text), tz)
                else:
                    moment = datetime.fromisoformat(text).replace(tzinfo=tz)
            except ValueError:
                self._say("Usage: :time [2027-01-04 09:30 | 09:30 | +1h | +30m | +1d | -1d | now]")
                return
            self.clock.set(moment)
        self._say(f"It is {self._local_time()}.")

    def _local_time(self) -> str:
        tz = self.app.runtime.settings.tz
        return self.clock.now().astimezone(tz).strftime(f"%a %Y-%m-%d %H:%M ({tz.key})")

    # --- showing what the bot did ------------------------------------------------------------------------
    def _show_response_post(self, body: dict[str, Any]) -> None:
        if body.get("delete_original"):
            self._say("(your private message was removed)")
        if body.get("text") or body.get("blocks"):
            if body.get("replace_original"):
                where = "(edited) your private message"
            elif body.get("response_type") == "in_channel":
                where = "posted in the channel"
            else:
                where = "only you see this"
            self._show(where, body, None)

    def _show_call(self, method: str, args: dict[str, Any], answer: dict[str, Any]) -> None:
        if not answer.get("ok"):
            self._say(f"(Slack answered {method}: {answer.get('error')})")
            return
        if method == "chat.postMessage":
            where = f"in {self.where(args['channel'])}"
            if args.get("thread_ts"):
                where += " (thread)"
            channel_id, ts = answer.get("channel") or args["channel"], answer.get("ts") or ""
            heading = f"bot posted {where} ── message {self._number_of(channel_id, ts)}"
            self._show(heading, args, None, message=(channel_id, ts))
        elif method == "chat.update":
            channel_id, ts = answer.get("channel") or args["channel"], answer.get("ts") or args.get("ts") or ""
            heading = (
                f"(edited) bot's message in {self.where(args['channel'])} ── message {self._number_of(channel_id, ts)}"
            )
            self._show(heading, args, None, message=(channel_id, ts))
        elif method == "chat.delete":
            self._say(f"(bot deleted a message in {self.where(args['channel'])})")
        elif method == "chat.postEphemeral":
            self._show(f"only {self.user_name(args['user'])} sees this", args, None)
        elif method in ("views.open", "views.push", "views.update"):
            self.open_modal = args["view"]
            self._show_view(args["view"])
        elif method == "views.publish":
            self._home_view_id = (answer.get("view") or {}).get("id")
            self._show_view(args["view"])
            self._home_view_id = None
        elif method == "files.completeUploadExternal":
            self._show_shared_files(args, answer)

    def _show_shared_files(self, args: dict[str, Any], answer: dict[str, Any]) -> None:
        """Where a chart went, and the file it was written to with its alt text."""
        where = f"in {self.where(args['channel_id'])}" if args.get("channel_id") else "privately"
        if args.get("thread_ts"):
            where += " (thread)"
        uploaded = {f.id: f for f in self.fake.files}
        for described in answer.get("files") or []:
            file = uploaded.get(described["id"])
            if file is None or file.content is None:
                continue
            self.charts_dir.mkdir(parents=True, exist_ok=True)
            path = self.charts_dir / f"{file.id}-{file.filename}"
            path.write_bytes(file.content)
            self._say(f"── bot shared {described['title']!r} {where} ── image written to {path}")
            if file.alt_txt:
                self._say(f"   {file.alt_txt}")

    def _show(
        self,
        heading: str,
        payload: dict[str, Any],
        response_url: str | None,
        *,
        message: tuple[str | None, str | None] = (None, None),
    ) -> None:
        self._say(f"── {heading} ──")
        blocks = payload.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not blocks:
            self._say(self.readable(payload.get("text", "")))
        for block in blocks:
            self._show_block(block, response_url, message)

    def _show_block(
        self,
        block: dict[str, Any],
        response_url: str | None,
        message: tuple[str | None, str | None] = (None, None),
    ) -> None:
        kind = block.get("type")
        if kind == "header":
            self._say(f"== {block['text']['text']} ==")
        elif kind == "section":
            line = self.readable(block["text"]["text"])
            accessory = block.get("accessory")
            if accessory and accessory.get("type") in CLICKABLE:
                line += f"  {self._register(accessory, response_url, message, block.get('block_id'))}"
            self._say(line)
        elif kind == "context":
            self._say("   " + " ".join(self.readable(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            clickable = [e for e in block["elements"] if e.get("type") in CLICKABLE]
            block_id = block.get("block_id")
            self._say("   " + "  ".join(self._register(e, response_url, message, block_id) for e in clickable))
        elif kind == "divider":
            self._say("   ───")

    def _show_view(self, view: dict[str, Any]) -> None:
        if view.get("type") == "modal":
            self._say(f"── modal: {view['title']['text']} (fill it in with :submit field=value …) ──")
            for block in view.get("blocks", []):
                if block.get("type") == "input":
                    self._say(f"   {block['block_id']}: {block['label']['text']}{self._shown_initially(block)}")
                elif block.get("type") in ("section", "context"):
                    self._show_block(block, None)
            return
        self._say("── App Home ──")
        for block in view.get("blocks", []):
            self._show_block(block, None)

    def _shown_initially(self, block: dict[str, Any]) -> str:
        """What an input shows before anyone types: its initial value, or where it defaults to."""
        element = block["element"]
        optional = " (optional)" if block.get("optional") else ""
        initial = (
            element.get("initial_value")
            or element.get("initial_date")
            or (element.get("initial_option") or {}).get("text", {}).get("text")
        )
        if element.get("initial_user"):
            initial = f"@{self.user_name(element['initial_user'])}"
        elif element.get("initial_conversation"):
            initial = f"#{self.channel_name(element['initial_conversation'])}"
        elif element.get("default_to_current_conversation"):
            initial = f"#{self.channel_name(self.modal_channel or self.channel_id)}"
        if isinstance(initial, str) and len(initial) > 60:
            initial = initial[:59] + "…"
        return f"{optional} = {initial}" if initial else optional

    def _register(
        self,
        element: dict[str, Any],
        response_url: str | None,
        message: tuple[str | None, str | None] = (None, None),
        block_id: str | None = None,
    ) -> str:
        """Number a button, or each option of a menu, for `:click N`; returns how it is shown."""
        channel_id, message_ts = message
        where = channel_id or self.channel_id
        home = self._home_view_id
        if element["type"] == "button":
            self.buttons.append(
                Button(
                    element["action_id"],
                    element.get("value"),
                    response_url,
                    where,
                    message_ts,
                    block_id=block_id,
                    home_view_id=home,
                )
            )
            return f"[{len(self.buttons)}] {element['text']['text']}"
        shown = []
        for option in _options_of(element):
            self.buttons.append(
                Button(
                    element["action_id"],
                    None,
                    response_url,
                    where,
                    message_ts,
                    element_type=element["type"],
                    block_id=block_id,
                    selected_option=option,
                    home_view_id=home,
                )
            )
            shown.append(f"[{len(self.buttons)}] {option['text']['text']}")
        label = (element.get("placeholder") or {}).get("text") or "⋯"
        return f"{label}: " + "  ".join(shown)

    # --- names -------------------------------------------------------------------------------------------
    def slack_escape(self, text: str) -> str:
        """What Slack sends for typed text with `should_escape`: entities for people and channels."""
        escaped = escape(text)

        def person(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in ("channel", "here", "everyone"):
                return f"<!{name}>"
            user = self._user_by_name(name)
            return f"<@{user.id}|{user.name}>" if user else match.group(0)

        def room(match: re.Match[str]) -> str:
            channel = self._channel_by_name(match.group(1))
            return f"<#{channel.id}|{channel.name}>" if channel else match.group(0)

        escaped = re.sub(r"(?<![\w<])@([\w.-]+)", person, escaped)
        return re.sub(r"(?<![\w<&])#([\w-]+)", room, escaped)

    def readable(self, mrkdwn: str) -> str:
        def entity(match: re.Match[str]) -> str:
            sigil, target, label, url, url_label = match.groups()
            if url:
                return f"{url_label} ({url})" if url_label else url
            if sigil == "@":
                return f"@{self.user_name(target)}"
            if sigil == "#":
                return f"#{self.channel_name(target)}"
            return label or f"@{target}"  # <!date^…|fallback>, <!here>

        return _ENTITY.sub(entity, mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def user_name(self, user_id: str) -> str:
        user = next((u for u in DEMO_USERS if u.id == user_id), None)
        return user.name if user else user_id

    def channel_name(self, channel_id: str) -> str:
        channel = next((c for c in DEMO_CHANNELS if c.id == channel_id), None)
        return channel.name if channel else channel_id

    def where(self, channel_id: str) -> str:
        """A channel by name, or whose direct messages a user id or DM channel id stands for."""
        user = next(
            (u for u in DEMO_USERS if channel_id in (u.id, self.fake.dm_channel_id(u.id))),
            None,
        )
        return f"a direct message to @{user.name}" if user else self.channel_name(channel_id)

    def _user_by_name(self, name: str) -> FakeUser | None:
        return next((u for u in DEMO_USERS if u.name == name.lower()), None)

    def _channel_by_name(self, name: str) -> FakeChannel | None:
        return next((c for c in DEMO_CHANNELS if c.name == name.lower().lstrip("#")), None)

    def switch_user(self, name: str) -> None:
        user = self._user_by_name(name.lstrip("@"))
        if user is None:
            self._say(f"No user {name!r}. Users: {', '.join(u.name for u in DEMO_USERS)}.")
        else:
            self.user_id = user.id
            self._say(f"You are now @{user.name}.")

    def switch_channel(self, name: str) -> None:
        channel = self._channel_by_name(name)
        if channel is None:
            self._say(f"No channel {name!r}. Channels: {', '.join(c.name for c in DEMO_CHANNELS)}.")
        else:
            self.channel_id = channel.id
            self._say(f"You are now typing in #{channel.name}.")

    def prompt(self) -> str:
        return f"@{self.user_name(self.user_id)} in #{self.channel_name(self.channel_id)}> "

    def _say(self, text: str) -> None:
        print(text, file=self.out)


CLICKABLE = ("button", "static_select", "overflow")
SHORTCUT_USAGE = "Usage: :shortcut N NAME (a message's number, a word of the shortcut's name) or :shortcut new."


def _names_shortcut(word: str, callback_id: str) -> bool:
    """Whether what was typed names this shortcut: its callback id, its name, or a word of its name."""
    name = ids.SHORTCUT_NAMES[callback_id].lower()
    typed = word.lower()
    return typed in (callback_id, name) or (typed != "as" and typed in name.split())


def _options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    """A menu's options, groups flattened, as Slack sends the picked one back."""
    return list(element.get("options") or []) + [
        o for group in element.get("option_groups") or [] for o in group["options"]
    ]


def _inputs_of(modal: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in modal.get("blocks", []) if b.get("type") == "input"]


def _date_for(raw: str, block: dict[str, Any], today: date) -> str:
    """The day a date picker sends for what was typed: any date Handoff reads (`2027-03-01`, `fri`, `+2w`)."""
    try:
        return parse_date(raw, today=today).isoformat()
    except DateError:
        raise FormError(f"{block['label']['text']}: a date such as 2027-03-01, not {raw!r}.") from None


def _option_for(raw: str, block: dict[str, Any]) -> dict[str, Any]:
    """The option whose value or text is `raw`, or the one option whose text starts with it."""
    options = _options_of(block["element"])
    wanted = raw.lower()
    exact = [o for o in options if wanted in (o["value"].lower(), o["text"]["text"].lower())]
    matches = exact or [o for o in options if o["text"]["text"].lower().startswith(wanted)]
    if len(matches) != 1:
        choices = "; ".join(f"{o['value']} ({o['text']['text']})" for o in options[:20])
        raise FormError(f"{block['label']['text']}: pick one of {choices}.")
    return dict(matches[0])


def _clock_time(text: str) -> Any:
    return datetime.strptime(text, "%H:%M").time()


def unknown_start(*, user: str, channel: str) -> list[str]:
    """What is wrong with `--user` and `--channel`: each must name a demo user or channel."""
    problems = []
    if not any(u.name == user.lower().lstrip("@") for u in DEMO_USERS):
        problems.append(f"There is no demo user {user!r}; --user takes one of {', '.join(u.name for u in DEMO_USERS)}.")
    if not any(c.name == channel.lower().lstrip("#") for c in DEMO_CHANNELS):
        names = ", ".join(c.name for c in DEMO_CHANNELS)
        problems.append(f"There is no demo channel {channel!r}; --channel takes one of {names}.")
    return problems


def start_console(settings: Settings, *, user: str, channel: str, out: IO[str]) -> tuple[ConsoleSession, FakeSlack]:
    """Start the fake Slack and the real app on the configured database."""
    fake = FakeSlack(team_id=TEAM_ID, team_domain="handoff-console")
    for demo_user in DEMO_USERS:
        fake.add_user(demo_user)
    for demo_channel in DEMO_CHANNELS:
        fake.add_channel(replace(demo_channel, members={"UBOT", *(u.id for u in DEMO_USERS)}))
    fake.start()
    signing_secret = secrets.token_hex(16)
    console_settings = replace(
        settings,
        slack_bot_token=fake.bot_token,
        slack_signing_secret=signing_secret,
        slack_api_url=fake.api_url,
        slack_app_token=None,
    )
    engine = make_engine(console_settings.database_url)
    upgrade_schema(engine)
    clock = ShiftedClock()
    app = create_app(console_settings, engine=engine, clock=clock)
    session = ConsoleSession(app, fake, signing_secret, DEMO_USERS[0].id, DEMO_CHANNELS[0].id, out, clock=clock)
    session.switch_user(user)
    session.switch_channel(channel)
    return session, fake


def console_commands(session: ConsoleSession, out: IO[str]) -> dict[str, Callable[[str], None]]:
    """The console's own commands (besides `:quit`), each taking the rest of the line."""
    return {
        ":as": session.switch_user,
        ":in": session.switch_channel,
        ":click": lambda arg: session.click(int(arg)) if arg.isdigit() else print("Usage: :click N", file=out),
        ":submit": session.submit,
        ":shortcut": session.shortcut,
        ":say": session.say,
        ":reply": session.reply,
        ":history": session.history,
        ":run": session.run_job,
        ":time": session.set_time,
        ":home": lambda _arg: session.open_home(),
        ":users": lambda _arg: print(", ".join(f"@{u.name} ({u.real_name})" for u in DEMO_USERS), file=out),
        ":channels": lambda _arg: print(", ".join(f"#{c.name}" for c in DEMO_CHANNELS), file=out),
        ":help": lambda _arg: print(CONSOLE_HELP, file=out),
    }


def run_console(
    settings: Settings, *, user: str, channel: str, stdin: IO[str] | None = None, out: IO[str] | None = None
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    session, fake = start_console(settings, user=user, channel=channel, out=out)
    print(f"Handoff console on {settings.database_url}. :help for help, :quit to leave.", file=out)
    try:
        read_lines(session, stdin, out)
    finally:
        fake.stop()
    return 0


def read_lines(session: ConsoleSession, stdin: IO[str], out: IO[str]) -> None:
    """Carry out each line typed (or piped) until `:quit` or the end of the input."""
    interactive = stdin.isatty()
    meta = console_commands(session, out)
    while True:
        if interactive:
            print(session.prompt(), end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if not interactive:
            print(f"{session.prompt()}{line}", file=out)
        word, _, rest = line.partition(" ")
        if word in (":quit", ":q", ":exit"):
            break
        if word in meta:
            meta[word](rest.strip())
        elif line.startswith("/"):
            session.command(line)
        else:
            print("Commands start with /handoff; :help lists the console's own commands.", file=out)
