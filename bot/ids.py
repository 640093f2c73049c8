"""Every Slack identifier the app owns: the command, events, action_ids, callback_ids and block_ids.

`tests/test_manifest.py` checks these against `manifests/slack_app.yaml`.
"""

from __future__ import annotations

COMMAND = "/handoff"
# As the manifest names them; Bolt's `message` listener receives both message.* events.
EVENTS = ("app_home_opened", "user_change", "message.channels", "message.groups", "link_shared")

# Buttons on status messages
ACTION_STATUS_SHARE = "status_share"
ACTION_STATUS_PREV = "status_prev"
ACTION_STATUS_NEXT = "status_next"
ACTION_STATUS_DETAIL = "status_detail"
# "Share in channel" on every other private answer (checkpoints, checklist, KPIs, ideas, blockers)
ACTION_SHARE_ANSWER = "share_answer"

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

# The "new checkpoint" modal
VIEW_ADD_CHECKPOINT = "add_checkpoint"
BLOCK_CHECKPOINT_INITIATIVE = "initiative"
BLOCK_CHECKPOINT_TITLE = "title"
BLOCK_CHECKPOINT_OWNER = "owner"
BLOCK_CHECKPOINT_DUE = "due"
BLOCK_CHECKPOINT_JIRA = "jira"

# A reply about a Jira key mentioned in a thread, and the modal its button opens
ACTION_LINK_ISSUE = "link_jira_issue"
VIEW_LINK_ISSUE = "link_jira_issue"
BLOCK_LINK_CHECKPOINT = "checkpoint"

# The "add a doc" modal, and the buttons that open it
ACTION_ADD_DOC = "add_doc"
VIEW_ADD_DOC = "add_doc"
BLOCK_DOC_INITIATIVE = "initiative"
BLOCK_DOC_KIND = "kind"
BLOCK_DOC_URL = "url"
BLOCK_DOC_NOTE = "note"

# Buttons on digests and nudges, and the mitigation form
ACTION_CHECKPOINT_DONE = "checkpoint_done"
ACTION_OPEN_JIRA = "open_jira"  # a link button; Slack still sends the click, which is only acknowledged
ACTION_MITIGATE = "record_mitigation"
# Two ids: Slack wants action ids unique within a block, and both snooze buttons sit in one.
ACTION_SNOOZE_DAY = "snooze_nudge_day"
ACTION_SNOOZE_WEEK = "snooze_nudge_week"
ACTION_RESOLVE_BLOCKER = "resolve_blocker"

# "Undo" on the answer to archiving an initiative or removing a checkpoint or a doc
ACTION_UNDO = "undo_change"

# Standups: the prompt's buttons, the answer form and the questions form
ACTION_STANDUP_ANSWER = "standup_answer"
ACTION_STANDUP_SAME = "standup_same"
VIEW_STANDUP = "standup_answer"
VIEW_STANDUP_QUESTIONS = "standup_questions"


def block_standup_answer(index: int) -> str:
    return f"answer_{index}"


def block_standup_blocker(index: int) -> str:
    return f"blocker_{index}"


def block_standup_direction(index: int) -> str:
    return f"direction_{index}"


def block_standup_question(index: int) -> str:
    return f"question_{index}"


VIEW_MITIGATION = "record_mitigation"
BLOCK_MITIGATION_PLAN = "plan"

ACTIONS = (
    ACTION_STATUS_SHARE,
    ACTION_STATUS_PREV,
    ACTION_STATUS_NEXT,
    ACTION_STATUS_DETAIL,
    ACTION_SHARE_ANSWER,
    ACTION_HOME_NEW,
    ACTION_LINK_ISSUE,
    ACTION_ADD_DOC,
    ACTION_CHECKPOINT_DONE,
    ACTION_OPEN_JIRA,
    ACTION_MITIGATE,
    ACTION_SNOOZE_DAY,
    ACTION_SNOOZE_WEEK,
    ACTION_RESOLVE_BLOCKER,
    ACTION_UNDO,
    ACTION_STANDUP_ANSWER,
    ACTION_STANDUP_SAME,
)
VIEWS = (
    VIEW_NEW_INITIATIVE,
    VIEW_ADD_CHECKPOINT,
    VIEW_LINK_ISSUE,
    VIEW_ADD_DOC,
    VIEW_MITIGATION,
    VIEW_STANDUP,
    VIEW_STANDUP_QUESTIONS,
)
