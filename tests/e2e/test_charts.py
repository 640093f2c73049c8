"""Charts end to end: `kpi chart`, `status <initiative> chart` and a breach alert's chart go through the real
`files_upload_v2` (files.getUploadURLExternal, the upload URL, files.completeUploadExternal) to the fake Slack, which
keeps the bytes and where they were shared; a refused upload leaves the text answer with a note."""

from __future__ import annotations

import struct
from datetime import timedelta

from bot.fake_slack import FakeChannel, FakeFile
from handlers.uploads import CHART_UNAVAILABLE
from tests.conftest import RunningApp
from tests.e2e.test_readiness import answer_line, churn, new_thread_lines, private_payload, sections
from tests.support.blockkit import all_text
from tests.support.e2e import Thread, replies
from tests.support.workspace import ALICE, BOB, CAROL, GENERAL

__all__ = ["churn"]

ELSEWHERE = "C0ELSEWHERE"  # a public channel Handoff was never invited to
ADD_AUC = 'kpi add churn "AUC on holdout" &gt;= 0.82'
NOT_ATTACHED = CHART_UNAVAILABLE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:16]
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def record_days_apart(running: RunningApp, *values: str) -> None:
    for value in values:
        answer_line(running, f'kpi record churn "AUC on holdout" {value}', user=CAROL)
        running.clock.advance(timedelta(days=2))


def uploaded(running: RunningApp) -> FakeFile:
    """The newest file uploaded, checked to be the whole PNG of a chart."""
    file = running.fake.files[-1]
    assert file.completed and file.content is not None
    assert png_size(file.content) == (1200, 675)
    assert len(file.content) == file.length  # what files.getUploadURLExternal was told is what was posted
    return file


def test_kpi_chart_shares_the_trend_png_in_the_channel_it_was_typed_in(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    record_days_apart(running, "0.84", "0.85", "0.79", "0.83")

    answer = answer_line(running, 'kpi chart churn "AUC"')

    assert answer == ":chart_with_upwards_trend: Shared the trend of *AUC on holdout* of *Churn model v2* here."
    file = uploaded(running)
    [share] = file.shares
    assert (share.channel, share.thread_ts) == (GENERAL, None)
    assert file.title == "AUC on holdout · Churn model v2"
    assert file.filename == "auc-on-holdout-churn-model-v2.png"
    assert file.alt_txt == (
        'Line chart of KPI "AUC on holdout · Churn model v2" against its target ≥ 0.82: 4 readings from 2027-01-04 '
        "to 2027-01-10; latest 0.83 (met the target), lowest 0.79, highest 0.85. 1 missed the target: 0.79 on "
        "2027-01-08."
    )
    complete = running.fake.calls_to("files.completeUploadExternal")[-1]
    assert complete.args["channel_id"] == GENERAL
    assert "thread_ts" not in complete.args
    assert complete.args["files"] == [{"id": file.id, "title": file.title}]
    # The 0.79 reading's breach alert attached its chart in the thread; the command's is in the channel itself.
    assert [f.shares[0].thread_ts for f in running.fake.shared_files(GENERAL)] == [churn.ts, None]


def test_kpi_chart_of_this_channels_initiative_with_the_name_alone(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)

    answer = answer_line(running, 'kpi chart "AUC on holdout"')

    assert answer.startswith(":chart_with_upwards_trend: Shared the trend of *AUC on holdout*")
    assert "no readings yet" in (uploaded(running).alt_txt or "")


def test_kpi_chart_without_files_write_answers_in_text_with_the_note(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    record_days_apart(running, "0.84", "0.80")
    assert running.fake.granted_scopes is not None
    running.fake.granted_scopes.discard("files:write")

    [answer] = sections(private_payload(running, 'kpi chart churn "AUC on holdout"'))

    assert answer.startswith(NOT_ATTACHED + "\n"), answer
    assert "2 readings from 2027-01-04 to 2027-01-06; latest 0.8 (missed the target)" in answer
    refused = running.fake.calls_to("files.getUploadURLExternal")[-1]
    assert (refused.response["error"], refused.response["needed"]) == ("missing_scope", "files:write")
    # Only the breach alert's chart, uploaded before the scope was taken away.
    assert [f.shares[0].thread_ts for f in running.fake.shared_files(GENERAL)] == [churn.ts]


def test_a_chart_typed_where_handoff_is_not_a_member_falls_back_to_text(running: RunningApp, churn: Thread) -> None:
    running.fake.add_channel(FakeChannel(ELSEWHERE, "elsewhere", members={ALICE, BOB}))
    answer_line(running, ADD_AUC)

    [answer] = sections(private_payload(running, 'kpi chart churn "AUC on holdout"', channel=ELSEWHERE))

    assert answer.startswith(NOT_ATTACHED + "\n"), answer
    [complete] = running.fake.calls_to("files.completeUploadExternal")
    assert complete.response["error"] == "not_in_channel"
    assert running.fake.shared_files(ELSEWHERE) == []


def test_kpi_chart_of_an_unknown_kpi_is_answered_with_usage_and_uploads_nothing(
    running: RunningApp, churn: Thread
) -> None:
    answer_line(running, ADD_AUC)

    answer = " ".join(sections(private_payload(running, 'kpi chart churn "Precision"')))

    assert 'has no KPI called "Precision"' in answer
    assert running.fake.calls_to("files.getUploadURLExternal") == []


def test_kpi_chart_without_the_kpi_name_says_what_is_missing(running: RunningApp, churn: Thread) -> None:
    answer = all_text(private_payload(running, "kpi chart churn"))

    assert "`kpi chart` needs the initiative, then the KPI's name" in answer
    assert "/handoff kpi chart churn" in answer
    assert running.fake.files == []


def test_status_chart_shares_the_burn_up_with_reopened_checkpoints_not_done(running: RunningApp, churn: Thread) -> None:
    answer_line(running, "edit churn due:2027-02-15")
    for title in ("Model card reviewed", "Privacy review", "Load test"):
        answer_line(running, f'checkpoint add churn "{title}"')
    running.clock.advance(timedelta(days=1))
    answer_line(running, "checkpoint done churn#1")
    running.clock.advance(timedelta(days=1))
    answer_line(running, "checkpoint done churn#2")
    running.clock.advance(timedelta(days=1))
    answer_line(running, "checkpoint reopen churn#2")

    answer = answer_line(running, "status churn chart")

    assert answer == ":chart_with_upwards_trend: Shared the checkpoint burn-up of *Churn model v2* here."
    file = uploaded(running)
    [share] = file.shares
    assert (share.channel, share.thread_ts) == (GENERAL, None)
    assert file.alt_txt == (
        'Burn-up chart "Checkpoints · Churn model v2" of checkpoints done against the total from 2027-01-04 to '
        "2027-01-07: 0 of 3 done at the start, 1 of 3 done on 2027-01-07 (33%); target date 2027-02-15."
    )


def test_status_chart_refused_gives_the_figures_in_text(running: RunningApp, churn: Thread) -> None:
    answer_line(running, 'checkpoint add churn "Model card reviewed"')
    running.fake.fail_next("files.completeUploadExternal", error="channel_not_found")

    [answer] = sections(private_payload(running, "status churn chart"))

    assert answer.startswith(NOT_ATTACHED + "\n"), answer
    assert "0 of 1 done on 2027-01-04 (0%); no target date." in answer


def test_status_of_an_initiative_without_chart_is_still_answered_in_the_ack(running: RunningApp, churn: Thread) -> None:
    result = running.slack.command("status churn", user=ALICE, channel=GENERAL)

    assert result.status == 200 and "Churn model v2" in result.text
    assert running.fake.calls_to("files.getUploadURLExternal") == []


def test_a_breach_alert_gets_the_kpi_trend_in_the_initiatives_thread(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    record_days_apart(running, "0.84")

    _, alert = new_thread_lines(running, churn, 'kpi record churn "AUC on holdout" 0.78', user=CAROL)

    assert len(alert) == 1 and "0.78" in alert[0]
    file = uploaded(running)
    assert running.fake.shared_files(churn.channel, thread_ts=churn.ts) == [file]
    [share] = file.shares
    assert share.ts > replies(running, churn)[-1].ts  # under the alert
    assert "latest 0.78 (missed the target)" in (file.alt_txt or "")


def test_a_breach_alert_whose_chart_is_refused_is_still_posted(running: RunningApp, churn: Thread) -> None:
    answer_line(running, ADD_AUC)
    record_days_apart(running, "0.84")
    # Rate limited on every try: the client waits out Retry-After on the app's clock, then gives up.
    running.fake.fail_next("files.getUploadURLExternal", times=10, retry_after=2)

    answer, alert = new_thread_lines(running, churn, 'kpi record churn "AUC on holdout" 0.78', user=CAROL)

    assert answer.startswith(":red_circle: Recorded 0.78 for *AUC on holdout*"), answer
    assert len(alert) == 1 and "0.78" in alert[0]
    assert len(running.fake.calls_to("files.getUploadURLExternal")) == 4  # the first try and three retries
    assert running.fake.files == []
