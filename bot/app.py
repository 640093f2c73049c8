"""The composition root: settings in, a wired Bolt app out. The only module that joins the three rooms."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy.engine import Engine

import handlers
from bot.clock import Clock, SystemClock
from bot.config import MLFLOW_SETTINGS_NEEDED, PROMETHEUS_SETTINGS_NEEDED, Settings
from bot.errors import HandoffError, Problem
from bot.jira_gateway import JiraGateway
from bot.logs import bind_correlation_id, new_correlation_id
from bot.metrics import Backlog, Metrics, read_backlog
from bot.retry_after import retry_after_seconds
from bot.runtime import Runtime
from bot.scheduler import ScheduledJobs, Scheduler
from bot.slot_ledger import Job
from bot.standups import standup_plans
from handlers.channel_jobs import JobRunner
from handlers.jira_webhook import make_webhook_receiver
from handlers.kpi_poll import KpiPoller
from handlers.outbox import RunReport, senders_for
from handlers.request_log import answered
from handlers.standup_jobs import StandupJobs
from storage.db import make_engine

LISTENER_THREADS = 16
KPI_SOURCE_SETTINGS = f"set {MLFLOW_SETTINGS_NEEDED}, or {PROMETHEUS_SETTINGS_NEEDED}"
# What `HandoffApp.run_scheduled` runs.
SCHEDULED_JOBS = ("digest", "nudges", "standups", "jira-sync", "report", "kpi-poll")
# Bolt reads SLACK_BOT_TOKEN from the environment even when it is handed a ready client, and then warns that the
# token it found itself goes unused. The client carries that same token, so the warning says nothing.
_BOLT_TOKEN_UNUSED = "As you gave `client` as well, `token` will be unused."


class _DropTokenUnusedWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _BOLT_TOKEN_UNUSED


_BOLT_LOG = logging.getLogger("slack_bolt.App")
_BOLT_LOG.addFilter(_DropTokenUnusedWarning())


class ContextExecutor(ThreadPoolExecutor):
    """A listener pool that carries the request's context (its correlation id) into the listener thread,
    and can tell when all submitted work is done (the console waits on it)."""

    def __init__(self, max_workers: int):
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        context = contextvars.copy_context()
        with self._idle:
            self._pending += 1
        future = super().submit(context.run, fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any]) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


@dataclass(frozen=True)
class HandoffApp:
    bolt: App
    runtime: Runtime
    executor: ContextExecutor
    jira_webhook: Any = None  # handlers.jira_webhook.WebhookReceiver
    jobs: JobRunner | None = None
    standups: StandupJobs | None = None
    scheduler: Scheduler | None = None
    kpi_poller: KpiPoller | None = None

    def stop_scheduled_work(self) -> None:
        """Shutting down: readiness answers 503 from now on, and scheduled posting stops after the post in flight,
        releasing its claims for another replica to take over at once."""
        if "wsgi_app" in self.__dict__:  # only HTTP mode built one
            self.wsgi_app.drain()
        if self.jobs is not None:
            self.jobs.outbox.stop()

    def run_scheduled(self, job: str, *, channel: tuple[str, str] | None = None) -> RunReport:
        """Run one of `SCHEDULED_JOBS` once, now, the way the scheduler does; `channel` limits it to what that
        channel is home to. Slots are claimed as usual, so nothing the scheduler already did is done again."""
        assert self.jobs is not None and self.standups is not None
        if job in (Job.DIGEST.value, Job.NUDGES.value, Job.REPORT.value):
            return self.jobs.run_due(channel=channel, only=Job(job))
        if job == "standups":
            if channel is None:
                return self.standups.run_due()
            report = RunReport()
            with self.runtime.session() as session:
                plans = standup_plans(session=session, default_timezone=self.runtime.settings.timezone)
            for plan in plans:
                if (plan.team_id, plan.home_channel_id) == channel:
                    one = self.standups.run_due(initiative_id=plan.initiative_id)
                    report.posted += one.posted
                    report.skipped += one.skipped
                    report.failed += one.failed
                    report.retrying += one.retrying
                    report.messages += one.messages
            return report
        if job == Job.KPI_POLL.value:
            return self._run_kpi_poll()
        if job != Job.JIRA_SYNC.value:
            raise ValueError(f"unknown job {job!r}")
        if self.runtime.jira is None:
            raise HandoffError(Problem.JIRA_NOT_CONFIGURED)
        if channel is None:
            self.jobs.jira_sync()
        else:
            from handlers.jira_jobs import run_jira_sync

            run_jira_sync(self.runtime, self.bolt.client, channel_id=channel[1])
        return RunReport()

    def _run_kpi_poll(self) -> RunReport:
        """The interval's KPI poll, as the scheduler runs it: skipped when this interval was read already."""
        assert self.kpi_poller is not None
        report = RunReport()
        if not self.kpi_poller.readers.any:
            report.skipped.append(f"{Job.KPI_POLL.value}: no KPI source is configured ({KPI_SOURCE_SETTINGS})")
        elif self.kpi_poller.scheduled() is None:
            report.skipped.append(f"{Job.KPI_POLL.value}: this interval's round ran already, or failed (see the log)")
        return report

    @cached_property
    def wsgi_app(self) -> Any:
        """The HTTP-mode WSGI app: Slack's requests, health, readiness, metrics and the Jira webhook; one per app,
        so that shutting down can drain the one being served."""
        from bot.http import HandoffWsgiApp

        return HandoffWsgiApp(
            self.bolt, self.runtime.engine, metrics=self.runtime.metrics, jira_webhook=self.jira_webhook
        )


class HandoffBolt(App):
    """Bolt's app, telling `on_answered` how each request was answered and how long the answer took. Bolt runs
    the listener after the whole chain of global middleware has returned, so only `dispatch` sees the full ack.

    `register_listeners` runs on the first request, before it is dispatched: the listener modules import every
    feature's services and Block Kit builders, which a server that has only run its scheduled work never needs."""

    def __init__(
        self,
        *,
        on_answered: Callable[[BoltRequest, BoltResponse, float], None],
        register_listeners: Callable[[App], None],
        **options: Any,
    ):
        super().__init__(**options)
        self._on_answered = on_answered
        self._register_listeners: Callable[[App], None] | None = register_listeners
        self._registering = threading.Lock()

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        # Bound before Bolt's own middleware, so a request it refuses (a bad signature) is logged with an id too.
        bind_correlation_id(new_correlation_id())
        started = time.perf_counter()
        if self._register_listeners is not None:
            self._listen()
        response = super().dispatch(req)  # Bolt's error handler has answered anything that went wrong
        self._on_answered(req, response, time.perf_counter() - started)
        return response

    def _listen(self) -> None:
        """Register the listeners once; requests arriving meanwhile wait for all of them."""
        with self._registering:
            if self._register_listeners is not None:
                self._register_listeners(self)
                self._register_listeners = None


class RetryAfterHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting exactly the `Retry-After` Slack asks for on the injected clock (so tests
    move time instead of sleeping); slack_sdk's own adds up to a second of jitter with `time.sleep`."""

    def __init__(self, clock: Clock, max_retry_count: int = 3, metrics: Metrics | None = None):
        super().__init__(max_retry_count=max_retry_count)
        self._clock = clock
        self._metrics = metrics

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if self._metrics is not None and response is not None and response.status_code == 429:
            # Every 429 is counted, the last one too, which is not retried.
            self._metrics.rate_limited.labels(method=request.url.rsplit("/", 1)[-1]).inc()
        return super().can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("retry without a response")
        state.next_attempt_requested = True
        wait = int(retry_after_seconds(response.headers, default=1, at_least=1))
        if self._metrics is not None:
            self._metrics.retry_after_waited.inc(wait)
        self._clock.sleep(wait)
        state.increment_current_attempt()


def build_web_client(settings: Settings, clock: Clock | None = None, metrics: Metrics | None = None) -> WebClient:
    """The real slack_sdk client, pointed at `SLACK_API_URL`; it waits out 429s for the time Slack asks (and counts
    them in `metrics`)."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RetryAfterHandler(clock or SystemClock(), max_retry_count=3, metrics=metrics),
        ],
    )


def build_jira_gateway(settings: Settings, clock: Clock) -> JiraGateway | None:
    """The Jira gateway for the configured site (it connects on first use), or None without Jira settings."""
    if settings.jira is None:
        return None
    return JiraGateway(settings.jira, clock=clock.now)


def database_engine(settings: Settings) -> Engine:
    """The app's engine, with a pooled connection for each thread that may use the database at once: Bolt's
    listener threads, the HTTP server's, and the outbox's senders beside the sweep that feeds them."""
    from bot.http import SERVER_THREADS

    senders = senders_for(settings.slack_posts_per_minute)
    return make_engine(settings.database_url, connections=LISTENER_THREADS + SERVER_THREADS + senders + 1)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    client: WebClient | None = None,
    verify_token: bool = True,
    jira: JiraGateway | None = None,
) -> HandoffApp:
    """Build the Bolt app, its listeners registered on the first request (see `HandoffBolt`). The schema is not
    touched here (see `upgrade_schema`)."""
    clock = clock or SystemClock()
    runtime = Runtime(
        settings=settings,
        engine=engine or database_engine(settings),
        clock=clock,
        jira=jira or build_jira_gateway(settings, clock),
    )

    def backlog() -> Backlog:
        with runtime.session() as session:
            return read_backlog(session=session)

    runtime.metrics.watch_backlog(backlog, clock.now)
    executor = ContextExecutor(LISTENER_THREADS)
    bolt = HandoffBolt(
        on_answered=lambda request, response, seconds: answered(runtime, request, response, seconds),
        register_listeners=lambda app: handlers.register_all(app, runtime),
        client=client or build_web_client(settings, clock, runtime.metrics),
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=verify_token,
        listener_executor=executor,
        # Listeners answer in their ack function, in the request's own thread, and hand slow work to lazy
        # functions on the executor. The default mode would run every listener on the executor and have the
        # request thread poll for the ack every 10 ms, adding that much to every answer.
        process_before_response=True,
        # Bolt's default is to answer unhandled requests with 404, which Slack shows as an error.
        raise_error_for_unhandled_request=False,
    )
    webhook = make_webhook_receiver(runtime, bolt.client, executor)
    jobs = JobRunner(runtime, bolt.client)
    standups = StandupJobs(runtime, bolt.client, jobs.ledger, jobs.outbox)
    kpi_poller = KpiPoller(runtime, bolt.client, jobs.ledger)
    sources_configured = settings.mlflow is not None or settings.prometheus is not None

    def run_everything_due() -> None:
        jobs.run_due()
        standups.run_due()

    scheduler = Scheduler(
        runtime,
        ScheduledJobs(
            run_channel=lambda team_id, channel_id: jobs.run_due(channel=(team_id, channel_id)),
            run_due=run_everything_due,
            run_standup=lambda initiative_id: standups.run_due(initiative_id=initiative_id),
            jira_sync=jobs.jira_sync if runtime.jira is not None else None,
            kpi_poll=kpi_poller.scheduled if sources_configured else None,
        ),
    )
    return HandoffApp(
        bolt=bolt,
        runtime=runtime,
        executor=executor,
        jira_webhook=webhook,
        jobs=jobs,
        standups=standups,
        scheduler=scheduler,
        kpi_poller=kpi_poller,
    )
