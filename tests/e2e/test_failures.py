"""Failures inside the app never reach Slack as a timeout or dispatch_failed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RunningApp
from tests.support.databases import drop_initiatives


@pytest.mark.fresh_database
def test_an_unexpected_error_before_the_ack_is_answered_privately_with_a_reference(running: RunningApp) -> None:
    drop_initiatives(running.engine)
    answer = running.slack.command("status")
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    assert "Something went wrong" in answer.json["text"]
    assert "req-" in answer.json["text"]


@pytest.mark.fresh_database
def test_an_unexpected_error_in_a_modal_submission_shows_under_a_field(running: RunningApp) -> None:
    drop_initiatives(running.engine)
    view = {
        "type": "modal",
        "callback_id": "new_initiative",
        "title": {"type": "plain_text", "text": "New"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    values = {
        "name": {"value": {"type": "plain_text_input", "value": "Churn"}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": "C0GENERAL"}},
    }
    answer = running.slack.submit_view(view, values)
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert "Something went wrong" in body["errors"]["name"]
