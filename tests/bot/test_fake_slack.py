"""FakeSlack, driven only through slack_sdk's real clients, as the bot drives it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.fake_slack import (
    METHOD_SCOPES,
    FakeChannel,
    FakeSlack,
    FakeUser,
    RecordedCall,
    ResponseUrlPost,
)

BOT = "UBOT"


def _seed(fake: FakeSlack) -> FakeSlack:
    fake.add_user(FakeUser(id="U100", name="ann", real_name="Ann Lee", tz="America/Los_Angeles", is_admin=True))
    fake.add_user(FakeUser(id="U200", name="bob", real_name="Bob Roe", tz="Europe/Berlin"))
    fake.add_channel(FakeChannel(id="C100", name="support", members={BOT, "U100", "U200"}))
    fake.add_channel(FakeChannel(id="C200", name="random", members={"U100"}))
    fake.add_channel(FakeChannel(id="C300", name="secret", is_private=True, members={"U100"}))
    fake.add_channel(FakeChannel(id="C400", name="old", is_archived=True, members={BOT}))
    return fake


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield _seed(f)


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=5)


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_urls(fake: FakeSlack) -> None:
    assert fake.api_url == f"{fake.base_url}/api/"
    assert fake.base_url.startswith("http://127.0.0.1:")


def test_auth_test_and_api_test(fake: FakeSlack, client: WebClient) -> None:
    auth = client.auth_test()
    assert auth["user_id"] == BOT
    assert auth["team_id"] == "T0001"
    assert auth["bot_id"] == "B0001"
    assert auth["url"] == "https://handoff-test.slack.com/"
    assert client.api_test()["ok"] is True
    with pytest.raises(SlackApiError) as exc:
        client.api_test(error="my_error")
    assert _error(exc) == "my_error"


def test_post_message_in_member_channel(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    resp = client.chat_postMessage(channel="C100", text="hi", blocks=blocks)
    assert resp["channel"] == "C100"
    assert resp["message"]["user"] == BOT
    assert resp["message"]["bot_id"] == "B0001"
    assert resp["message"]["blocks"] == blocks

    reply = client.chat_postMessage(channel="C100", text="in thread", thread_ts=resp["ts"])
    assert reply["ts"] > resp["ts"]
    assert reply["message"]["thread_ts"] == resp["ts"]

    (call, _) = fake.calls_to("chat.postMessage")
    assert call == RecordedCall(
        method="chat.postMessage",
        args={"channel": "C100", "text": "hi", "blocks": blocks},
        token=fake.bot_token,
        response=call.response,
        status=200,
    )
    assert [m.text for m in fake.messages_in("C100")] == ["hi", "in thread"]
    assert [m.text for m in fake.messages_in("C100", include_thread_replies=False)] == ["hi"]
    assert [m.text for m in fake.messages_in("C100", thread_ts=resp["ts"])] == ["hi", "in thread"]
    assert fake.messages_in("C100")[0].blocks == blocks


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: WebClient, encoding: str) -> None:
    blocks = [{"type": "divider"}]
    form = {"channel": "C100", "text": "x", "blocks": json.dumps(blocks)}
    if encoding == "form":
        client.api_call("chat.postMessage", params=form)
    else:
        client.api_call("chat.postMessage", data=form)
    (call,) = fake.calls_to("chat.postMessage")
    assert call.args["blocks"] == blocks
    assert fake.messages_in("C100")[0].blocks == blocks


def test_dm_by_user_id(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="U100", text="psst")
    dm = resp["channel"]
    assert dm.startswith("D")
    assert fake.dm_channel_id("U100") == dm
    assert [m.text for m in fake.messages_in("U100")] == ["psst"]
    assert [m.text for m in fake.messages_in(dm)] == ["psst"]
    opened = client.conversations_open(users="U100")
    assert opened["channel"]["id"] == dm
    assert client.chat_postMessage(channel="U100", text="again")["channel"] == dm
    info = client.conversations_info(channel=dm)["channel"]
    assert info["is_im"] is True and info["user"] == "U100"


def test_channel_errors(fake: FakeSlack, client: WebClient) -> None:
    cases = {
        "CNOPE": "channel_not_found",
        "C300": "channel_not_found",  # private, bot not in it
        "C400": "is_archived",
        "UNOPE": "channel_not_found",  # DM with a user who doesn't exist
    }
    for channel, error in cases.items():
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=channel, text="x")
        assert _error(exc) == error, channel
    # public_write defaults to True: a public channel the bot isn't in is fine (chat:write.public).
    assert client.chat_postMessage(channel="C200", text="x")["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 5  # failed calls are recorded too


def test_not_in_channel_without_public_write() -> None:
    with FakeSlack(public_write=False) as fake:
        _seed(fake)
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C200", text="x")
        assert _error(exc) == "not_in_channel"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_no_text_and_limits(fake: FakeSlack, client: WebClient) -> None:
    divider = {"type": "divider"}
    too_long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}}
    cases: list[tuple[dict, str]] = [
        ({}, "no_text"),
        ({"text": "x", "blocks": [divider] * 51}, "invalid_blocks"),
        ({"text": "x", "blocks": [too_long_section]}, "invalid_blocks"),
        ({"text": "a" * 40_001}, "msg_too_long"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C100", **kwargs)
        assert _error(exc) == error
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C100", text="x", blocks=[divider] * 51)
    assert "must be less than 51 items" in exc.value.response["response_metadata"]["messages"][0]
    assert client.chat_postMessage(channel="C100", text="x", blocks=[divider] * 50)["ok"]
    assert len(fake.messages_in("C100")) == 1


def test_invalid_and_missing_auth(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).chat_postMessage(channel="C100", text="x")
    assert _error(exc) == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=fake.api_url).auth_test()
    assert _error(exc) == "not_authed"
    assert [c.token for c in fake.calls] == ["xoxb-wrong", None]
    assert fake.messages_in("C100") == []


def test_missing_scope() -> None:
    with FakeSlack(granted_scopes={"chat:write", "channels:read"}) as fake:
        _seed(fake)
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as exc:
            client.users_info(user="U100")
        assert exc.value.response["error"] == "missing_scope"
        assert exc.value.response["needed"] == "users:read"
        assert exc.value.response["provided"] == "channels:read,chat:write"
        # Without chat:write.public the bot can only post where it is a member.
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C200", text="x")
        assert _error(exc) == "not_in_channel"
        assert client.chat_postMessage(channel="C100", text="x")["ok"]
        assert client.conversations_info(channel="C100")["channel"]["is_member"] is True
        with pytest.raises(SlackApiError) as exc:
            client.conversations_info(channel="C300")
        assert exc.value.response["needed"] == "groups:read"
    assert METHOD_SCOPES["chat.postMessage"] == "chat:write"


def test_fail_next_ratelimited_is_a_429_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C100", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert _error(exc) == "ratelimited"
    assert client.chat_postMessage(channel="C100", text="x")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_fail_next_other_errors(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("users.info", error="fatal_error", status=500, times=2)
    fake.fail_next("users.info", error="account_inactive")
    for status, error in [(500, "fatal_error"), (500, "fatal_error"), (200, "account_inactive")]:
        with pytest.raises(SlackApiError) as exc:
            client.users_info(user="U100")
        assert (exc.value.response.status_code, _error(exc)) == (status, error)
    assert client.users_info(user="U100")["ok"]


def test_update_delete_and_permalink(fake: FakeSlack, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C100", text="v1")
    updated = client.chat_update(channel="C100", ts=root["ts"], text="v2", blocks=[{"type": "divider"}])
    assert updated["text"] == "v2"
    assert updated["ts"] == root["ts"]
    (msg,) = fake.messages_in("C100")
    assert (msg.text, msg.blocks) == ("v2", [{"type": "divider"}])

    link = client.chat_getPermalink(channel="C100", message_ts=root["ts"])["permalink"]
    assert link == f"https://handoff-test.slack.com/archives/C100/p{root['ts'].replace('.', '')}"
    reply = client.chat_postMessage(channel="C100", text="r", thread_ts=root["ts"])
    reply_link = client.chat_getPermalink(channel="C100", message_ts=reply["ts"])["permalink"]
    assert reply_link.endswith(f"?thread_ts={root['ts']}&cid=C100")

    user_msg = fake.add_message("C100", "from a human", user="U100")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C100", ts=user_msg.ts, text="hijack")
    assert _error(exc) == "cant_update_message"

    assert client.chat_delete(channel="C100", ts=root["ts"])["ok"]
    assert [m.text for m in fake.messages_in("C100")] == ["r", "from a human"]
    assert fake.messages_in("C100", include_deleted=True)[0].deleted is True
    for call in (
        lambda: client.chat_update(channel="C100", ts=root["ts"], text="v3"),
        lambda: client.chat_delete(channel="C100", ts=root["ts"]),
        lambda: client.chat_getPermalink(channel="C100", message_ts="1.000001"),
    ):
        with pytest.raises(SlackApiError) as exc:
            call()
        assert _error(exc) == "message_not_found"


def test_post_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel="C100", user="U100", text="only you")
    (msg,) = fake.messages_in("C100")
    assert (msg.ts, msg.ephemeral_to) == (resp["message_ts"], "U100")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel="C100", user="UNOPE", text="x")
    assert _error(exc) == "user_not_found"


def test_users_info(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user="U100")["user"]
    assert user["tz"] == "America/Los_Angeles"
    assert user["tz_offset"] in (-28800, -25200)
    assert user["is_admin"] is True
    assert user["profile"]["real_name"] == "Ann Lee"
    assert client.users_info(user="U200")["user"]["tz_offset"] in (3600, 7200)
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="UNOPE")
    assert _error(exc) == "user_not_found"


def test_conversations_info(fake: FakeSlack, client: WebClient) -> None:
    info = client.conversations_info(channel="C200")["channel"]
    assert (info["name"], info["is_private"], info["is_member"]) == ("random", False, False)
    with pytest.raises(SlackApiError) as exc:
        client.conversations_info(channel="C300")  # private, bot not in it
    assert _error(exc) == "channel_not_found"


def _modal(title: str = "Hand off", blocks: list | None = None) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks or []}


def test_views_open_trigger_ids(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=_modal())["view"]
    assert opened["id"].startswith("V")
    assert opened["root_view_id"] == opened["id"]
    assert opened["title"]["text"] == "Hand off"
    assert fake.views[opened["id"]]["hash"] == opened["hash"]
    # slack_sdk's JSON nulls for unset arguments (interactivity_pointer) are dropped from recordings.
    assert fake.calls_to("views.open")[0].args == {"trigger_id": trigger, "view": _modal()}

    for trigger_id, error in [(trigger, "expired_trigger_id"), ("123.456.nope", "invalid_trigger_id")]:
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id=trigger_id, view=_modal())
        assert _error(exc) == error

    updated = client.views_update(view_id=opened["id"], view=_modal("Done"), hash=opened["hash"])["view"]
    assert (updated["id"], updated["title"]["text"]) == (opened["id"], "Done")
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id="VNOPE", view=_modal())
    assert _error(exc) == "not_found"


def test_view_limits_do_not_burn_the_trigger(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id()
    bad_views = [_modal(blocks=[{"type": "divider"}] * 101), _modal(title="x" * 25), {"type": "home"}]
    for view in bad_views:
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id=trigger, view=view)
        assert _error(exc) == "invalid_arguments"
    assert client.views_push(trigger_id=trigger, view=_modal(blocks=[{"type": "divider"}] * 100))["ok"]


def test_views_publish(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_publish(user_id="U100", view={"type": "home", "blocks": []})["view"]
    assert fake.home_views["U100"]["id"] == view["id"]
    with pytest.raises(SlackApiError) as exc:
        client.views_publish(user_id="UNOPE", view={"type": "home", "blocks": []})
    assert _error(exc) == "invalid_arguments"


def test_apps_connections_open_needs_app_token() -> None:
    with FakeSlack(app_token="xapp-1-test") as fake:
        fake.socket_mode_url = "ws://127.0.0.1:1234/link"
        client = WebClient(base_url=fake.api_url)
        assert client.apps_connections_open(app_token="xapp-1-test")["url"] == "ws://127.0.0.1:1234/link"
        with pytest.raises(SlackApiError) as exc:
            client.apps_connections_open(app_token=fake.bot_token)
        assert _error(exc) == "not_allowed_token_type"
        assert fake.calls_to("apps.connections.open")[0].token == "xapp-1-test"


def test_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("chat.nope")
    assert _error(exc) == "unknown_method"


def test_response_url_records_and_allows_five_uses(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    webhook = WebhookClient(url, timeout=5)
    for i in range(5):
        resp = webhook.send(text=f"reply {i}", replace_original=True)
        assert (resp.status_code, resp.body) == (200, "ok")
    resp = webhook.send(text="one too many")
    assert (resp.status_code, resp.body) == (404, "used_url")

    posts = fake.wait_for_response_posts(5)
    key = url.rsplit("/", 1)[1]
    assert posts[0] == ResponseUrlPost(key=key, body={"text": "reply 0", "replace_original": True})
    assert len(fake.response_posts) == 5

    unknown = WebhookClient(f"{fake.base_url}/response/nope").send(text="x")
    assert (unknown.status_code, unknown.body) == (404, "expired_url")


def test_response_url_rejects_invalid_blocks(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.new_response_url())
    resp = webhook.send(text="x", blocks=[{"type": "divider"}] * 51)
    assert (resp.status_code, resp.body) == (400, "invalid_blocks")
    assert fake.response_posts == []
    assert webhook.send_dict({"delete_original": True}).status_code == 200


def test_wait_for_calls_explains_what_it_saw(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C100", text="hello")
    assert len(fake.wait_for_calls("chat.postMessage")) == 1
    with pytest.raises(AssertionError) as exc:
        fake.wait_for_calls("chat.update", timeout=0.1)
    message = str(exc.value)
    assert "expected at least 1 call(s) to chat.update" in message
    assert "chat.postMessage [200 ok]" in message and '"hello"' in message
    with pytest.raises(AssertionError, match="response_url post"):
        fake.wait_for_response_posts(timeout=0.05)


def test_wait_for_wakes_on_calls_from_other_threads(fake: FakeSlack, client: WebClient) -> None:
    worker = threading.Thread(target=lambda: client.chat_postMessage(channel="C100", text="bg"))
    worker.start()
    assert fake.wait_for(lambda: len(fake.messages_in("C100")) == 1, timeout=5)
    worker.join()


def test_reset_keeps_users_and_channels(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C100", text="x")
    fake.fail_next("chat.postMessage")
    fake.reset()
    assert fake.calls == [] and fake.messages_in("C100") == []
    assert client.chat_postMessage(channel="C100", text="y")["ok"]
    assert client.users_info(user="U100")["ok"]


def test_enforce_rate_limits(fake: FakeSlack, client: WebClient) -> None:
    fake.enforce_rate_limits(per_channel_per_second=20.0, burst=1)
    assert client.chat_postMessage(channel="C100", text="1")["ok"]
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C100", text="2")
    assert exc.value.response.status_code == 429
    assert int(exc.value.response.headers["Retry-After"]) >= 1
    # Another channel has its own budget.
    assert client.chat_postMessage(channel="C200", text="elsewhere")["ok"]
    time.sleep(0.06)  # one refill at 20/s
    assert client.chat_postMessage(channel="C100", text="3")["ok"]
    assert [m.text for m in fake.messages_in("C100")] == ["1", "3"]


# --- file uploads: the external upload flow files_upload_v2 drives ------------------------------------------------


def test_files_upload_v2_keeps_the_bytes_and_shares_them_in_the_thread(fake: FakeSlack, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C100", text="alert")["ts"]

    response = client.files_upload_v2(
        file=b"\x89PNG-bytes", filename="trend.png", title="Trend", alt_txt="A line", channel="C100", thread_ts=root
    )

    [file] = fake.files
    assert (file.content, file.length, file.title, file.alt_txt) == (b"\x89PNG-bytes", 10, "Trend", "A line")
    assert [(s.channel, s.thread_ts) for s in file.shares] == [("C100", root)]
    assert fake.shared_files("C100", thread_ts=root) == [file]
    assert response["file"]["id"] == file.id and response["file"]["mimetype"] == "image/png"
    [share] = [m for m in fake.messages_in("C100", thread_ts=root) if m.files]
    assert fake.message_payload("C100", share.ts)["subtype"] == "file_share"  # type: ignore[index]
    assert [c.method for c in fake.calls][1:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_file_upload_errors_are_slacks(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.files_getUploadURLExternal(filename="", length=0)
    assert _error(exc) == "invalid_arguments"
    announced = client.files_getUploadURLExternal(filename="a.png", length=3)
    with pytest.raises(SlackApiError) as exc:  # the bytes never reached the upload URL
        client.files_completeUploadExternal(files=[{"id": announced["file_id"]}], channel_id="C100")
    assert _error(exc) == "file_not_found"
    for channel, error in (("C200", "not_in_channel"), ("C300", "channel_not_found"), ("C999", "channel_not_found")):
        with pytest.raises(SlackApiError) as exc:
            client.files_upload_v2(file=b"png", filename="a.png", channel=channel)
        assert _error(exc) == error
    assert all(not f.shares for f in fake.files)


def test_file_upload_rate_limited_and_without_the_scope() -> None:
    with FakeSlack(granted_scopes={"chat:write"}) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as exc:
            client.files_upload_v2(file=b"png", filename="a.png", channel="C100")
        assert (exc.value.response["error"], exc.value.response["needed"]) == ("missing_scope", "files:write")
        fake.granted_scopes = {"files:write"}
        fake.fail_next("files.completeUploadExternal", retry_after=7)
        with pytest.raises(SlackApiError) as exc:
            client.files_upload_v2(file=b"png", filename="a.png")
        assert exc.value.response.status_code == 429
        assert exc.value.response.headers["Retry-After"] == "7"
