"""The grammar every subcommand shares: the tokenizer, and the parsers of users, channels, dates, links and
options. Each family's module parses its own subcommands with them into its own typed commands.

Slack sends slash-command text escaped (`&`, `<`, `>` as entities) and, because the manifest sets
`should_escape: true`, with picked users as `<@U123|alice>` and channels as `<#C123|general>`. A bare `@alice`
means Slack could not resolve the name, so it is rejected rather than guessed. Only double quotes group words:
apostrophes are common in notes ("don't"), and macOS turns typed quotes into curly ones, which count too.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, time

from bot import dates
from bot.blocks.problems import describe, unreadable_date
from bot.checkpoints import CheckpointField
from bot.errors import Problem
from bot.initiatives import CLEAR, Field
from bot.recurrence import (
    ScheduleError,
    looks_like_days,
    looks_like_timezone,
    parse_days,
    parse_time_of_day,
    parse_timezone,
)
from bot.text import echo, escape, unescape

USER_ENTITY = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
CHANNEL_ENTITY = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
OPTION = re.compile(r"^([A-Za-z_]{2,20}):(.*)$", re.DOTALL)
CURLY_DOUBLE_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
NONE_WORDS = frozenset({"none", "-", "clear"})
PERSON_OPTIONS = frozenset({Field.DS, Field.ENG, Field.EMBEDDED, CheckpointField.OWNER})
# References typed without their initiative (`#3` or `3`, `#i2`, `#b1`) mean this channel's initiative.
LOCAL_CHECKPOINT = re.compile(r"^#?\d{1,6}$")
LOCAL_IDEA = re.compile(r"^#[iI]\d{1,6}$")
LOCAL_BLOCKER = re.compile(r"^#[bB]\d{1,6}$")
LOCAL_ANY = re.compile(r"^#?[iIbB]?\d{1,6}$")


class UsageError(Exception):
    """The text does not fit the command's grammar; `usage_of` names the subcommand whose usage to show."""

    def __init__(self, message: str, usage_of: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage_of = usage_of


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool  # a quoted token is never a keyword such as `all` or a phase
    leading_quote: bool = False  # `"a: b"` is a word; `goal:"a b"` is an option with a quoted value


def did_you_mean(word: str, known: tuple[str, ...]) -> str:
    """` Did you mean `status`?` for the known word nearest to a typo, or nothing when none is near."""
    nearest = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.6)
    return f" Did you mean `{nearest[0]}`?" if nearest else ""


def unknown_action(
    token: Token, known: tuple[str, ...], what: str, usage_of: str, shown: tuple[str, ...] | None = None
) -> UsageError:
    """`checkpoint dnoe`: the nearest action, then every one (as `shown`, where an action takes a second word)."""
    suggestion = did_you_mean(token.text, known)
    listed = f"{what[:1].upper()}{what[1:]} commands: {', '.join(shown or known)}."
    return UsageError(f'"{escape(token.text)}" is not a {what} command.{suggestion} {listed}', usage_of)


def tokenize(text: str) -> list[Token]:
    """Split on whitespace; double quotes group words, including in `key:"some value"`."""
    text = text.translate(CURLY_DOUBLE_QUOTES).strip()
    tokens: list[Token] = []
    current: list[str] = []
    quoted = in_quotes = leading = started = False
    for char in text:
        if char == '"':
            if not started:
                leading = True
            in_quotes = not in_quotes
            quoted = started = True
        elif char.isspace() and not in_quotes:
            if started:
                tokens.append(Token(unescape("".join(current)), quoted, leading))
            current, quoted, leading, started = [], False, False, False
        else:
            current.append(char)
            started = True
    if in_quotes:
        raise UsageError('A double quote (") is not closed.')
    if started:
        tokens.append(Token(unescape("".join(current)), quoted, leading))
    return tokens


def time_zone_days(args: list[Token], usage_of: str) -> tuple[time, str | None, tuple[str, ...] | None]:
    """A time, then optionally a time zone and days in either order: `09:30 Europe/Berlin mon,wed,fri`."""
    try:
        at = parse_time_of_day(args[0].text)
        timezone: str | None = None
        days: tuple[str, ...] | None = None
        for token in args[1:]:
            word = token.text
            if days is None and (looks_like_days(word) or _meant_as_days(word)):
                days = parse_days(word)
            elif timezone is None:
                timezone = parse_timezone(word)
            else:
                raise ScheduleError(Problem.EXTRA_SCHEDULE_WORD, word=word)
    except ScheduleError as error:
        raise UsageError(describe(error), usage_of) from None
    return at, timezone, days


def _meant_as_days(word: str) -> bool:
    """A list (`mon,funday`) or a plain word (`funday`) is meant as days; a zone has a slash, is a zone name in any
    case (`cet`, `Japan`) or an abbreviation (`pst`), or is an unknown abbreviation in capitals (`XYZ`)."""
    if "/" in word or looks_like_timezone(word) or word.isupper():
        return False
    return "," in word or word.isalpha()


def split_options(tokens: list[Token], allowed: frozenset[str], usage_of: str) -> tuple[list[str], dict[str, str]]:
    """Words before the first `key:value` form the name; every later token must be an option.

    `due: 2027-03-01` and `ds: @alice` (a space after the colon) give the option the next token, unless that is an
    option itself; a `due:` value `next` takes the word after it too (`due:next friday`).
    """
    words: list[str] = []
    options: dict[str, str] = {}
    tokens = list(tokens)
    while tokens:
        token = tokens.pop(0)
        match = option_match(token)
        if match is None:
            if options:
                raise UsageError(
                    f'"{echo(token.text)}" comes after the options; put the name first, or quote it.',
                    usage_of,
                )
            words.append(token.text)
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key not in allowed:
            names = " ".join(f"`{a}:`" for a in sorted(allowed))
            raise UsageError(f"`{key}:` is not an option here. Options: {names}.", usage_of)
        if key in options:
            raise UsageError(f"`{key}:` is given twice.", usage_of)
        if not value and tokens and option_match(tokens[0]) is None:
            value = tokens.pop(0).text
        if key == Field.DUE and dates.takes_next_word(value) and tokens and option_match(tokens[0]) is None:
            value = f"{value} {tokens.pop(0).text}"
        options[key] = value
    return words, options


def option_match(token: Token) -> re.Match[str] | None:
    """`key:value`, unless quoted from its start (`"a: b"` is a word) or a link (`https://…`)."""
    if token.leading_quote or looks_like_url(token.text):
        return None
    return OPTION.match(token.text)


def is_word(token: Token, words: tuple[str, ...]) -> bool:
    """An unquoted keyword: a quoted word is never one."""
    return not token.quoted and token.text.lower() in words


def local_reference(token: Token, local: re.Pattern[str]) -> str:
    """`3` or `#3` (likewise `#i2`, `#b1`) as `#3`, waiting for this channel's initiative; other text as typed."""
    if token.quoted or not local.match(token.text):
        return token.text
    return token.text if token.text.startswith("#") else f"#{token.text}"


def looks_like_url(text: str) -> bool:
    return text.startswith(("http:", "https:", "mailto:"))


def option_value(option: str, raw: str, usage_of: str, today: date) -> object:
    value = raw.strip()
    if not value:
        raise UsageError(f"`{option}:` is missing its value.", usage_of)
    if value.lower() in NONE_WORDS:
        return CLEAR
    if option in PERSON_OPTIONS:
        return parse_user(value, option, usage_of)
    if option == Field.CHANNEL:
        return parse_channel(value, usage_of)
    if option == Field.DUE:
        return parse_date(value, option, usage_of, today)
    return value


def parse_user(value: str, option: str, usage_of: str) -> str:
    match = USER_ENTITY.match(value)
    if match:
        return match.group(1)
    if value.startswith("@"):
        raise UsageError(
            f"Slack doesn't know a user called `{echo(value)}`. Type @ and pick the person from the list, so it "
            "becomes a mention.",
            usage_of,
        )
    raise UsageError(f"`{option}:` takes a person, mentioned with @ (e.g. `{option}:@alice`).", usage_of)


def parse_link(value: str) -> str:
    """Slack sends a typed URL as `<https://…>` or `<https://…|label>`; the link is the part before the bar."""
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].split("|", 1)[0]
    return value


def parse_channel(value: str, usage_of: str) -> str:
    match = CHANNEL_ENTITY.match(value)
    if match:
        return match.group(1)
    raise UsageError(
        f"`channel:` takes a channel picked with # (e.g. `channel:#churn`); `{echo(value)}` is not one. For a "
        "private channel, invite me first.",
        usage_of,
    )


def parse_date(value: str, option: str, usage_of: str, today: date) -> date:
    try:
        return dates.parse_date(value, today=today)
    except dates.DateError as error:
        raise UsageError(unreadable_date(f"{option}:{value}", error), usage_of) from None


def opt_str(values: dict[str, object], key: str) -> str | None:
    value = values.get(key)
    return None if value is None else str(value)
