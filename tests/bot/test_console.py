"""`handoff console` drives the real app and handlers against a real database, as a person would type."""

from __future__ import annotations

import io
from pathlib import Path
from unittest.mock import MagicMock

from sqlmodel import Session, select

from bot.config import RunMode, load_settings
from bot.console import console_commands, run_console
from storage.db import make_engine
from storage.models import Initiative
from tests.support.paths import ROOT

SCRIPT = """\
/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol due:2099-03-01 goal:"Cut churn <!here> & more"
/handoff status
:click 1
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


def console(tmp_path: Path, script: str, *, channel: str = "general") -> tuple[str, str]:
    """Run the console on a fresh database through its own loop; returns what it printed and the database URL."""
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings({"DATABASE_URL": database_url}, mode=RunMode.OFFLINE)
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
    assert "Usage: :run digest|nudges|standups|jira-sync [CHANNEL]" in after(text, ":run weather")


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
