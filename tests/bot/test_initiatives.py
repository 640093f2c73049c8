"""Services against real storage (SQLite) and a recording fake of the Slack user directory."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.blocks.problems import describe, describe_field
from bot.checkpoints import UnknownCheckpoint, linked_checkpoint, locate_by_id
from bot.clock import FixedClock
from bot.errors import (
    AmbiguousInitiative,
    DuplicateName,
    InvalidInput,
    NotAllowed,
    NothingToChange,
    Problem,
    UnknownInitiative,
    UnknownUser,
)
from bot.event_dedupe import claim_event
from bot.initiatives import (
    CLEAR,
    Actor,
    EditRequest,
    Field,
    InitiativeDraft,
    archive_initiative,
    change_phase,
    create_initiative,
    discard_unannounced,
    edit_initiative,
    initiative_by_id,
    initiatives_by_ids,
    managers_of,
    parse_phase,
    phase_history,
    record_thread,
    resolve_initiative,
)
from bot.jira_mentions import Mention, claim_mention, mention_answered, release_mention
from bot.people import PROFILE_MAX_AGE, PeopleService, UserProfile
from bot.standups import StandupPrompt, prompt_to_answer
from bot.status import PAGE_SIZE, ScopeKind, StatusScope, initiative_detail, initiatives_for_user, status_page
from storage import initiatives as queries
from storage.checkpoints import add_checkpoint
from storage.models import GOAL_MAX, NAME_MAX, NOTE_MAX, Initiative, Phase, PhaseChange, SlackUser
from storage.standups import add_prompt
from tests.support.factories import (
    StaticDirectory,
    actor,
    checkpoint_row,
    count_rows,
    make_initiative,
    managed,
    people_directory,
    problem_fields,
)
from tests.support.slack_driver import TEAM_ID
from tests.support.workspace import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    CHURN,
    CREATOR,
    DAVE,
    GENERAL,
    GONE,
    NOBODY,
    NOW,
    OTHER_TEAM,
    OWNER,
    ROBOT,
)

TODAY = NOW.date()


# --- create --------------------------------------------------------------------------------------------------------


def test_create_stores_a_discovery_initiative_with_its_first_history_row(
    session: Session, people: PeopleService
) -> None:
    draft = InitiativeDraft(
        name="  Churn   model v2 ",
        home_channel_id=CHURN,
        ds_lead_id=ALICE,
        eng_lead_id=BOB,
        embedded_engineer_id=CAROL,
        goal="Cut churn by 5%",
        jira_epic_key=" ds-12 ",
        target_date=TODAY,  # today is not in the past
    )
    created = create_initiative(
        session=session, actor=actor(DAVE), draft=draft, people=people, now=NOW, today=TODAY, jira_configured=True
    )
    session.commit()

    stored = queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="churn model v2")
    assert stored is not None and stored.id == created.id
    assert stored.name == "Churn model v2"
    assert stored.name_key == "churn model v2"
    assert stored.phase == "discovery"
    assert (stored.ds_lead_id, stored.eng_lead_id, stored.embedded_engineer_id) == (ALICE, BOB, CAROL)
    assert (stored.jira_epic_key, stored.jira_project_key) == ("DS-12", "DS")
    assert stored.target_date == TODAY
    assert (stored.created_by, stored.created_at, stored.updated_by, stored.updated_at) == (DAVE, NOW, DAVE, NOW)
    assert stored.archived is False
    history = phase_history(session=session, initiative=stored)
    assert [(c.from_phase, c.to_phase, c.changed_by, c.changed_at) for c in history] == [(None, "discovery", DAVE, NOW)]


def test_create_with_only_a_name(session: Session, people: PeopleService, directory: StaticDirectory) -> None:
    draft = InitiativeDraft(name="Fraud rules", home_channel_id=GENERAL, goal="")
    created = create_initiative(
        session=session, actor=actor(DAVE), draft=draft, people=people, now=NOW, today=TODAY, jira_configured=True
    )
    assert created.goal is None
    assert (created.jira_epic_key, created.jira_project_key, created.target_date) == (None, None, None)
    assert directory.lookups == []  # nobody to look up


def test_create_reports_every_problem_at_once_and_writes_nothing(session: Session, people: PeopleService) -> None:
    draft = InitiativeDraft(
        name="x" * (NAME_MAX + 1),
        home_channel_id=GENERAL,
        ds_lead_id=NOBODY,
        eng_lead_id=ROBOT,
        embedded_engineer_id=GONE,
        goal="g" * (GOAL_MAX + 1),
        jira_epic_key="epic twelve",
        target_date=TODAY - timedelta(days=1),
    )
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session, actor=actor(ALICE), draft=draft, people=people, now=NOW, today=TODAY, jira_configured=True
        )

    error = caught.value
    assert problem_fields(error) == ["name", "goal", "jira", "due", "ds", "eng", "embedded"]
    messages = [describe_field(p) for p in error.problems]
    assert f"{NAME_MAX + 1} characters" in messages[0] and str(NAME_MAX) in messages[0]
    assert f"{GOAL_MAX + 1} characters" in messages[1]
    assert '"epic twelve" is not a Jira issue key' in messages[2]
    assert "2027-01-03" in messages[3] and "past" in messages[3]
    assert messages[4] == f"DS lead: The user <@{NOBODY}> is not a member of this workspace."
    assert messages[5] == f"Engineering lead: The user <@{ROBOT}> is a bot, not a person."
    assert messages[6] == f"Embedded engineer: The user <@{GONE}> is deactivated."
    assert describe(error) == " ".join(messages)
    session.commit()
    assert count_rows(session, Initiative) == 0
    assert count_rows(session, PhaseChange) == 0


@pytest.mark.parametrize("name", ["all", "ALL", " All "])
def test_create_refuses_reserved_names(session: Session, people: PeopleService, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session,
            actor=actor(ALICE),
            draft=InitiativeDraft(name=name, home_channel_id=GENERAL),
            people=people,
            now=NOW,
            today=TODAY,
            jira_configured=True,
        )
    assert problem_fields(caught.value) == ["name"]
    assert "reserved" in describe(caught.value)
    assert count_rows(session, Initiative) == 0


def test_create_refuses_an_empty_name(session: Session, people: PeopleService) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session,
            actor=actor(ALICE),
            draft=InitiativeDraft(name="   ", home_channel_id=GENERAL),
            people=people,
            now=NOW,
            today=TODAY,
            jira_configured=True,
        )
    assert describe_field(caught.value.problems[0]) == "The initiative needs a name."


def test_create_accepts_names_and_goals_at_the_limit(session: Session, people: PeopleService) -> None:
    draft = InitiativeDraft(name="n" * NAME_MAX, home_channel_id=GENERAL, goal="g" * GOAL_MAX)
    created = create_initiative(
        session=session, actor=actor(ALICE), draft=draft, people=people, now=NOW, today=TODAY, jira_configured=True
    )
    assert len(created.name) == NAME_MAX
    assert len(created.goal or "") == GOAL_MAX


def test_create_refuses_a_duplicate_name_ignoring_case(session: Session, people: PeopleService) -> None:
    make_initiative(session, name="Churn Model")
    session.commit()
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session,
            actor=actor(ALICE),
            draft=InitiativeDraft(name="churn   MODEL", home_channel_id=GENERAL),
            people=people,
            now=NOW,
            today=TODAY,
            jira_configured=True,
        )
    assert problem_fields(caught.value) == ["name"]
    assert describe(caught.value) == 'An initiative called "Churn Model" already exists. Pick another name.'
    assert count_rows(session, Initiative) == 1


def test_duplicate_of_an_archived_initiative_says_so(session: Session, people: PeopleService) -> None:
    make_initiative(session, name="Old churn", archived=True, archived_at=NOW)
    session.commit()
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session,
            actor=actor(ALICE),
            draft=InitiativeDraft(name="old churn", home_channel_id=GENERAL),
            people=people,
            now=NOW,
            today=TODAY,
            jira_configured=True,
        )
    assert "(it is archived)" in describe(caught.value)
    assert '"Old churn"' in describe(caught.value)


def test_the_same_name_is_fine_in_another_team(session: Session, people: PeopleService) -> None:
    make_initiative(session, name="Churn", team_id="T0OTHER")
    session.commit()
    created = create_initiative(
        session=session,
        actor=actor(ALICE),
        draft=InitiativeDraft(name="Churn", home_channel_id=GENERAL),
        people=people,
        now=NOW,
        today=TODAY,
        jira_configured=True,
    )
    assert created.team_id == TEAM_ID


def test_problem_messages_escape_what_the_user_typed(session: Session, people: PeopleService) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session,
            actor=actor(ALICE),
            draft=InitiativeDraft(name="Fine", home_channel_id=GENERAL, jira_epic_key="<!channel>"),
            people=people,
            now=NOW,
            today=TODAY,
            jira_configured=True,
        )
    assert "&lt;!channel&gt;" in describe(caught.value)
    assert "<!channel>" not in describe(caught.value)


class RacingDirectory(StaticDirectory):
    """While the service looks a person up, someone else creates the same name and commits first."""

    def __init__(self, engine: Engine, name: str):
        super().__init__(people_directory().profiles)
        self._engine = engine
        self._name = name

    def lookup(self, user_id: str) -> UserProfile | None:
        with Session(self._engine) as other:
            make_initiative(other, name=self._name, created_by=BOB)
            other.commit()
        return super().lookup(user_id)


def test_a_name_taken_between_validation_and_insert_is_a_duplicate(engine: Engine) -> None:
    with Session(engine) as session:
        people = PeopleService(session=session, directory=RacingDirectory(engine, "Race"), team_id=TEAM_ID, now=NOW)
        with pytest.raises(DuplicateName) as caught:
            create_initiative(
                session=session,
                actor=actor(ALICE),
                draft=InitiativeDraft(name="race", home_channel_id=GENERAL, ds_lead_id=ALICE),
                people=people,
                now=NOW,
                today=TODAY,
                jira_configured=True,
            )
        assert "already exists" in describe(caught.value)
        # The session is still usable: the savepoint was rolled back, not the whole transaction.
        session.commit()
        assert session.get(SlackUser, (TEAM_ID, ALICE)) is not None
        rows = session.exec(select(Initiative)).all()
    assert [(i.name, i.created_by) for i in rows] == [("Race", BOB)]


# --- resolve -------------------------------------------------------------------------------------------------------


@pytest.fixture
def named(session: Session) -> dict[str, Initiative]:
    initiatives = {
        name: make_initiative(session, name=name)
        for name in ("Churn", "Churn model v2", "Churn dashboard", "Fraud rules", "Pricing 50%")
    }
    initiatives["Forecast (old)"] = make_initiative(session, name="Forecast (old)", archived=True, archived_at=NOW)
    session.commit()
    return initiatives


def resolve(session: Session, reference: str) -> Initiative:
    return resolve_initiative(session=session, team_id=TEAM_ID, reference=reference)


def test_resolve_prefers_an_exact_name_over_prefixes(session: Session, named: dict[str, Initiative]) -> None:
    assert resolve(session, "churn") is named["Churn"]
    assert resolve(session, "  CHURN  model   V2") is named["Churn model v2"]


def test_resolve_accepts_a_unique_prefix(session: Session, named: dict[str, Initiative]) -> None:
    assert resolve(session, "fr") is named["Fraud rules"]
    assert resolve(session, "churn d") is named["Churn dashboard"]
    assert resolve(session, "pricing 5") is named["Pricing 50%"]


def test_resolve_lists_every_match_of_an_ambiguous_prefix(session: Session, named: dict[str, Initiative]) -> None:
    with pytest.raises(AmbiguousInitiative) as caught:
        resolve(session, "chu")
    assert caught.value.matches == ["Churn", "Churn dashboard", "Churn model v2"]
    assert '"Churn" (`churn`), "Churn dashboard" (`churn3`), "Churn model v2" (`churn2`)' in describe(caught.value)


def test_resolve_finds_archived_initiatives_only_by_exact_name_or_key(
    session: Session, named: dict[str, Initiative]
) -> None:
    assert resolve(session, "forecast (OLD)") is named["Forecast (old)"]
    assert named["Forecast (old)"].ref_key == "forecast"
    assert resolve(session, "FORECAST") is named["Forecast (old)"]
    with pytest.raises(UnknownInitiative):
        resolve(session, "forec")


@pytest.mark.parametrize("reference", ["Nothing", "%", "_hurn", "   "])
def test_resolve_reports_unknown_initiatives(session: Session, named: dict[str, Initiative], reference: str) -> None:
    with pytest.raises(UnknownInitiative) as caught:
        resolve(session, reference)
    assert "No initiative called" in describe(caught.value)


def test_unknown_initiative_message_escapes_the_reference(session: Session) -> None:
    with pytest.raises(UnknownInitiative) as caught:
        resolve(session, "<!here> & co")
    assert describe(caught.value) == 'No initiative called "&lt;!here&gt; &amp; co" in this workspace.'


def test_an_initiative_by_id_is_one_of_the_workspace_still_there(session: Session) -> None:
    ours = make_initiative(session, name="Churn model")
    theirs = make_initiative(session, name="Pricing engine", team_id=OTHER_TEAM)
    session.commit()
    assert initiative_by_id(session=session, team_id=TEAM_ID, initiative_id=ours.id or 0) is ours
    for missing in (theirs.id or 0, 9999):
        with pytest.raises(UnknownInitiative):
            initiative_by_id(session=session, team_id=TEAM_ID, initiative_id=missing)
    carried = [9999, theirs.id or 0, ours.id or 0]
    assert initiatives_by_ids(session=session, team_id=TEAM_ID, initiative_ids=carried) == [ours]


def test_a_checkpoint_by_id_or_by_its_jira_issue_is_an_active_one_of_the_workspace(session: Session) -> None:
    ours = make_initiative(session, name="Churn model")
    theirs = make_initiative(session, name="Pricing engine", team_id=OTHER_TEAM)
    kept = add_checkpoint(session=session, checkpoint=checkpoint_row(ours.id or 0, 1, jira_key="DS-42"))
    removed = add_checkpoint(
        session=session, checkpoint=checkpoint_row(ours.id or 0, 2, jira_key="DS-43", removed_by=ALICE, removed_at=NOW)
    )
    foreign = add_checkpoint(session=session, checkpoint=checkpoint_row(theirs.id or 0, 1, jira_key="PR-7"))
    session.commit()
    assert locate_by_id(session=session, team_id=TEAM_ID, checkpoint_id=kept.id or 0).ref == f"{ours.ref_key}#1"
    for gone in (removed, foreign):
        with pytest.raises(UnknownCheckpoint):
            locate_by_id(session=session, team_id=TEAM_ID, checkpoint_id=gone.id or 0)
    linked = linked_checkpoint(session=session, team_id=TEAM_ID, jira_key="DS-42")
    assert linked is not None and linked.checkpoint.id == kept.id
    for unlinked in ("DS-43", "PR-7"):
        assert linked_checkpoint(session=session, team_id=TEAM_ID, jira_key=unlinked) is None


def test_a_standup_prompt_is_answered_only_by_its_engineer_while_it_is_there(session: Session) -> None:
    churn = make_initiative(session, name="Churn model", embedded_engineer_id=CAROL)
    prompt = add_prompt(
        session=session,
        prompt=StandupPrompt(
            initiative_id=churn.id or 0, team_id=TEAM_ID, user_id=CAROL, day=TODAY, timezone="UTC", prompted_at=NOW
        ),
    )
    session.commit()
    assert prompt_to_answer(session=session, actor=actor(CAROL), prompt_id=prompt.id or 0) == (prompt, churn)
    with pytest.raises(InvalidInput) as refused:
        prompt_to_answer(session=session, actor=actor(BOB), prompt_id=prompt.id or 0)
    assert refused.value.problems[0].kind is Problem.NOT_YOUR_STANDUP
    assert f"<@{CAROL}>" in describe(refused.value)
    for stale, prompt_id in ((Actor(team_id=OTHER_TEAM, user_id=CAROL), prompt.id or 0), (actor(CAROL), 9999)):
        with pytest.raises(InvalidInput) as out_of_date:
            prompt_to_answer(session=session, actor=stale, prompt_id=prompt_id)
        assert describe(out_of_date.value) == "That standup is no longer there; wait for the next prompt."


def test_a_slack_event_is_claimed_by_its_first_delivery_only(session: Session) -> None:
    assert claim_event(session=session, event_id="Ev01", now=NOW)
    assert not claim_event(session=session, event_id="Ev01", now=NOW)
    assert claim_event(session=session, event_id="Ev02", now=NOW)


def test_a_jira_mention_is_answered_once_a_thread_unless_the_reply_is_given_back(session: Session) -> None:
    mention = Mention(channel_id=GENERAL, thread_ts="1700000000.000100", issue_key="DS-42")
    elsewhere = Mention(channel_id=GENERAL, thread_ts="1700000000.000200", issue_key="DS-42")
    assert not mention_answered(session=session, mention=mention)
    assert claim_mention(session=session, mention=mention, now=NOW)
    assert mention_answered(session=session, mention=mention)
    assert not claim_mention(session=session, mention=mention, now=NOW)
    assert not mention_answered(session=session, mention=elsewhere)
    release_mention(session=session, mention=mention)
    assert claim_mention(session=session, mention=mention, now=NOW)


# --- phases --------------------------------------------------------------------------------------------------------


def test_parse_phase() -> None:
    assert parse_phase(" Research ") is Phase.RESEARCH
    with pytest.raises(InvalidInput) as caught:
        parse_phase("<b>done")
    assert "&lt;b&gt;done" in describe(caught.value)
    assert "discovery, research, summary, development, production, monitoring, paused, cancelled" in (
        describe(caught.value)
    )


def test_change_phase_moves_and_records_history(session: Session, people: PeopleService, clock: FixedClock) -> None:
    initiative = managed(session)
    clock.advance(timedelta(days=3))
    result = change_phase(
        session=session,
        actor=actor(ALICE),
        initiative=initiative,
        phase=Phase.RESEARCH,
        note="kickoff done, don't wait",
        people=people,
        now=clock.now(),
    )
    session.commit()

    assert result.initiative.phase == "research"
    assert (result.change.from_phase, result.change.to_phase) == ("discovery", "research")
    assert result.change.note == "kickoff done, don't wait"
    stored = session.get(Initiative, initiative.id)
    assert stored is not None
    assert (stored.phase, stored.updated_by, stored.updated_at) == ("research", ALICE, NOW + timedelta(days=3))
    history = phase_history(session=session, initiative=stored)
    assert [(c.from_phase, c.to_phase, c.changed_by, c.changed_at) for c in history] == [
        (None, "discovery", CREATOR, NOW),
        ("discovery", "research", ALICE, NOW + timedelta(days=3)),
    ]


def test_an_empty_note_is_stored_as_none(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = change_phase(
        session=session, actor=actor(ALICE), initiative=initiative, phase=Phase.PAUSED, note="", people=people, now=NOW
    )
    assert result.change.note is None


def test_changing_to_the_same_phase_is_nothing_to_change(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NothingToChange) as caught:
        change_phase(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            phase=Phase.DISCOVERY,
            note=None,
            people=people,
            now=NOW,
        )
    assert describe(caught.value) == '"Churn model" is already in discovery.'
    assert count_rows(session, PhaseChange) == 1


def test_archived_initiatives_keep_their_phase(session: Session, people: PeopleService) -> None:
    initiative = managed(session, archived=True, archived_at=NOW)
    with pytest.raises(InvalidInput) as caught:
        change_phase(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            phase=Phase.RESEARCH,
            note=None,
            people=people,
            now=NOW,
        )
    assert "archived" in describe(caught.value)
    assert initiative.phase == "discovery"
    assert count_rows(session, PhaseChange) == 1


def test_notes_are_limited(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as caught:
        change_phase(
            session=session,
            actor=actor(ALICE),
            initiative=initiative,
            phase=Phase.RESEARCH,
            note="n" * (NOTE_MAX + 1),
            people=people,
            now=NOW,
        )
    assert problem_fields(caught.value) == ["note"]
    assert f"{NOTE_MAX + 1} characters" in describe(caught.value)
    assert initiative.phase == "discovery"

    result = change_phase(
        session=session,
        actor=actor(ALICE),
        initiative=initiative,
        phase=Phase.RESEARCH,
        note="n" * NOTE_MAX,
        people=people,
        now=NOW,
    )
    assert len(result.change.note or "") == NOTE_MAX


def test_an_outsider_cannot_change_the_phase(
    session: Session, people: PeopleService, directory: StaticDirectory
) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed) as caught:
        change_phase(
            session=session,
            actor=actor(DAVE),
            initiative=initiative,
            phase=Phase.RESEARCH,
            note=None,
            people=people,
            now=NOW,
        )
    assert caught.value.allowed_user_ids == [ALICE, BOB, CAROL, CREATOR]
    assert "change its phase" in describe(caught.value)
    assert directory.lookups == [DAVE]  # the admin check ran, once the membership check failed
    assert initiative.phase == "discovery"
    assert count_rows(session, PhaseChange) == 1


def test_an_unknown_user_is_not_an_admin(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed):
        change_phase(
            session=session,
            actor=actor(NOBODY),
            initiative=initiative,
            phase=Phase.RESEARCH,
            note=None,
            people=people,
            now=NOW,
        )


@pytest.mark.parametrize("manager", [ALICE, BOB, CAROL, CREATOR], ids=["ds", "eng", "embedded", "creator"])
def test_each_manager_can_change_the_phase_without_asking_slack(
    session: Session, people: PeopleService, directory: StaticDirectory, manager: str
) -> None:
    initiative = managed(session)
    result = change_phase(
        session=session,
        actor=actor(manager),
        initiative=initiative,
        phase=Phase.RESEARCH,
        note=None,
        people=people,
        now=NOW,
    )
    assert result.change.changed_by == manager
    assert directory.lookups == []


@pytest.mark.parametrize("admin", [ADMIN, OWNER], ids=["admin", "owner"])
def test_workspace_admins_and_owners_can_change_the_phase(
    session: Session, people: PeopleService, directory: StaticDirectory, admin: str
) -> None:
    initiative = managed(session)
    change_phase(
        session=session,
        actor=actor(admin),
        initiative=initiative,
        phase=Phase.RESEARCH,
        note=None,
        people=people,
        now=NOW,
    )
    change_phase(
        session=session,
        actor=actor(admin),
        initiative=initiative,
        phase=Phase.SUMMARY,
        note=None,
        people=people,
        now=NOW,
    )
    assert initiative.phase == "summary"
    assert directory.lookups == [admin]  # the second check was answered from the cache


def test_managers_are_listed_once_each() -> None:
    initiative = Initiative(
        team_id=TEAM_ID,
        name="x",
        name_key="x",
        home_channel_id=GENERAL,
        ds_lead_id=ALICE,
        eng_lead_id=None,
        embedded_engineer_id=ALICE,
        created_by=BOB,
        created_at=NOW,
        updated_by=BOB,
        updated_at=NOW,
    )
    assert managers_of(initiative) == [ALICE, BOB]


# --- edit ----------------------------------------------------------------------------------------------------------


def edit(session: Session, people: PeopleService, who: str, initiative: Initiative, **values: object):
    request = EditRequest(values={Field(k): v for k, v in values.items()})
    return edit_initiative(
        session=session,
        actor=actor(who),
        initiative=initiative,
        request=request,
        people=people,
        now=NOW,
        today=TODAY,
        jira_configured=True,
    )


@pytest.mark.parametrize(
    ("fld", "value"),
    [("name", "Renamed"), ("channel", CHURN), ("ds", DAVE), ("eng", DAVE), ("embedded", DAVE)],
)
def test_restricted_fields_need_a_manager(session: Session, people: PeopleService, fld: str, value: str) -> None:
    initiative = managed(session)
    before = initiative.model_dump()
    with pytest.raises(NotAllowed) as caught:
        edit(session, people, DAVE, initiative, **{fld: value})
    assert "change its name, channel or people" in describe(caught.value)
    assert initiative.model_dump() == before

    result = edit(session, people, BOB, initiative, **{fld: value})
    assert [c.field for c in result.changes] == [Field(fld)]
    assert result.changes[0].new == value


def test_anyone_can_edit_goal_due_and_jira(session: Session, people: PeopleService, directory: StaticDirectory) -> None:
    initiative = managed(session)
    result = edit(session, people, DAVE, initiative, goal="Cut churn by 6%", due=date(2027, 4, 1), jira="ml-7")
    session.commit()

    assert [(c.field, c.old, c.new) for c in result.changes] == [
        (Field.GOAL, "Cut churn by 5%", "Cut churn by 6%"),
        (Field.DUE, date(2027, 3, 1), date(2027, 4, 1)),
        (Field.JIRA, "DS-12", "ML-7"),
    ]
    stored = session.get(Initiative, initiative.id)
    assert stored is not None
    assert (stored.goal, stored.target_date) == ("Cut churn by 6%", date(2027, 4, 1))
    assert (stored.jira_epic_key, stored.jira_project_key) == ("ML-7", "ML")  # the project follows the epic
    assert (stored.updated_by, stored.updated_at) == (DAVE, NOW)
    assert directory.lookups == []  # no permission check was needed


def test_clearing_optional_fields(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = edit(session, people, ALICE, initiative, goal=CLEAR, jira=CLEAR, due=CLEAR, embedded=CLEAR)
    session.commit()

    assert {c.field: c.new for c in result.changes} == {
        Field.GOAL: None,
        Field.JIRA: None,
        Field.DUE: None,
        Field.EMBEDDED: None,
    }
    stored = session.get(Initiative, initiative.id)
    assert stored is not None
    assert (stored.goal, stored.jira_epic_key, stored.jira_project_key, stored.target_date) == (None, None, None, None)
    assert stored.embedded_engineer_id is None
    assert stored.ds_lead_id == ALICE


@pytest.mark.parametrize("fld", ["name", "channel"])
def test_name_and_channel_cannot_be_cleared(session: Session, people: PeopleService, fld: str) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, **{fld: CLEAR})
    assert problem_fields(caught.value) == [fld]
    assert "cannot be removed" in describe(caught.value)


def test_clearing_an_empty_field_is_nothing_to_change(session: Session, people: PeopleService) -> None:
    initiative = managed(session, goal=None)
    with pytest.raises(NothingToChange):
        edit(session, people, DAVE, initiative, goal=CLEAR)


def test_rename_updates_the_name_key(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = edit(session, people, ALICE, initiative, name="  Retention   model ")
    session.commit()
    assert [(c.old, c.new) for c in result.changes] == [("Churn model", "Retention model")]
    found = queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="retention model")
    assert found is not None and found.id == initiative.id
    assert queries.get_initiative_by_name(session=session, team_id=TEAM_ID, name="churn model") is None


def test_rename_may_change_only_the_case(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    result = edit(session, people, ALICE, initiative, name="CHURN Model")
    assert result.initiative.name == "CHURN Model"
    assert result.initiative.name_key == "churn model"


def test_rename_to_a_taken_name_is_refused(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    make_initiative(session, name="Fraud rules")
    make_initiative(session, name="Old forecast", archived=True)
    session.commit()

    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, name="FRAUD rules")
    assert describe(caught.value) == 'An initiative called "Fraud rules" already exists. Pick another name.'

    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, name="old forecast")
    assert "(it is archived)" in describe(caught.value)

    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, name="All")
    assert "reserved" in describe(caught.value)
    assert initiative.name == "Churn model"


def test_equal_values_are_nothing_to_change(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NothingToChange):
        edit(session, people, ALICE, initiative, goal="Cut churn by 5%", jira="ds-12", due=date(2027, 3, 1))
    with pytest.raises(NothingToChange):
        edit(session, people, ALICE, initiative, name="Churn  model", ds=ALICE)
    assert initiative.updated_at == NOW


def test_one_bad_value_means_nothing_changes(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as caught:
        edit(
            session,
            people,
            ALICE,
            initiative,
            goal="A fine new goal",
            due=TODAY - timedelta(days=1),
            jira="not a key",
            ds=ROBOT,
        )
    assert sorted(problem_fields(caught.value)) == ["ds", "due", "jira"]
    session.commit()
    stored = session.get(Initiative, initiative.id)
    assert stored is not None
    assert (stored.goal, stored.target_date, stored.jira_epic_key, stored.ds_lead_id) == (
        "Cut churn by 5%",
        date(2027, 3, 1),
        "DS-12",
        ALICE,
    )


def test_edit_reports_a_duplicate_name_alongside_other_problems(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    make_initiative(session, name="Fraud rules")
    session.commit()
    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, goal="g" * (GOAL_MAX + 1), name="fraud rules")
    assert sorted(problem_fields(caught.value)) == ["goal", "name"]


def test_a_permission_failure_also_means_nothing_changes(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed):
        edit(session, people, DAVE, initiative, goal="Sneaky new goal", ds=DAVE)
    assert (initiative.goal, initiative.ds_lead_id) == ("Cut churn by 5%", ALICE)


def test_edit_checks_new_people(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, eng=GONE, embedded=NOBODY)
    assert problem_fields(caught.value) == ["eng", "embedded"]
    assert "deactivated" in describe_field(caught.value.problems[0])


def test_edit_needs_something_to_change(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(InvalidInput):
        edit(session, people, ALICE, initiative)


def test_archived_initiatives_cannot_be_edited(session: Session, people: PeopleService) -> None:
    initiative = managed(session, archived=True, archived_at=NOW)
    with pytest.raises(InvalidInput) as caught:
        edit(session, people, ALICE, initiative, goal="New")
    assert "archived" in describe(caught.value)


# --- archive, threads ----------------------------------------------------------------------------------------------


def test_archive_hides_the_initiative_and_keeps_its_history(
    session: Session, people: PeopleService, clock: FixedClock
) -> None:
    initiative = managed(session)
    clock.advance(timedelta(hours=5))
    archived = archive_initiative(
        session=session, actor=actor(BOB), initiative=initiative, people=people, now=clock.now()
    )
    session.commit()

    assert archived.archived is True
    assert archived.archived_at == NOW + timedelta(hours=5)
    assert archived.updated_by == BOB
    assert queries.count_initiative_cards(session=session, team_id=TEAM_ID, channel_id=None) == 0
    assert len(phase_history(session=session, initiative=archived)) == 1
    with pytest.raises(NothingToChange):
        archive_initiative(session=session, actor=actor(BOB), initiative=initiative, people=people, now=clock.now())


def test_an_outsider_cannot_archive(session: Session, people: PeopleService) -> None:
    initiative = managed(session)
    with pytest.raises(NotAllowed) as caught:
        archive_initiative(session=session, actor=actor(DAVE), initiative=initiative, people=people, now=NOW)
    assert "archive it" in describe(caught.value)
    session.commit()
    stored = session.get(Initiative, initiative.id)
    assert stored is not None and stored.archived is False


def test_record_thread_and_discard_unannounced(session: Session) -> None:
    initiative = managed(session)
    assert initiative.id is not None
    record_thread(session=session, initiative_id=initiative.id, channel_id=CHURN, ts="1700.01", permalink="https://x")
    session.commit()
    stored = session.get(Initiative, initiative.id)
    assert stored is not None
    assert (stored.thread_channel_id, stored.thread_ts, stored.thread_permalink) == (CHURN, "1700.01", "https://x")

    discard_unannounced(session=session, initiative_id=initiative.id)
    session.commit()
    assert count_rows(session, Initiative) == 0
    assert count_rows(session, PhaseChange) == 0
    discard_unannounced(session=session, initiative_id=initiative.id)  # already gone: no error


# --- people --------------------------------------------------------------------------------------------------------


def test_profiles_are_cached_for_a_day(session: Session, directory: StaticDirectory) -> None:
    first = PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW)
    assert first.profile(ALICE).name == "alice"
    assert first.profile(ALICE).tz == "Europe/Berlin"
    session.commit()

    directory.add(UserProfile(ALICE, "alice.renamed", "Alice Data", tz="Asia/Tokyo"))
    almost_a_day = PeopleService(
        session=session, directory=directory, team_id=TEAM_ID, now=NOW + PROFILE_MAX_AGE - timedelta(minutes=1)
    )
    assert almost_a_day.profile(ALICE).name == "alice"
    assert directory.lookups == [ALICE]

    next_day = PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW + PROFILE_MAX_AGE)
    refreshed = next_day.profile(ALICE)
    assert (refreshed.name, refreshed.tz) == ("alice.renamed", "Asia/Tokyo")
    assert directory.lookups == [ALICE, ALICE]
    cached = session.get(SlackUser, (TEAM_ID, ALICE))
    assert cached is not None
    assert (cached.name, cached.fetched_at) == ("alice.renamed", NOW + PROFILE_MAX_AGE)


def test_unknown_users(session: Session, people: PeopleService, directory: StaticDirectory) -> None:
    with pytest.raises(UnknownUser) as caught:
        people.profile(NOBODY)
    assert caught.value.user_id == NOBODY
    assert describe(caught.value) == f"The user <@{NOBODY}> is not a member of this workspace."
    assert session.get(SlackUser, (TEAM_ID, NOBODY)) is None


def test_a_user_who_disappeared_after_caching_is_unknown_once_stale(
    session: Session, directory: StaticDirectory
) -> None:
    PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW).profile(BOB)
    del directory.profiles[BOB]
    later = PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW + timedelta(days=2))
    with pytest.raises(UnknownUser):
        later.profile(BOB)


def test_require_person_refuses_bots_and_deactivated_accounts(people: PeopleService) -> None:
    assert people.require_person(CAROL).real_name == "Carol Embedded"
    with pytest.raises(UnknownUser, match="is a bot"):
        people.require_person(ROBOT)
    with pytest.raises(UnknownUser, match="is deactivated"):
        people.require_person(GONE)


def test_is_workspace_admin(people: PeopleService) -> None:
    assert people.is_workspace_admin(ADMIN) is True
    assert people.is_workspace_admin(OWNER) is True
    assert people.is_workspace_admin(ALICE) is False
    assert people.is_workspace_admin(NOBODY) is False


def test_remembered_profiles_need_no_lookup(people: PeopleService, directory: StaticDirectory) -> None:
    people.remember(UserProfile(DAVE, "dave", "Dave From An Event", is_admin=True))
    assert people.profile(DAVE).real_name == "Dave From An Event"
    assert people.is_workspace_admin(DAVE) is True
    assert directory.lookups == []


def test_profiles_are_cached_per_team(session: Session, directory: StaticDirectory) -> None:
    PeopleService(session=session, directory=directory, team_id=TEAM_ID, now=NOW).profile(ALICE)
    PeopleService(session=session, directory=directory, team_id="T0OTHER", now=NOW).profile(ALICE)
    assert directory.lookups == [ALICE, ALICE]


# --- status --------------------------------------------------------------------------------------------------------


def test_status_pages_through_active_initiatives(session: Session, clock: FixedClock) -> None:
    for number in range(PAGE_SIZE + 2):
        make_initiative(session, name=f"Initiative {number:02d}", home_channel_id=GENERAL)
    make_initiative(session, name="In churn", home_channel_id=CHURN)
    make_initiative(session, name="Archived", home_channel_id=GENERAL, archived=True)
    make_initiative(session, name="Other team", team_id="T0OTHER", home_channel_id=GENERAL)
    session.commit()
    everything = StatusScope(ScopeKind.ALL)

    first = status_page(db=session, team_id=TEAM_ID, scope=everything, page=1, now=clock.now())
    assert (first.page, first.page_count, first.total) == (1, 2, PAGE_SIZE + 3)
    assert len(first.items) == PAGE_SIZE
    assert first.items[0].initiative.name == "In churn"
    assert first.items[1].initiative.name == "Initiative 00"

    second = status_page(db=session, team_id=TEAM_ID, scope=everything, page=2, now=clock.now())
    assert [s.initiative.name for s in second.items] == ["Initiative 14", "Initiative 15", "Initiative 16"]

    too_far = status_page(db=session, team_id=TEAM_ID, scope=everything, page=99, now=clock.now())
    assert too_far.page == 2
    assert [s.initiative.name for s in too_far.items] == [s.initiative.name for s in second.items]
    too_low = status_page(db=session, team_id=TEAM_ID, scope=everything, page=0, now=clock.now())
    assert too_low.page == 1

    general = StatusScope(ScopeKind.CHANNEL, channel_id=GENERAL)
    in_general = status_page(db=session, team_id=TEAM_ID, scope=general, page=2, now=clock.now())
    assert (in_general.page, in_general.page_count, in_general.total) == (2, 2, PAGE_SIZE + 2)
    assert [s.initiative.name for s in in_general.items] == ["Initiative 15", "Initiative 16"]
    in_churn = status_page(
        db=session, team_id=TEAM_ID, scope=StatusScope(ScopeKind.CHANNEL, CHURN), page=1, now=clock.now()
    )
    assert (in_churn.page_count, in_churn.total, len(in_churn.items)) == (1, 1, 1)


def test_an_empty_status_is_one_empty_page(session: Session, clock: FixedClock) -> None:
    page = status_page(db=session, team_id=TEAM_ID, scope=StatusScope(ScopeKind.ALL), page=3, now=clock.now())
    assert (page.page, page.page_count, page.total, page.items) == (1, 1, 0, [])


def test_exactly_one_full_page(session: Session, clock: FixedClock) -> None:
    for number in range(PAGE_SIZE):
        make_initiative(session, name=f"Initiative {number:02d}")
    page = status_page(db=session, team_id=TEAM_ID, scope=StatusScope(ScopeKind.ALL), page=2, now=clock.now())
    assert (page.page, page.page_count, len(page.items)) == (1, 1, PAGE_SIZE)


def test_days_in_phase_counts_from_the_latest_phase_change(
    session: Session, people: PeopleService, clock: FixedClock
) -> None:
    moved = managed(session, created_at=NOW - timedelta(days=10))
    fresh = make_initiative(session, name="Fresh", created_at=NOW - timedelta(hours=30))
    session.commit()
    change_phase(
        session=session,
        actor=actor(ALICE),
        initiative=moved,
        phase=Phase.RESEARCH,
        note=None,
        people=people,
        now=NOW - timedelta(days=3),
    )
    session.commit()

    def summaries() -> dict[str, tuple[object, int]]:
        page = status_page(db=session, team_id=TEAM_ID, scope=StatusScope(ScopeKind.ALL), page=1, now=clock.now())
        return {s.initiative.name: (s.phase_since, s.days_in_phase) for s in page.items}

    assert summaries() == {
        "Churn model": (NOW - timedelta(days=3), 3),
        "Fresh": (NOW - timedelta(hours=30), 1),
    }
    clock.advance(timedelta(days=1))
    assert summaries()["Churn model"] == (NOW - timedelta(days=3), 4)
    assert summaries()["Fresh"][1] == 2

    clock.set(NOW - timedelta(days=20))  # a clock behind the data never shows negative days
    assert summaries()["Churn model"][1] == 0

    detail = initiative_detail(session=session, initiative=moved, now=NOW)
    assert [c.to_phase for c in detail.history] == ["discovery", "research"]
    assert (detail.phase_since, detail.days_in_phase) == (NOW - timedelta(days=3), 3)
    assert fresh.id is not None


def test_initiatives_for_user(session: Session, clock: FixedClock) -> None:
    managed(session)
    make_initiative(session, name="Bob's other", eng_lead_id=BOB, created_at=NOW - timedelta(days=2))
    make_initiative(session, name="Not Bob's", ds_lead_id=CAROL)
    session.commit()
    mine = initiatives_for_user(session=session, team_id=TEAM_ID, user_id=BOB, now=clock.now())
    assert [(s.initiative.name, s.days_in_phase) for s in mine] == [("Bob's other", 2), ("Churn model", 0)]
