"""What end-to-end tests do to the running app and read back: commands and clicks as Slack sends them, the answers
they get, the kickoff thread and its replies, and the rows behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.fake_slack import FakeMessage
from storage.initiatives import get_initiative_by_name
from storage.models import Initiative, PhaseChange
from tests.conftest import RunningApp
from tests.support.blockkit import all_text, nodes
from tests.support.factories import count_rows
from tests.support.slack_driver import TEAM_ID, HttpResult
from tests.support.workspace import ALICE, GENERAL


@dataclass(frozen=True)
class Thread:
    """An initiative's kickoff thread: where every update about it goes."""

    channel: str
    ts: str
    permalink: str


# --- doing ------------------------------------------------------------------------------------------------


def run(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> tuple[HttpResult, list[dict]]:
    """Send a command, wait for its after-ack work, and return the ack plus what it posted to its response_url."""
    before = len(running.fake.response_posts)
    result = running.slack.command(text, user=user, channel=channel)
    assert result.status == 200, result.body
    running.settle()
    return result, [post.body for post in running.fake.response_posts[before:]]


def private_answer(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> str:
    """The one private answer a command gets, whether in the ack or through its response_url."""
    result, posts = run(running, text, user=user, channel=channel)
    if result.body:
        assert posts == [], "answered both in the ack and through the response_url"
        assert result.json.get("response_type", "ephemeral") == "ephemeral"
        return result.text
    assert len(posts) == 1, f"expected one private answer, got {posts!r}"
    assert posts[0]["response_type"] == "ephemeral"
    return all_text(posts[0])


def create(running: RunningApp, text: str, *, user: str = ALICE, channel: str = GENERAL) -> str:
    answer = private_answer(running, text, user=user, channel=channel)
    assert ":white_check_mark: Created" in answer, answer
    return answer


def click(running: RunningApp, action_id: str, value: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Click a button on a private answer; returns what the app answered through the response_url."""
    before = len(running.fake.response_posts)
    result = running.slack.action(action_id, value=value, **kwargs)
    assert (result.status, result.body) == (200, "")
    running.settle()
    return [p.body for p in running.fake.response_posts[before:]]


def click_in_channel(
    running: RunningApp, action_id: str, value: str | None, *, user: str = ALICE, channel: str = GENERAL
) -> list[dict[str, Any]]:
    """Click a button on a channel message; returns what the app answered through the response_url."""
    before = len(running.fake.response_posts)
    container = {"type": "message", "message_ts": "1.0", "channel_id": channel, "is_ephemeral": False}
    result = running.slack.action(action_id, value=value, user=user, channel=channel, container=container)
    assert (result.status, result.body) == (200, "")
    running.settle()
    return [post.body for post in running.fake.response_posts[before:]]


# --- reading back -----------------------------------------------------------------------------------------


def load(engine: Engine, name: str) -> Initiative:
    with Session(engine) as session:
        initiative = get_initiative_by_name(session=session, team_id=TEAM_ID, name=name)
        assert initiative is not None, f"no initiative {name!r} in the database"
        return initiative


def row_counts(engine: Engine) -> tuple[int, int]:
    """How many initiatives and phase changes are stored."""
    with Session(engine) as session:
        return count_rows(session, Initiative), count_rows(session, PhaseChange)


def kickoff_of(running: RunningApp, name: str) -> Any:
    """The kickoff message the fake Slack holds for an initiative."""
    initiative = load(running.engine, name)
    assert initiative.thread_channel_id and initiative.thread_ts
    [root] = [
        m
        for m in running.fake.messages_in(initiative.thread_channel_id)
        if m.ts == initiative.thread_ts and m.thread_ts is None
    ]
    return root


def replies(running: RunningApp, thread: Thread) -> list[FakeMessage]:
    """The messages everyone sees in the initiative's thread, oldest first; files shared there (a breach alert's
    chart) are read with `running.fake.shared_files`."""
    return [
        m
        for m in running.fake.messages_in(thread.channel, thread_ts=thread.ts)
        if m.ts != thread.ts and m.ephemeral_to is None and m.files is None
    ]


def blocks_of(message: FakeMessage) -> list[dict[str, Any]]:
    assert message.blocks, f"a message without blocks: {message.text!r}"
    return message.blocks


def text_objects(payload: dict[str, Any], kind: str) -> list[str]:
    return [n["text"] for n in nodes(payload.get("blocks") or []) if isinstance(n, dict) and n.get("type") == kind]


def mrkdwn_strings(payload: dict[str, Any]) -> list[str]:
    """Every string Slack formats as mrkdwn (where `<!channel>` pings and `<@U…>` mentions): the message's
    `text` and every mrkdwn text object. plain_text objects show such sequences literally, so they are left out."""
    fallback = [payload["text"]] if isinstance(payload.get("text"), str) else []
    return fallback + text_objects(payload, "mrkdwn")


def plain_strings(payload: dict[str, Any]) -> list[str]:
    return text_objects(payload, "plain_text")
