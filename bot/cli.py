"""The `handoff` command: serve (Socket Mode or HTTP), console, migrate."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, RunMode, Settings, load_settings
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.app import HandoffApp

log = logging.getLogger("handoff")
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 1
# Slack's conversation ids: C public, G private (older ones), D direct; upper-case letters and digits.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    channel = getattr(args, "channel", None)
    if args.command == "run" and channel is not None and not _CHANNEL_ID.fullmatch(channel):
        print(
            f"`--channel` takes a channel id such as C0123ABCD; {channel!r} is not one. In Slack, open the channel's "
            "name at the top, and the id is at the bottom of the About tab.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:
        print("Handoff can't start; fix these settings (in the environment or .env):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See .env.example for every setting.", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handoff", description="Handoff: DS and engineering, one finish line.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the bot (Socket Mode by default, or HTTP with --http)")
    serve.add_argument("--http", action="store_true", help="serve Slack's requests at POST /slack/events")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP interface to bind (default: all)")
    serve.set_defaults(run=_serve)

    console = commands.add_parser("console", help="try Handoff in a terminal against a local fake Slack")
    console.add_argument("--user", default="alice", help="who you type as (a name from :users)")
    console.add_argument("--channel", default="general", help="where you type (a name from :channels)")
    console.set_defaults(run=_console)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema, then exit")
    migrate.set_defaults(run=_migrate)

    run = commands.add_parser("run", help="run one job once")
    jobs = run.add_subparsers(dest="job", required=True)
    jira_sync = jobs.add_parser("jira-sync", help="deliver waiting Jira updates, pull Jira changes, post them")
    jira_sync.add_argument("--full", action="store_true", help="a full reconciliation instead of an incremental sync")
    jira_sync.add_argument(
        "--dry-run", action="store_true", help="print the Jira changes waiting to be posted; change nothing"
    )
    jira_sync.add_argument(
        "--channel", help="post (or print) only the changes of initiatives homed in this channel; others wait"
    )
    jira_sync.set_defaults(run=_run_jira_sync)
    for job, text in (("digest", "post today's digest"), ("nudges", "post today's nudges")):
        command = jobs.add_parser(job, help=f"{text} in every channel (or one) now")
        command.add_argument("--channel", help="only this channel (its id, such as C0123ABCD)")
        command.add_argument("--dry-run", action="store_true", help="print the messages instead of posting them")
        command.add_argument("--force", action="store_true", help="post again even if today's already went out")
        command.set_defaults(run=_run_channel_job, job=job)
    kpi_poll = jobs.add_parser("kpi-poll", help="read every sourced KPI now (MLflow, Prometheus), record and post")
    kpi_poll.add_argument(
        "--dry-run", action="store_true", help="read every source and print what would be recorded; change nothing"
    )
    kpi_poll.set_defaults(run=_run_kpi_poll)
    report = jobs.add_parser("report", help="a channel's weekly report now: the last 7 days of its initiatives")
    report.add_argument("--channel", required=True, help="the channel (its id, such as C0123ABCD)")
    report.add_argument("--dry-run", action="store_true", help="print the report; post nothing")
    report.add_argument("--out", type=Path, help="write the funnel chart to this PNG file")
    report.add_argument("--csv", type=Path, help="write every figure to this CSV file (name, scope, value, unit)")
    report.set_defaults(run=_run_report)
    return parser


def _prepare(mode: RunMode, *, jira_needed_by: str | None = None) -> Settings:
    settings = load_settings(mode=mode, jira_needed_by=jira_needed_by)
    configure_logging(settings.log_level, secrets=settings.secrets)
    return settings


def _migrate(_args: argparse.Namespace) -> int:
    from storage.db import make_engine, upgrade_schema

    settings = _prepare(RunMode.OFFLINE)
    upgrade_schema(make_engine(settings.database_url))
    log.info("database schema is up to date")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.app import create_app, database_engine

    settings = _prepare(RunMode.HTTP if args.http else RunMode.SOCKET)
    # Migrations run in a child process so the server never loads Alembic (about 10 MiB it would keep forever).
    migrated = subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], check=False)
    if migrated.returncode != 0:
        log.error("the database schema could not be upgraded; not starting")
        return migrated.returncode
    engine = database_engine(settings)
    try:
        app = create_app(settings, engine=engine)
    except BoltError as error:
        # Bolt checks the token with auth.test on start; its message names the Slack error, never the token.
        print(f"Handoff can't start: Slack rejected SLACK_BOT_TOKEN ({error}).", file=sys.stderr)
        return EXIT_CONFIG
    except (OSError, SlackClientError) as error:
        reason = getattr(error, "reason", None) or error
        print(
            f"Handoff can't start: Slack's Web API at {settings.slack_api_url} did not answer ({reason}). "
            "Check the network, proxy settings and SLACK_API_URL.",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    # Everything built so far lives as long as the process: keep it out of the collector's full passes, which
    # otherwise walk all of SQLAlchemy's and Bolt's objects and show up as tens of milliseconds in request tails.
    gc.collect()
    gc.freeze()
    if app.scheduler is not None:
        app.scheduler.start()
    try:
        if args.http:
            return _serve_http(app, settings, args)
        return _serve_socket_mode(app, settings)
    finally:
        if app.scheduler is not None:
            app.scheduler.shutdown()


def _serve_http(app: HandoffApp, settings: Settings, args: argparse.Namespace) -> int:
    from bot.http import create_server

    port = args.port if args.port is not None else settings.port
    server = create_server(app.wsgi_app, host=args.host, port=port)

    def stop(*_: object) -> None:
        app.stop_scheduled_work()
        server.close()

    signal.signal(signal.SIGTERM, stop)
    log.info("serving Slack requests over HTTP", extra={"port": server.effective_port, "path": "/slack/events"})
    with contextlib.suppress(OSError, ValueError):  # closed by SIGTERM while waiting in select()
        server.run()
    log.info("stopped")
    return 0


def _serve_socket_mode(app: HandoffApp, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app.bolt, app_token=settings.slack_app_token)
    log.info("connecting to Slack in Socket Mode")
    handler.connect()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    app.stop_scheduled_work()
    # slack_sdk's built-in client raises AttributeError from close() when Slack already dropped the socket
    # (it is reconnecting); we are leaving anyway, so that is not worth a traceback.
    with contextlib.suppress(AttributeError, OSError):
        handler.close()
    log.info("stopped")
    return 0


def _job_app(*, jira_needed_by: str | None = None) -> HandoffApp:
    """The app for a one-off job: settings checked as `serve` checks them, the schema brought up to date, and no
    token check at start (a dry run must work without reaching Slack)."""
    from bot.app import build_web_client, create_app, database_engine
    from storage.db import upgrade_schema

    settings = _prepare(RunMode.JOB, jira_needed_by=jira_needed_by)
    engine = database_engine(settings)
    upgrade_schema(engine)
    return create_app(settings, engine=engine, client=build_web_client(settings), verify_token=False)


def _run_channel_job(args: argparse.Namespace) -> int:
    from bot.blocks.plain import mentioned_users, message_as_text
    from bot.channel_settings import channel_plan, scheduled_channels
    from bot.people import known_names
    from bot.slot_ledger import Job

    app = _job_app()
    runtime, jobs = app.runtime, app.jobs
    assert jobs is not None
    job = Job(args.job)
    with runtime.session() as session:
        plans = scheduled_channels(session=session, default_timezone=runtime.settings.timezone)
        if not args.channel and job is Job.NUDGES:
            plans = [p for p in plans if p.nudges_on]
        elif not args.channel:
            plans = [p for p in plans if p.digest_enabled]
        else:
            known = [p for p in plans if p.channel_id == args.channel]  # an explicit channel runs even if it is off
            if not known:
                print(f"No active initiative calls {args.channel} home, so it has no {job.value}.", file=sys.stderr)
                return EXIT_CONFIG
            plans = [
                channel_plan(
                    session=session,
                    team_id=known[0].team_id,
                    channel_id=args.channel,
                    default_timezone=runtime.settings.timezone,
                )
            ]
    if args.dry_run:
        for plan in plans:
            preview = jobs.preview(job, plan)
            everything = [*preview.messages, *(m for _, messages in preview.direct for m in messages)]
            mentioned = mentioned_users(everything) | {user_id for user_id, _ in preview.direct}
            with runtime.session() as session:
                names = known_names(session=session, team_id=plan.team_id, user_ids=mentioned)
            schedule = plan.schedule
            if job is Job.NUDGES:
                schedule = schedule.later_by(runtime.settings.nudge_delay_minutes)
            print(f"=== {job.value} for {plan.channel_id} ({schedule.describe()}) ===")
            if preview.note:
                print(preview.note)
            for number, message in enumerate(preview.messages, start=1):
                where = "in the channel" if number == 1 else "in its thread"
                print(f"--- message {number} of {len(preview.messages)}, {where} ---")
                print(message_as_text(message, names))
            for user_id, messages in preview.direct:
                who = f"@{names[user_id]} ({user_id})" if user_id in names else user_id
                print(f"--- direct message to {who} ---")
                print("\n".join(message_as_text(m, names) for m in messages))
            print()
        return 0
    failed = 0
    for plan in plans:
        report = jobs.run_now(job, plan, force=args.force)
        for line in report.skipped:
            print(f"skipped: {line}")
        failed += len(report.failed) + len(report.retrying)
        if report.posted:
            print(f"{job.value} posted in {plan.channel_id} ({report.messages} messages)")
        for line in report.failed:
            print(f"not posted: {line}", file=sys.stderr)
        for channel_id in report.retrying:
            print(
                f"not posted in {channel_id}: Slack could not be reached or failed (see the log); nothing was recorded "
                f"as done, so `handoff run {job.value}` again posts it.",
                file=sys.stderr,
            )
    return EXIT_UNREACHABLE if failed else 0


def _run_report(args: argparse.Namespace) -> int:
    """`handoff run report`: the report printed as text, optionally its chart and figures written to files, and
    posted (with its chart in the thread) unless `--dry-run`; a deliberate run, recorded beside the week's slot."""
    from bot.blocks.plain import mentioned_users, message_as_text
    from bot.blocks.weekly_report import render_weekly_report
    from bot.people import known_names
    from bot.report_figures import figure_rows, write_figures_csv
    from bot.weekly_report import channels_with_initiatives, weekly_report_plan
    from handlers.outbox import RunReport

    app = _job_app()
    runtime, jobs = app.runtime, app.jobs
    assert jobs is not None
    now = runtime.clock.now()
    with runtime.session() as session:
        teams = [team for team, channel in channels_with_initiatives(session=session) if channel == args.channel]
        if not teams:
            print(f"No active initiative calls {args.channel} home, so it has no report.", file=sys.stderr)
            return EXIT_CONFIG
        plan = weekly_report_plan(
            session=session, team_id=teams[0], channel_id=args.channel, default_timezone=runtime.settings.timezone
        )
    report = jobs.reports.compose(plan, now, now)
    message = render_weekly_report(report, plan)
    with runtime.session() as session:
        names = known_names(session=session, team_id=plan.team_id, user_ids=mentioned_users([message]))
    print(message_as_text(message, names))
    if args.out is not None:
        from bot.charts import funnel_chart
        from bot.report import funnel_of

        args.out.write_bytes(funnel_chart(funnel_of(report)).png)
        print(f"chart written to {args.out}")
    if args.csv is not None:
        write_figures_csv(args.csv, figure_rows(report, scope=args.channel))
        print(f"figures written to {args.csv}")
    if args.dry_run:
        return 0
    run = RunReport()
    try:
        jobs.outbox.deliver([jobs.reports.run_now(plan, now=now, run=run)], run)
    finally:
        jobs.reports.share_charts(run)
    for line in run.skipped:
        print(f"note: {line}")
    if run.posted:
        print(f"report posted in {args.channel}")
        return 0
    for line in run.failed:
        print(f"not posted: {line}", file=sys.stderr)
    if run.retrying or not run.failed:
        print(f"not posted in {args.channel}: Slack could not be reached or failed (see the log).", file=sys.stderr)
    return EXIT_UNREACHABLE


def _run_jira_sync(args: argparse.Namespace) -> int:
    from handlers.jira_jobs import preview_status_changes, run_jira_sync

    # Without Jira even a dry run would report an empty queue as if all were well: refuse like `serve` does.
    app = _job_app(jira_needed_by="`handoff run jira-sync`")
    if args.dry_run:
        for line in preview_status_changes(app.runtime, channel_id=args.channel):
            print(line)
        return 0
    report = run_jira_sync(app.runtime, app.bolt.client, full=True if args.full else None, channel_id=args.channel)
    sync = report.sync
    if sync is not None:
        print(
            f"{sync.mode} sync: {sync.linked} linked issues, {sync.fetched} fetched, {sync.changed} changed, "
            f"{sync.status_changes} status changes; {report.changes_posted} posted; pushes: "
            f"{report.pushes_delivered} delivered, {report.pushes_failed} failed"
        )
        if sync.missing:
            print(f"not found in Jira: {', '.join(sorted(sync.missing))}")
        if not sync.ok:
            print(f"the sync failed: {sync.error}", file=sys.stderr)
            return EXIT_UNREACHABLE
    return 0


def _run_kpi_poll(args: argparse.Namespace) -> int:
    """One poll round now, claiming the interval's slot as the scheduler would; `--dry-run` reads and prints."""
    from bot.app import KPI_SOURCE_SETTINGS
    from bot.kpi_polling import would_meet
    from bot.kpi_sources.spec import source_name
    from handlers.kpi_poll import summary

    app = _job_app()
    assert app.kpi_poller is not None
    if not app.kpi_poller.readers.any:
        print(f"No KPI source is configured for `handoff run kpi-poll`: {KPI_SOURCE_SETTINGS}.", file=sys.stderr)
        return EXIT_CONFIG
    if args.dry_run:
        report = app.kpi_poller.preview()
        for line in report.preview:
            what = f"{line.kpi.name} of {line.initiative.name}"
            if line.reading is None:
                print(f"would report that {what} can't be read from {source_name(line.kind)}: {line.failure}")
            elif line.already_recorded:
                print(f"already recorded {line.reading.value:g} for {what}, from {line.reading.label}")
            else:
                standing = "meets its target" if would_meet(line) else "misses its target"
                print(f"would record {line.reading.value:g} for {what}, from {line.reading.label}; it {standing}")
        print(f"dry run: {summary(report)}; nothing recorded or posted")
        return 0
    report = app.kpi_poller.run_now()
    for recorded in report.recorded:
        result = recorded.result
        said = " (breach alert posted)" if result.alert else " (back on target posted)" if result.recovered else ""
        print(
            f"recorded {recorded.reading.value:g} for {result.kpi.name} of {recorded.initiative.name}, "
            f"from {recorded.reading.label}{said}"
        )
    for failure in report.failures:
        print(f"can't read {failure.kpi.name} of {failure.initiative.name}: {failure.reason}", file=sys.stderr)
    print(summary(report))
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.console import run_console, unknown_start

    problems = unknown_start(user=args.user, channel=args.channel)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings(mode=RunMode.OFFLINE)
    return run_console(settings, user=args.user, channel=args.channel)


if __name__ == "__main__":
    sys.exit(main())
