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
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import ids
from bot.app import HandoffApp, create_app
from bot.config import Settings
from bot.fake_slack import FakeChannel, FakeSlack, FakeUser
from bot.text import escape
from storage.db import make_engine, upgrade_schema

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
MODAL_FIELDS = {
    "name": (ids.BLOCK_NEW_NAME, "plain_text_input", "value"),
    "channel": (ids.BLOCK_NEW_CHANNEL, "conversations_select", "selected_conversation"),
    "ds": (ids.BLOCK_NEW_DS, "users_select", "selected_user"),
    "eng": (ids.BLOCK_NEW_ENG, "users_select", "selected_user"),
    "embedded": (ids.BLOCK_NEW_EMBEDDED, "users_select", "selected_user"),
    "goal": (ids.BLOCK_NEW_GOAL, "plain_text_input", "value"),
    "jira": (ids.BLOCK_NEW_JIRA, "plain_text_input", "value"),
    "due": (ids.BLOCK_NEW_DUE, "datepicker", "selected_date"),
}
CONSOLE_HELP = """\
Type /handoff commands as you would in Slack, e.g. /handoff new "Churn model v2" ds:@alice eng:@bob
  :as NAME        type as another person (:users lists them)
  :in CHANNEL     type in another channel (:channels lists them)
  :click N        press button [N] from the output above
  :submit k=v …   submit the open modal (fields: name channel ds eng embedded goal jira due)
  :home           open your App Home tab
  :quit           leave"""
_ENTITY = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>|<(https?://[^>|]+)(?:\|([^>]*))?>")


@dataclass
class Button:
    action_id: str
    value: str | None
    response_url: str | None  # the message's response_url, as Slack would send with a click
    channel_id: str


@dataclass
class ConsoleSession:
    """One person typing in one channel, talking to the app as Slack would."""

    app: HandoffApp
    fake: FakeSlack
    signing_secret: str
    user_id: str
    channel_id: str
    out: IO[str]
    buttons: list[Button] = field(default_factory=list)
    open_modal: dict[str, Any] | None = None

    # --- sending what Slack sends ------------------------------------------------------------------------
    def command(self, line: str) -> None:
        command, _, text = line.strip().partition(" ")
        form = {
            "team_id": TEAM_ID,
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "command": command,
            "text": self.slack_escape(text.strip()),
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
        }
        self._dispatch(urllib.parse.urlencode(form), ack_response_url=form["response_url"])

    def click(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self._say(f"There is no button [{number}].")
            return
        pressed = self.buttons[number - 1]
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id, "team_id": TEAM_ID},
            "trigger_id": self.fake.new_trigger_id(),
            "channel": {"id": pressed.channel_id},
            "response_url": pressed.response_url or self.fake.new_response_url(),
            "actions": [{"action_id": pressed.action_id, "value": pressed.value, "type": "button"}],
        }
        self._dispatch(urllib.parse.urlencode({"payload": json.dumps(payload)}), ack_response_url=None)

    def submit(self, assignments: str) -> None:
        if self.open_modal is None:
            self._say("No modal is open. `/handoff new` opens one.")
            return
        values: dict[str, Any] = {}
        try:
            pairs = shlex.split(assignments)
        except ValueError as error:
            self._say(f"Could not read that: {error}.")
            return
        response_urls = []
        for pair in pairs:
            key, _, raw = pair.partition("=")
            if key not in MODAL_FIELDS:
                self._say(f"Unknown field {key!r}; fields: {', '.join(MODAL_FIELDS)}.")
                return
            block_id, kind, attribute = MODAL_FIELDS[key]
            value = self._resolve_name(raw, key)
            values[block_id] = {ids.INPUT_ACTION: {"type": kind, attribute: value}}
            if key == "channel":
                response_urls.append(
                    {
                        "block_id": block_id,
                        "action_id": ids.INPUT_ACTION,
                        "channel_id": value,
                        "response_url": self.fake.new_response_url(),
                    }
                )
        view = {**self.open_modal, "team_id": TEAM_ID, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": {"id": self.user_id},
            "view": view,
            "response_urls": response_urls,
        }
        self._dispatch(urllib.parse.urlencode({"payload": json.dumps(payload)}), ack_response_url=None)

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
    ) -> None:
        seen_calls, seen_posts = len(self.fake.calls), len(self.fake.response_posts)
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(self.signing_secret).generate_signature(timestamp=timestamp, body=body)
        headers: dict[str, str | Sequence[str]] = {
            "content-type": content_type,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature or "",
        }
        response = self.app.bolt.dispatch(BoltRequest(body=body, headers=headers))
        self.app.executor.wait_until_idle(timeout=30)
        self.buttons = []
        if response.status != 200:
            self._say(f"(Slack would show an error: HTTP {response.status} {response.body})")
        elif response.body:
            answer = json.loads(response.body)
            if answer.get("response_action") == "errors":
                for block_id, message in answer["errors"].items():
                    self._say(f"(modal field {block_id}) {message}")
            else:
                self._show("only you see this", answer, ack_response_url)
        for post in self.fake.response_posts[seen_posts:]:
            self._show_response_post(post.body)
        for call in self.fake.calls[seen_calls:]:
            self._show_call(call.method, call.args, call.response)

    # --- showing what the bot did ------------------------------------------------------------------------
    def _show_response_post(self, body: dict[str, Any]) -> None:
        if body.get("delete_original"):
            self._say("(your private message was removed)")
        if body.get("text") or body.get("blocks"):
            where = "posted in the channel" if body.get("response_type") == "in_channel" else "only you see this"
            self._show(where, body, None)

    def _show_call(self, method: str, args: dict[str, Any], answer: dict[str, Any]) -> None:
        if not answer.get("ok"):
            self._say(f"(Slack answered {method}: {answer.get('error')})")
            return
        if method == "chat.postMessage":
            where = f"in {self.channel_name(args['channel'])}"
            if args.get("thread_ts"):
                where += " (thread)"
            self._show(f"bot posted {where}", args, None)
        elif method == "chat.postEphemeral":
            self._show(f"only {self.user_name(args['user'])} sees this", args, None)
        elif method in ("views.open", "views.push"):
            self.open_modal = args["view"]
            self._show_view(args["view"])
        elif method == "views.publish":
            self._show_view(args["view"])

    def _show(self, heading: str, payload: dict[str, Any], response_url: str | None) -> None:
        self._say(f"── {heading} ──")
        blocks = payload.get("blocks") or []
        if not blocks:
            self._say(self.readable(payload.get("text", "")))
        for block in blocks:
            self._show_block(block, response_url)

    def _show_block(self, block: dict[str, Any], response_url: str | None) -> None:
        kind = block.get("type")
        if kind == "header":
            self._say(f"== {block['text']['text']} ==")
        elif kind == "section":
            line = self.readable(block["text"]["text"])
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                line += f"  {self._register(accessory, response_url)}"
            self._say(line)
        elif kind == "context":
            self._say("   " + " ".join(self.readable(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            self._say("   " + "  ".join(self._register(e, response_url) for e in block["elements"]))
        elif kind == "divider":
            self._say("   ───")

    def _show_view(self, view: dict[str, Any]) -> None:
        if view.get("type") == "modal":
            self._say(f"── modal: {view['title']['text']} (fill it in with :submit field=value …) ──")
            for block in view.get("blocks", []):
                if block.get("type") == "input":
                    optional = " (optional)" if block.get("optional") else ""
                    self._say(f"   {block['block_id']}: {block['label']['text']}{optional}")
            return
        self._say("── App Home ──")
        for block in view.get("blocks", []):
            self._show_block(block, None)

    def _register(self, element: dict[str, Any], response_url: str | None) -> str:
        self.buttons.append(Button(element["action_id"], element.get("value"), response_url, self.channel_id))
        return f"[{len(self.buttons)}] {element['text']['text']}"

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

    def _user_by_name(self, name: str) -> FakeUser | None:
        return next((u for u in DEMO_USERS if u.name == name.lower()), None)

    def _channel_by_name(self, name: str) -> FakeChannel | None:
        return next((c for c in DEMO_CHANNELS if c.name == name.lower().lstrip("#")), None)

    def _resolve_name(self, raw: str, key: str) -> str:
        if key in ("ds", "eng", "embedded"):
            user = self._user_by_name(raw.lstrip("@"))
            return user.id if user else raw
        if key == "channel":
            channel = self._channel_by_name(raw)
            return channel.id if channel else raw
        return raw

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
    app = create_app(console_settings, engine=engine)
    session = ConsoleSession(app, fake, signing_secret, DEMO_USERS[0].id, DEMO_CHANNELS[0].id, out)
    session.switch_user(user)
    session.switch_channel(channel)
    return session, fake


def run_console(
    settings: Settings, *, user: str, channel: str, stdin: IO[str] | None = None, out: IO[str] | None = None
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    session, fake = start_console(settings, user=user, channel=channel, out=out)
    interactive = stdin.isatty()
    print(f"Handoff console on {settings.database_url}. :help for help, :quit to leave.", file=out)
    meta: dict[str, Callable[[str], None]] = {
        ":as": session.switch_user,
        ":in": session.switch_channel,
        ":click": lambda arg: session.click(int(arg)) if arg.isdigit() else print("Usage: :click N", file=out),
        ":submit": session.submit,
        ":home": lambda _arg: session.open_home(),
        ":users": lambda _arg: print(", ".join(f"@{u.name} ({u.real_name})" for u in DEMO_USERS), file=out),
        ":channels": lambda _arg: print(", ".join(f"#{c.name}" for c in DEMO_CHANNELS), file=out),
        ":help": lambda _arg: print(CONSOLE_HELP, file=out),
    }
    try:
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
    finally:
        fake.stop()
    return 0
