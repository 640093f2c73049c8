"""Typed domain errors. Each carries plain data (what the user typed, the names and keys involved); the wording for
each surface (mrkdwn for messages, plain text for modal fields) is `bot/blocks/problems.py`'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any


class Problem(StrEnum):
    """What is wrong, one member per distinct problem; `bot/blocks/problems.py` words each one."""

    # initiatives
    NAME_MISSING = "name_missing"
    NAME_RESERVED = "name_reserved"
    DUPLICATE_NAME = "duplicate_name"
    UNKNOWN_INITIATIVE = "unknown_initiative"
    AMBIGUOUS_INITIATIVE = "ambiguous_initiative"
    ARCHIVED = "archived"
    ARCHIVED_EDIT = "archived_edit"
    ALREADY_ARCHIVED = "already_archived"
    NOT_ARCHIVED = "not_archived"
    NOT_A_PHASE = "not_a_phase"
    ALREADY_IN_PHASE = "already_in_phase"
    EDIT_SAYS_NOTHING = "edit_says_nothing"
    CANNOT_CLEAR = "cannot_clear"
    ALREADY_SET = "already_set"
    TOO_LONG = "too_long"
    DATE_IN_PAST = "date_in_past"
    NOT_A_JIRA_KEY = "not_a_jira_key"
    JIRA_NOT_CONFIGURED = "jira_not_configured"
    UNUSABLE_PERSON = "unusable_person"
    UNKNOWN_USER = "unknown_user"
    NOT_ALLOWED = "not_allowed"
    SLACK_CHANNEL_UNAVAILABLE = "slack_channel_unavailable"
    NO_INITIATIVE_IN_CHANNEL = "no_initiative_in_channel"
    SEVERAL_INITIATIVES_IN_CHANNEL = "several_initiatives_in_channel"
    # checkpoints
    UNKNOWN_CHECKPOINT = "unknown_checkpoint"
    TITLE_MISSING = "title_missing"
    NOT_A_CHECKPOINT_JIRA_KEY = "not_a_checkpoint_jira_key"
    JIRA_NEW_WITHOUT_PROJECT = "jira_new_without_project"
    JIRA_NEW_ONLY_ON_ADD = "jira_new_only_on_add"
    JIRA_ALREADY_LINKED = "jira_already_linked"
    INITIATIVE_DELETED = "initiative_deleted"
    ALREADY_DONE = "already_done"
    NOT_DONE = "not_done"
    CHECKPOINT_EDIT_SAYS_NOTHING = "checkpoint_edit_says_nothing"
    CHECKPOINT_NOT_RESTORABLE = "checkpoint_not_restorable"
    PLAN_MISSING = "plan_missing"
    NOT_MISSED = "not_missed"
    # blockers
    UNKNOWN_BLOCKER = "unknown_blocker"
    NOT_A_BLOCKER_DIRECTION = "not_a_blocker_direction"
    BLOCKER_TEXT_MISSING = "blocker_text_missing"
    BLOCKERS_RACED = "blockers_raced"
    ALREADY_RESOLVED = "already_resolved"
    # ideas
    UNKNOWN_IDEA = "unknown_idea"
    NOT_AN_OUTCOME = "not_an_outcome"
    IDEA_TEXT_MISSING = "idea_text_missing"
    IDEAS_RACED = "ideas_raced"
    SEARCH_WORDS_MISSING = "search_words_missing"
    # KPIs
    UNKNOWN_KPI = "unknown_kpi"
    AMBIGUOUS_KPI = "ambiguous_kpi"
    KPI_NOT_ALLOWED = "kpi_not_allowed"
    NOT_A_KPI_DIRECTION = "not_a_kpi_direction"
    AMBIGUOUS_NUMBER = "ambiguous_number"
    UNREADABLE_NUMBER = "unreadable_number"
    NOT_A_NUMBER = "not_a_number"
    KPI_NAME_MISSING = "kpi_name_missing"
    KPI_NEW_NAME_MISSING = "kpi_new_name_missing"
    DUPLICATE_KPI = "duplicate_kpi"
    UNIT_LENGTH = "unit_length"
    KPI_UNCHANGED = "kpi_unchanged"
    NO_SUCH_READING = "no_such_reading"
    # KPI sources
    SOURCE_NOT_CONFIGURED = "source_not_configured"
    SOURCE_CHECK_FAILED = "source_check_failed"
    SOURCE_FIELD_MISSING = "source_field_missing"
    SOURCE_MODEL_AND_ALIAS = "source_model_and_alias"
    NO_SOURCE = "no_source"
    # readiness
    UNKNOWN_ITEM = "unknown_item"
    NOT_A_WEB_LINK = "not_a_web_link"
    LINK_HAS_SPACES = "link_has_spaces"
    NOT_A_DOC_KIND = "not_a_doc_kind"
    DOC_ALREADY_ADDED = "doc_already_added"
    NO_SUCH_DOC = "no_such_doc"
    SEVERAL_DOCS = "several_docs"
    DOC_NOT_RESTORABLE = "doc_not_restorable"
    DOC_ADDED_AGAIN = "doc_added_again"
    NOT_AN_ITEM_KEY = "not_an_item_key"
    ITEM_ALREADY_LISTED = "item_already_listed"
    GATE_MISSING = "gate_missing"
    NOT_A_GATE = "not_a_gate"
    ALREADY_WAIVED = "already_waived"
    REASON_MISSING = "reason_missing"
    GATE_REFUSED = "gate_refused"
    FORCE_NOT_ALLOWED = "force_not_allowed"
    # standups and nudges
    NO_EMBEDDED_ENGINEER = "no_embedded_engineer"
    NO_QUESTIONS = "no_questions"
    TOO_MANY_QUESTIONS = "too_many_questions"
    QUESTION_TOO_LONG = "question_too_long"
    NOT_THE_ASKED_ENGINEER = "not_the_asked_engineer"
    INITIATIVE_GONE = "initiative_gone"
    NO_EARLIER_ANSWER = "no_earlier_answer"
    AWAY_SPAN = "away_span"
    NOT_A_DATE = "not_a_date"
    AWAY_BACKWARDS = "away_backwards"
    AWAY_OVER = "away_over"
    AWAY_TOO_LONG = "away_too_long"
    AWAY_WORDS = "away_words"
    NO_AWAY = "no_away"
    SNOOZE_DAYS = "snooze_days"
    NUDGES_ALREADY = "nudges_already"
    DIGEST_ALREADY = "digest_already"
    # schedules
    NOT_A_TIME_OF_DAY = "not_a_time_of_day"
    ZONE_SUGGESTION = "zone_suggestion"
    NOT_A_ZONE_NAME = "not_a_zone_name"
    UNKNOWN_ZONE = "unknown_zone"
    NO_DAYS = "no_days"
    NOT_DAYS = "not_days"
    EXTRA_SCHEDULE_WORD = "extra_schedule_word"
    # Jira
    JIRA_FAILED = "jira_failed"
    NO_MATCHING_TRANSITION = "no_matching_transition"
    JIRA_UPDATE_REFUSED = "jira_update_refused"
    JIRA_LOOKUP_FAILED = "jira_lookup_failed"
    # standups
    STANDUP_GONE = "standup_gone"
    NOT_YOUR_STANDUP = "not_your_standup"
    # a plain-text reason the Slack side gives as it is (`data["text"]`)
    SAID = "said"


class HandoffError(Exception):
    """A problem the user can fix: its `kind` and the plain values (`data`) the wording needs, none of them escaped."""

    def __init__(self, kind: Problem, /, **data: Any):
        super().__init__(kind.value, data)
        self.kind = kind
        self.data: Mapping[str, Any] = data


class FieldProblem:
    """One wrong value: `field` is the option name the user typed (name, ds, due...), also the modal field."""

    def __init__(self, field: str, kind: Problem, /, **data: Any):
        self.field = field
        self.kind = kind
        self.data: Mapping[str, Any] = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldProblem) and (self.field, self.kind, self.data) == (
            other.field,
            other.kind,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.field, self.kind))

    def __repr__(self) -> str:
        return f"FieldProblem({self.field!r}, {self.kind}, {dict(self.data)!r})"


class InvalidInput(HandoffError):
    """One or more values are wrong; nothing was written."""

    def __init__(self, problems: Sequence[FieldProblem]):
        super().__init__(problems[0].kind if problems else Problem.SAID)
        self.problems = list(problems)

    @classmethod
    def single(cls, field: str, kind: Problem, /, **data: Any) -> InvalidInput:
        return cls([FieldProblem(field, kind, **data)])

    @classmethod
    def said(cls, field: str, text: str) -> InvalidInput:
        """A plain-text reason from the Slack side, shown as it is (escaped for mrkdwn)."""
        return cls.single(field, Problem.SAID, text=text)


class NothingToChange(HandoffError):
    """The change asked for is already in place."""


class UnknownInitiative(HandoffError):
    def __init__(self, reference: str):
        super().__init__(Problem.UNKNOWN_INITIATIVE, reference=reference)
        self.reference = reference


class AmbiguousInitiative(HandoffError):
    """`matches` are (name, reference key) pairs: the list teaches the keys, which never collide."""

    def __init__(self, reference: str, matches: Sequence[tuple[str, str]]):
        super().__init__(Problem.AMBIGUOUS_INITIATIVE, reference=reference, matches=list(matches))
        self.reference = reference
        self.matches = [name for name, _ in matches]


class DuplicateName(HandoffError):
    def __init__(self, name: str, archived: bool):
        super().__init__(Problem.DUPLICATE_NAME, name=name, archived=archived)
        self.name = name
        self.archived = archived


class UnknownUser(HandoffError):
    """`reason` is a plain phrase: "is not a member of this workspace", "is deactivated"..."""

    def __init__(self, user_id: str, reason: str = "is not a member of this workspace"):
        super().__init__(Problem.UNKNOWN_USER, user_id=user_id, reason=reason)
        self.user_id = user_id
        self.reason = reason


class NotAllowed(HandoffError):
    """The user may not make this change; `allowed` lists who may, `action` is a plain phrase ("change its phase")."""

    def __init__(self, action: str, allowed_user_ids: Sequence[str], kind: Problem = Problem.NOT_ALLOWED):
        super().__init__(kind, action=action)
        self.action = action
        self.allowed_user_ids = list(allowed_user_ids)


class SlackChannelUnavailable(HandoffError):
    """The bot cannot post in a channel; `error` is Slack's error code (`not_in_channel`, `is_archived`...)."""

    def __init__(self, channel_id: str, error: str):
        super().__init__(Problem.SLACK_CHANNEL_UNAVAILABLE, channel_id=channel_id, error=error)
        self.channel_id = channel_id
        self.error = error


def unusable_person(field: str, label: str, error: UnknownUser) -> FieldProblem:
    """The person picked for `field` (shown as `label`: "Owner", "DS lead") cannot take the role."""
    return FieldProblem(field, Problem.UNUSABLE_PERSON, label=label, user_id=error.user_id, reason=error.reason)
