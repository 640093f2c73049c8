"""The Slack manifest matches the code: every command, event and scope used is declared, and nothing else."""

from __future__ import annotations

import json
import re
from datetime import date

import jsonschema
import yaml

from bot import ids
from bot.fake_slack import METHOD_SCOPES
from handlers.command_table import SUBCOMMANDS, HelpCommand, parse_command
from tests.conftest import RunningApp
from tests.support.paths import DATA, MANIFEST, ROOT

SCHEMA = DATA / "slack_manifest.schema.json"
# slack_sdk methods are named after Web API methods: client.chat_postMessage → chat.postMessage
SDK_CALL = re.compile(r"\.(chat|users|views|conversations|reactions|pins|team|auth|apps|files|im)_([A-Za-z]+)\(")
# slack_sdk's helpers that drive several Web API methods, and those methods.
SDK_HELPERS = {"files_upload_v2": {"files.getUploadURLExternal", "files.completeUploadExternal"}}
EVENT_SCOPES = {
    "app_home_opened": None,
    "user_change": "users:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "link_shared": "links:read",
}
# Kickoffs and thread updates go to whatever public channel people pick, invited or not.
# Posting to public channels the bot is not in; reading a channel's, a private channel's or a direct message's history
# (a scheduled post checks what a crashed sender already posted, in channels and in the engineers' DMs).
SCOPES_IMPLIED_BY_METHOD = {
    "chat.postMessage": {"chat:write.public"},
    "conversations.history": {"groups:history", "im:history"},
}


# The commands the hint shows, one for each main family of commands, in the order of `/handoff help`.
FAMILY_WORDS = ("status", "checkpoint", "docs", "kpi", "idea", "blocker", "standup", "digest", "help")


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def web_api_methods_used() -> set[str]:
    methods = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "fake_slack.py":
                continue
            source = path.read_text()
            methods |= {f"{a}.{b}" for a, b in SDK_CALL.findall(source)}
            methods |= {m for helper, used in SDK_HELPERS.items() if f".{helper}(" in source for m in used}
    return methods


def test_manifest_is_valid_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(manifest())]
    assert errors == []


def test_commands_match_and_escape_mentions() -> None:
    commands = manifest()["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [ids.COMMAND]
    assert commands[0]["should_escape"] is True  # the parser relies on <@U…|name> entities


def test_the_usage_hint_names_the_main_families_with_real_subcommands() -> None:
    [command] = manifest()["features"]["slash_commands"]
    words = [h.split()[0] for h in command["usage_hint"].split("|")]
    assert [w for w in words if w in FAMILY_WORDS] == list(FAMILY_WORDS)
    assert set(words) <= set(SUBCOMMANDS)
    assert parse_command("help kpi", today=date(2027, 1, 4)) == HelpCommand(
        "kpi"
    )  # the hint's last example is a help topic


def test_events_match_the_listeners() -> None:
    assert set(manifest()["settings"]["event_subscriptions"]["bot_events"]) == set(ids.EVENTS)
    assert set(EVENT_SCOPES) == set(ids.EVENTS)


def test_scopes_are_exactly_what_the_code_needs() -> None:
    methods = web_api_methods_used()
    assert methods, "the scan found no Web API calls"
    unknown = methods - METHOD_SCOPES.keys()
    assert not unknown, f"add the scope of {unknown} to the fake's METHOD_SCOPES"
    needed = {"commands"}
    needed |= {scope for m in methods if (scope := METHOD_SCOPES[m])}
    needed |= {scope for scope in EVENT_SCOPES.values() if scope}
    for method, implied in SCOPES_IMPLIED_BY_METHOD.items():
        if method in methods:
            needed |= implied
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed


def test_app_home_and_socket_mode_are_declared() -> None:
    features, settings = manifest()["features"], manifest()["settings"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_every_declared_command_event_and_action_has_a_listener(running: RunningApp) -> None:
    """Bolt answers 404 to requests no listener matches, so each id must get a 200 from the running app."""
    assert running.slack.command("help").status == 200
    assert running.slack.command("help", command="/not-ours").status == 404
    assert running.slack.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}).status == 200
    user = {"id": "U0ALICE", "name": "alice", "team_id": "T0001", "tz": "Europe/Paris"}
    assert running.slack.event({"type": "user_change", "user": user}).status == 200
    assert running.slack.event({"type": "reaction_added", "user": "U0ALICE"}).status == 404
    for action_id in ids.ACTIONS:
        assert running.slack.action(action_id, value='{"k":"all","p":1}').status == 200, action_id
    assert running.slack.action("not_ours").status == 404
    running.settle()


def test_shortcuts_are_exactly_the_ones_the_code_answers_with_the_names_people_see() -> None:
    declared = {s["callback_id"]: (s["name"], s["type"]) for s in manifest()["features"]["shortcuts"]}
    expected = {callback_id: (ids.SHORTCUT_NAMES[callback_id], "message") for callback_id in ids.MESSAGE_SHORTCUTS}
    expected |= {callback_id: (ids.SHORTCUT_NAMES[callback_id], "global") for callback_id in ids.GLOBAL_SHORTCUTS}
    assert declared == expected
    assert set(ids.SHORTCUT_NAMES) == set(expected)


def test_the_options_load_url_is_declared_because_forms_load_their_options() -> None:
    """Slack asks for an `external_select`'s options at the interactivity's options load URL; declared only while a
    form has such a picker, and on the same endpoint as every other request."""
    blocks = ROOT / "bot" / "blocks"
    loads_options = any('"external_select"' in path.read_text() for path in blocks.rglob("*.py"))
    interactivity = manifest()["settings"]["interactivity"]
    assert loads_options
    assert interactivity.get("message_menu_options_url") == interactivity["request_url"]


def test_every_declared_shortcut_and_picker_has_a_listener(running: RunningApp) -> None:
    message = {"type": "message", "user": "U0BOB", "text": "The feature store is down", "ts": "1700000000.000100"}
    for callback_id in ids.MESSAGE_SHORTCUTS:
        assert running.slack.message_shortcut(callback_id, message).status == 200, callback_id
    for callback_id in ids.GLOBAL_SHORTCUTS:
        assert running.slack.global_shortcut(callback_id).status == 200, callback_id
    assert running.slack.global_shortcut("not_ours").status == 404
    view = {"id": "V0PICKER", "private_metadata": "{}"}
    for action_id in (ids.ACTION_PICK_INITIATIVE, ids.ACTION_PICK_CHECKPOINT):
        answer = running.slack.suggest_options(view, block_id="initiative", action_id=action_id, value="")
        assert answer.status == 200 and "options" in answer.json, action_id
    assert running.slack.suggest_options(view, block_id="b", action_id="not_ours", value="").status == 404
    running.settle()
