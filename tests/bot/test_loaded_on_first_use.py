"""A server imports what its listeners and scheduled posts need when they are first needed, not at start: read
from a fresh interpreter's modules, since the test process itself has imported everything."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import ROOT

# The listeners bring every feature; composing a digest or nudges, rendering a prompt, Jira and the wording of
# errors come with their first use.
LOADED_ON_FIRST_USE = {
    "handlers.commands",
    "handlers.command_table",
    "handlers.actions",
    "handlers.views",
    "handlers.events",
    "handlers.jira_jobs",
    "bot.digest",
    "bot.nudges",
    "bot.jira_sync",
    "bot.blocks.digest",
    "bot.blocks.nudges",
    "bot.blocks.standups",
    "bot.blocks.problems",
    "matplotlib",
}
# Charts are drawn on first use of a chart, not when the listeners that answer with one are loaded.
LOADED_WITH_THE_FIRST_CHART = {"matplotlib", "matplotlib.figure", "matplotlib.pyplot"}

CHILD = """
import hashlib, hmac, json, sys, time
from urllib.parse import urlencode
from slack_bolt import BoltRequest
from bot.app import build_web_client, create_app
from bot.config import load_settings
from storage.db import make_engine, upgrade_schema

env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret", "SLACK_API_URL": "http://127.0.0.1:9/api/",
       "DATABASE_URL": "sqlite://"}
settings = load_settings(env, dotenv_path=None)
engine = make_engine(settings.database_url)
upgrade_schema(engine)
app = create_app(settings, engine=engine, client=build_web_client(settings), verify_token=False)
app.scheduler.refresh()
at_start = sorted(sys.modules)

body = urlencode({"command": "/handoff", "text": "help", "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                  "response_url": "http://127.0.0.1:9/respond"})
stamp = str(int(time.time()))
signature = "v0=" + hmac.new(b"secret", f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
headers = {"x-slack-request-timestamp": stamp, "x-slack-signature": signature,
           "content-type": "application/x-www-form-urlencoded"}
response = app.bolt.dispatch(BoltRequest(body=body, headers=headers))
print(json.dumps({"at_start": at_start, "status": response.status, "after_a_request": sorted(sys.modules)}))
"""


def test_a_started_app_has_not_imported_its_listeners_or_what_scheduled_posts_render() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(child.stdout.splitlines()[-1])

    assert LOADED_ON_FIRST_USE & set(loaded["at_start"]) == set()
    assert loaded["status"] == 200  # the first request registered the listeners and was answered by them
    assert {"handlers.commands", "handlers.command_table", "handlers.actions"} <= set(loaded["after_a_request"])
    assert LOADED_WITH_THE_FIRST_CHART & set(loaded["after_a_request"]) == set()
