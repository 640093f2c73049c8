"""Making user text safe for Slack mrkdwn, and reading the text of Slack messages as a person would."""

from __future__ import annotations

import re
from collections.abc import Mapping

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


# Anything Slack wraps in angle brackets in a message: a person, a channel, a group, a special mention, a date or
# a link, each optionally followed by `|label`.
_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SPECIAL_MENTIONS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def people_mentioned(text: str) -> list[str]:
    """The ids of the people a message's text mentions without naming them (`<@U123>`), in order, once each."""
    ids = [m.group(1)[1:] for m in _ENTITY.finditer(text) if m.group(1).startswith("@") and not m.group(2)]
    return list(dict.fromkeys(ids))


def plain_from_message(text: str, names: Mapping[str, str] | None = None) -> str:
    """A message's text as a person reads it, for prefilling a form: `<@U123>` reads `@alice` (by `names`, the
    handle of each id), `<#C123|general>` `#general`, `<!here>` `@here`, `<https://x|label>` `label (https://x)`,
    and `&amp;`, `&lt;`, `&gt;` their characters.

    Slack escapes those three characters in message text and wraps every entity in angle brackets, so the text
    between entities is unescaped piece by piece and an entity never reaches a form as raw syntax."""
    names = names or {}
    shown: list[str] = []
    position = 0
    for entity in _ENTITY.finditer(text):
        shown.append(unescape(text[position : entity.start()]))
        shown.append(_entity_as_read(entity.group(1), unescape(entity.group(2) or ""), names))
        position = entity.end()
    shown.append(unescape(text[position:]))
    return "".join(shown)


def first_link(text: str) -> str | None:
    """The first http(s) link in a message's text, as its address (Slack sends `<https://x|label>`), or None."""
    for entity in _ENTITY.finditer(text):
        target = entity.group(1)
        if target.startswith(("http://", "https://")):
            return unescape(target)
    return None


def links_as_typed(text: str) -> str:
    """Each email or host name Slack made a link of (`<mailto:a@b.io|a@b.io>`) back as typed: its label, or target."""
    return _ENTITY.sub(_link_as_typed, text)


def _link_as_typed(entity: re.Match[str]) -> str:
    target, label = entity.group(1), entity.group(2)
    if not target.startswith(("http://", "https://", "mailto:")):
        return entity.group(0)
    return label or target.removeprefix("mailto:")


def _entity_as_read(target: str, label: str, names: Mapping[str, str]) -> str:
    if target.startswith("@"):
        name = label.lstrip("@") or names.get(target[1:]) or target[1:]
        return f"@{name}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        special = target[1:]
        if special in _SPECIAL_MENTIONS:
            return _SPECIAL_MENTIONS[special]
        if special.startswith("subteam^"):
            return label if label.startswith("@") else f"@{label or 'group'}"
        return label  # `<!date^…|fallback>` reads as its fallback
    address = unescape(target)
    if address.startswith("mailto:"):
        return label or address.removeprefix("mailto:")
    if not label or label in (address, address.split("://", 1)[-1]):
        return address
    return f"{label} ({address})"
