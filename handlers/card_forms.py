"""Submissions of the forms a status card's menu opens. The ack checks what it can without Slack and marks the
fields inline; the change itself happens after it, through the same steps the commands take, so permissions,
validation and the thread's announcement are theirs, and the submitter is answered privately."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.blocks.base import Message
from bot.blocks.card_forms import STANDUP_ON, TYPED_BY_PEOPLE
from bot.blocks.help import render_notice
from bot.blocks.problems import PLAIN, describe, field_error
from bot.errors import FieldProblem, HandoffError, InvalidInput, NothingToChange, Problem
from bot.initiatives import (
    Actor,
    EditRequest,
    Initiative,
    Phase,
    edit_problems,
    edit_request_between,
    initiative_by_id,
    note_problems,
)
from bot.kpi_source_setting import spec_problems
from bot.kpi_sources.spec import MlflowSpec, PrometheusSpec, RunPick, SourceSpec
from bot.kpis import new_kpi_problems, parse_direction, parse_number
from bot.readiness import ItemStatus, missing_to_enter, reason_problems
from bot.recurrence import WEEKDAYS, ScheduleError, parse_time_of_day, parse_timezone
from bot.runtime import Runtime
from bot.standups import NoEmbeddedEngineer, questions_for, settings_plan, validate_questions
from handlers.command_table import error_answer
from handlers.errors import after_ack
from handlers.form_state import element_state, form_metadata, selected_value, text_value
from handlers.initiatives import archive_and_announce, change_phase_and_announce, edit_and_announce
from handlers.kpis import KpiAddCommand, add_kpi_and_announce, record_kpi_and_announce, set_source_and_announce
from handlers.standups import StandupCommand, change_standup, questions_from_form, save_questions
from handlers.tenancy import actor_of
from handlers.views import FIELD_BLOCKS, FORM_ACCEPTED, draft_from_state, form_check, tell_privately

NOTHING_CHANGED = "Nothing changed: change a field, or Cancel."
GONE = "This initiative is no longer there; close the form."
# A form's change, run after the ack: the person, the initiative the form is about, and the submitted values.
Step = Callable[[Actor, Initiative, dict[str, Any]], Message]
FORCE_FIELD = "Reason to move anyway"


def register(app: App, runtime: Runtime) -> None:
    def answered(body: dict[str, Any], client: WebClient, context: BoltContext, usage_of: str, step: Step) -> None:
        """Run the change after the ack and answer the submitter privately where the form was opened."""
        if not context.get(FORM_ACCEPTED):
            return  # the form stayed open with its errors
        actor, metadata = actor_of(context, body["user"]["id"]), form_metadata(body)
        try:
            with runtime.session() as session:
                initiative = initiative_by_id(
                    session=session, team_id=actor.team_id, initiative_id=int(metadata.get("i") or 0)
                )
            result: Message = step(actor, initiative, body["view"]["state"]["values"])
        except HandoffError as error:
            result = error_answer(error, usage_of)
        tell_privately(client, metadata.get("c"), actor.user_id, result)

    @after_ack
    def change_phase(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def step(actor: Actor, initiative: Initiative, values: dict[str, Any]) -> Message:
            move = phase_move_of(values)
            assert move is not None  # the ack refused a form without a phase
            return change_phase_and_announce(
                runtime, client, actor, initiative.ref_key, move.phase, move.note, move.force_reason
            )

        answered(body, client, context, "phase", step)

    app.view(ids.VIEW_CHANGE_PHASE)(
        ack=form_check(lambda body, context: phase_errors(runtime, body, context)), lazy=[change_phase]
    )

    @after_ack
    def edit(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def step(actor: Actor, initiative: Initiative, values: dict[str, Any]) -> Message:
            draft, _ = draft_from_state(values)
            request = edit_request_between(initiative, draft)
            return edit_and_announce(runtime, client, actor, initiative.ref_key, request)

        answered(body, client, context, "edit", step)

    app.view(ids.VIEW_EDIT_INITIATIVE)(
        ack=form_check(lambda body, context: edit_errors(runtime, body, context)), lazy=[edit]
    )

    @after_ack
    def add_kpi(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def step(actor: Actor, initiative: Initiative, values: dict[str, Any]) -> Message:
            command = kpi_command_of(initiative, values)
            added = add_kpi_and_announce(runtime, client, actor, command)
            spec = source_spec_of(values)
            if spec is None:
                return added
            try:
                sourced = set_source_and_announce(runtime, client, actor, initiative.ref_key, command.name, spec)
            except HandoffError as error:
                # The KPI stays agreed; only its source was not set, and the answer says why.
                sourced = render_notice(f":warning: Its source was not set: {describe(error)}")
            return Message(f"{added.text}\n{sourced.text}", [*added.blocks, *sourced.blocks])

        answered(body, client, context, "kpi add", step)

    app.view(ids.VIEW_ADD_KPI)(ack=form_check(lambda body, context: kpi_errors(runtime, body, context)), lazy=[add_kpi])

    @after_ack
    def record_reading(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def step(actor: Actor, initiative: Initiative, values: dict[str, Any]) -> Message:
            return record_kpi_and_announce(
                runtime,
                client,
                actor,
                initiative.ref_key,
                selected_value(values, ids.BLOCK_READING_KPI) or "",
                text_value(values, ids.BLOCK_READING_VALUE),
                text_value(values, ids.BLOCK_READING_NOTE) or None,
            )

        answered(body, client, context, "kpi record", step)

    app.view(ids.VIEW_RECORD_READING)(
        ack=form_check(lambda body, _context: reading_errors(body)), lazy=[record_reading]
    )

    @after_ack
    def save_standup(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        channel_id = form_metadata(body).get("c") or ""

        def step(actor: Actor, initiative: Initiative, values: dict[str, Any]) -> Message:
            change, errors = standup_change_of(runtime, initiative, values)
            if errors:  # changed since the ack: no embedded engineer any more
                raise InvalidInput.said("standup", " ".join(errors.values()))
            if change.command is None and change.questions is None:
                raise NothingToChange(Problem.ALREADY_SET)
            result: Message | None = None
            if change.command is not None:
                result = change_standup(runtime, client, actor, channel_id, change.command)
            if change.questions is not None:
                result = save_questions(runtime, client, actor, initiative.id or 0, change.questions)
            assert result is not None
            return result

        answered(body, client, context, "standup", step)

    app.view(ids.VIEW_STANDUP_SETTINGS)(
        ack=form_check(lambda body, context: standup_errors(runtime, body, context)), lazy=[save_standup]
    )

    @after_ack
    def archive(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def step(actor: Actor, initiative: Initiative, _values: dict[str, Any]) -> Message:
            return archive_and_announce(runtime, client, actor, initiative.ref_key)

        answered(body, client, context, "archive", step)

    app.view(ids.VIEW_ARCHIVE)(ack=form_check(lambda _body, _context: {}), lazy=[archive])


def _initiative_of(runtime: Runtime, body: dict[str, Any], context: BoltContext) -> Initiative | None:
    """The initiative a submitted form is about, read in the ack; None when it is gone."""
    try:
        with runtime.session() as session:
            return initiative_by_id(
                session=session,
                team_id=actor_of(context, body["user"]["id"]).team_id,
                initiative_id=int(form_metadata(body).get("i") or 0),
            )
    except (HandoffError, ValueError):
        return None


# --- change phase -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseMove:
    phase: Phase
    note: str | None
    force_reason: str | None


def phase_move_of(values: dict[str, Any]) -> PhaseMove | None:
    """The phase form's move; None when no phase was picked."""
    try:
        phase = Phase(selected_value(values, ids.BLOCK_PHASE_TARGET) or "")
    except ValueError:
        return None
    note = text_value(values, ids.BLOCK_PHASE_NOTE) or None
    reason = text_value(values, ids.BLOCK_PHASE_REASON) or None
    return PhaseMove(phase, note, reason)


def phase_errors(runtime: Runtime, body: dict[str, Any], context: BoltContext) -> dict[str, str]:
    """A phase it is in already, a gate with items missing and no reason, and notes too long, marked inline."""
    move = phase_move_of(body["view"]["state"]["values"])
    if move is None:
        return {ids.BLOCK_PHASE_TARGET: "Pick the phase to move to."}
    errors: dict[str, str] = {}
    for problem in note_problems(move.note):
        errors[ids.BLOCK_PHASE_NOTE] = field_error(problem)
    if move.force_reason is not None:
        for problem in reason_problems(move.force_reason):
            errors[ids.BLOCK_PHASE_REASON] = field_error(problem)
        if move.note is not None:
            errors[ids.BLOCK_PHASE_NOTE] = (
                f'Moving anyway records the reason as the note: put it all under "{FORCE_FIELD}", or empty one.'
            )
    initiative = _initiative_of(runtime, body, context)
    if initiative is None:
        return {ids.BLOCK_PHASE_TARGET: GONE}
    if initiative.phase == move.phase.value:
        already = NothingToChange(Problem.ALREADY_IN_PHASE, name=initiative.name, phase=move.phase.value)
        errors[ids.BLOCK_PHASE_TARGET] = describe(already, PLAIN)
    elif move.force_reason is None:
        checklist = runtime.settings.checklist.for_team(initiative.team_id)
        with runtime.session() as session:
            missing = missing_to_enter(session=session, checklist=checklist, initiative=initiative, phase=move.phase)
        if missing:
            may_force = any(b.get("block_id") == ids.BLOCK_PHASE_REASON for b in body["view"].get("blocks") or [])
            errors[ids.BLOCK_PHASE_TARGET] = gate_error(initiative, move.phase, missing, may_force=may_force)
    return errors


def gate_error(initiative: Initiative, target: Phase, missing: list[ItemStatus], *, may_force: bool) -> str:
    """What a move past a gate misses, and how to move anyway, or that only the leads may."""
    labels = ", ".join(s.item.label for s in missing)
    text = f"Still missing before {target.value}: {labels}. "
    if may_force:
        return text + f'To move anyway, say why under "{FORCE_FIELD}".'
    return text + (
        "Only the DS lead, the engineering lead or a workspace admin can move it anyway; add the missing items, or "
        f'waive them with /handoff checklist {initiative.ref_key} waive <item> "<reason>".'
    )


# --- edit ---------------------------------------------------------------------------------------------------------


def edit_errors(runtime: Runtime, body: dict[str, Any], context: BoltContext) -> dict[str, str]:
    """Nothing changed, and every problem the database can tell before the ack; the people are checked after it."""
    draft, errors = draft_from_state(body["view"]["state"]["values"])
    if errors:
        return errors
    initiative = _initiative_of(runtime, body, context)
    if initiative is None:
        return {ids.BLOCK_NEW_NAME: GONE}
    request: EditRequest = edit_request_between(initiative, draft)
    if not request.values:
        return {ids.BLOCK_NEW_NAME: NOTHING_CHANGED}
    with runtime.session() as session:
        problems = edit_problems(
            session=session,
            team_id=initiative.team_id,
            initiative=initiative,
            request=request,
            people=None,
            today=runtime.today(),
            jira_configured=runtime.jira is not None,
        )
    for problem in problems:
        errors.setdefault(FIELD_BLOCKS.get(problem.field, ids.BLOCK_NEW_NAME), field_error(problem))
    return errors


# --- KPI -----------------------------------------------------------------------------------------------------------

# Which block shows the error for each field of a new KPI the service can complain about.
KPI_FIELD_BLOCKS = {"name": ids.BLOCK_KPI_NAME, "unit": ids.BLOCK_KPI_UNIT}


def kpi_command_of(initiative: Initiative, values: dict[str, Any]) -> KpiAddCommand:
    """The KPI form as `/handoff kpi add` would be typed: the direction and target as text, read by the command's own
    parsers."""
    return KpiAddCommand(
        initiative_ref=initiative.ref_key,
        name=text_value(values, ids.BLOCK_KPI_NAME),
        direction=selected_value(values, ids.BLOCK_KPI_DIRECTION) or "",
        target=text_value(values, ids.BLOCK_KPI_TARGET),
        unit=text_value(values, ids.BLOCK_KPI_UNIT) or None,
        owner_id=element_state(values, ids.BLOCK_KPI_OWNER).get("selected_user") or None,
    )


def kpi_errors(runtime: Runtime, body: dict[str, Any], context: BoltContext) -> dict[str, str]:
    """What `kpi add` would refuse in the name, direction, target and unit, marked inline; the owner, and whether the
    submitter may agree KPIs, are checked after the ack, by the command's own step."""
    initiative = _initiative_of(runtime, body, context)
    if initiative is None:
        return {ids.BLOCK_KPI_NAME: GONE}
    command = kpi_command_of(initiative, body["view"]["state"]["values"])
    errors: dict[str, str] = {}
    if not command.direction:
        errors[ids.BLOCK_KPI_DIRECTION] = "Pick whether higher or lower is better."
    else:
        try:
            parse_direction(command.direction)
        except InvalidInput as error:
            errors[ids.BLOCK_KPI_DIRECTION] = field_error(error.problems[0])
    try:
        parse_number(command.target, "target")
    except InvalidInput as error:
        errors[ids.BLOCK_KPI_TARGET] = field_error(error.problems[0])
    with runtime.session() as session:
        problems = new_kpi_problems(
            session=session, initiative=initiative, name=command.name, unit=command.unit, owner_id=None, people=None
        )
    for problem in problems:
        errors.setdefault(KPI_FIELD_BLOCKS[problem.field], field_error(problem))
    errors.update(source_errors(runtime, body["view"]["state"]["values"]))
    return errors


# Which block shows the error for each field of a source the service can complain about.
SOURCE_FIELD_BLOCKS = {
    "experiment": ids.BLOCK_KPI_EXPERIMENT,
    "metric": ids.BLOCK_KPI_METRIC,
    "filter": ids.BLOCK_KPI_FILTER,
    "model": ids.BLOCK_KPI_MODEL,
    "alias": ids.BLOCK_KPI_ALIAS,
    "query": ids.BLOCK_KPI_QUERY,
}


def source_spec_of(values: dict[str, Any]) -> SourceSpec | None:
    """The form's source as `/handoff kpi source` would be typed; None when people type its readings."""
    kind = selected_value(values, ids.BLOCK_KPI_SOURCE) or TYPED_BY_PEOPLE
    if kind == PrometheusSpec.kind.value:
        return PrometheusSpec(query=text_value(values, ids.BLOCK_KPI_QUERY))
    if kind != MlflowSpec.kind.value:
        return None
    return MlflowSpec(
        experiment=text_value(values, ids.BLOCK_KPI_EXPERIMENT),
        metric=text_value(values, ids.BLOCK_KPI_METRIC),
        run=RunPick(selected_value(values, ids.BLOCK_KPI_RUN) or RunPick.LATEST.value),
        filter=text_value(values, ids.BLOCK_KPI_FILTER) or None,
        model=text_value(values, ids.BLOCK_KPI_MODEL) or None,
        alias=text_value(values, ids.BLOCK_KPI_ALIAS) or None,
    )


def source_errors(runtime: Runtime, values: dict[str, Any]) -> dict[str, str]:
    """A source that is not configured, or misses what it needs, marked inline; whether it reads a number is
    checked after the ack, once the KPI is agreed."""
    spec = source_spec_of(values)
    if spec is None:
        return {}
    configured = runtime.settings.mlflow if isinstance(spec, MlflowSpec) else runtime.settings.prometheus
    if configured is None:
        return {
            ids.BLOCK_KPI_SOURCE: field_error(FieldProblem("source", Problem.SOURCE_NOT_CONFIGURED, kind=spec.kind))
        }
    errors: dict[str, str] = {}
    for problem in spec_problems(spec):
        errors.setdefault(SOURCE_FIELD_BLOCKS[problem.field], field_error(problem))
    return errors


# --- KPI reading --------------------------------------------------------------------------------------------------


def reading_errors(body: dict[str, Any]) -> dict[str, str]:
    """No KPI picked, a value that is no number, a note too long."""
    values = body["view"]["state"]["values"]
    errors: dict[str, str] = {}
    if not selected_value(values, ids.BLOCK_READING_KPI):
        errors[ids.BLOCK_READING_KPI] = "Pick the KPI this reading is of."
    try:
        parse_number(text_value(values, ids.BLOCK_READING_VALUE), "value")
    except InvalidInput as error:
        errors[ids.BLOCK_READING_VALUE] = field_error(error.problems[0])
    for problem in note_problems(text_value(values, ids.BLOCK_READING_NOTE) or None):
        errors[ids.BLOCK_READING_NOTE] = field_error(problem)
    return errors


# --- standup settings ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandupChange:
    """What the settings form changes: the schedule and on/off as `/handoff standup` takes them, and the
    questions; None where nothing changed."""

    command: StandupCommand | None
    questions: list[str] | None


def standup_change_of(
    runtime: Runtime, initiative: Initiative, values: dict[str, Any]
) -> tuple[StandupChange, dict[str, str]]:
    """Compare the form with the standup as it stands; problems go back inline, keyed by block."""
    errors: dict[str, str] = {}
    with runtime.session() as session:
        plan = settings_plan(session=session, initiative=initiative, default_timezone=runtime.settings.timezone)
        current_questions = list(questions_for(session=session, initiative_id=initiative.id or 0))
    if plan is None:
        no_engineer = describe(NoEmbeddedEngineer(initiative), PLAIN)
        return StandupChange(None, None), {ids.BLOCK_STANDUP_ENABLED: no_engineer}
    enabled = selected_value(values, ids.BLOCK_STANDUP_ENABLED) == STANDUP_ON
    at: time | None = None
    try:
        at = parse_time_of_day(str(element_state(values, ids.BLOCK_STANDUP_TIME).get("selected_time") or ""))
    except ScheduleError as error:
        errors[ids.BLOCK_STANDUP_TIME] = describe(error, PLAIN)
    picked = {str(o.get("value")) for o in element_state(values, ids.BLOCK_STANDUP_DAYS).get("selected_options") or []}
    days = tuple(d for d in WEEKDAYS if d in picked)
    if not days:
        errors[ids.BLOCK_STANDUP_DAYS] = "Pick at least one day."
    zone: str | None = None
    typed_zone = text_value(values, ids.BLOCK_STANDUP_ZONE)
    if typed_zone and typed_zone != plan.schedule.timezone:
        try:
            zone = parse_timezone(typed_zone)
        except ScheduleError as error:
            errors[ids.BLOCK_STANDUP_ZONE] = describe(error, PLAIN)
    questions: list[str] | None = None
    try:
        questions = validate_questions(questions_from_form(values))
    except InvalidInput as error:
        errors[ids.block_standup_question(0)] = describe(error, PLAIN)
    if errors:
        return StandupChange(None, None), errors
    schedule = plan.schedule
    new_at = at if at != schedule.at else None
    new_days = days if days != schedule.days else None
    new_zone = zone if zone != schedule.timezone else None
    command = None
    if enabled != plan.enabled or new_at or new_days or new_zone:
        command = StandupCommand(initiative.ref_key, "on" if enabled else "off", new_at, new_zone, new_days)
    return StandupChange(command, questions if questions != current_questions else None), {}


def standup_errors(runtime: Runtime, body: dict[str, Any], context: BoltContext) -> dict[str, str]:
    """A time, days, zone or questions the schedule cannot take, and a form that changes nothing."""
    initiative = _initiative_of(runtime, body, context)
    if initiative is None:
        return {ids.BLOCK_STANDUP_ENABLED: GONE}
    change, errors = standup_change_of(runtime, initiative, body["view"]["state"]["values"])
    if errors:
        return errors
    if change.command is None and change.questions is None:
        return {ids.BLOCK_STANDUP_ENABLED: NOTHING_CHANGED}
    return {}
