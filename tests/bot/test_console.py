"""`handoff console` drives the real app and handlers against a real database, as a person would type."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from slack_bolt import Ack, BoltResponse
from sqlmodel import Session, select

from bot import ids
from bot.config import RunMode, load_settings
from bot.console import console_commands, read_lines, run_console, start_console
from storage.db import make_engine
from storage.models import Checkpoint, Initiative
from tests.support.mlflow_server import MlflowServer
from tests.support.paths import ROOT

SCRIPT = """\
/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol due:2099-03-01 goal:"Cut churn <!here> & more"
/handoff status
:click 11
:as eve
/handoff phase churn research
:as bob
/handoff phase churn research "data access granted"
/handoff new X ds:@nobody
/handoff new
:submit name="Fraud v3" channel=fraud-detection ds=alice
:home
/handoff bogus
"""


def test_console_session(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings({"DATABASE_URL": database_url}, mode=RunMode.OFFLINE)
    out = io.StringIO()
    assert run_console(settings, user="alice", channel="general", stdin=io.StringIO(SCRIPT), out=out) == 0
    text = out.getvalue()
    assert "Created *Churn model v2* in #general" in text
    assert "── bot posted in general ──" in text
    assert "Cut churn <!here> & more" in text  # shown literally, as Slack would show the escaped text
    assert "── posted in the channel ──" in text and "shared by @alice" in text
    assert "Only the initiative's leads" in text  # eve may not change the phase
    assert "is now in *research*" in text and "── bot posted in general (thread) ──" in text
    assert "Slack doesn't know a user called `@nobody`" in text
    assert "── modal: New initiative" in text and "Created *Fraud v3* in #fraud-detection" in text
    assert "── App Home ──" in text
    assert "`bogus` is not a Handoff command" in text

    with Session(make_engine(database_url)) as session:
        names = sorted(i.name for i in session.exec(select(Initiative)).all())
    assert names == ["Churn model v2", "Fraud v3"]


def console(
    tmp_path: Path, script: str, *, channel: str = "general", env: dict[str, str] | None = None
) -> tuple[str, str]:
    """Run the console on a fresh database through its own loop; returns what it printed and the database URL."""
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings({"DATABASE_URL": database_url, **(env or {})}, mode=RunMode.OFFLINE)
    out = io.StringIO()
    assert run_console(settings, user="alice", channel=channel, stdin=io.StringIO(script), out=out) == 0
    return out.getvalue(), database_url


def after(text: str, typed: str) -> str:
    """What the console printed in answer to the line `typed` (up to the next prompt)."""
    start = text.index(f"> {typed}\n") + len(typed) + 3
    end = text.find("\n@", start)
    return text[start : end if end != -1 else None]


FORMS = """\
:time 2027-01-04 08:00
:in churn
/handoff new
:submit name="Churn model v2" ds=alice eng=bob embedded=carol "Target date"=2027-03-01
/handoff checkpoint add churn
:submit title="Model card reviewed" owner=@bob due=2027-01-05
/handoff doc add churn
:submit kind=ds-summary url=https://wiki.example.com/churn/summary
/handoff standup churn questions
:submit question_1="Any data access needed?"
:time 2027-01-06 09:30
:run nudges churn
:click 6
:submit plan="Ship with the v1 schema"
:run standups
:as carol
:click 1
:submit answer_0="Trained v2" blocker_0="No prod read access" direction_0=on-eng
"""


def test_every_form_the_app_opens_can_be_submitted(tmp_path: Path) -> None:
    text, database_url = console(tmp_path, FORMS)

    opened = after(text, "/handoff new")
    assert "channel: Home channel = #churn" in opened, "the form shows its preselected channel"
    assert "Created *Churn model v2* in #churn" in text, "a channel left out keeps the preselected one"
    assert "Added `churn#1`" in after(text, ':submit title="Model card reviewed" owner=@bob due=2027-01-05')
    assert "Added the DS summary of *Churn model v2*" in text
    assert "@carol is asked weekdays at 09:30" in text and "• Any data access needed?" in text
    assert "[6] Record a mitigation" in after(text, ":run nudges churn")
    assert "── modal: Mitigation plan" in after(text, ":click 6")
    assert "recorded a mitigation plan for `churn#1`" in text
    assert "── modal: Standup" in after(text, ":click 1")
    posted = after(text, ':submit answer_0="Trained v2" blocker_0="No prod read access" direction_0=on-eng')
    assert "*Standup* from @carol" in posted and "No prod read access" in posted
    assert "What did the DS team work on?*\nTrained v2" in posted, "an answer left out keeps the form's"
    assert "── (edited) bot's message in a direct message to @carol ──" in posted
    with Session(make_engine(database_url)) as session:
        [initiative] = session.exec(select(Initiative)).all()
        assert (initiative.home_channel_id, str(initiative.target_date)) == ("C0CHURN", "2027-03-01")
        assert initiative.eng_lead_id == "U0BOB"


def test_submit_says_what_a_field_takes(tmp_path: Path) -> None:
    text, _ = console(tmp_path, "/handoff new\n:submit colour=red\n:submit name=X ds=zed\n:submit name=X due=soon\n")

    assert "Unknown field 'colour'; this form's fields: name, channel, ds, eng, embedded, goal, jira, due" in text
    assert "DS lead: no demo user 'zed'; pick one of alice, bob, carol, dana, eve." in text
    assert "Target date: a date such as 2027-03-01, not 'soon'." in text
    assert "Created" not in text


RUNS = """\
:time 2027-01-04 08:00
/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol
:run digest
:time 09:00
:run digest general
:run digest
:time +1h
:run standups
:time +1d
:time 2027-01-05 00:30
:run standups general
:run jira-sync
:run kpi-poll
:run weather
"""


def test_scheduled_jobs_run_on_the_consoles_clock(tmp_path: Path) -> None:
    text, _ = console(tmp_path, RUNS)

    assert "It is Mon 2027-01-04 08:00 (UTC)." in text
    assert "Nothing due in #general now: its digest runs weekdays at 09:00 (UTC)." in after(text, ":run digest")
    first = after(text, ":run digest general")
    assert "── bot posted in general ──" in first and "== Daily digest · Mon 4 Jan ==" in first
    assert text.count("== Daily digest") == 1, "the day's slot ran once; running the job again posts nothing"
    assert "It is Mon 2027-01-04 10:00 (UTC)." in text
    prompt = after(text, ":run standups")
    assert "── bot posted in a direct message to @carol ──" in prompt and "== Standup · Churn model v2 ==" in prompt
    assert "It is Tue 2027-01-05 10:00 (UTC)." in text
    missed = after(text, ":run standups general")
    assert "── (edited) bot's message in a direct message to @carol ──" in missed
    assert "Missed: the standup for *Churn model v2* on Mon 4 Jan got no answer that day." in missed
    assert "Jira is not configured" in after(text, ":run jira-sync")
    assert "No KPI source is configured: set `MLFLOW_TRACKING_URI`" in after(text, ":run kpi-poll")
    assert "Usage: :run digest|nudges|standups|jira-sync|report|kpi-poll [CHANNEL]" in after(text, ":run weather")


REPORT_RUNS = """\
:time 2027-01-04 08:00
/handoff new "Churn model v2" ds:@alice eng:@bob
/handoff report weekly #general
:run report
:time 2027-01-11 09:00
:run report general
:run report
"""


def test_the_weekly_report_runs_on_the_consoles_clock_and_its_chart_is_written_to_a_file(tmp_path: Path) -> None:
    text, _ = console(tmp_path, REPORT_RUNS)

    assert "Nothing due in #general now: its weekly report runs Mon at 09:00 (UTC)." in after(text, ":run report")
    posted = after(text, ":run report general")
    assert "── bot posted in general ──" in posted and "Report: " in posted
    [written] = [line for line in posted.splitlines() if "in general (thread) ── image written to " in line]
    path = Path(written.rsplit("image written to ", 1)[1])
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert text.count("Weekly report, Mon at 09:00") == 1, "the week's slot ran once"


def test_a_mistyped_command_gets_a_plain_answer(tmp_path: Path) -> None:
    text, _ = console(tmp_path, "/handof status\n/foo\n")

    assert "/handof is not a valid command. Handoff's one command is /handoff; try /handoff help." in text
    assert "/foo is not a valid command." in text
    assert "Suggestion" not in text and "@app.command" not in text


def test_help_and_the_readme_list_every_console_command(tmp_path: Path) -> None:
    text, _ = console(tmp_path, ":help\n")
    commands = [*console_commands(MagicMock(), io.StringIO()), ":quit"]
    readme = (ROOT / "README.md").read_text()
    paragraph = readme[readme.index("## The console") : readme.index("## Commands")]

    for command in commands:
        assert f"  {command} " in after(text, ":help"), command
        assert f"`{command}" in paragraph, command


# --- shortcuts, menus and pickers that search as you type ----------------------------------------------------------


class Recorded:
    """A console whose app also records every request body it receives, before any listener sees it."""

    def __init__(self, tmp_path: Path) -> None:
        settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"}, mode=RunMode.OFFLINE)
        self.out = io.StringIO()
        self.session, self.fake = start_console(settings, user="alice", channel="general", out=self.out)
        self.bodies: list[dict[str, Any]] = []

        def record(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
            self.bodies.append(body)
            return next()

        self.session.app.bolt.middleware(record)

    def type(self, script: str) -> str:
        """Type the lines; returns what the console printed for them."""
        start = len(self.out.getvalue())
        read_lines(self.session, io.StringIO(script), self.out)
        return self.out.getvalue()[start:]

    def last(self, kind: str) -> dict[str, Any]:
        return [b for b in self.bodies if b.get("type") == kind][-1]

    def close(self) -> None:
        self.fake.stop()


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[Recorded]:
    console = Recorded(tmp_path)
    yield console
    console.close()


# What tests/support/slack_driver.py sends for a message shortcut and a global one: the keys Slack's payloads have.
MESSAGE_ACTION_KEYS = {
    "type",
    "token",
    "action_ts",
    "team",
    "enterprise",
    "is_enterprise_install",
    "user",
    "channel",
    "callback_id",
    "trigger_id",
    "response_url",
    "message_ts",
    "message",
}
SHORTCUT_KEYS = {
    "type",
    "token",
    "action_ts",
    "team",
    "enterprise",
    "is_enterprise_install",
    "user",
    "callback_id",
    "trigger_id",
}


def test_every_message_shown_is_numbered_and_a_shortcut_sends_what_slack_sends(recorded: Recorded) -> None:
    shown = recorded.type(
        '/handoff new "Churn model v2" ds:@alice eng:@bob\n'
        "/handoff phase churn research\n"
        ":say No read access to the <events> table\n"
        ":reply 1 The model card: https://wiki.example.com/card\n"
    )
    assert "── bot posted in general ── message 1 ──" in shown
    assert "── bot posted in general (thread) ── message 2 ──" in shown
    assert "── you posted in general ── message 3 ──" in shown
    assert "── you posted in general (thread) ── message 4 ──" in shown
    kickoff = recorded.fake.messages_in("C0GENERAL")[0]

    recorded.type(":shortcut 3 blocker\n")
    by_alice = recorded.last("message_action")
    assert set(by_alice) == MESSAGE_ACTION_KEYS
    assert by_alice["callback_id"] == ids.SHORTCUT_LOG_BLOCKER
    assert by_alice["channel"]["id"] == "C0GENERAL" and by_alice["user"]["id"] == "U0ALICE"
    message = by_alice["message"]
    assert (message["type"], message["user"], message["text"]) == (
        "message",
        "U0ALICE",
        "No read access to the &lt;events&gt; table",
    )
    assert "bot_id" not in message and "thread_ts" not in message
    assert by_alice["message_ts"] == message["ts"] and by_alice["response_url"] and by_alice["trigger_id"]

    recorded.type(":shortcut 2 idea\n")
    reply = recorded.last("message_action")
    assert reply["callback_id"] == ids.SHORTCUT_LOG_IDEA
    assert reply["message"]["thread_ts"] == kickoff.ts, "a reply carries its thread"
    assert reply["message"]["bot_id"], "the bot's own message carries its bot_id"

    recorded.type(":shortcut 4 doc\n:shortcut 1 Add as checkpoint\n")
    assert recorded.bodies[-2]["callback_id"] == ids.SHORTCUT_ATTACH_DOC
    assert recorded.bodies[-2]["message"]["thread_ts"] == kickoff.ts
    assert recorded.last("message_action")["callback_id"] == ids.SHORTCUT_ADD_CHECKPOINT

    recorded.type(":shortcut new\n")
    new = recorded.last("shortcut")
    assert set(new) == SHORTCUT_KEYS and new["callback_id"] == ids.SHORTCUT_NEW_INITIATIVE


def test_a_shortcut_that_names_no_message_or_no_shortcut_is_explained(recorded: Recorded) -> None:
    recorded.type('/handoff new "Churn model v2"\n')
    sent = len(recorded.bodies)

    shown = recorded.type(":shortcut 9 blocker\n:shortcut 1 log\n:shortcut 1 weather\n:shortcut 1\n:shortcut old\n")

    assert "There is no message 9" in shown
    assert "'log' names several shortcuts. Message shortcuts: Log as blocker, Add as checkpoint, Log as idea" in shown
    assert "No shortcut called 'weather'." in shown and "Say which shortcut." in shown
    assert "No shortcut called 'old'. Global shortcuts: New initiative." in shown
    assert len(recorded.bodies) == sent, "nothing was sent to the app"


def card_menu(initiative_id: int) -> dict[str, Any]:
    """A status card with a menu of next steps, as Slack shows a `static_select` accessory."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": json.dumps({"a": action, "i": initiative_id})}
        for label, action in (("Change phase", "phase"), ("Add a checkpoint", "checkpoint"))
    ]
    menu = {
        "type": "static_select",
        "action_id": ids.ACTION_CARD_MENU,
        "placeholder": {"type": "plain_text", "text": "Next step"},
        "options": options,
    }
    return {
        "type": "section",
        "block_id": "card_7",
        "text": {"type": "mrkdwn", "text": "*Churn model v2*"},
        "accessory": menu,
    }


def test_a_menus_options_are_numbered_like_buttons_and_picking_one_sends_the_selected_option(
    recorded: Recorded,
) -> None:
    more = {
        "type": "overflow",
        "action_id": "more_steps",
        "options": [{"text": {"type": "plain_text", "text": "Archive"}, "value": "archive"}],
    }
    blocks = [card_menu(7), {"type": "actions", "block_id": "more", "elements": [more]}]
    recorded.fake.add_message("C0GENERAL", "Churn model v2", user=recorded.fake.bot_user_id, blocks=blocks)

    shown = recorded.type(":history\n")
    assert "*Churn model v2*  Next step: [1] Change phase  [2] Add a checkpoint" in shown
    assert "⋯: [3] Archive" in shown

    recorded.type(":history\n:click 2\n")
    picked = recorded.last("block_actions")
    [action] = picked["actions"]
    assert (action["type"], action["action_id"], action["block_id"]) == (
        "static_select",
        ids.ACTION_CARD_MENU,
        "card_7",
    )
    assert json.loads(action["selected_option"]["value"]) == {"a": "checkpoint", "i": 7}
    assert action["selected_option"]["text"]["text"] == "Add a checkpoint" and "value" not in action
    assert picked["container"]["message_ts"] == recorded.fake.messages_in("C0GENERAL")[0].ts

    recorded.type(":history\n:click 3\n")
    [action] = recorded.last("block_actions")["actions"]
    assert (action["type"], action["selected_option"]["value"]) == ("overflow", "archive")


FRUIT = ("Apple", "Apricot", "Banana")


def fruit_form() -> dict[str, Any]:
    picker = {"type": "external_select", "action_id": "pick_fruit", "min_query_length": 0}
    return {
        "type": "modal",
        "callback_id": "fruit_form",
        "title": {"type": "plain_text", "text": "Fruit"},
        "private_metadata": json.dumps({"c": "C0GENERAL"}),
        "blocks": [
            {"type": "input", "block_id": "fruit", "label": {"type": "plain_text", "text": "Fruit"}, "element": picker}
        ],
    }


def test_submit_asks_the_app_for_a_searching_pickers_options_as_slack_does(recorded: Recorded) -> None:
    def search(ack: Ack, payload: dict[str, Any]) -> None:
        typed = payload["value"].lower()
        found = [f for f in FRUIT if f.lower().startswith(typed)]
        ack(options=[{"text": {"type": "plain_text", "text": f}, "value": f.lower()} for f in found])

    recorded.session.app.bolt.options("pick_fruit")(search)

    for typed, expected, said in (
        ("ban", "banana", None),
        ("ap", "apple", "2 match 'ap': Apple; Apricot; took the first, Apple"),
        ("apricot", "apricot", None),
    ):
        recorded.session.open_modal = fruit_form()
        shown = recorded.type(f":submit fruit={typed}\n")
        suggestion = recorded.last("block_suggestion")
        assert (suggestion["action_id"], suggestion["block_id"], suggestion["value"]) == ("pick_fruit", "fruit", typed)
        assert json.loads(suggestion["view"]["private_metadata"]) == {"c": "C0GENERAL"}
        submitted = recorded.last("view_submission")["view"]["state"]["values"]["fruit"]["pick_fruit"]
        assert (submitted["type"], submitted["selected_option"]["value"]) == ("external_select", expected)
        if said:
            assert said in shown
        else:
            assert "match" not in shown

    recorded.session.open_modal = fruit_form()
    sent = len([b for b in recorded.bodies if b.get("type") == "view_submission"])
    shown = recorded.type(":submit fruit=cherry\n")
    assert "Fruit: nothing matches 'cherry'." in shown
    assert len([b for b in recorded.bodies if b.get("type") == "view_submission"]) == sent, "the form stays open"


def test_the_checkpoint_forms_initiative_is_picked_by_what_you_type(tmp_path: Path) -> None:
    text, database_url = console(
        tmp_path,
        ':time 2027-01-04 08:00\n/handoff new "Churn model v2" ds:@alice\n/handoff new "Pricing engine" ds:@alice\n'
        '/handoff checkpoint add\n:submit initiative="Pricing engine" title="Model card reviewed" due=fri\n',
    )

    assert "Added `pricing#1` *Model card reviewed*. Due Fri 8 Jan 2027." in text, "a date typed in words, too"
    with Session(make_engine(database_url)) as session:
        [checkpoint] = session.exec(select(Checkpoint)).all()
        [pricing] = [i for i in session.exec(select(Initiative)).all() if i.name == "Pricing engine"]
    assert checkpoint.initiative_id == pricing.id


def test_a_shared_chart_is_shown_with_where_it_went_and_written_to_a_file(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"}, mode=RunMode.OFFLINE)
    script = (
        '/handoff new "Churn model v2" ds:@alice eng:@bob\n'
        '/handoff kpi add churn "AUC on holdout" >= 0.82\n'
        '/handoff kpi record churn "AUC on holdout" 0.84\n'
        '/handoff kpi chart churn "AUC on holdout"\n'
    )
    out = io.StringIO()

    assert run_console(settings, user="alice", channel="general", stdin=io.StringIO(script), out=out) == 0

    text = out.getvalue()
    [line] = [line for line in text.splitlines() if "── bot shared" in line]
    assert line.startswith("── bot shared 'AUC on holdout · Churn model v2' in general ── image written to ")
    path = Path(line.rpartition(" image written to ")[2])
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert 'Line chart of KPI "AUC on holdout · Churn model v2"' in text
    assert "Shared the trend of *AUC on holdout*" in text


def test_a_button_on_app_home_is_pressed_there_and_the_home_shows_what_it_did(tmp_path: Path) -> None:
    script = (
        '/handoff new "Churn model v2" ds:@bob eng:@alice embedded:@carol\n'
        '/handoff checkpoint add churn "Model card" owner:@alice due:+2d\n'
        ":home\n"
        ":click 2\n"
    )
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings({"DATABASE_URL": database_url}, mode=RunMode.OFFLINE)
    out = io.StringIO()
    assert run_console(settings, user="alice", channel="general", stdin=io.StringIO(script), out=out) == 0
    home, _, after = out.getvalue().rpartition(":click 2")
    assert "*Model card* due" in home and "[2] Mark done" in home
    assert "── App Home ──" in after and ":white_check_mark: `churn#1` *Model card* is done." in after
    assert "only you see this" not in after  # no private answer: App Home has no response_url


def test_the_console_reads_a_kpi_from_a_local_mlflow_server_as_the_readme_walks_through(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    """README's "Five minutes with a local MLflow": set the source, log a worse run, `:run kpi-poll`, see the alert."""
    name, experiment_id = mlflow_server.new_experiment("churn-model")
    mlflow_server.log_run(experiment_id, {"val_auc": 0.86})
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings(
        {"DATABASE_URL": database_url, "MLFLOW_TRACKING_URI": mlflow_server.url}, mode=RunMode.OFFLINE
    )
    typed = io.StringIO(
        '/handoff new "Churn model v2" ds:@alice eng:@bob\n'
        '/handoff kpi add churn "AUC on holdout" >= 0.82\n'
        f'/handoff kpi source churn "AUC on holdout" mlflow experiment:{name} metric:val_auc\n'
    )
    out = io.StringIO()
    assert run_console(settings, user="alice", channel="general", stdin=typed, out=out) == 0
    assert "It read *0.86*" in out.getvalue()

    run_id = mlflow_server.log_run(experiment_id, {"val_auc": 0.78})
    out = io.StringIO()
    polls = io.StringIO(":run kpi-poll\n:run kpi-poll\n/handoff kpi list churn\n")
    assert run_console(settings, user="alice", channel="general", stdin=polls, out=out) == 0
    text = out.getvalue()
    first, second = text.split("> :run kpi-poll\n")[1:3]
    assert "*AUC on holdout* of *Churn model v2* is below its 0.82 target: 0.78" in first
    assert f"runs/{run_id}" in first  # the thread links the run the reading came from
    assert "1 reading recorded, 1 alert" in first
    assert "0 readings recorded, 0 alerts" in second  # read again at once: nothing twice
    assert "trend 0.86 → 0.78" in after(text, "/handoff kpi list churn")
