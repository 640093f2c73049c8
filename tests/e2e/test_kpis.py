"""KPIs end to end: numbers as people type them, names by prefix, correcting a KPI or a reading, and misses worded
by the KPI's direction in every message. Signed slash commands over HTTP into the real app; Slack is FakeSlack
reached through the real slack_sdk client; the scheduled digest and nudges run on the app's clock."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Kpi, KpiReading
from tests.conftest import RunningApp
from tests.e2e.test_digests import TUESDAY, TUESDAY_NUDGES, digests, nudges, run_jobs_at, section_about
from tests.e2e.test_digests import sections as message_sections
from tests.e2e.test_readiness import (
    AUC,
    CHURN_V2,
    answer_line,
    churn,
    new_thread_lines,
    posted,
    private_payload,
    section_with,
    sections,
    slack_day,
    snapshot,
)
from tests.support.blockkit import all_text
from tests.support.e2e import Thread, replies
from tests.support.factories import rows
from tests.support.workspace import ADMIN, ALICE, BOB, CAROL, DAVE, NOW

# Pytest finds a fixture by name in the module of the test that asks for it, so the shared one is imported;
# listing it here tells linters that the import is used.
__all__ = ["churn"]

ADD_AUC = 'kpi add churn "AUC on holdout" &gt;= 0.82 owner:<@U0DAVE|dave>'
ADD_LATENCY = 'kpi add churn "p95 latency" &lt;= 120 unit:ms'


def readings(running: RunningApp) -> list[float]:
    return [r.value for r in rows(running.engine, KpiReading)]


def refused(running: RunningApp, text: str, *, user: str = ALICE) -> str:
    """A command that must write and post nothing; its whole private answer."""
    before, before_posts = snapshot(running.engine), posted(running)
    answer = all_text(private_payload(running, text, user=user))
    assert snapshot(running.engine) == before, f"{text!r} changed the database"
    assert posted(running) == before_posts, f"{text!r} posted a message"
    return answer


# --- numbers ------------------------------------------------------------------------------------------------


def test_a_decimal_comma_is_read_as_a_point_and_the_answer_says_so(running: RunningApp, churn: Thread) -> None:
    agreed = answer_line(running, 'kpi add churn "AUC on holdout" &gt;= 0,82')
    assert agreed.startswith(f":white_check_mark: Agreed *{AUC}* &gt;= 0.82 for *{CHURN_V2}* (`0,82` read as 0.82).")

    met = answer_line(running, "kpi record churn AUC on holdout 0,85", user=CAROL)
    missed = answer_line(running, "kpi record churn AUC on holdout 0,80", user=CAROL)

    assert met == f":white_check_mark: Recorded 0.85 (`0,85` read as 0.85) for *{AUC}*; it meets its 0.82 target."
    assert missed == f":red_circle: Recorded 0.8 (`0,80` read as 0.8) for *{AUC}*; it is below its 0.82 target."
    assert readings(running) == [0.85, 0.80]
    [kpi] = rows(running.engine, Kpi)
    assert kpi.target == 0.82


def test_thousands_grouped_with_a_decimal_point_are_read_as_one_number(running: RunningApp, churn: Thread) -> None:
    answer_line(running, 'kpi add churn "Weekly users" &gt;= 1,000.5')

    recorded = answer_line(running, 'kpi record churn "Weekly users" 1,234.5')

    assert recorded == (
        ":white_check_mark: Recorded 1234.5 (`1,234.5` read as 1234.5) for *Weekly users*; it meets its 1000.5 target."
    )
    assert readings(running) == [1234.5]


def test_a_comma_that_could_group_thousands_or_mark_decimals_is_refused(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)

    answer = refused(running, "kpi record churn AUC 1,234")

    assert '"1,234" could mean 1234 or 1.234; type the value as `1234` or `1.234`.' in answer
    assert "Usage: `/handoff kpi record churn" in answer
    target = refused(running, 'kpi add churn "Users" &gt;= 1,000')
    assert '"1,000" could mean 1000 or 1.000; type the target as `1000` or `1.000`.' in target


# --- names --------------------------------------------------------------------------------------------------


def test_kpi_names_take_an_unambiguous_prefix_in_any_case(running: RunningApp, churn: Thread) -> None:
    for name in ("Recall at 10", "Recall at 5", "Precision"):
        answer_line(running, f'kpi add churn "{name}" &gt;= 0.5')

    assert answer_line(running, "kpi record churn prec 0.6").endswith("for *Precision*; it meets its 0.5 target.")
    assert answer_line(running, 'kpi record churn "RECALL AT 1" 0.6').endswith(
        "for *Recall at 10*; it meets its 0.5 target."
    )

    ambiguous = refused(running, "kpi record churn recall 0.6")
    assert '"recall" matches more than one KPI of *Churn model v2*: "Recall at 10", "Recall at 5".' in ambiguous
    unknown = refused(running, "kpi edit churn auc target:0.9")
    assert 'has no KPI called "auc". Its KPIs: "Recall at 10", "Recall at 5", "Precision".' in unknown
    assert "Usage: `/handoff kpi edit churn" in unknown


# --- edit, remove, reading remove ---------------------------------------------------------------------------


def test_kpi_edit_changes_the_terms_and_tells_the_thread_old_to_new(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, "kpi record churn AUC 0.85")

    confirmation, posts = new_thread_lines(
        running, churn, 'kpi edit churn auc name:"AUC on holdout v2" target:0,9 unit:%', user=BOB
    )

    assert confirmation == (
        f":white_check_mark: Changed *AUC on holdout v2* of *{CHURN_V2}*: &gt;= 0.9% (`0,9` read as 0.9)."
    )
    assert posts == [
        f':pencil2: <@{BOB}> changed KPI *AUC on holdout v2* of *{CHURN_V2}*: name "{AUC}" → "AUC on holdout v2"; '
        "target &gt;= 0.82 → &gt;= 0.9%\n:red_circle: Latest: 0.85%, which is below its 0.9% target."
    ]
    [kpi] = rows(running.engine, Kpi)
    assert (kpi.name, kpi.name_key, kpi.target, kpi.unit, kpi.direction, kpi.in_breach) == (
        "AUC on holdout v2",
        "auc on holdout v2",
        0.9,
        "%",
        ">=",
        True,
    )

    # The KPI's owner may change it too; direction takes a word.
    _, posts = new_thread_lines(running, churn, "kpi edit churn auc direction:lower owner:none", user=DAVE)
    assert posts == [
        f":pencil2: <@{DAVE}> changed KPI *AUC on holdout v2* of *{CHURN_V2}*: target &gt;= 0.9% → &lt;= 0.9%; "
        f"owner <@{DAVE}> → _not set_\n:white_check_mark: Latest: 0.85%, which is within its 0.9% ceiling."
    ]


def test_kpi_changes_are_for_its_owner_and_the_initiatives_managers(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, "kpi record churn AUC 0.85")
    answer_line(running, "kpi edit churn AUC owner:<@U0BOB|bob>")  # Dave no longer owns it

    for text, action in [
        ("kpi edit churn AUC target:0.5", "change its KPIs"),
        ("kpi remove churn AUC", "remove its KPIs"),
        ("kpi reading remove churn AUC", "remove KPI readings"),
    ]:
        answer = refused(running, text, user=DAVE)
        assert (
            ":warning: Only the KPI's owner, the initiative's leads, embedded engineer, creator or a workspace admin "
            f"can {action}. Ask <@{BOB}>, <@{CAROL}>, <@{ALICE}>."
        ) in answer, answer
        assert "Usage" not in answer
    assert readings(running) == [0.85]


def test_kpi_remove_takes_its_readings_and_the_checklist_item_is_missing_again(
    running: RunningApp, churn: Thread
) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, "kpi record churn AUC 0.85")
    answer_line(running, "kpi record churn AUC 0.86")

    confirmation, posts = new_thread_lines(running, churn, "kpi remove churn auc on", user=ADMIN)

    assert confirmation == (
        f":white_check_mark: Removed *{AUC}* from *{CHURN_V2}*. It has no KPI now, so the checklist's KPI item is "
        'missing until one is agreed with `/handoff kpi add churn "&lt;name&gt;" &gt;= &lt;target&gt;`.'
    )
    assert posts == [f":wastebasket: <@{ADMIN}> removed KPI *{AUC}* (&gt;= 0.82) and its 2 readings from *{CHURN_V2}*."]
    assert (rows(running.engine, Kpi), rows(running.engine, KpiReading)) == ([], [])
    assert ":x: *Agreed KPI with a target* (`kpi`)" in "\n".join(sections(private_payload(running, "docs churn")))


def test_reading_remove_tells_the_thread_and_a_later_breach_still_alerts(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    answer_line(running, "kpi record churn AUC 0.85", user=CAROL)
    _, alert = new_thread_lines(running, churn, "kpi record churn AUC 0.085", user=CAROL)  # meant 0.85
    assert len(alert) == 1 and alert[0].startswith(f":rotating_light: *{AUC}* of *{CHURN_V2}* is below its 0.82 target")

    listing = private_payload(running, "kpi list churn")
    assert f"*{AUC}*, newest first: 1. 0.085 · 2. 0.85" in all_text(listing)
    confirmation, posts = new_thread_lines(running, churn, "kpi reading remove churn AUC", user=DAVE)

    assert confirmation == f":white_check_mark: Removed the reading 0.085 of *{AUC}*."
    assert posts == [
        f":wastebasket: <@{DAVE}> removed a reading of *{AUC}* of *{CHURN_V2}*: 0.085, recorded by <@{CAROL}> on "
        f"{slack_day(NOW)}.\n:white_check_mark: Latest: 0.85, which meets its 0.82 target."
    ]
    assert readings(running) == [0.85]
    [kpi] = rows(running.engine, Kpi)
    assert kpi.in_breach is False

    _, second_alert = new_thread_lines(running, churn, "kpi record churn AUC 0.7", user=CAROL)
    assert len(second_alert) == 1 and second_alert[0].startswith(f":rotating_light: *{AUC}* of *{CHURN_V2}* is below")

    # An older reading by its number in `kpi list`; a number past the last is refused.
    _, posts = new_thread_lines(running, churn, f'kpi reading remove churn "{AUC}" 2', user=BOB)
    assert posts[0].startswith(f":wastebasket: <@{BOB}> removed a reading of *{AUC}* of *{CHURN_V2}*: 0.85,")
    assert posts[0].endswith(":red_circle: Latest: 0.7, which is below its 0.82 target.")
    assert readings(running) == [0.7]
    too_far = refused(running, "kpi reading remove churn AUC 2")
    assert f"*{AUC}* has only 1 reading; `kpi list churn` numbers them, 1 for the newest." in too_far
    assert "Usage: `/handoff kpi reading remove churn" in too_far


def test_kpi_correction_commands_refuse_malformed_input(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    for text, problem in [
        ("kpi edit churn AUC", "Say what to change: `name:` `target:` `unit:` `direction:` `owner:`."),
        ("kpi edit churn AUC colour:red", "`colour:` is not an option here."),
        ("kpi edit churn AUC target:none", "A KPI always has a target; `target:` needs a new one."),
        ("kpi edit churn AUC target:1,234", '"1,234" could mean 1234 or 1.234'),
        ("kpi edit churn AUC direction:up", '"up" is not a direction; use `>=` (higher is better)'),
        ("kpi edit churn AUC target:0.82", "already is as asked; nothing changed."),
        ("kpi remove churn", "`kpi remove` needs the initiative, then the KPI's name."),
        ("kpi reading remove churn AUC 0", '"0" is not a reading number'),
        ("kpi reading churn AUC", "`kpi reading` takes `remove`"),
        ("kpi reading remove churn AUC", "*AUC on holdout* has no readings;"),
    ]:
        answer = refused(running, text)
        assert problem in answer, (text, answer)
        assert "Usage:" in answer or "nothing changed" in answer, (text, answer)


# --- lower is better ----------------------------------------------------------------------------------------


def test_a_lower_is_better_kpi_is_worded_by_its_direction_everywhere(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_LATENCY)
    met = answer_line(running, 'kpi record churn "p95 latency" 100')
    missed, alert = new_thread_lines(running, churn, 'kpi record churn "p95 latency" 150', user=CAROL)

    assert met == ":white_check_mark: Recorded 100 ms for *p95 latency*; it is within its 120 ms ceiling."
    assert missed == ":red_circle: Recorded 150 ms for *p95 latency*; it is above its 120 ms ceiling."
    assert alert == [
        f":rotating_light: *p95 latency* of *{CHURN_V2}* is above its 120 ms ceiling: 150 ms. Owner: no owner set."
        f"\nRecorded by <@{CAROL}>"
    ]
    texts = [m.text for m in replies(running, churn)]
    assert texts[-2:] == [f"{CHURN_V2}: KPI p95 latency agreed", f"{CHURN_V2}: KPI p95 latency above its ceiling"]

    overview = section_with(private_payload(running, "status"), "KPIs:")
    assert overview.endswith("KPIs: p95 latency 150 ms (&lt;= 120 ms) :red_circle:")
    detail = section_with(private_payload(running, "status churn"), "*KPIs*")
    assert detail.startswith("*KPIs*\n:red_circle: *p95 latency* target &lt;= 120 ms · latest *150 ms*")
    listing = private_payload(running, "kpi list churn")
    assert listing["text"] == f"KPIs of {CHURN_V2}: 1 KPI, 1 off target"

    run_jobs_at(running, TUESDAY)
    [digest] = digests(running)
    [kpis] = [line for line in section_about(digest, CHURN_V2).split("\n") if line.startswith("KPIs:")]
    assert kpis == "KPIs: p95 latency 150 ms (&lt;= 120 ms) :red_circle:"

    run_jobs_at(running, TUESDAY_NUDGES)
    [nudge] = nudges(running)
    [gap] = [s for s in message_sections(nudge) if "p95 latency" in s]
    assert gap == ":red_circle: KPI *p95 latency* is above its 120 ms ceiling · <@U0BOB> <@U0CAROL>: what is the plan?"
    for text in [all_text(listing), overview, detail, kpis, gap, *alert, missed]:
        assert "below" not in text and ":white_check_mark:" not in text, text


def test_a_reading_exactly_at_the_ceiling_is_within_it(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_LATENCY)
    assert answer_line(running, 'kpi record churn "p95 latency" 120') == (
        ":white_check_mark: Recorded 120 ms for *p95 latency*; it is within its 120 ms ceiling."
    )
    with Session(running.engine) as session:
        assert session.exec(select(Kpi)).one().in_breach is False
