"""Making user text safe for Slack mrkdwn."""

from __future__ import annotations

import re

# What Slack's escaping turns a picked person, channel or typed link into; `<!channel>` and friends are not here.
_PICKED = re.compile(r"<([@#])[UWCG][A-Z0-9]{2,}\|([^<>|]+)>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|]*)(?:\|[^<>]*)?>")
_MRKDWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` so user text is shown literally: `<!channel>` pings nobody, `<@U1>` mentions nobody.

    Slack's mrkdwn treats only these three as control characters; everything else is safe to pass through.
    """
    if "&" in text or "<" in text or ">" in text:
        return text.translate(_MRKDWN_ESCAPES)
    return text  # most text has none of them, and looking is cheaper than translating


def echo(text: str) -> str:
    """User text to show back to them: escaped like `escape`, but a person or channel they picked reads as `@alice`
    or `#general` and a link as its address, never as Slack's `<@U…|alice>`.

    Slack sends a picked person with their name (`<@U123|alice>`); a bare `<@U123>` may be text someone typed, which
    stays escaped so it mentions nobody.
    """
    shown: list[str] = []
    position = 0
    for entity in re.finditer(f"{_PICKED.pattern}|{_LINK.pattern}", text):
        shown.append(escape(text[position : entity.start()]))
        sigil, name, url = entity.groups()
        shown.append(escape(url if url is not None else f"{sigil}{name}"))
        position = entity.end()
    shown.append(escape(text[position:]))
    return "".join(shown)


def unescape(text: str) -> str:
    """Undo Slack's escaping of slash-command text so we store what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis
