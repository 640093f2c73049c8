"""Typed queries for initiatives and their phase history."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Row, bindparam, case, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, or_, select

from storage.models import Initiative, PhaseChange

# A key is typed after `/handoff` and before `#3`, so it is short: 16 columns, where a wide (CJK) character takes
# two, as it does on screen. "日本語モデル" (12 columns) keeps its whole first word; a Latin word keeps 16 letters.
REF_KEY_BASE_COLUMNS = 16
REF_KEY_FALLBACK = "initiative"  # a name without a word of two letters or digits, such as "📈" or "X"
# Latin letters whose stroke or ligature NFKD does not take apart.
_LATIN_WITHOUT_DECOMPOSITION = str.maketrans(
    {"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"}
)


def fold_ref_key(text: str) -> str:
    """Case and Latin accents folded away, other scripts kept: `Prévision` → `prevision`, `Straße` → `strasse`,
    `日本語` stays. Keys are stored folded, and what people type is folded the same way to find them."""
    folded: list[str] = []
    for char in unicodedata.normalize("NFC", text).casefold().translate(_LATIN_WITHOUT_DECOMPOSITION):
        bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if not bare and folded and folded[-1].isascii():
            continue  # a mark left on a Latin letter, as casefold leaves the dot of `İ`
        # `é` → `e`, `ﬁ` → `fi`, a full-width A → `a`; but `デ` keeps its voicing mark, and Devanagari its vowel signs.
        folded.append(bare.lower() if bare and bare.isascii() else char)
    return "".join(folded)


def ref_key_base(name: str) -> str:
    """The first word of a name, folded (`fold_ref_key`): "Churn model v2" → `churn`, "Übersetzung Modell" →
    `ubersetzung`, "日本語モデル" → `日本語モデル`. Emoji and punctuation separate words; a lone letter is skipped."""
    words = _words(fold_ref_key(name))
    word = next((w for w in words if len(w) > 1), "".join(words))
    return _within_columns(word) if len(word) > 1 else REF_KEY_FALLBACK


def _words(text: str) -> list[str]:
    words, current = [], []
    for char in text:
        if char.isalpha() or char.isdecimal() or unicodedata.category(char).startswith("M"):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _within_columns(word: str) -> str:
    used = 0
    for index, char in enumerate(word):
        used += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used > REF_KEY_BASE_COLUMNS:
            return word[:index]
    return word


def free_ref_key(*, session: Session, team_id: str, name: str) -> str:
    """A reference key no other initiative of the workspace has: `churn`, else `churn2`, `churn3`…"""
    base = ref_key_base(name)
    statement = select(Initiative.ref_key).where(
        Initiative.team_id == team_id, col(Initiative.ref_key).like(f"{base}%")
    )
    taken = set(session.exec(statement).all())
    if base not in taken:
        return base
    suffix = 2
    while f"{base}{suffix}" in taken:
        suffix += 1
    return f"{base}{suffix}"


def get_initiative_by_ref_key(*, session: Session, team_id: str, ref_key: str) -> Initiative | None:
    statement = select(Initiative).where(Initiative.team_id == team_id, Initiative.ref_key == fold_ref_key(ref_key))
    return session.exec(statement).first()


def name_key(name: str) -> str:
    """The case-insensitive identity of a name ("Churn Model" and "churn model" collide)."""
    return " ".join(name.split()).casefold()


def get_initiative(*, session: Session, team_id: str, initiative_id: int) -> Initiative | None:
    initiative = session.get(Initiative, initiative_id)
    return initiative if initiative is not None and initiative.team_id == team_id else None


def get_initiative_by_name(*, session: Session, team_id: str, name: str) -> Initiative | None:
    statement = select(Initiative).where(Initiative.team_id == team_id, Initiative.name_key == name_key(name))
    return session.exec(statement).first()


def find_initiatives_by_prefix(
    *,
    session: Session,
    team_id: str,
    prefix: str,
    include_archived: bool = False,
    only_archived: bool = False,
    limit: int = 10,
) -> Sequence[Initiative]:
    """Initiatives whose name or reference key starts with `prefix`, case-insensitively: active ones, or also (or
    only) archived."""
    statement = select(Initiative).where(
        Initiative.team_id == team_id,
        or_(
            col(Initiative.name_key).like(f"{like_escaped(name_key(prefix))}%", escape="\\"),
            col(Initiative.ref_key).like(f"{like_escaped(fold_ref_key(prefix))}%", escape="\\"),
        ),
    )
    if only_archived:
        statement = statement.where(col(Initiative.archived).is_(True))
    elif not include_archived:
        statement = statement.where(col(Initiative.archived).is_(False))
    statement = statement.order_by(col(Initiative.name_key)).limit(limit)
    return session.exec(statement).all()


def list_initiatives_for_user(*, session: Session, team_id: str, user_id: str, limit: int = 50) -> Sequence[Initiative]:
    """Active initiatives where the user is a lead, the embedded engineer or the creator."""
    statement = (
        select(Initiative)
        .where(
            Initiative.team_id == team_id,
            col(Initiative.archived).is_(False),
            or_(
                Initiative.ds_lead_id == user_id,
                Initiative.eng_lead_id == user_id,
                Initiative.embedded_engineer_id == user_id,
                Initiative.created_by == user_id,
            ),
        )
        .order_by(col(Initiative.name_key))
        .limit(limit)
    )
    return session.exec(statement).all()


def list_phase_history(*, session: Session, initiative_id: int) -> Sequence[PhaseChange]:
    statement = (
        select(PhaseChange)
        .where(PhaseChange.initiative_id == initiative_id)
        .order_by(col(PhaseChange.changed_at), col(PhaseChange.id))
    )
    return session.exec(statement).all()


def latest_phase_changes(*, session: Session, initiative_ids: Sequence[int]) -> dict[int, PhaseChange]:
    """The most recent phase change of each initiative, in one query (for "days in phase")."""
    if not initiative_ids:
        return {}
    newest = (
        select(PhaseChange.initiative_id, func.max(PhaseChange.id).label("newest_id"))
        .where(col(PhaseChange.initiative_id).in_(initiative_ids))
        .group_by(col(PhaseChange.initiative_id))
        .subquery()
    )
    statement = select(PhaseChange).join(newest, col(PhaseChange.id) == newest.c.newest_id)
    return {change.initiative_id: change for change in session.exec(statement).all()}


def add_initiative(*, session: Session, initiative: Initiative, first_change: PhaseChange) -> Initiative:
    """Store a new initiative and its first phase-history row; a missing reference key is picked here."""
    if not initiative.ref_key:
        initiative.ref_key = free_ref_key(session=session, team_id=initiative.team_id, name=initiative.name)
    session.add(initiative)
    session.flush()
    assert initiative.id is not None
    first_change.initiative_id = initiative.id
    session.add(first_change)
    session.flush()
    return initiative


def add_phase_change(*, session: Session, change: PhaseChange) -> PhaseChange:
    session.add(change)
    session.flush()
    return change


def delete_initiative(*, session: Session, initiative: Initiative) -> None:
    session.delete(initiative)
    session.flush()


# The status and list pages are the hottest read: their statement (`storage.page_facts`) is prebuilt, with no
# per-request statement building and a compiled-cache hit every time, from the pieces here: which cards a page
# shows, their total for paging, and each card's phase start.
_phase_since = (
    core_select(col(PhaseChange.changed_at))
    .where(col(PhaseChange.initiative_id) == col(Initiative.id))
    .order_by(col(PhaseChange.id).desc())
    .limit(1)
    .correlate(Initiative)
    .scalar_subquery()
)


def phase_since_column():  # type: ignore[no-untyped-def]
    """When each initiative entered its current phase, as a correlated subquery of a select over initiatives."""
    return _phase_since


CARD_COLUMNS = (
    "id",
    "name",
    "ref_key",
    "phase",
    "goal",
    "ds_lead_id",
    "eng_lead_id",
    "embedded_engineer_id",
    "target_date",
    "jira_epic_key",
    "home_channel_id",
    "created_at",
)


def active_card_conditions(*, in_channel: bool) -> list[Any]:
    """Which initiatives a page lists: the workspace's active ones, or those of one home channel."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    if not in_channel:
        return [table.c.team_id == bindparam("team_id"), table.c.archived.is_(False)]
    # `archived IS NOT true` rather than `archived IS false` (the same for a column that is never NULL): SQLite,
    # without statistics, sees two equalities on the (team, archived, name) index as good as two on the (team,
    # channel, name) one and may pick it by the order the indexes were created in, reading every initiative of the
    # workspace to find a channel's ten; `IS NOT` is no equality, so the channel's index is the only good one.
    channel = table.c.home_channel_id == bindparam("channel_id")
    return [table.c.team_id == bindparam("team_id"), channel, table.c.archived.is_not(True)]


def _card_statement(*, in_channel: bool):  # type: ignore[no-untyped-def]
    table = Initiative.__table__  # type: ignore[attr-defined]
    statement = core_select(
        *(table.c[name] for name in CARD_COLUMNS),
        _phase_since.label("phase_since"),
    ).where(*active_card_conditions(in_channel=in_channel))
    return statement.order_by(table.c.name_key).limit(bindparam("limit")).offset(bindparam("offset"))


def _count_statement(*, in_channel: bool):  # type: ignore[no-untyped-def]
    return core_select(func.count()).where(*active_card_conditions(in_channel=in_channel))


def card_total(*, in_channel: bool) -> Any:
    """How many active initiatives a page lists in all (bound: `team_id`, and `channel_id` in a channel)."""
    return core_select(func.count()).select_from(Initiative).where(*active_card_conditions(in_channel=in_channel))


def shown_cards(*, in_channel: bool) -> Any:
    """The ids and name keys of one page of cards, by name, from the bound `offset` and `page_size`; an offset past
    the end (the list shrank since a paging button was drawn) reads the last page."""
    table = Initiative.__table__  # type: ignore[attr-defined]
    size = bindparam("page_size", type_=Integer())
    wanted = bindparam("offset", type_=Integer())
    last = (func.count() - 1) // size * size  # 0 for an empty list: integer division truncates towards zero
    clamped = card_total(in_channel=in_channel).with_only_columns(case((wanted <= last, wanted), else_=last))
    offset = case((wanted == 0, wanted), else_=clamped.scalar_subquery())  # the first page needs no count
    shown = core_select(table.c.id, table.c.name_key).where(*active_card_conditions(in_channel=in_channel))
    return shown.order_by(table.c.name_key).limit(size).offset(offset)


_CARDS_IN_CHANNEL = _card_statement(in_channel=True)
_CARDS_IN_WORKSPACE = _card_statement(in_channel=False)
_COUNT_IN_CHANNEL = _count_statement(in_channel=True)
_COUNT_IN_WORKSPACE = _count_statement(in_channel=False)


def list_initiative_cards(
    *, session: Session, team_id: str, channel_id: str | None, offset: int, limit: int
) -> Sequence[Row]:
    """One page of active initiatives in a channel (or the workspace), by name: card columns and `phase_since`."""
    statement = _CARDS_IN_WORKSPACE if channel_id is None else _CARDS_IN_CHANNEL
    params = {"team_id": team_id, "channel_id": channel_id, "offset": offset, "limit": limit}
    return session.connection().execute(statement, params).all()


def count_initiative_cards(*, session: Session, team_id: str, channel_id: str | None) -> int:
    statement = _COUNT_IN_WORKSPACE if channel_id is None else _COUNT_IN_CHANNEL
    return int(session.connection().execute(statement, {"team_id": team_id, "channel_id": channel_id}).scalar_one())


# Besides its start, a word of a name starts after one of these: "Churn model (v2)", "churn-model", "ds/ml", "ab_test".
NAME_WORD_SEPARATORS = (" ", "-", "/", "(", "_")


def search_active_initiatives(
    *, session: Session, team_id: str, query: str, channel_id: str | None, limit: int = 100
) -> list[Initiative]:
    """Active initiatives whose name, a word of their name, or reference key starts with `query` (ignoring case), at
    most `limit`: those at home in `channel_id` first, then the others, each by name.

    Two statements rather than one ordered by "at home here": each walks its own index (team, channel, name) or
    (team, archived, name) in name order and stops after `limit` matches, where one sort would read every match of
    a workspace with thousands of initiatives first."""
    matches = _initiative_matches(query)
    found: list[Initiative] = []
    if channel_id:
        at_home = select(Initiative).where(
            Initiative.team_id == team_id,
            Initiative.home_channel_id == channel_id,
            col(Initiative.archived).is_not(True),  # as in `active_card_conditions`: the channel's index is the one
            *matches,
        )
        found.extend(session.exec(at_home.order_by(col(Initiative.name_key)).limit(limit)).all())
    if len(found) < limit:
        elsewhere = select(Initiative).where(
            Initiative.team_id == team_id, col(Initiative.archived).is_(False), *matches
        )
        if channel_id:
            elsewhere = elsewhere.where(Initiative.home_channel_id != channel_id)
        found.extend(session.exec(elsewhere.order_by(col(Initiative.name_key)).limit(limit - len(found))).all())
    return found


def _initiative_matches(query: str) -> list[Any]:
    """The condition for `search_active_initiatives`: none for an empty query, which lists them all."""
    name = like_escaped(name_key(query))
    key = like_escaped(fold_ref_key(" ".join(query.split())))
    if not name:
        return []
    name_column = col(Initiative.name_key)
    word_starts = (name_column.like(f"%{like_escaped(sep)}{name}%", escape="\\") for sep in NAME_WORD_SEPARATORS)
    return [
        or_(
            name_column.like(f"{name}%", escape="\\"),
            *word_starts,
            col(Initiative.ref_key).like(f"{key}%", escape="\\"),
        )
    ]


def list_initiatives_at_home(
    *, session: Session, team_id: str, channel_id: str, limit: int = 11
) -> Sequence[Initiative]:
    """Active initiatives whose home is this channel, by name: the set `status` shows in it."""
    statement = (
        select(Initiative)
        .where(*active_card_conditions(in_channel=True))
        .order_by(col(Initiative.name_key))
        .limit(limit)
    )
    return session.exec(statement, params={"team_id": team_id, "channel_id": channel_id}).all()


def list_initiatives_in_channel(*, session: Session, team_id: str, channel_id: str) -> Sequence[Initiative]:
    """Active initiatives whose home or thread is this channel."""
    statement = (
        select(Initiative)
        .where(
            Initiative.team_id == team_id,
            col(Initiative.archived).is_(False),
            or_(Initiative.home_channel_id == channel_id, Initiative.thread_channel_id == channel_id),
        )
        .order_by(col(Initiative.name_key))
    )
    return session.exec(statement).all()


def get_initiative_by_thread(*, session: Session, team_id: str, channel_id: str, thread_ts: str) -> Initiative | None:
    statement = select(Initiative).where(
        Initiative.team_id == team_id, Initiative.thread_channel_id == channel_id, Initiative.thread_ts == thread_ts
    )
    return session.exec(statement).first()


def like_escaped(text: str) -> str:
    """`text` as a literal LIKE pattern: its own `%` and `_` match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
