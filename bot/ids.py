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


# Shortcuts: "More actions" on any message, and the lightning-bolt menu (as the manifest declares them)
SHORTCUT_LOG_BLOCKER = "log_as_blocker"
SHORTCUT_ADD_CHECKPOINT = "add_as_checkpoint"
SHORTCUT_LOG_IDEA = "log_as_idea"
SHORTCUT_ATTACH_DOC = "attach_as_doc"
SHORTCUT_NEW_INITIATIVE = "new_initiative"
MESSAGE_SHORTCUTS = (SHORTCUT_LOG_BLOCKER, SHORTCUT_ADD_CHECKPOINT, SHORTCUT_LOG_IDEA, SHORTCUT_ATTACH_DOC)
GLOBAL_SHORTCUTS = (SHORTCUT_NEW_INITIATIVE,)
# The names people see in Slack's menus; the manifest declares the same (checked by tests/test_manifest.py).
SHORTCUT_NAMES = {
    SHORTCUT_LOG_BLOCKER: "Log as blocker",
    SHORTCUT_ADD_CHECKPOINT: "Add as checkpoint",
    SHORTCUT_LOG_IDEA: "Log as idea",
    SHORTCUT_ATTACH_DOC: "Attach as doc",
    SHORTCUT_NEW_INITIATIVE: "New initiative",
}

# The blocker and idea forms (from a message shortcut or a status card)
VIEW_REPORT_BLOCKER = "report_blocker"
BLOCK_BLOCKER_INITIATIVE = "initiative"
BLOCK_BLOCKER_TEXT = "text"
BLOCK_BLOCKER_DIRECTION = "direction"
VIEW_LOG_IDEA = "log_idea"
BLOCK_IDEA_INITIATIVE = "initiative"
BLOCK_IDEA_TEXT = "text"

# Each status card's menu of next steps, and the forms it opens
ACTION_CARD_MENU = "initiative_next_step"
VIEW_CHANGE_PHASE = "change_phase"
VIEW_EDIT_INITIATIVE = "edit_initiative"
VIEW_RECORD_READING = "record_kpi_reading"
VIEW_STANDUP_SETTINGS = "standup_settings"
VIEW_ARCHIVE = "archive_initiative"
BLOCK_PHASE_TARGET = "phase"
BLOCK_PHASE_NOTE = "note"
BLOCK_PHASE_REASON = "force_reason"
BLOCK_READING_KPI = "kpi"
BLOCK_READING_VALUE = "value"
BLOCK_READING_NOTE = "note"
BLOCK_STANDUP_ENABLED = "enabled"
BLOCK_STANDUP_TIME = "time"
BLOCK_STANDUP_DAYS = "days"
BLOCK_STANDUP_ZONE = "timezone"
VIEW_ADD_KPI = "add_kpi"
BLOCK_KPI_NAME = "kpi_name"
BLOCK_KPI_DIRECTION = "direction"
BLOCK_KPI_TARGET = "target"
BLOCK_KPI_UNIT = "unit"
BLOCK_KPI_OWNER = "owner"
BLOCK_KPI_SOURCE = "source"
BLOCK_KPI_EXPERIMENT = "experiment"
BLOCK_KPI_METRIC = "metric"
BLOCK_KPI_RUN = "run"
BLOCK_KPI_FILTER = "filter"
BLOCK_KPI_MODEL = "model"
BLOCK_KPI_ALIAS = "alias"
BLOCK_KPI_QUERY = "query"

# Pickers that search as you type (`external_select`): Slack asks for their options by these action ids
ACTION_PICK_INITIATIVE = "pick_initiative"
ACTION_PICK_CHECKPOINT = "pick_checkpoint"

# `/handoff` alone: this channel's initiatives, with help one button away
ACTION_SHOW_HELP = "show_help"
ACTION_SHOW_ALL_INITIATIVES = "show_all_initiatives"

# "Move to <phase>" on the news of a registered model's new version: opens the Change phase form
ACTION_MODEL_VERSION_PHASE = "model_version_move_phase"

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
    ACTION_SHOW_HELP,
    ACTION_SHOW_ALL_INITIATIVES,
    ACTION_CARD_MENU,
    ACTION_MODEL_VERSION_PHASE,
)
VIEWS = (
    VIEW_NEW_INITIATIVE,
    VIEW_ADD_CHECKPOINT,
    VIEW_LINK_ISSUE,
    VIEW_ADD_DOC,
    VIEW_MITIGATION,
    VIEW_STANDUP,
    VIEW_STANDUP_QUESTIONS,
    VIEW_CHANGE_PHASE,
    VIEW_EDIT_INITIATIVE,
    VIEW_RECORD_READING,
    VIEW_STANDUP_SETTINGS,
    VIEW_ARCHIVE,
    VIEW_REPORT_BLOCKER,
    VIEW_LOG_IDEA,
    VIEW_ADD_KPI,
)
