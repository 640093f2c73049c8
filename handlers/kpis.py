"""The Slack-facing steps of KPIs: agree one, record, correct and list readings.

Changes run after the ack and tell the initiative's thread, with an alert when a reading misses the target; the
list needs only the database and is answered in the ack itself. Domain errors propagate for the caller to render.

The family's entries in the table of subcommands (`handlers.command_table`) close the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot import chart_series
from bot import kpi_source_setting as source_service
from bot import kpis as kpi_service
from bot.blocks.base import Message
from bot.blocks.help import render_notice
from bot.blocks.problems import describe_field
from bot.blocks.readiness import (
    render_kpi_added,
    render_kpi_alert,
    render_kpi_edited,
    render_kpi_list,
    render_kpi_recovered,
    render_kpi_removed,
    render_reading_removed,
    render_source_removed,
    render_source_set,
    render_source_shown,
    source_set_confirmation,
    standing_mark,
)
from bot.blocks.share import SharedView, ShareRequest, shareable
from bot.blocks.status import NEXT_STEP_LABELS, NEXT_STEP_PLACEHOLDER, NextStep
from bot.initiatives import CLEAR, Actor, Initiative, resolve_initiative
from bot.kpi_sources.readers import COMMAND_TIMEOUT_SECONDS, build_readers
from bot.kpi_sources.spec import MlflowSpec, PrometheusSpec, RunPick, SourceSpec, source_name
from bot.kpis import KpiEdit, RecordResult, format_value, looks_like_number, parse_direction, parse_number, target_text
from bot.runtime import Runtime
from bot.text import echo, escape, links_as_typed
from handlers.grammar import (
    NONE_WORDS,
    Token,
    UsageError,
    did_you_mean,
    option_match,
    parse_user,
    split_options,
    unknown_action,
)
from handlers.posting import announce
from handlers.slack_people import unit_of_work
from handlers.subcommand import Action, Alias, Answer, Request, Slot, Subcommand, undated
from handlers.uploads import chart_answer, upload_chart


def add_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiAddCommand) -> Message:
    """Agree a KPI, from the command or the card's form; the thread hears of it."""
    direction = parse_direction(command.direction)
    target = parse_number(command.target, "target")
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        kpi = kpi_service.add_kpi(
            session=session,
            actor=actor,
            initiative=initiative,
            name=command.name,
            direction=direction,
            target=target,
            unit=command.unit,
            owner_id=command.owner_id,
            people=people,
            now=runtime.clock.now(),
        )
    confirmation = (
        f":white_check_mark: Agreed *{escape(kpi.name)}* {escape(target_text(kpi))} for *{escape(initiative.name)}*"
        f"{read_as(command.target, target)}. "
        f'Record readings with `/handoff kpi record {initiative.ref_key} "{escape(kpi.name)}" &lt;value&gt;`, '
        f"or with *{NEXT_STEP_LABELS[NextStep.READING]}* in the *{NEXT_STEP_PLACEHOLDER}* menu of its status card."
    )
    return announce(client, initiative, render_kpi_added(initiative, kpi), confirmation)


def record_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, raw_value: str, note: str | None
) -> Message:
    """Record a reading; the thread hears only of a breach (once) and of a recovery, not of every reading."""
    value = parse_number(raw_value, "value")
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        result = kpi_service.record_reading(
            session=session,
            actor=actor,
            initiative=initiative,
            name=name,
            value=value,
            note=note,
            now=runtime.clock.now(),
        )
    kpi, where = result.kpi, result.standing
    shown = escape(format_value(result.reading.value, kpi.unit))
    confirmation = (
        f"{standing_mark(where)} Recorded {shown}{read_as(raw_value, value)} for *{escape(kpi.name)}*; "
        f"it {escape(where.phrase)}."
    )
    return tell_breach_or_recovery(runtime, client, initiative, result, confirmation) or render_notice(confirmation)


def tell_breach_or_recovery(
    runtime: Runtime, client: WebClient, initiative: Initiative, result: RecordResult, confirmation: str
) -> Message | None:
    """The thread hears of a new reading only when it starts a breach (with the KPI's trend) or ends one; the
    answer to whoever recorded it, or None when the thread heard nothing."""
    if result.alert:
        answer = announce(client, initiative, render_kpi_alert(initiative, result), confirmation)
        attach_trend(runtime, client, initiative, result.kpi.name)
        return answer
    if result.recovered:
        return announce(client, initiative, render_kpi_recovered(initiative, result), confirmation)
    return None


def attach_trend(runtime: Runtime, client: WebClient, initiative: Initiative, kpi_name: str) -> None:
    """Share the KPI's trend in the initiative's thread under its breach alert; a refused upload is only logged."""
    from bot.charts import kpi_trend_chart

    with runtime.session() as session:
        _, series = chart_series.kpi_series(session=session, initiative=initiative, name=kpi_name)
    if initiative.thread_channel_id and initiative.thread_ts:
        channel_id, thread_ts = initiative.thread_channel_id, initiative.thread_ts
    else:
        channel_id, thread_ts = initiative.home_channel_id, None
    upload_chart(client, kpi_trend_chart(series), channel_id=channel_id, thread_ts=thread_ts)


def chart_kpi(
    runtime: Runtime, client: WebClient, actor: Actor, channel_id: str, initiative_ref: str, name: str
) -> Message:
    """Share a KPI's trend against its target in the channel the command was typed in."""
    from bot.charts import kpi_trend_chart

    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        kpi, series = chart_series.kpi_series(session=session, initiative=initiative, name=name)
    posted = f":chart_with_upwards_trend: Shared the trend of *{escape(kpi.name)}* of *{escape(initiative.name)}* here."
    return chart_answer(client, kpi_trend_chart(series), channel_id=channel_id, posted=posted)


def edit_kpi_and_announce(runtime: Runtime, client: WebClient, actor: Actor, command: KpiEditCommand) -> Message:
    """Change a KPI's terms; the thread hears old → new and where the latest reading now stands."""
    values = command.values
    raw_target = values.get("target")
    target = parse_number(str(raw_target), "target") if raw_target is not None else None
    raw_direction = values.get("direction")
    direction = parse_direction(str(raw_direction), named=True) if raw_direction is not None else None
    name = values.get("name")
    edit = KpiEdit(
        name=str(name) if name is not None else None,
        target=target,
        unit=values.get("unit"),
        direction=direction,
        owner_id=values.get("owner"),
    )
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=command.initiative_ref or "")
        edited = kpi_service.edit_kpi(
            session=session, actor=actor, initiative=initiative, name=command.name, edit=edit, people=people
        )
    kpi = edited.kpi
    confirmation = (
        f":white_check_mark: Changed *{escape(kpi.name)}* of *{escape(initiative.name)}*: "
        f"{escape(target_text(kpi))}{read_as(str(raw_target or ''), target)}."
    )
    return announce(client, initiative, render_kpi_edited(initiative, edited, actor.user_id), confirmation)


def remove_kpi_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str
) -> Message:
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_kpi(session=session, actor=actor, initiative=initiative, name=name, people=people)
    confirmation = f":white_check_mark: Removed *{escape(removed.kpi.name)}* from *{escape(initiative.name)}*."
    if removed.remaining == 0:
        confirmation += (
            " It has no KPI now, so the checklist's KPI item is missing until one is agreed with "
            f'`/handoff kpi add {initiative.ref_key} "&lt;name&gt;" &gt;= &lt;target&gt;`.'
        )
    return announce(client, initiative, render_kpi_removed(initiative, removed, actor.user_id), confirmation)


def remove_reading_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, position: int
) -> Message:
    """Remove a wrong reading; the KPI's breach state follows the reading that is now the latest."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        removed = kpi_service.remove_reading(
            session=session, actor=actor, initiative=initiative, name=name, position=position, people=people
        )
    kpi = removed.kpi
    confirmation = (
        f":white_check_mark: Removed the reading {escape(format_value(removed.reading.value, kpi.unit))} of "
        f"*{escape(kpi.name)}*."
    )
    return announce(client, initiative, render_reading_removed(initiative, removed, actor.user_id), confirmation)


def set_source_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str, spec: SourceSpec
) -> Message:
    """Check the source reads a number, then save it and record that number; nothing is saved if it reads none.
    The command and the Add-a-KPI form both set a source through here."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        kpi = source_service.source_kpi(session=session, actor=actor, initiative=initiative, name=name, people=people)
    readers = build_readers(runtime.settings, timeout=COMMAND_TIMEOUT_SECONDS)
    checked = source_service.check_source(
        kpi=kpi,
        spec=spec,
        reader=readers.for_kind(spec.kind.value),
        registry=readers.mlflow,
        at=runtime.clock.now(),
    )
    with runtime.session() as session:
        result = source_service.save_source(
            session=session,
            initiative=initiative,
            kpi=kpi,
            checked=checked,
            actor=actor,
            now=runtime.clock.now(),
        )
    confirmation = source_set_confirmation(initiative, result)
    answer = announce(client, initiative, render_source_set(initiative, result, actor.user_id), confirmation)
    if result.recorded is not None:
        tell_breach_or_recovery(runtime, client, initiative, result.recorded, confirmation)
    return answer


def remove_source_and_announce(
    runtime: Runtime, client: WebClient, actor: Actor, initiative_ref: str, name: str
) -> Message:
    """Stop reading a KPI from its source; its readings stay, and the thread hears of it."""
    with unit_of_work(runtime, client, actor.team_id) as (session, people):
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        kpi = source_service.source_kpi(session=session, actor=actor, initiative=initiative, name=name, people=people)
        spec = source_service.remove_source(session=session, kpi=kpi)
    confirmation = (
        f":white_check_mark: *{escape(kpi.name)}* of *{escape(initiative.name)}* is no longer read from "
        f"{source_name(spec.kind.value)}; its readings stay."
    )
    return announce(client, initiative, render_source_removed(initiative, kpi, spec, actor.user_id), confirmation)


def show_source(runtime: Runtime, actor: Actor, initiative_ref: str, name: str) -> Message:
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        kpi, source = source_service.current_source(session=session, initiative=initiative, name=name)
    return render_source_shown(initiative, kpi, source)


def read_as(raw: str, value: float | None) -> str:
    """Say how a number typed with a comma was read, so `0,85` is seen to be 0.85 and not 85."""
    if value is None or "," not in raw:
        return ""
    return f" (`{escape(raw.strip())}` read as {escape(format_value(value))})"


def show_kpis(runtime: Runtime, actor: Actor, initiative_ref: str, *, shared_by: str | None = None) -> Message:
    stale_days = runtime.settings.kpi_stale_days
    with runtime.session() as session:
        initiative = resolve_initiative(session=session, team_id=actor.team_id, reference=initiative_ref)
        views = kpi_service.kpi_views(
            session=session, initiative=initiative, now=runtime.clock.now(), stale_days=stale_days
        )
    listing = render_kpi_list(initiative, views, stale_days=stale_days)
    return shareable(listing, ShareRequest(SharedView.KPIS, initiative.ref_key), shared_by=shared_by)


@dataclass(frozen=True)
class KpiAddCommand:
    initiative_ref: str | None
    name: str
    direction: str
    target: str
    unit: str | None = None
    owner_id: str | None = None


@dataclass(frozen=True)
class KpiRecordCommand:
    initiative_ref: str | None
    name: str
    value: str
    note: str | None = None


@dataclass(frozen=True)
class KpiListCommand:
    initiative_ref: str | None


@dataclass(frozen=True)
class KpiChartCommand:
    """`kpi chart <initiative> "<kpi>"`: the KPI's trend as an image in this channel."""

    initiative_ref: str | None
    name: str


@dataclass(frozen=True)
class KpiEditCommand:
    """`kpi edit <initiative> "<kpi>" name:"…" target:<n> unit:<u> direction:>=|<= owner:@x`; values as typed."""

    initiative_ref: str | None
    name: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class KpiRemoveCommand:
    initiative_ref: str | None
    name: str


@dataclass(frozen=True)
class KpiReadingRemoveCommand:
    """`kpi reading remove <initiative> "<kpi>" [n]`: the n-th newest reading, 1 (the latest) by default."""

    initiative_ref: str | None
    name: str
    position: int = 1


@dataclass(frozen=True)
class KpiSourceCommand:
    """`kpi source <initiative> "<kpi>" mlflow …|prometheus …|off`; with neither, the source is shown."""

    initiative_ref: str | None
    name: str
    spec: SourceSpec | None = None
    off: bool = False

    @property
    def shows(self) -> bool:
        return self.spec is None and not self.off


KPI_ACTIONS = ("add", "record", "list", "chart", "edit", "remove", "reading", "source")
SOURCE_KINDS = ("mlflow", "prometheus", "off")
MLFLOW_OPTIONS = frozenset({"experiment", "metric", "run", "filter", "model", "alias"})
PROMETHEUS_OPTIONS = frozenset({"query"})
KPI_OPTIONS = frozenset({"unit", "owner"})
KPI_EDIT_OPTIONS = frozenset({"name", "target", "unit", "direction", "owner"})


def parse_kpi(
    rest: list[Token],
) -> (
    KpiAddCommand
    | KpiRecordCommand
    | KpiListCommand
    | KpiChartCommand
    | KpiEditCommand
    | KpiRemoveCommand
    | KpiReadingRemoveCommand
    | KpiSourceCommand
):
    if not rest:
        raise UsageError(
            "`kpi` needs a command: add, record, list, chart, edit, remove, reading remove or source.", "kpi"
        )
    action, args = rest[0].text.lower(), rest[1:]
    if rest[0].quoted or action not in KPI_ACTIONS:
        shown = tuple("reading remove" if a == "reading" else a for a in KPI_ACTIONS)
        raise unknown_action(rest[0], KPI_ACTIONS, "KPI", "kpi", shown)
    usage = f"kpi {action}"
    if action == "list":
        return KpiListCommand(" ".join(t.text for t in args) or None)
    if action == "edit":
        return _parse_kpi_edit(args)
    if action == "chart":
        if len(args) == 1 and args[0].quoted:  # `kpi chart "AUC"`: the name alone, of this channel's initiative
            return KpiChartCommand(None, args[0].text)
        if len(args) < 2:
            raise UsageError('`kpi chart` needs the initiative, then the KPI\'s name: `kpi chart churn "AUC"`.', usage)
        return KpiChartCommand(args[0].text, " ".join(t.text for t in args[1:]))
    if action == "remove":
        if len(args) == 1 and args[0].quoted:  # `kpi remove "AUC"`: the name alone, of this channel's initiative
            return KpiRemoveCommand(None, args[0].text)
        if len(args) < 2:
            raise UsageError("`kpi remove` needs the initiative, then the KPI's name.", usage)
        return KpiRemoveCommand(args[0].text, " ".join(t.text for t in args[1:]))
    if action == "reading":
        return _parse_kpi_reading(args)
    if action == "source":
        return _parse_kpi_source(args)
    # The name followed at once by the value (`kpi record "AUC" 0.84`) or the comparison (`kpi add "AUC" >= 0.8`)
    # leaves the initiative out: this channel's.
    left_out = len(args) >= 2 and not args[1].quoted and _kpi_value_or_comparison(action, args[1].text)
    initiative_ref, args = (None, args) if left_out else (args[0].text, args[1:])
    if len(args) < 2:
        shape = '"&lt;name&gt;" &gt;= &lt;target&gt;' if action == "add" else '"&lt;name&gt;" &lt;value&gt;'
        raise UsageError(f"`kpi {action}` needs the initiative, then {shape}.", usage)
    name = args[0].text
    if action == "record":
        # An unquoted name runs up to the first number: `kpi record churn AUC on holdout 0.84`.
        at = 1
        if not args[0].quoted:
            at = next((i for i in range(1, len(args)) if not args[i].quoted and looks_like_number(args[i].text)), 1)
        name = " ".join(t.text for t in args[:at])
        note = " ".join(t.text for t in args[at + 1 :]).strip() or None
        if at >= len(args):
            raise UsageError("`kpi record` needs the value after the KPI's name.", usage)
        return KpiRecordCommand(initiative_ref, name, args[at].text, note)
    # The name runs up to the comparison, so an unquoted `AUC on holdout >= 0.82` works too.
    at = next((i for i in range(1, len(args)) if not args[i].quoted and args[i].text[:1] in "<>=≥≤"), 1)
    name = " ".join(t.text for t in args[:at])
    direction, remainder = args[at].text, args[at + 1 :]
    # `>=0.82` typed without a space is the same as `>= 0.82`.
    for sign in (">=", "<=", "≥", "≤"):
        if direction.startswith(sign) and len(direction) > len(sign):
            direction, remainder = sign, [Token(direction[len(sign) :], quoted=False), *remainder]
            break
    if not remainder:
        raise UsageError("`kpi add` needs a target after the direction, like `>= 0.82`.", usage)
    target = remainder[0].text
    words, options = split_options(remainder[1:], KPI_OPTIONS, usage)
    if words:
        raise UsageError(f'"{echo(words[0])}" is not an option; options: `unit:` `owner:`.', usage)
    owner = parse_user(options["owner"].strip(), "owner", usage) if "owner" in options else None
    unit = options["unit"].strip() if "unit" in options else None
    return KpiAddCommand(initiative_ref, name, direction, target, unit or None, owner)


def _parse_kpi_edit(args: list[Token]) -> KpiEditCommand:
    usage = "kpi edit"
    if not args:
        raise UsageError("`kpi edit` needs the initiative, the KPI's name and what to change.", usage)
    # `kpi edit "AUC" target:0.9`: a quoted name followed only by options leaves the initiative out.
    left_out = args[0].quoted and all(option_match(t) is not None for t in args[1:])
    initiative_ref = None if left_out else args[0].text
    words, options = split_options(args if left_out else args[1:], KPI_EDIT_OPTIONS, usage)
    if not words:
        raise UsageError("`kpi edit` needs the KPI's name after the initiative, in quotes.", usage)
    if not options:
        fields = " ".join(f"`{f}:`" for f in ("name", "target", "unit", "direction", "owner"))
        raise UsageError(f"Say what to change: {fields}.", usage)
    values: dict[str, object] = {}
    for option, raw in options.items():
        value = raw.strip()
        if not value:
            raise UsageError(f"`{option}:` is missing its value.", usage)
        if value.lower() in NONE_WORDS and option in ("unit", "owner"):
            values[option] = CLEAR
        elif value.lower() in NONE_WORDS:
            raise UsageError(f"A KPI always has a {option}; `{option}:` needs a new one.", usage)
        elif option == "owner":
            values[option] = parse_user(value, option, usage)
        else:
            values[option] = value
    return KpiEditCommand(initiative_ref, " ".join(words), values)


def _parse_kpi_reading(args: list[Token]) -> KpiReadingRemoveCommand:
    usage = "kpi reading remove"
    if not args or args[0].quoted or args[0].text.lower() != "remove":
        raise UsageError('`kpi reading` takes `remove`: `kpi reading remove churn "AUC on holdout" [n]`.', usage)
    args = args[1:]
    # `kpi reading remove "AUC" [n]`: a quoted name alone, or with a number, leaves the initiative out.
    left_out = bool(args) and args[0].quoted and (len(args) == 1 or (len(args) == 2 and _is_reading_number(args[1])))
    initiative_ref, name_and_position = (None, args) if left_out else (args[0].text if args else None, args[1:])
    if not name_and_position:
        raise UsageError("`kpi reading remove` needs the initiative, then the KPI's name.", usage)
    position = 1
    last = name_and_position[-1]
    if len(name_and_position) > 1 and _is_reading_number(last):
        if not last.text.isdigit() or int(last.text) < 1:
            raise UsageError(
                f'"{echo(last.text)}" is not a reading number: 1 is the newest, 2 the one before, and so on.', usage
            )
        position, name_and_position = int(last.text), name_and_position[:-1]
    return KpiReadingRemoveCommand(initiative_ref, " ".join(t.text for t in name_and_position), position)


def _parse_kpi_source(args: list[Token]) -> KpiSourceCommand:
    usage = "kpi source"
    at = next((i for i, t in enumerate(args) if _is_source_kind(t) or option_match(t) is not None), len(args))
    if at < len(args) and not _is_source_kind(args[at]):
        # Options with no source before them: the word before them is a mistyped source, or missing.
        typed = args[at - 1] if at > 0 and not args[at - 1].quoted else None
        hint = did_you_mean(typed.text, SOURCE_KINDS) if typed is not None else ""
        if typed is not None and hint:
            raise UsageError(f'"{echo(typed.text)}" is not a source.{hint} Sources: mlflow, prometheus, off.', usage)
        raise UsageError("`kpi source` needs where to read from before its options: `mlflow` or `prometheus`.", usage)
    if at == len(args) and args and not args[-1].quoted and len(args) > 1:
        hint = did_you_mean(args[-1].text, SOURCE_KINDS)
        if hint:
            raise UsageError(f'"{echo(args[-1].text)}" is not a source.{hint} Sources: mlflow, prometheus, off.', usage)
    target, rest = args[:at], args[at:]
    if not target:
        raise UsageError('`kpi source` needs the initiative, then the KPI\'s name: `kpi source churn "AUC"`.', usage)
    # `kpi source "AUC" mlflow …`: the quoted name alone leaves the initiative out, this channel's.
    left_out = len(target) == 1 and target[0].quoted
    if not left_out and len(target) < 2:
        raise UsageError('`kpi source` needs the initiative, then the KPI\'s name: `kpi source churn "AUC"`.', usage)
    initiative_ref = None if left_out else target[0].text
    name = " ".join(t.text for t in (target if left_out else target[1:]))
    if not rest:
        return KpiSourceCommand(initiative_ref, name)
    kind, options_given = rest[0].text.lower(), rest[1:]
    if kind == "off":
        if options_given:
            raise UsageError(
                f'`off` takes nothing after it; "{echo(options_given[0].text)}" is one word too many.', usage
            )
        return KpiSourceCommand(initiative_ref, name, off=True)
    allowed = MLFLOW_OPTIONS if kind == "mlflow" else PROMETHEUS_OPTIONS
    words, options = split_options(options_given, allowed, usage)
    if words:
        names = " ".join(f"`{o}:`" for o in sorted(allowed))
        raise UsageError(f'"{echo(words[0])}" is not an option of {source_name(kind)}; options: {names}.', usage)
    # Slack makes links of the emails and host names in a path or a query; the source reads them as typed.
    values = {key: links_as_typed(value).strip() for key, value in options.items()}
    spec: SourceSpec
    if kind == "prometheus":
        spec = PrometheusSpec(query=values.get("query", ""))
    else:
        run = values.get("run", RunPick.LATEST.value).lower()
        if run not in tuple(RunPick):
            raise UsageError(f'`run:` is `latest` or `best`, not "{echo(values["run"])}".', usage)
        spec = MlflowSpec(
            experiment=values.get("experiment", ""),
            metric=values.get("metric", ""),
            run=RunPick(run),
            filter=values.get("filter") or None,
            model=values.get("model") or None,
            alias=values.get("alias") or None,
        )
    problems = source_service.spec_problems(spec)
    if problems:
        raise UsageError(" ".join(describe_field(p) for p in problems), usage)
    return KpiSourceCommand(initiative_ref, name, spec)


def _is_source_kind(token: Token) -> bool:
    return not token.quoted and token.text.lower() in SOURCE_KINDS


def _is_reading_number(token: Token) -> bool:
    return not token.quoted and looks_like_number(token.text)


def _kpi_value_or_comparison(action: str, text: str) -> bool:
    return looks_like_number(text) if action == "record" else text[:1] in "<>=≥≤"


def _add_kpi(request: Request, command: KpiAddCommand) -> Message:
    return add_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _record_kpi(request: Request, command: KpiRecordCommand) -> Message:
    return record_kpi_and_announce(
        request.runtime,
        request.client,
        request.actor,
        command.initiative_ref or "",
        command.name,
        command.value,
        command.note,
    )


def _list_kpis(request: Request, command: KpiListCommand) -> Message:
    return show_kpis(request.runtime, request.actor, command.initiative_ref or "")


def _chart_kpi(request: Request, command: KpiChartCommand) -> Message:
    return chart_kpi(
        request.runtime, request.client, request.actor, request.channel_id, command.initiative_ref or "", command.name
    )


def _edit_kpi(request: Request, command: KpiEditCommand) -> Message:
    return edit_kpi_and_announce(request.runtime, request.client, request.actor, command)


def _remove_kpi(request: Request, command: KpiRemoveCommand) -> Message:
    return remove_kpi_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name
    )


def _remove_reading(request: Request, command: KpiReadingRemoveCommand) -> Message:
    return remove_reading_and_announce(
        request.runtime, request.client, request.actor, command.initiative_ref or "", command.name, command.position
    )


def _kpi_source(request: Request, command: KpiSourceCommand) -> Message:
    runtime, actor, ref = request.runtime, request.actor, command.initiative_ref or ""
    if command.spec is not None:
        return set_source_and_announce(runtime, request.client, actor, ref, command.name, command.spec)
    if command.off:
        return remove_source_and_announce(runtime, request.client, actor, ref, command.name)
    return show_source(runtime, actor, ref, command.name)


def _source_answer(command: KpiSourceCommand) -> Answer:
    return Answer.IN_ACK if command.shows else Answer.AFTER_ACK


# Usage of each KPI action, shown with an error about it; help shows them all under `kpi`.
KPI_USAGE = (
    (
        "kpi add",
        '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  (>= higher is better, <= lower is)',
    ),
    ("kpi record", '/handoff kpi record churn "AUC on holdout" 0.84 "after retrain"'),
    ("kpi list", "/handoff kpi list churn"),
    ("kpi chart", '/handoff kpi chart churn "AUC on holdout"  (its readings against the target, as an image here)'),
    (
        "kpi edit",
        (
            '/handoff kpi edit churn "AUC on holdout" name:"AUC on holdout v2" target:0.85 unit:% '
            "direction:>= owner:@bob  (direction also higher or lower; unit:none, owner:none clear)"
        ),
    ),
    ("kpi remove", '/handoff kpi remove churn "AUC on holdout"  (with its readings)'),
    (
        "kpi reading remove",
        ('/handoff kpi reading remove churn "AUC on holdout" 2  (1, the latest, by default; `kpi list` numbers them)'),
    ),
    (
        "kpi source",
        (
            '/handoff kpi source churn "AUC on holdout" mlflow experiment:churn metric:auc [run:latest|best] '
            "[filter:\"tags.dataset = 'holdout'\"] [model:churn alias:champion]  ·  "
            '/handoff kpi source churn "p95 latency" prometheus query:"histogram_quantile(0.95, '
            'rate(latency_bucket{job=\'api\'}[5m]))"  ·  /handoff kpi source churn "AUC on holdout" off  '
            "(alone: shows the source; quote a value with spaces, and write label values in single quotes, as a "
            "Slack command cannot nest double quotes)"
        ),
    ),
)


SUBCOMMANDS = (
    Subcommand(
        "kpi",
        summary=(
            "The agreed measure of good: `add` with a target and direction, `record` readings (a decimal comma such as "
            "`0,85` counts as a point), `list` them with their trend, `chart` one as an image in this channel; "
            "`edit` or `remove` a KPI and `reading remove` a wrong reading (the KPI's owner and the initiative's "
            "managers). `source` reads a KPI from an MLflow experiment's metric or a Prometheus query instead of "
            "people typing it: checked at once, then read every so often. A KPI name may be shortened to an "
            "unambiguous prefix. The thread is alerted once when a KPI misses its target, with the KPI's chart."
        ),
        usage=(
            '/handoff kpi add churn "AUC on holdout" >= 0.82 unit:% owner:@bob  ·  /handoff kpi record churn "AUC on '
            'holdout" 0.84 "after retrain"  ·  /handoff kpi list churn  ·  /handoff kpi edit churn "AUC on holdout" '
            'target:0.85  ·  /handoff kpi reading remove churn "AUC on holdout"  ·  /handoff kpi source churn '
            '"AUC on holdout" mlflow experiment:churn metric:auc'
        ),
        parse=undated(parse_kpi),
        actions=(
            Action(KpiAddCommand, _add_kpi, "kpi add", slot=Slot.INITIATIVE_REF),
            Action(KpiRecordCommand, _record_kpi, "kpi record", slot=Slot.INITIATIVE_REF),
            Action(KpiListCommand, _list_kpis, "kpi list", Answer.IN_ACK, Slot.INITIATIVE_REF),
            Action(KpiChartCommand, _chart_kpi, "kpi chart", Answer.AFTER_ACK, Slot.INITIATIVE_REF),
            Action(KpiEditCommand, _edit_kpi, "kpi edit", slot=Slot.INITIATIVE_REF),
            Action(KpiRemoveCommand, _remove_kpi, "kpi remove", slot=Slot.INITIATIVE_REF),
            Action(KpiReadingRemoveCommand, _remove_reading, "kpi reading remove", slot=Slot.INITIATIVE_REF),
            Action(KpiSourceCommand, _kpi_source, "kpi source", _source_answer, Slot.INITIATIVE_REF),
        ),
        family="kpis",
        aliases=(Alias("kpis", "list"),),
        action_usage=KPI_USAGE,
        takes_action=True,
    ),
)
