"""Uploading a chart into a channel, thread or DM with slack_sdk's `files_upload_v2`.

`files_upload_v2` drives Slack's external upload flow: `files.getUploadURLExternal`, a POST of the bytes to the URL
it hands out, then `files.completeUploadExternal`, which shares the file (`files.upload` is retired). A chart is an
extra: when Slack refuses it (no `files:write`, not in the channel, rate limited after the client's retries) the
caller answers in text with `CHART_UNAVAILABLE`, so the upload never fails what it illustrates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.base import Message
from bot.charts import Chart
from bot.text import escape

log = logging.getLogger(__name__)

CHART_UNAVAILABLE = (
    ":warning: The chart could not be attached: Slack refused the upload. Handoff needs the `files:write` scope and "
    "to be a member of the channel (`/invite @Handoff`). The figures are given in text instead."
)


@dataclass(frozen=True)
class UploadedChart:
    file_id: str
    permalink: str | None
    alt_text: str = ""  # what an `image` block showing the file says to those who cannot see it


def upload_chart(
    client: WebClient,
    chart: Chart,
    *,
    channel_id: str | None,
    thread_ts: str | None = None,
    initial_comment: str | None = None,
) -> UploadedChart | None:
    """Upload and share a chart (without `channel_id`, kept private to the app, for an `image` block to show); None
    (logged with Slack's error code only) when Slack or the network refuses."""
    try:
        response = client.files_upload_v2(
            file=chart.png,
            filename=chart.filename,
            title=chart.title,
            alt_txt=chart.alt_text,
            channel=channel_id,
            thread_ts=thread_ts,
            initial_comment=initial_comment,
        )
    except SlackApiError as error:
        log.warning(
            "chart not uploaded",
            extra={"slack_error": error.response.get("error"), "needed": error.response.get("needed")},
        )
        return None
    except (SlackClientError, OSError) as error:
        # The upload URL answered with an error status, or the connection failed; the URL itself is a secret.
        log.warning("chart not uploaded", extra={"upload_failure": type(error).__name__})
        return None
    file = response.get("file") or {}
    return UploadedChart(file_id=str(file.get("id") or ""), permalink=file.get("permalink"), alt_text=chart.alt_text)


def chart_answer(client: WebClient, chart: Chart, *, channel_id: str, posted: str) -> Message:
    """Share a chart where a command was typed; the private answer says so, or gives the figures in text."""
    from bot.blocks.help import render_notice  # listeners' wording: loaded with them, not with scheduled posting

    if upload_chart(client, chart, channel_id=channel_id) is not None:
        return render_notice(posted)
    return render_notice(f"{CHART_UNAVAILABLE}\n{escape(chart.alt_text)}")
