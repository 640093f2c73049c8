"""Watching registered models, at the service level on a real database: which watches are asked about (once per
model and alias), which versions are news and for whom, the claim that makes them news once, and the message."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import ids
from bot.blocks.model_versions import render_model_version_news
from bot.kpi_sources.outcome import ModelVersion, SourceFailure
from bot.model_versions import MAX_OTHER_METRICS, VersionNews, new_model_versions, still_ahead, suggested_phase
from storage import model_versions as queries
from storage.db import session_scope
from storage.models import Initiative, Kpi, KpiDirection, KpiSource, KpiSourceKind, Phase
from tests.support.blockkit import all_text, assert_valid_message, button_values
from tests.support.e2e import mrkdwn_strings
from tests.support.factories import make_initiative, rows
from tests.support.workspace import BOB, NOW


class Registry:
    """Stands in for the MLflow reader: which version each (model, alias) points at, and who asked."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], ModelVersion | SourceFailure] = {}
        self.asked: list[tuple[str, str]] = []

    def point(self, model: str, alias: str, version: str, **metrics: float) -> None:
        url = f"http://mlflow.test/#/models/{model}/versions/{version}"
        self.versions[(model, alias)] = ModelVersion(model, alias, version, f"run{version}", dict(metrics), url)

    def model_version(self, model: str, alias: str) -> ModelVersion | SourceFailure:
        self.asked.append((model, alias))
        return self.versions[(model, alias)]


def sessions_of(engine: Engine) -> Any:
    @contextmanager
    def sessions() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    return sessions


def kpi_of(session: Session, initiative: Initiative, name: str = "AUC", target: float = 0.82) -> Kpi:
    kpi = Kpi(
        initiative_id=initiative.id or 0,
        name=name,
        name_key=name.lower(),
        direction=KpiDirection.AT_LEAST.value,
        target=target,
        created_by=BOB,
        created_at=NOW,
    )
    session.add(kpi)
    session.flush()
    return kpi


def watch(session: Session, kpi: Kpi, *, model: str = "churn", alias: str = "champion", seen: str | None = "1") -> int:
    source = KpiSource(
        kpi_id=kpi.id or 0,
        kind=KpiSourceKind.MLFLOW.value,
        experiment="churn",
        experiment_id="1",
        metric=kpi.name.lower(),
        run_pick="latest",
        model=model,
        alias=alias,
        model_version=seen,
        set_by=BOB,
        set_at=NOW,
    )
    session.add(source)
    session.flush()
    return source.id or 0


def news(engine: Engine, registry: Registry) -> list[VersionNews]:
    return new_model_versions(sessions=sessions_of(engine), reader=registry)


def test_a_moved_alias_is_news_once_for_its_initiative_and_its_kpis(engine: Engine) -> None:
    with session_scope(engine) as session:
        churn = make_initiative(session, name="Churn", phase=Phase.RESEARCH)
        fraud = make_initiative(session, name="Fraud")
        watch(session, kpi_of(session, churn, "AUC"))
        watch(session, kpi_of(session, churn, "Precision", target=0.9))
        watch(session, kpi_of(session, fraud, "AUC"))
    registry = Registry()
    registry.point("churn", "champion", "2", auc=0.85, precision=0.8, loss=0.2)

    found = news(engine, registry)

    assert registry.asked == [("churn", "champion")]  # three watches, one question
    assert [(n.initiative.name, [k.kpi.name for k in n.kpis]) for n in found] == [
        ("Churn", ["AUC", "Precision"]),
        ("Fraud", ["AUC"]),
    ]
    assert [(k.value, k.standing and k.standing.meets) for k in found[0].kpis] == [(0.85, True), (0.8, False)]
    assert found[0].other_metrics == (("loss", 0.2),)
    assert [n.suggested_phase for n in found] == [Phase.SUMMARY, Phase.RESEARCH]
    assert {s.model_version for s in rows(engine, KpiSource)} == {"2"}
    assert news(engine, registry) == []


def test_a_watch_takes_the_alias_version_it_starts_with_silently(engine: Engine) -> None:
    with session_scope(engine) as session:
        watch(session, kpi_of(session, make_initiative(session, name="Churn")), seen=None)
    registry = Registry()
    registry.point("churn", "champion", "4", auc=0.9)

    assert news(engine, registry) == []
    assert [s.model_version for s in rows(engine, KpiSource)] == ["4"]

    registry.point("churn", "champion", "3", auc=0.88)  # rolled back: a version the alias did not have is news
    assert [n.version.version for n in news(engine, registry)] == ["3"]


def test_archived_initiatives_and_sources_without_an_alias_are_not_asked_about(engine: Engine) -> None:
    with session_scope(engine) as session:
        watch(session, kpi_of(session, make_initiative(session, name="Old", archived=True)), model="old")
        unwatched = watch(session, kpi_of(session, make_initiative(session, name="Plain")), model="plain")
        session.get_one(KpiSource, unwatched).alias = None
    registry = Registry()

    assert news(engine, registry) == []
    assert registry.asked == []


def test_a_failed_read_is_logged_and_changes_nothing(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with session_scope(engine) as session:
        watch(session, kpi_of(session, make_initiative(session, name="Churn")))
    registry = Registry()
    registry.versions[("churn", "champion")] = SourceFailure("MLflow answered 401: the token was refused")

    with caplog.at_level(logging.WARNING, logger="bot.model_versions"):
        assert news(engine, registry) == []

    assert [s.model_version for s in rows(engine, KpiSource)] == ["1"]
    assert [r.reason for r in caplog.records] == ["MLflow answered 401: the token was refused"]  # type: ignore[attr-defined]


def test_of_two_claims_from_the_same_version_one_wins(engine: Engine) -> None:
    with session_scope(engine) as session:
        source_id = watch(session, kpi_of(session, make_initiative(session, name="Churn")))
    with session_scope(engine) as first, session_scope(engine) as second:
        won = queries.claim_model_version(session=first, source_id=source_id, seen="1", version="2")
        first.commit()
        lost = queries.claim_model_version(session=second, source_id=source_id, seen="1", version="2")
    assert (won, lost) == (True, False)


@pytest.mark.parametrize(
    ("phase", "suggested"),
    [
        (Phase.DISCOVERY, Phase.RESEARCH),
        (Phase.RESEARCH, Phase.SUMMARY),
        (Phase.SUMMARY, Phase.DEVELOPMENT),
        (Phase.DEVELOPMENT, Phase.PRODUCTION),
        (Phase.PRODUCTION, None),
        (Phase.MONITORING, None),
        (Phase.PAUSED, None),
        (Phase.CANCELLED, None),
    ],
)
def test_a_new_version_suggests_the_next_phase_before_production(phase: Phase, suggested: Phase | None) -> None:
    assert suggested_phase(phase.value) is suggested


@pytest.mark.parametrize(
    ("phase", "picked"),
    [
        (Phase.DISCOVERY, Phase.SUMMARY),
        (Phase.RESEARCH, Phase.SUMMARY),
        (Phase.SUMMARY, None),
        (Phase.PRODUCTION, None),
        (Phase.PAUSED, Phase.SUMMARY),
    ],
)
def test_a_button_clicked_after_the_initiative_moved_on_picks_nothing(phase: Phase, picked: Phase | None) -> None:
    assert still_ahead(Phase.SUMMARY, phase.value) is picked


def version_news(*, phase: Phase = Phase.DEVELOPMENT, model: str = "churn", **metrics: float) -> VersionNews:
    from bot.model_versions import KpiOnVersion

    initiative = Initiative(id=7, team_id="T1", name="Churn <b>", name_key="churn", home_channel_id="C1", phase=phase)
    kpi = Kpi(id=1, initiative_id=7, name="AUC", name_key="auc", direction=">=", target=0.82, unit="%")
    kpi.created_by, kpi.created_at = BOB, NOW
    version = ModelVersion(model, "champion", "7", "abc", dict(metrics), "http://mlflow.test/#/models/x/versions/7")
    others = sorted((k, v) for k, v in metrics.items() if k != "auc")
    return VersionNews(
        initiative=initiative,
        version=version,
        kpis=(KpiOnVersion(kpi, "auc", metrics.get("auc")),),
        other_metrics=tuple(others[:MAX_OTHER_METRICS]),
        more_metrics=max(0, len(others) - MAX_OTHER_METRICS),
        suggested_phase=suggested_phase(phase.value),
    )


def test_the_news_names_the_version_its_kpi_standing_a_bounded_list_of_other_metrics_and_the_next_phase() -> None:
    metrics = {f"m{n:02d}": n / 100 for n in range(15)}
    message = render_model_version_news(version_news(auc=0.9, **metrics))
    payload = {"text": message.text, "blocks": message.blocks}
    assert_valid_message(payload)
    text = all_text(payload)

    assert message.blocks[0]["text"]["text"] == (
        ":package: Model *churn* version 7 now has the alias *@champion*. "
        "<http://mlflow.test/#/models/x/versions/7|Open it in MLflow>"
    )
    assert ":white_check_mark: *AUC* (metric auc): 0.9%, which meets its 0.82% target." in text
    assert "Other metrics of its run: m00 0, m01 0.01, " in text and "m09 0.09, and 5 more." in text
    assert "m10" not in text
    assert "*Churn &lt;b&gt;* is in *development*: ready for the next phase?" in text
    assert [json.loads(v) for v in button_values(payload, ids.ACTION_MODEL_VERSION_PHASE)] == [
        {"i": 7, "p": "production"}
    ]


def test_the_news_escapes_what_mlflow_names_and_offers_no_move_from_production() -> None:
    message = render_model_version_news(version_news(phase=Phase.PRODUCTION, model="<!channel> & co", auc=0.5))
    payload = {"text": message.text, "blocks": message.blocks}
    assert_valid_message(payload)

    assert not any("<!channel>" in s for s in mrkdwn_strings(payload))
    assert "Model *&lt;!channel&gt; &amp; co* version 7" in all_text(payload)
    assert button_values(payload, ids.ACTION_MODEL_VERSION_PHASE) == []
