"""Every Slack identifier the app owns: the command, events, action_ids, callback_ids and block_ids.

`tests/test_manifest.py` checks these against `manifests/slack_app.yaml`.
"""

from __future__ import annotations

COMMAND = "/handoff"
EVENTS = ("app_home_opened", "user_change")

# Buttons on status messages
ACTION_STATUS_SHARE = "status_share"
ACTION_STATUS_PREV = "status_prev"
ACTION_STATUS_NEXT = "status_next"
ACTION_STATUS_DETAIL = "status_detail"

# App Home
ACTION_HOME_NEW = "home_new_initiative"

# The "new initiative" modal
VIEW_NEW_INITIATIVE = "new_initiative"
BLOCK_NEW_NAME = "name"
BLOCK_NEW_CHANNEL = "channel"
BLOCK_NEW_DS = "ds"
BLOCK_NEW_ENG = "eng"
BLOCK_NEW_EMBEDDED = "embedded"
BLOCK_NEW_GOAL = "goal"
BLOCK_NEW_JIRA = "jira"
BLOCK_NEW_DUE = "due"
INPUT_ACTION = "value"  # the single element inside each input block

ACTIONS = (ACTION_STATUS_SHARE, ACTION_STATUS_PREV, ACTION_STATUS_NEXT, ACTION_STATUS_DETAIL, ACTION_HOME_NEW)
VIEWS = (VIEW_NEW_INITIATIVE,)
