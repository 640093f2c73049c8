"""A registered model's alias moving to a new version, end to end: a real `mlflow server` holds the model, its runs
and its alias (set with the official client), the app reads it over HTTP and posts the news once in the
initiative's thread through the fake Slack; the news's button opens the Change phase form over signed HTTP, and
submitting it goes through the form's usual gates and permissions."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import ids
from bot.app import HandoffApp, build_web_client
from bot.config import MlflowSettings
from bot.kpi_sources.outcome import ModelVersion, SourceFailure
from bot.kpi_sources.readers import Readers, build_readers
from handlers.model_versions import announce_new_versions
from storage.models import Kpi, KpiSource, KpiSourceKind
from tests.conftest import RunningApp, ServeApp
from tests.e2e.test_card_menu import CHURN_V2, churn, first_line, private_to, submit
from tests.support.blockkit import all_text, button_values
from tests.support.e2e import Thread, blocks_of, load, mrkdwn_strings, private_answer, replies, run
from tests.support.mlflow_server import MlflowServer
from tests.support.workspace import BOB, DAVE, NOW

__all__ = ["churn"]  # the card menu's initiative: Bob leads DS, Carol engineering, Dave has no part in it

ALIAS = "champion"
DEAD_MLFLOW = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture
def running(serve_app: ServeApp, mlflow_server: MlflowServer) -> Iterator[RunningApp]:
    """The app over HTTP with MLflow settings pointing at the real server."""
    with serve_app(mlflow=MlflowSettings(url=mlflow_server.url)) as running_app:
        yield running_app


@dataclass(frozen=True)
class Registry:
    """A registered model of the shared server, named for this test, in an experiment of its own."""

    server: MlflowServer
    model: str
    experiment: str
    experiment_id: str

    def new_version(self, metrics: dict[str, float]) -> str:
        """Log a run with `metrics`, register it as the model's next version and point the alias at it."""
        client = self.server.client()
        run_id = self.server.log_run(self.experiment_id, metrics)
        version = client.create_model_version(self.model, source=f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(self.model, ALIAS, version.version)
        return str(version.version)


def registry_for(server: MlflowServer, model_prefix: str = "churn") -> Registry:
    name, experiment_id = server.new_experiment("churn")
    model = f"{model_prefix}-{uuid.uuid4().hex[:8]}"
    server.client().create_registered_model(model)
    return Registry(server, model, name, experiment_id)


@pytest.fixture
def registry(mlflow_server: MlflowServer) -> Registry:
    return registry_for(mlflow_server)


def watch(running: RunningApp, registry: Registry, *, kpi: str = "AUC on holdout", metric: str = "auc") -> None:
    """The KPI's MLflow source, watching the model's alias, stored as the source command stores it."""
    with Session(running.engine) as session:
        kpi_id = session.exec(select(Kpi.id).where(Kpi.name == kpi)).one()
        session.add(
            KpiSource(
                kpi_id=kpi_id,
                kind=KpiSourceKind.MLFLOW.value,
                experiment=registry.experiment,
                experiment_id=registry.experiment_id,
                metric=metric,
                run_pick="latest",
                model=registry.model,
                alias=ALIAS,
                set_by=BOB,
                set_at=NOW,
            )
        )
        session.commit()


def announce(app: HandoffApp, readers: Readers | None = None) -> int:
    runtime = app.runtime
    readers = readers or build_readers(runtime.settings, timeout=10)
    return announce_new_versions(runtime, build_web_client(runtime.settings), readers)


@pytest.fixture
def watched(running: RunningApp, churn: Thread, registry: Registry) -> Thread:
    """Churn's AUC KPI watches the model's @champion, which version 1 held when the watch began."""
    answer = private_answer(running, 'kpi add churn "AUC on holdout" &gt;= 0.82', user=BOB)
    assert "AUC on holdout" in answer, answer
    registry.new_version({"auc": 0.8})
    watch(running, registry)
    assert announce(running.app) == 0  # the version the alias had when the watch began is not news
    return churn


def test_a_new_version_taking_the_alias_is_posted_once_with_its_metrics_against_the_target(
    running: RunningApp, watched: Thread, registry: Registry, mlflow_server: MlflowServer
) -> None:
    posted = len(replies(running, watched))
    assert announce(running.app) == 0  # nothing moved
    version = registry.new_version({"auc": 0.91, "precision": 0.7, "loss": 0.25})

    assert announce(running.app) == 1

    [news] = replies(running, watched)[posted:]
    payload = {"text": news.text, "blocks": blocks_of(news)}
    text = all_text(payload)
    assert news.text == f"{registry.model} version {version} now has the alias @champion"
    assert f":package: Model *{registry.model}* version {version} now has the alias *@champion*." in text
    assert f"<{mlflow_server.url}" in text and "|Open it in MLflow>" in text
    assert ":white_check_mark: *AUC on holdout* (metric auc): 0.91, which meets its 0.82 target." in text
    assert "Other metrics of its run: loss 0.25, precision 0.7." in text
    assert "*Churn model v2* is in *discovery*: ready for the next phase?" in text
    [value] = button_values(payload, ids.ACTION_MODEL_VERSION_PHASE)
    assert json.loads(value) == {"i": load(running.engine, CHURN_V2).id, "p": "research"}
    [buttons] = [b for b in blocks_of(news) if b["type"] == "actions"]
    assert buttons["elements"][0]["text"]["text"] == "Move to research"

    assert announce(running.app) == 0  # the same version read again is not news again
    assert len(replies(running, watched)) == posted + 1
    with Session(running.engine) as session:
        assert session.exec(select(KpiSource.model_version)).one() == version


def test_a_version_that_misses_the_target_says_so_and_a_metric_its_run_did_not_log_is_named(
    running: RunningApp, watched: Thread, registry: Registry
) -> None:
    posted = len(replies(running, watched))
    registry.new_version({"auc": 0.7})
    assert announce(running.app) == 1
    assert ":red_circle: *AUC on holdout* (metric auc): 0.7, which is below its 0.82 target." in all_text(
        {"blocks": blocks_of(replies(running, watched)[-1])}
    )

    registry.new_version({"loss": 0.1})
    assert announce(running.app) == 1
    text = all_text({"blocks": blocks_of(replies(running, watched)[-1])})
    assert ":grey_question: *AUC on holdout*: its run logged no metric auc." in text
    assert len(replies(running, watched)) == posted + 2


class MeetingReader:
    """The real MLflow reader, made to wait after reading until every replica has read: their claims race."""

    def __init__(self, readers: Readers, barrier: threading.Barrier):
        assert readers.mlflow is not None
        self.reader, self.barrier = readers.mlflow, barrier

    def model_version(self, model: str, alias: str) -> ModelVersion | SourceFailure:
        found = self.reader.model_version(model, alias)
        self.barrier.wait(timeout=20)
        return found


def test_two_replicas_reading_the_same_move_at_once_post_it_once(
    running: RunningApp,
    watched: Thread,
    registry: Registry,
    start_replica: Callable[..., HandoffApp],
    mlflow_server: MlflowServer,
) -> None:
    replica = start_replica(mlflow=MlflowSettings(url=mlflow_server.url))
    posted = len(replies(running, watched))
    registry.new_version({"auc": 0.95})
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def round_of(app: HandoffApp) -> None:
        readers = build_readers(app.runtime.settings, timeout=10)
        counts.append(announce(app, Readers(mlflow=MeetingReader(readers, barrier))))  # type: ignore[arg-type]

    threads = [threading.Thread(target=round_of, args=(app,)) for app in (running.app, replica)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(counts) == [0, 1]
    assert len(replies(running, watched)) == posted + 1


def test_a_post_slack_refuses_or_an_mlflow_that_does_not_answer_is_logged_and_the_round_goes_on(
    running: RunningApp, watched: Thread, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    posted = len(replies(running, watched))
    registry.new_version({"auc": 0.9})
    unreachable = build_readers(
        replace(running.app.runtime.settings, mlflow=MlflowSettings(url=DEAD_MLFLOW)), timeout=2
    )

    with caplog.at_level(logging.WARNING):
        assert announce(running.app, unreachable) == 0
        running.fake.fail_next("chat.postMessage", error="channel_not_found")
        assert announce(running.app) == 0

    logged = [r.message for r in caplog.records if r.name.endswith("model_versions")]
    assert len(logged) == 2 and logged[0].endswith("not read") and logged[1] == "model version news not posted"
    assert announce(running.app) == 0  # claimed before Slack refused it: lost, never doubled
    assert len(replies(running, watched)) == posted


def test_in_production_the_news_suggests_no_phase(running: RunningApp, watched: Thread, registry: Registry) -> None:
    run(running, 'phase churn production --force "pilot with one customer"', user=BOB)
    assert load(running.engine, CHURN_V2).phase == "production"
    posted = len(replies(running, watched))
    registry.new_version({"auc": 0.93})

    assert announce(running.app) == 1

    [news] = replies(running, watched)[posted:]
    assert [b["type"] for b in blocks_of(news)].count("actions") == 0
    assert button_values({"blocks": blocks_of(news)}, ids.ACTION_MODEL_VERSION_PHASE) == []
    assert "ready for the next phase" not in all_text({"blocks": blocks_of(news)})


def test_model_names_from_mlflow_are_escaped(running: RunningApp, churn: Thread, mlflow_server: MlflowServer) -> None:
    registry = registry_for(mlflow_server, model_prefix="churn <!channel> & co")
    private_answer(running, 'kpi add churn "AUC on holdout" &gt;= 0.82', user=BOB)
    registry.new_version({"auc": 0.8})
    watch(running, registry)
    announce(running.app)
    registry.new_version({"auc": 0.9})

    assert announce(running.app) == 1

    news = replies(running, churn)[-1]
    strings = mrkdwn_strings({"text": news.text, "blocks": blocks_of(news)})
    assert not any("<!channel>" in s for s in strings)
    assert any("Model *churn &lt;!channel&gt; &amp; co-" in s for s in strings)


def click_move(running: RunningApp, news: Any, *, user: str) -> dict[str, Any]:
    """Press the news's "Move to …" button as `user`; the view it opened."""
    [value] = button_values({"blocks": blocks_of(news)}, ids.ACTION_MODEL_VERSION_PHASE)
    opened = len(running.fake.calls_to("views.open"))
    container = {"type": "message", "message_ts": news.ts, "channel_id": news.channel, "is_ephemeral": False}
    result = running.slack.action(
        ids.ACTION_MODEL_VERSION_PHASE, value=value, user=user, channel=news.channel, container=container
    )
    assert (result.status, result.body) == (200, "")
    running.settle()
    [call] = running.fake.calls_to("views.open")[opened:]
    assert call.response["ok"], call.response
    return call.response["view"]


def test_the_button_opens_the_change_phase_form_at_the_suggested_phase_and_the_usual_gates_apply(
    running: RunningApp, watched: Thread, registry: Registry
) -> None:
    registry.new_version({"auc": 0.9})
    assert announce(running.app) == 1
    news = replies(running, watched)[-1]

    view = click_move(running, news, user=DAVE)  # anyone may open the form, as from a status card

    assert view["callback_id"] == ids.VIEW_CHANGE_PHASE
    assert "*Churn model v2* is in *discovery*." in all_text(view)
    [phase_block] = [b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_PHASE_TARGET]
    assert phase_block["element"]["initial_option"]["value"] == "research"
    assert ids.BLOCK_PHASE_REASON not in [b.get("block_id") for b in view["blocks"]]  # Dave may not force
    posted = len(replies(running, watched))

    assert submit(running, view, user=DAVE) == {}  # the suggested phase, as the form showed it

    refusal = private_answer(running, "phase churn research", user=DAVE)
    assert "Only the initiative's leads, embedded engineer, creator or a workspace admin can" in refusal
    assert first_line(private_to(running, DAVE)[-1]) == first_line(refusal)
    assert load(running.engine, CHURN_V2).phase == "discovery"
    assert len(replies(running, watched)) == posted

    view = click_move(running, news, user=BOB)  # Bob leads DS: the form offers forcing, as the card's does
    assert ids.BLOCK_PHASE_REASON in [b.get("block_id") for b in view["blocks"]]

    assert submit(running, view, user=BOB) == {}

    assert load(running.engine, CHURN_V2).phase == "research"
    assert private_to(running, BOB)[-1].startswith(":white_check_mark: *Churn model v2* is now in *research*.")

    view = click_move(running, news, user=BOB)  # clicked again: it is in research now, so nothing is picked
    [phase_block] = [b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_PHASE_TARGET]
    assert "initial_option" not in phase_block["element"]
