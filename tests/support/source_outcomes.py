"""What a reader's test expects of one outcome: a reading, or a failure."""

from __future__ import annotations

from bot.kpi_sources.outcome import SourceFailure, SourceOutcome, SourceReading


def reading_of(outcome: SourceOutcome) -> SourceReading:
    assert outcome.failure is None, outcome.failure
    assert outcome.reading is not None
    return outcome.reading


def failure_of(outcome: SourceOutcome) -> SourceFailure:
    assert outcome.reading is None, outcome.reading
    assert outcome.failure is not None
    return outcome.failure
