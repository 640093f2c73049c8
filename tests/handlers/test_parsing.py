"""`/handoff` text as Slack sends it (escaped, with `should_escape: true` entities) to typed commands."""

from __future__ import annotations

from datetime import date

import pytest

from bot.checkpoints import CheckpointDraft
from bot.initiatives import CLEAR, Field, InitiativeDraft
from bot.report import ReportScope, parse_window
from handlers.blockers import BlockerReportCommand, BlockersCommand
from handlers.checkpoints import CheckpointAddCommand
from handlers.command_table import (
    SUBCOMMANDS,
    ChannelViewCommand,
    HelpCommand,
    initiative_left_out,
    typed_name,
    typed_with_initiative,
    with_initiative,
)
from handlers.command_table import parse_command as parse_command_on
from handlers.digests import DigestShowCommand, NudgesCommand
from handlers.grammar import Token, UsageError, tokenize
from handlers.ideas import IdeaAddCommand, IdeasCommand
from handlers.initiatives import (
    ArchiveCommand,
    EditCommand,
    NewCommand,
    PhaseCommand,
    StatusCommand,
    UnarchiveCommand,
    WhoamiCommand,
)
from handlers.kpis import (
    KpiAddCommand,
    KpiEditCommand,
    KpiListCommand,
    KpiReadingRemoveCommand,
    KpiRecordCommand,
    KpiRemoveCommand,
)
from handlers.readiness import ChecklistChangeCommand, DocAddCommand, DocsCommand
from handlers.reports import ReportCommand
from handlers.standups import AwayCommand, StandupCommand
from handlers.subcommand import Command
from storage.models import Phase

TODAY = date(2027, 1, 4)  # a Monday


def parse_command(text: str) -> Command:
    return parse_command_on(text, today=TODAY)


def usage_error(text: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse_command(text)
    return caught.value


# --- every subcommand ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["help", "HELP"])
def test_help(text: str) -> None:
    assert parse_command(text) == HelpCommand()


@pytest.mark.parametrize("text", ["", "   "])
def test_nothing_typed_is_this_channels_view(text: str) -> None:
    assert parse_command(text) == ChannelViewCommand()


@pytest.mark.parametrize(
    ("text", "topic"), [("help kpi", "kpi"), ("help  Checkpoints", "checkpoints"), ("help me please", "me please")]
)
def test_help_with_a_topic(text: str, topic: str) -> None:
    assert parse_command(text) == HelpCommand(topic)


def test_new_without_arguments_opens_the_modal() -> None:
    assert parse_command("new") == NewCommand(open_modal=True)


def test_new_with_every_option() -> None:
    command = parse_command(
        'new "Churn model v2" ds:<@U0ALICE|alice> eng:<@U0BOB> embedded:<@W0CAROL|carol> jira:ds-12 '
        'due:2027-03-01 goal:"Cut churn by 5%" channel:<#C0CHURN|churn>'
    )
    assert command == NewCommand(
        open_modal=False,
        draft=InitiativeDraft(
            name="Churn model v2",
            home_channel_id="C0CHURN",
            ds_lead_id="U0ALICE",
            eng_lead_id="U0BOB",
            embedded_engineer_id="W0CAROL",
            goal="Cut churn by 5%",
            jira_epic_key="ds-12",  # normalising is the service's job
            target_date=date(2027, 3, 1),
        ),
    )


def test_new_with_an_unquoted_multi_word_name() -> None:
    command = parse_command("new Churn model v2 goal:retention")
    assert isinstance(command, NewCommand) and command.draft is not None
    assert (command.draft.name, command.draft.goal) == ("Churn model v2", "retention")
    assert command.draft.ds_lead_id is None and command.draft.target_date is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status", StatusCommand()),
        ("status all", StatusCommand(everything=True)),
        ("status ALL", StatusCommand(everything=True)),
        ('status "all"', StatusCommand(reference="all")),  # a quoted word is a name, never a keyword
        ("status churn model", StatusCommand(reference="churn model")),
        ("list", StatusCommand(everything=True)),
        ("LIST", StatusCommand(everything=True)),
        ("archive churn model", ArchiveCommand(reference="churn model")),
        ('archive "Churn  model"', ArchiveCommand(reference="Churn  model")),
    ],
)
def test_status_list_and_archive(text: str, expected: object) -> None:
    assert parse_command(text) == expected


def test_list_takes_no_arguments() -> None:
    error = usage_error("list churn")
    assert error.usage_of == "list"
    assert "status &lt;name&gt;" in error.message


def test_archive_needs_a_name() -> None:
    assert usage_error("archive").usage_of == "archive"


def test_unarchive_needs_a_name() -> None:
    assert parse_command("unarchive churn model") == UnarchiveCommand(reference="churn model")
    error = usage_error("unarchive")
    assert (error.usage_of, error.message) == ("unarchive", "`unarchive` needs the archived initiative to bring back.")


def test_every_subcommand_parses() -> None:
    samples = {
        "help": HelpCommand,
        "new": NewCommand,
        "status": StatusCommand,
        "list": StatusCommand,
        "phase": PhaseCommand,
        "edit": EditCommand,
        "archive": ArchiveCommand,
        "unarchive": UnarchiveCommand,
        "whoami": WhoamiCommand,
        "checkpoint": CheckpointAddCommand,
        "doc": DocAddCommand,
        "docs": DocsCommand,
        "checklist": DocsCommand,
        "kpi": KpiListCommand,
        "idea": IdeaAddCommand,
        "ideas": IdeasCommand,
        "digest": DigestShowCommand,
        "nudges": NudgesCommand,
        "blocker": BlockerReportCommand,
        "blockers": BlockersCommand,
        "standup": StandupCommand,
        "away": AwayCommand,
        "report": ReportCommand,
    }
    arguments = {
        "standup": " churn",
        "blocker": ' churn "no read access"',
        "blockers": " churn",
        "nudges": " off",
        "phase": " churn research",
        "edit": " churn goal:x",
        "archive": " churn",
        "unarchive": " churn",
        "checkpoint": " add",
        "docs": " churn",
        "checklist": " churn",
        "kpi": " list churn",
        "idea": ' churn "try boosting"',
        "ideas": " churn",
    }
    assert set(samples) == set(SUBCOMMANDS)
    for verb, kind in samples.items():
        assert isinstance(parse_command(verb + arguments.get(verb, "")), kind), verb


# --- phase ---------------------------------------------------------------------------------------------------------


def test_phase_with_a_multi_word_unquoted_name_and_a_note() -> None:
    assert parse_command("phase churn model v2 development models agreed, don't wait") == PhaseCommand(
        reference="churn model v2", phase=Phase.DEVELOPMENT, note="models agreed, don't wait"
    )


def test_phase_without_a_note() -> None:
    assert parse_command("phase churn RESEARCH") == PhaseCommand(reference="churn", phase=Phase.RESEARCH, note=None)


def test_phase_with_a_quoted_name_that_contains_a_phase_word() -> None:
    assert parse_command('phase "research lab" summary') == PhaseCommand(
        reference="research lab", phase=Phase.SUMMARY, note=None
    )


def test_phase_note_in_curly_quotes_with_an_apostrophe() -> None:
    assert parse_command("phase churn research “kickoff done, don't panic”") == PhaseCommand(
        reference="churn", phase=Phase.RESEARCH, note="kickoff done, don't panic"
    )


def test_phase_needs_a_name_and_a_phase() -> None:
    error = usage_error("phase churn")
    assert error.usage_of == "phase"
    assert "needs an initiative and the phase" in error.message


def test_unknown_phase_lists_the_phases() -> None:
    error = usage_error("phase churn done")
    assert error.usage_of == "phase"
    assert error.message.startswith('"done" is not a phase.')
    for phase in Phase:
        assert phase.value in error.message


# --- edit ----------------------------------------------------------------------------------------------------------


def test_edit_every_field() -> None:
    command = parse_command(
        'edit "Churn model" name:"Churn v3" channel:<#C0CHURN|churn> ds:<@U0ALICE|alice> eng:none '
        "embedded:clear goal:“Cut churn by 6%” jira:ml-7 due:2027-04-01"
    )
    assert command == EditCommand(
        reference="Churn model",
        values={
            Field.NAME: "Churn v3",
            Field.CHANNEL: "C0CHURN",
            Field.DS: "U0ALICE",
            Field.ENG: CLEAR,
            Field.EMBEDDED: CLEAR,
            Field.GOAL: "Cut churn by 6%",
            Field.JIRA: "ml-7",
            Field.DUE: date(2027, 4, 1),
        },
    )


@pytest.mark.parametrize("word", ["none", "NONE", "-", "clear"])
def test_edit_clears_with_none_words(word: str) -> None:
    command = parse_command(f"edit churn due:{word}")
    assert isinstance(command, EditCommand)
    assert command.values == {Field.DUE: CLEAR}
    assert command.values[Field.DUE] is CLEAR


def test_new_refuses_to_clear() -> None:
    error = usage_error("new Churn due:none")
    assert error.usage_of == "new"
    assert error.message == "`due:` needs a value when creating an initiative."


def test_edit_unknown_field() -> None:
    error = usage_error("edit churn color:red")
    assert error.usage_of == "edit"
    assert error.message.startswith("`color:` is not an option here.")
    for fld in Field:
        assert f"`{fld.value}:`" in error.message


def test_new_does_not_accept_name_as_an_option() -> None:
    error = usage_error("new Churn name:other")
    assert "`name:` is not an option here" in error.message


def test_duplicate_option() -> None:
    error = usage_error("edit churn goal:a goal:b")
    assert error.message == "`goal:` is given twice."
    assert error.usage_of == "edit"


def test_edit_needs_a_name_and_a_field() -> None:
    assert "needs the initiative" in usage_error("edit").message
    assert parse_command("edit goal:x") == EditCommand(None, {Field.GOAL: "x"})  # this channel's initiative
    assert "Say which fields to change" in usage_error("edit churn").message


def test_words_after_options_are_refused() -> None:
    error = usage_error("new Churn goal:x model")
    assert error.message == '"model" comes after the options; put the name first, or quote it.'


def test_an_option_without_a_value() -> None:
    assert usage_error("new Churn goal:").message == "`goal:` is missing its value."
    assert usage_error('new Churn goal:""').message == "`goal:` is missing its value."


def test_urls_are_name_words_not_options() -> None:
    command = parse_command("new Churn https://wiki.example.com/churn")
    assert isinstance(command, NewCommand) and command.draft is not None
    assert command.draft.name == "Churn https://wiki.example.com/churn"


# --- quoting -------------------------------------------------------------------------------------------------------


def test_curly_quotes_group_words() -> None:
    command = parse_command("new “Churn model” goal:“Cut churn”")
    assert isinstance(command, NewCommand) and command.draft is not None
    assert (command.draft.name, command.draft.goal) == ("Churn model", "Cut churn")


def test_apostrophes_do_not_group_words() -> None:
    # `break` and `it` follow an option, so this is refused rather than guessed...
    error = usage_error("new Bob's model goal:don't break it")
    assert error.message.startswith('"break" comes after the options')
    # ...and quoting the goal keeps the apostrophe inside it.
    quoted = parse_command("new Bob's model goal:\"don't break it\"")
    assert isinstance(quoted, NewCommand) and quoted.draft is not None
    assert (quoted.draft.name, quoted.draft.goal) == ("Bob's model", "don't break it")


@pytest.mark.parametrize("text", ['new "Churn model', "new “Churn model", 'phase churn research "note'])
def test_unclosed_quote(text: str) -> None:
    assert usage_error(text).message == 'A double quote (") is not closed.'


def test_option_with_a_quoted_value() -> None:
    command = parse_command('new Churn goal:"a b"')
    assert isinstance(command, NewCommand) and command.draft is not None
    assert (command.draft.name, command.draft.goal) == ("Churn", "a b")


def test_a_fully_quoted_word_with_a_colon_stays_in_the_name() -> None:
    command = parse_command('new "goal: retention" "ab: cd"')
    assert isinstance(command, NewCommand) and command.draft is not None
    assert command.draft.name == "goal: retention ab: cd"
    assert command.draft.goal is None
    # Unquoted, the same text is an (unknown) option.
    assert "`ab:` is not an option here" in usage_error("new ab: cd").message


def test_tokens_remember_how_they_were_quoted() -> None:
    assert tokenize('a "b c" d:"e f"') == [
        Token("a", quoted=False),
        Token("b c", quoted=True, leading_quote=True),
        Token("d:e f", quoted=True, leading_quote=False),
    ]


def test_a_quoted_subcommand_is_not_a_command() -> None:
    error = usage_error('"new" Churn')
    assert error.usage_of == "help"
    assert "is not a Handoff command" in error.message


def test_unknown_subcommand() -> None:
    error = usage_error("create Churn")
    assert error.usage_of == "help"
    assert error.message == "`create` is not a Handoff command."


# --- people, channels, dates ---------------------------------------------------------------------------------------


def test_user_and_channel_entities() -> None:
    command = parse_command("new Churn ds:<@U0ALICE|alice> eng:<@U0BOB> channel:<#G0SECRET|secret>")
    assert isinstance(command, NewCommand) and command.draft is not None
    assert (command.draft.ds_lead_id, command.draft.eng_lead_id, command.draft.home_channel_id) == (
        "U0ALICE",
        "U0BOB",
        "G0SECRET",
    )


def test_bare_at_name_is_rejected_with_help() -> None:
    error = usage_error("new Churn ds:@alice")
    assert error.usage_of == "new"
    assert "`@alice`" in error.message
    assert "pick the person from the list" in error.message


@pytest.mark.parametrize("value", ["alice", "U0ALICE", "<@U0ALICE>x", "<#C0CHURN|churn>"])
def test_people_must_be_mentions(value: str) -> None:
    assert "takes a person" in usage_error(f"new Churn ds:{value}").message


@pytest.mark.parametrize("value", ["general", "#general", "<@U0ALICE>", "<#D0DM|dm>"])
def test_channels_must_be_channel_entities(value: str) -> None:
    assert "`channel:` takes a channel picked with #" in usage_error(f"new Churn channel:{value}").message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("03/01/2027", "could be 3 January or 1 March: write dates year first, 2027-01-03 or 2027-03-01."),
        ("31/12/2026", "needs the year first (day and month come in either order around the world): 2026-12-31."),
        (
            "soon",
            "is not a date: use YYYY-MM-DD (2027-03-01), today, tomorrow, a weekday (fri, next fri) or a "
            "distance (+3d, +2w).",
        ),
        ("2027-02-30", "is not a date: February 2027 has 28 days."),
        ("2027-13-01", "is not a date: there is no month 13."),
        ("2027-00-10", "is not a date: there is no month 0."),
    ],
)
def test_malformed_and_impossible_dates_say_what_is_wrong(value: str, problem: str) -> None:
    error = usage_error(f"new Churn due:{value}")
    assert error.message == f"`due:{value}` {problem}"
    assert error.usage_of == "new"


@pytest.mark.parametrize(
    ("value", "meant"),
    [
        ("2027-3-1", date(2027, 3, 1)),
        ("tomorrow", date(2027, 1, 5)),
        ("fri", date(2027, 1, 8)),
        ('"next friday"', date(2027, 1, 8)),
        ("next friday", date(2027, 1, 8)),
        ("+2w", date(2027, 1, 18)),
    ],
)
def test_dates_as_people_type_them(value: str, meant: date) -> None:
    command = parse_command(f"edit churn due:{value} goal:x")
    assert command == EditCommand(reference="churn", values={Field.DUE: meant, Field.GOAL: "x"})


@pytest.mark.parametrize(
    "text",
    [
        'edit churn due: 2027-03-01 ds: <@U0ALICE|alice> goal: "Cut churn"',
        'edit churn due:  2027-03-01 ds:<@U0ALICE|alice> goal:"Cut churn"',
        "edit churn due: next mon ds: <@U0ALICE|alice> goal: “Cut churn”",
    ],
)
def test_a_space_after_the_colon_still_gives_the_option_its_value(text: str) -> None:
    assert parse_command(text) == EditCommand(
        reference="churn",
        values={
            Field.DUE: date(2027, 3, 1) if "2027" in text else date(2027, 1, 11),
            Field.DS: "U0ALICE",
            Field.GOAL: "Cut churn",
        },
    )


def test_an_option_with_a_space_after_the_colon_is_everywhere_options_are() -> None:
    new = parse_command("new Churn ds: <@U0ALICE|alice> channel: <#C0CHURN|churn> due: tomorrow")
    assert isinstance(new, NewCommand) and new.draft is not None
    assert (new.draft.ds_lead_id, new.draft.home_channel_id, new.draft.target_date) == (
        "U0ALICE",
        "C0CHURN",
        date(2027, 1, 5),
    )
    added = parse_command('checkpoint add churn "Model card" owner: <@U0CAROL|carol> due: fri')
    assert isinstance(added, CheckpointAddCommand) and added.draft is not None
    assert (added.draft.owner_id, added.draft.due_date) == ("U0CAROL", date(2027, 1, 8))
    kpi = parse_command('kpi add churn "AUC" >= 0.82 unit: % owner: <@U0BOB|bob>')
    assert isinstance(kpi, KpiAddCommand)
    assert (kpi.unit, kpi.owner_id) == ("%", "U0BOB")
    checklist = parse_command('checklist churn add fairness "credit" for: production')
    assert isinstance(checklist, ChecklistChangeCommand) and checklist.gate is Phase.PRODUCTION
    blocker = parse_command('blocker churn "No access" on: eng')
    assert isinstance(blocker, BlockerReportCommand) and blocker.direction == "eng"


def test_an_empty_option_before_another_option_is_still_missing_its_value() -> None:
    assert usage_error("edit churn due: goal:x").message == "`due:` is missing its value."


def test_a_person_in_a_misplaced_word_is_shown_as_a_name_not_as_slack_syntax() -> None:
    error = usage_error("edit churn due:2027-03-01 <@U0ALICE|alice>")
    assert error.message == '"@alice" comes after the options; put the name first, or quote it.'
    assert "U0ALICE" not in error.message and "&lt;" not in error.message


def test_leap_day_is_a_date() -> None:
    command = parse_command("new Churn due:2028-02-29")
    assert isinstance(command, NewCommand) and command.draft is not None
    assert command.draft.target_date == date(2028, 2, 29)


# --- Slack's escaping ----------------------------------------------------------------------------------------------


def test_slack_escaped_text_is_unescaped() -> None:
    command = parse_command("new &lt;!channel&gt; &amp; friends a&amp;lt;b")
    assert isinstance(command, NewCommand) and command.draft is not None
    # `&amp;lt;` is what Slack sends for a typed `&lt;`: it must come back as the literal text, not `<`.
    assert command.draft.name == "<!channel> & friends a&lt;b"


def test_slack_escaped_note_and_reference() -> None:
    assert parse_command("phase R&amp;D research a &gt; b") == PhaseCommand(
        reference="R&D", phase=Phase.RESEARCH, note="a > b"
    )


@pytest.mark.parametrize(
    "text",
    [
        "&lt;!channel&gt;",
        "new Churn goal:x &lt;!channel&gt;",
        "phase churn &lt;!channel&gt;",
        "new Churn ds:@&lt;!here&gt;",
        "new Churn channel:&lt;!channel&gt;",
        "new Churn due:&lt;!channel&gt;",
    ],
)
def test_error_messages_escape_user_text(text: str) -> None:
    error = usage_error(text)
    assert "&lt;!" in error.message
    assert "<!channel>" not in error.message
    assert "<!here>" not in error.message


# --- KPI corrections -----------------------------------------------------------------------------------------------


def test_kpi_record_ends_an_unquoted_name_at_a_number_typed_with_a_comma() -> None:
    # Even one the service will refuse as ambiguous: it is the value, not part of the name.
    for typed in ("0,85", "1,234.5", "1,234"):
        assert parse_command(f"kpi record churn AUC on holdout {typed} after retrain") == KpiRecordCommand(
            "churn", "AUC on holdout", typed, "after retrain"
        )


def test_kpi_edit_remove_and_reading_remove() -> None:
    assert parse_command('kpi edit churn AUC on holdout name:"AUC v2" target:0,9 direction:lower') == KpiEditCommand(
        "churn", "AUC on holdout", {"name": "AUC v2", "target": "0,9", "direction": "lower"}
    )
    edit = parse_command("kpi edit churn auc unit:none owner:<@U0BOB|bob>")
    assert isinstance(edit, KpiEditCommand) and edit.values == {"unit": CLEAR, "owner": "U0BOB"}
    assert parse_command("kpi remove churn AUC on holdout") == KpiRemoveCommand("churn", "AUC on holdout")
    assert parse_command('kpi reading remove churn "AUC on holdout"') == KpiReadingRemoveCommand(
        "churn", "AUC on holdout", 1
    )
    assert parse_command("kpi reading remove churn AUC on holdout 3") == KpiReadingRemoveCommand(
        "churn", "AUC on holdout", 3
    )
    # A quoted number is the name: a KPI may be called "10".
    assert parse_command('kpi reading remove churn "10"') == KpiReadingRemoveCommand("churn", "10", 1)


@pytest.mark.parametrize(
    ("text", "message", "usage_of"),
    [
        ("kpi edit churn", "`kpi edit` needs the KPI's name after the initiative, in quotes.", "kpi edit"),
        ("kpi edit churn AUC", "Say what to change: `name:` `target:` `unit:` `direction:` `owner:`.", "kpi edit"),
        (
            "kpi edit churn AUC direction:none",
            "A KPI always has a direction; `direction:` needs a new one.",
            "kpi edit",
        ),
        ("kpi remove churn", "`kpi remove` needs the initiative, then the KPI's name.", "kpi remove"),
        (
            "kpi reading remove churn AUC 1.5",
            '"1.5" is not a reading number: 1 is the newest, 2 the one before, and so on.',
            "kpi reading remove",
        ),
        (
            "kpi reading churn AUC",
            '`kpi reading` takes `remove`: `kpi reading remove churn "AUC on holdout" [n]`.',
            "kpi reading remove",
        ),
    ],
)
def test_malformed_kpi_corrections_are_usage_errors(text: str, message: str, usage_of: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_command(text)
    assert (error.value.message, error.value.usage_of) == (message, usage_of)


@pytest.mark.parametrize(
    ("text", "zone", "days"),
    [
        ("standup churn at 09:45 cet mon,wed", "CET", ("mon", "wed")),
        ("standup churn at 09:45 weekends Japan", "Japan", ("sat", "sun")),
        ("standup churn at 09:45 europe/berlin", "Europe/Berlin", None),
    ],
)
def test_a_zone_name_in_any_case_is_a_zone_not_days(text: str, zone: str, days: tuple[str, ...] | None) -> None:
    command = parse_command(text)
    assert isinstance(command, StandupCommand)
    assert (command.timezone, command.days) == (zone, days)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("digest at 09:30 pst", "`pst` is not a time zone name; did you mean `America/Los_Angeles`?"),
        ("digest at 09:30 berlin", "`berlin` is not a time zone name; did you mean `Europe/Berlin`?"),
        ("digest at 09:30 funday", "`funday` is not a list of days"),
    ],
)
def test_an_abbreviation_or_city_gets_a_zone_suggestion_and_other_words_are_days(text: str, problem: str) -> None:
    assert problem in usage_error(text).message


# --- leaving the initiative out: this channel's ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "filled"),
    [
        ("checkpoints", "checkpoints churn"),
        ("kpis", "kpis churn"),
        ("docs", "docs churn"),
        ("checklist", "checklist churn"),
        ("blockers", "blockers churn"),
        ("ideas", "ideas churn"),
        ("standup", "standup churn"),
        ('phase research "data access granted"', 'phase churn research "data access granted"'),
        ('phase development --force "pilot"', 'phase churn development --force "pilot"'),
        ("edit due:2027-03-01", "edit churn due:2027-03-01"),
        ("checkpoint done #3", "checkpoint done churn#3"),
        ("checkpoint reopen 3", "checkpoint reopen churn#3"),
        ("checkpoint edit 3 due:2027-03-01", "checkpoint edit churn#3 due:2027-03-01"),
        ('checkpoint mitigate #3 "ship v1"', 'checkpoint mitigate churn#3 "ship v1"'),
        ("checkpoint remove #3", "checkpoint remove churn#3"),
        ("checkpoint list", "checkpoint list churn"),
        ('checkpoint add "Model card" due:2027-02-15', 'checkpoint add churn "Model card" due:2027-02-15'),
        ('checkpoint add "Model card"', 'checkpoint add churn "Model card"'),
        (
            "doc add api-contract <https://wiki.example.com/api>",
            "doc add churn api-contract <https://wiki.example.com/api>",
        ),
        (
            "doc remove api-contract <https://wiki.example.com/api>",
            "doc remove churn api-contract <https://wiki.example.com/api>",
        ),
        ('checklist waive privacy-review "counts only"', 'checklist churn waive privacy-review "counts only"'),
        ('kpi record "AUC" 0.84', 'kpi record churn "AUC" 0.84'),
        ("kpi record AUC 0.84", "kpi record churn AUC 0.84"),
        ('kpi add "AUC" >= 0.8', 'kpi add churn "AUC" >= 0.8'),
        ('kpi add "AUC" >=0.8 unit:%', 'kpi add churn "AUC" >=0.8 unit:%'),
        ("kpi list", "kpi list churn"),
        ('idea "Try boosting"', 'idea churn "Try boosting"'),
        ("idea outcome #i1 worked", "idea outcome churn#i1 worked"),
        ('blocker "No access" on:eng', 'blocker churn "No access" on:eng'),
        ('blocker "No access"', 'blocker churn "No access"'),
        ("blocker resolve #b1", "blocker resolve churn#b1"),
        ("standup at 09:45 mon,wed,fri", "standup churn at 09:45 mon,wed,fri"),
        ("standup off", "standup churn off"),
        ("standup questions", "standup churn questions"),
    ],
)
def test_a_left_out_initiative_is_none_and_filling_it_in_equals_naming_it(text: str, filled: str) -> None:
    parsed = parse_command(text)
    assert initiative_left_out(parsed), text
    assert typed_with_initiative(text, "churn") == filled
    assert with_initiative(parsed, "churn") == parse_command(filled)
    assert not initiative_left_out(parse_command(filled))


@pytest.mark.parametrize(
    "text",
    [
        "phase production development",  # two phases: the first is an initiative's name
        "phase churn research",
        "checkpoint done churn#3",
        "checkpoint add churn",  # one unquoted word is the initiative: its form
        "checkpoint add",  # the form picks this channel's initiative itself
        'checkpoint add "Churn model v2" "Model card"',
        "doc add",
        "doc add churn api-contract",
        "kpi record churn AUC on holdout 0.84",
        'kpi add churn "AUC" >= 0.8',
        'idea "Churn model v2" "Try boosting"',
        'blocker "Churn model v2" "No access" on:eng',
        "standup churn off",
        "nudges off",  # the whole channel
        "status",
        "ideas search boosting",
    ],
)
def test_the_initiative_is_not_left_out_unless_the_grammar_says_so(text: str) -> None:
    assert not initiative_left_out(parse_command(text))


def test_a_lone_quoted_checkpoint_title_may_still_name_an_initiative() -> None:
    assert parse_command('checkpoint add "Churn model v2"') == CheckpointAddCommand(
        open_modal=False, initiative_ref=None, draft=CheckpointDraft(title="Churn model v2"), lone_title=True
    )
    command = parse_command('checkpoint add "Model card" due:2027-02-15')
    assert isinstance(command, CheckpointAddCommand) and not command.lone_title


@pytest.mark.parametrize("text", ["archive", "edit", "phase", "idea", "blocker", "kpi", "checkpoint done"])
def test_the_initiative_is_still_needed_where_nothing_shows_what_was_meant(text: str) -> None:
    assert usage_error(text).message


@pytest.mark.parametrize(
    ("text", "typo", "nearest"),
    [
        ("stauts", "stauts", "status"),
        ("checkpiont add churn", "checkpiont", "checkpoint"),
        ("blokers churn", "blokers", "blockers"),
        ('"status"', "status", "status"),
    ],
)
def test_a_mistyped_subcommand_gets_the_nearest(text: str, typo: str, nearest: str) -> None:
    error = usage_error(text)
    assert error.message == f"`{typo}` is not a Handoff command. Did you mean `{nearest}`?"
    assert error.usage_of == "help"


def test_typed_name_names_the_subcommand() -> None:
    assert [typed_name(t) for t in ("docs", "Checkpoint DONE #3", "kpis", "idea outcome #i1 x", "idea x")] == [
        "docs",
        "checkpoint done",
        "kpis",
        "idea outcome",
        "idea",
    ]


# --- report --------------------------------------------------------------------------------------------------------


def test_report_takes_a_scope_and_a_window_in_either_order() -> None:
    assert parse_command("report") == ReportCommand(None, parse_window(None, today=TODAY))
    assert parse_command("report since: 2026-10-01 <#C0CHURN|churn>") == ReportCommand(
        ReportScope("C0CHURN", "churn"), parse_window("since:2026-10-01", today=TODAY)
    )
    assert parse_command("report ALL 30d") == ReportCommand(ReportScope(), parse_window("30d", today=TODAY))
    assert "neither a channel" in usage_error('report "all"').message, "a quoted word is no keyword"


def test_report_refuses_what_it_cannot_read() -> None:
    error = usage_error("report since:2027-13-01")
    assert error.usage_of == "report"
    assert error.message.startswith("`since:2027-13-01` is not a date: there is no month 13")
