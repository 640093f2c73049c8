"""`handoff console` drives the real app and handlers against a real database, as a person would type."""

from __future__ import annotations

import io
from pathlib import Path

from sqlmodel import Session, select

from bot.config import RunMode, load_settings
from bot.console import run_console
from storage.db import make_engine
from storage.models import Initiative

SCRIPT = """\
/handoff new "Churn model v2" ds:@alice eng:@bob embedded:@carol due:2099-03-01 goal:"Cut churn <!here> & more"
/handoff status
:click 2
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
