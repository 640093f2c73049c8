"""Typed queries for weekly report settings: where each channel's weekly report goes and when."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import WeeklyReport


def get_weekly_report(*, session: Session, team_id: str, channel_id: str) -> WeeklyReport | None:
    return session.get(WeeklyReport, (team_id, channel_id))


def save_weekly_report(*, session: Session, report: WeeklyReport) -> WeeklyReport:
    merged = session.merge(report)
    session.flush()
    return merged


def weekly_reports_on(*, session: Session) -> list[WeeklyReport]:
    """Every weekly report that is on, by workspace and channel."""
    rows = session.exec(
        select(WeeklyReport)
        .where(col(WeeklyReport.enabled).is_(True), col(WeeklyReport.disabled_reason).is_(None))
        .order_by(col(WeeklyReport.team_id), col(WeeklyReport.channel_id))
    ).all()
    return list(rows)
