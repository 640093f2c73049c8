"""Typed queries for standups: settings, the daily prompts and answers, and time away."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.models import (
    Away,
    ChannelSettings,
    Initiative,
    Phase,
    SlackUser,
    StandupPrompt,
    StandupSettings,
    StandupState,
)

QUIET_PHASES = (Phase.PAUSED.value, Phase.CANCELLED.value)


def get_settings(*, session: Session, initiative_id: int) -> StandupSettings | None:
    return session.get(StandupSettings, initiative_id)


def save_settings(*, session: Session, settings: StandupSettings) -> StandupSettings:
    merged = session.merge(settings)
    session.flush()
    return merged


def standup_targets(*, session: Session, initiative_id: int | None = None) -> Sequence[Row]:
    """Every active initiative with an embedded engineer (or just `initiative_id`), with its standup settings (or
    NULLs), the engineer's cached time zone and the home channel's digest time zone. One statement."""
    initiative = Initiative.__table__  # type: ignore[attr-defined]
    settings = StandupSettings.__table__  # type: ignore[attr-defined]
    user = SlackUser.__table__  # type: ignore[attr-defined]
    channel = ChannelSettings.__table__  # type: ignore[attr-defined]
    statement = (
        core_select(
            initiative.c.id,
            initiative.c.team_id,
            initiative.c.name,
            initiative.c.ref_key,
            initiative.c.home_channel_id,
            initiative.c.embedded_engineer_id,
            initiative.c.created_at,
            settings.c.enabled,
            settings.c.time,
            settings.c.days,
            settings.c.timezone,
            settings.c.questions,
            settings.c.updated_at,
            user.c.tz.label("user_tz"),
            user.c.fetched_at.label("profile_fetched_at"),
            channel.c.digest_timezone.label("channel_tz"),
        )
        .select_from(initiative)
        .outerjoin(settings, settings.c.initiative_id == initiative.c.id)
        .outerjoin(
            user, (user.c.team_id == initiative.c.team_id) & (user.c.user_id == initiative.c.embedded_engineer_id)
        )
        .outerjoin(
            channel,
            (channel.c.team_id == initiative.c.team_id) & (channel.c.channel_id == initiative.c.home_channel_id),
        )
        .where(
            initiative.c.archived.is_(False),
            initiative.c.embedded_engineer_id.is_not(None),
            initiative.c.phase.not_in(QUIET_PHASES),
        )
        .order_by(initiative.c.id)
    )
    if initiative_id is not None:
        statement = statement.where(initiative.c.id == initiative_id)
    return session.connection().execute(statement).all()


def add_prompt(*, session: Session, prompt: StandupPrompt) -> StandupPrompt:
    session.add(prompt)
    session.flush()
    return prompt


def get_prompt(*, session: Session, prompt_id: int) -> StandupPrompt | None:
    return session.get(StandupPrompt, prompt_id)


def find_prompt(*, session: Session, initiative_id: int, user_id: str, day: date) -> StandupPrompt | None:
    return session.exec(
        select(StandupPrompt).where(
            StandupPrompt.initiative_id == initiative_id, StandupPrompt.user_id == user_id, StandupPrompt.day == day
        )
    ).first()


def previous_answer(*, session: Session, initiative_id: int, user_id: str, before: date) -> StandupPrompt | None:
    """The latest answered prompt before `before`: what "no change since yesterday" repeats."""
    return session.exec(
        select(StandupPrompt)
        .where(
            StandupPrompt.initiative_id == initiative_id,
            StandupPrompt.user_id == user_id,
            col(StandupPrompt.day) < before,
            StandupPrompt.state == StandupState.ANSWERED.value,
        )
        .order_by(col(StandupPrompt.day).desc())
        .limit(1)
    ).first()


def unanswered_prompts(*, session: Session) -> Sequence[StandupPrompt]:
    """Prompts still waiting for an answer: some are due a reminder, some have seen their day end."""
    return session.exec(
        select(StandupPrompt).where(StandupPrompt.state == StandupState.PROMPTED.value).order_by(col(StandupPrompt.id))
    ).all()


def prompts_since(*, session: Session, initiative_id: int, since: date) -> Sequence[StandupPrompt]:
    return session.exec(
        select(StandupPrompt)
        .where(StandupPrompt.initiative_id == initiative_id, col(StandupPrompt.day) >= since)
        .order_by(col(StandupPrompt.day))
    ).all()


def away_on(*, session: Session, team_id: str, user_ids: Sequence[str], day: date) -> set[str]:
    """Which of `user_ids` are away on `day`."""
    if not user_ids:
        return set()
    rows = session.exec(
        select(Away.user_id).where(
            Away.team_id == team_id, col(Away.user_id).in_(user_ids), col(Away.starts) <= day, col(Away.ends) >= day
        )
    ).all()
    return set(rows)


def away_periods(*, session: Session, team_id: str, user_id: str, from_day: date) -> Sequence[Away]:
    """A person's time away that has not ended before `from_day`, soonest first."""
    return session.exec(
        select(Away)
        .where(Away.team_id == team_id, Away.user_id == user_id, col(Away.ends) >= from_day)
        .order_by(col(Away.starts))
    ).all()


def add_away(*, session: Session, away: Away) -> Away:
    session.add(away)
    session.flush()
    return away


def end_away(*, session: Session, team_id: str, user_id: str, today: date) -> int:
    """End time away today: periods that started end yesterday, later ones are dropped. Returns how many changed."""
    changed = 0
    for period in away_periods(session=session, team_id=team_id, user_id=user_id, from_day=today):
        changed += 1
        if period.starts >= today:
            session.delete(period)
        else:
            period.ends = date.fromordinal(today.toordinal() - 1)
            session.add(period)
    session.flush()
    return changed


def mark_missed(*, session: Session, prompt_id: int) -> bool:
    """Mark a prompt missed unless it was answered meanwhile; True if this call marked it."""
    result = session.connection().execute(
        update(StandupPrompt)
        .where(col(StandupPrompt.id) == prompt_id, col(StandupPrompt.state) == StandupState.PROMPTED.value)
        .values(state=StandupState.MISSED.value)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def mark_prompt(*, session: Session, prompt_id: int, **values: object) -> None:
    prompt = session.get(StandupPrompt, prompt_id)
    if prompt is None:
        return
    for name, value in values.items():
        setattr(prompt, name, value)
    session.add(prompt)
    session.flush()


def dm_channel_of(*, session: Session, team_id: str, user_id: str) -> str | None:
    """The DM channel an earlier prompt to this person went to (Slack keeps one per app and person)."""
    return session.exec(
        select(StandupPrompt.prompt_channel)
        .where(
            StandupPrompt.team_id == team_id,
            StandupPrompt.user_id == user_id,
            col(StandupPrompt.prompt_channel).is_not(None),
        )
        .order_by(col(StandupPrompt.id).desc())
        .limit(1)
    ).first()
