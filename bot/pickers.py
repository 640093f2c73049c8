"""What a picker offers as someone types: initiatives by name, a word of their name, or reference key; checkpoints
by reference (`churn#3`) or title. At most Slack's 100 options, those of the form's channel first."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlmodel import Session

from bot.checkpoints import Located
from storage import checkpoints as checkpoint_queries
from storage import initiatives as initiative_queries
from storage.models import Initiative

OPTIONS_MAX = 100  # Slack shows at most 100 options in a menu that loads them
# Nothing stored is longer (a name has at most 80 characters); a longer query matches nothing, so it is cut here.
QUERY_MAX = 255


class PickableCheckpoints(StrEnum):
    """Which checkpoints a checkpoint picker offers."""

    OPEN = "open"  # not done
    UNLINKED = "unlinked"  # not done and tracked by no Jira issue yet
    ALL = "all"  # every checkpoint on the list


def initiatives_matching(
    *, session: Session, team_id: str, query: str, channel_id: str | None, limit: int = OPTIONS_MAX
) -> list[Initiative]:
    """Active initiatives a picker offers for what was typed, those at home in `channel_id` first, then by name."""
    return initiative_queries.search_active_initiatives(
        session=session, team_id=team_id, query=query[:QUERY_MAX], channel_id=channel_id, limit=min(limit, OPTIONS_MAX)
    )


def checkpoints_matching(
    *,
    session: Session,
    team_id: str,
    query: str,
    channel_id: str | None,
    which: PickableCheckpoints,
    initiative_ids: Sequence[int] | None = None,
    limit: int = OPTIONS_MAX,
) -> list[Located]:
    """Checkpoints a picker offers for what was typed: `churn#3` (key and number, each a prefix, either may be left
    out) or words of a title or an initiative's key; of `initiative_ids` only when given."""
    text = " ".join(query[:QUERY_MAX].split())
    key, hash_sign, number = text.partition("#")
    number = number.strip()
    if number and not (number.isascii() and number.isdigit()):
        return []  # `churn#x` names no checkpoint
    found = checkpoint_queries.search_checkpoints(
        session=session,
        team_id=team_id,
        words="" if hash_sign else text,
        ref_key_prefix=key.strip() if hash_sign else "",
        number_prefix=number,
        initiative_ids=initiative_ids,
        open_only=which is not PickableCheckpoints.ALL,
        unlinked_only=which is PickableCheckpoints.UNLINKED,
        channel_id=channel_id,
        limit=min(limit, OPTIONS_MAX),
    )
    return [Located(initiative, checkpoint) for checkpoint, initiative in found]
