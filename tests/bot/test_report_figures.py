"""A report's figures as CSV rows: every number named by its path, derived shares included, units from the name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.report_figures import figure_rows, write_figures_csv


@dataclass(frozen=True)
class Stay:
    count: int
    median_days: float | None


@dataclass(frozen=True)
class PhaseRow:
    phase: str
    entered: int
    stays: Stay


@dataclass(frozen=True)
class Figures:
    label: str
    phases: tuple[PhaseRow, ...]
    answered: int
    prompted: int
    median_answer_minutes: float | None
    fast: bool

    @property
    def share(self) -> float | None:
        return self.answered / self.prompted if self.prompted else None


FIGURES = Figures(
    "last 7 days",
    (PhaseRow("research", 3, Stay(2, 4.5)), PhaseRow("production", 1, Stay(0, None))),
    answered=2,
    prompted=3,
    median_answer_minutes=12.0,
    fast=True,
)


def test_every_number_is_a_row_named_by_its_path_with_its_unit() -> None:
    assert figure_rows(FIGURES, scope="C0CHURN") == [
        ("phases.research.entered", "C0CHURN", "3", "count"),
        ("phases.research.stays.count", "C0CHURN", "2", "count"),
        ("phases.research.stays.median_days", "C0CHURN", "4.5", "days"),
        ("phases.production.entered", "C0CHURN", "1", "count"),
        ("phases.production.stays.count", "C0CHURN", "0", "count"),
        ("phases.production.stays.median_days", "C0CHURN", "", "days"),
        ("answered", "C0CHURN", "2", "count"),
        ("prompted", "C0CHURN", "3", "count"),
        ("median_answer_minutes", "C0CHURN", "12", "minutes"),
        ("share", "C0CHURN", "0.6667", "share"),
    ]


def test_the_csv_has_a_header_then_a_row_a_figure(tmp_path: Path) -> None:
    path = tmp_path / "figures.csv"
    write_figures_csv(path, figure_rows(FIGURES, scope="all"))
    lines = path.read_text().splitlines()
    assert lines[0] == "name,scope,value,unit"
    assert lines[1] == "phases.research.entered,all,3,count"
    assert len(lines) == 11
