"""Making user text safe for Slack mrkdwn."""

from __future__ import annotations

_MRKDWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` so user text is shown literally: `<!channel>` pings nobody, `<@U1>` mentions nobody.

    Slack's mrkdwn treats only these three as control characters; everything else is safe to pass through.
    """
    return text.translate(_MRKDWN_ESCAPES)


def unescape(text: str) -> str:
    """Undo Slack's escaping of slash-command text so we store what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis
