"""App Home: publish a person's dashboard, answer what they did on it, and republish the Homes a change made stale.

`views.publish` is Tier 4 (about 100 a minute per workspace), so republishing after a change is paced through the
posting budget's machinery, with a budget of its own (`HOME_BUDGET_SUFFIX`), shared by every replica through the
database and apart from the budget of messages."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.base import Message
from bot.blocks.home import render_home
from bot.home import compose_home, homes_to_refresh
from bot.posting_budget import PostingBudget
from bot.runtime import Runtime
from handlers.home_changes import HomeChanges, home_published
from handlers.uploads import UploadedChart, upload_chart

log = logging.getLogger(__name__)
VIEWS_PUBLISH_PER_MINUTE = 100  # Slack's Tier 4
HOME_BUDGET_SUFFIX = ":home"  # the posting-turn rows of a workspace's Home publishing: `T0123ABCD:home`


# The funnels uploaded lately, by Slack, workspace and figures: a Home republished while the figures are the same
# shows the file already uploaded instead of uploading the same picture again. Keyed by the figures, it cannot go
# stale.
UPLOADED_FUNNELS_KEPT = 64
_uploaded_funnels: OrderedDict[tuple[str, str, object], UploadedChart] = OrderedDict()
_uploaded_funnels_lock = threading.Lock()


def portfolio_chart(runtime: Runtime, client: WebClient, *, team_id: str) -> UploadedChart | None:
    """The workspace's funnel over the report's default window, uploaded privately for the Home's Portfolio to show;
    None when there is nothing to chart or Slack refuses the upload (the Portfolio's counts stay)."""
    from bot.charts import funnel_chart  # matplotlib loads when a Home is first drawn, not with the server
    from bot.report import ReportScope, compute_report, funnel_of, parse_window

    now = runtime.clock.now().astimezone(runtime.settings.tz)
    window = parse_window(None, today=now.date())
    with runtime.session() as session:
        report = compute_report(session=session, team_id=team_id, scope=ReportScope(), window=window, now=now)
    if not report.initiatives:
        return None
    funnel = funnel_of(report)
    key = (client.base_url, team_id, funnel)
    with _uploaded_funnels_lock:
        uploaded = _uploaded_funnels.get(key)
        if uploaded is not None:
            _uploaded_funnels.move_to_end(key)
            return uploaded
    uploaded = upload_chart(client, funnel_chart(funnel), channel_id=None)
    if uploaded is not None:
        with _uploaded_funnels_lock:
            _uploaded_funnels[key] = uploaded
            while len(_uploaded_funnels) > UPLOADED_FUNNELS_KEPT:
                _uploaded_funnels.popitem(last=False)
    return uploaded


def _forget_upload(uploaded: UploadedChart) -> None:
    with _uploaded_funnels_lock:
        for key in [key for key, kept in _uploaded_funnels.items() if kept.file_id == uploaded.file_id]:
            del _uploaded_funnels[key]


def publish_home(
    runtime: Runtime,
    client: WebClient,
    *,
    team_id: str,
    user_id: str,
    notice: Message | None = None,
    portfolio: UploadedChart | None = None,
) -> None:
    """Compose the person's dashboard and publish it as their App Home, with the workspace's funnel when given."""
    with runtime.session() as session:
        dashboard = compose_home(
            session=session,
            team_id=team_id,
            user_id=user_id,
            now=runtime.clock.now(),
            today=runtime.today(),
            checklist=runtime.settings.checklist.for_team(team_id),
            stale_days=runtime.settings.kpi_stale_days,
        )
    try:
        client.views_publish(user_id=user_id, view=render_home(dashboard, notice=notice, portfolio_chart=portfolio))
    except SlackApiError as error:
        if portfolio is None or error.response.get("error") != "invalid_blocks":
            raise
        # Slack may refuse a file it does not (or no longer) let the Home show: the dashboard still goes out, without
        # the picture, and that file is not offered again.
        log.warning("App Home's portfolio chart refused; published without it")
        _forget_upload(portfolio)
        client.views_publish(user_id=user_id, view=render_home(dashboard, notice=notice))


def is_on_home(body: dict[str, Any]) -> bool:
    """A click on the App Home tab: its container is a view, and Slack gives it no response_url."""
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "home"


def answer(
    runtime: Runtime, client: WebClient, body: dict[str, Any], respond: Respond, message: Message, *, team_id: str
) -> None:
    """A private answer: through the response_url on a message; on App Home, which has none, the Home republished
    with the answer on top (and what the click changed)."""
    if not is_on_home(body):
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
        return
    republish(runtime, client, body, team_id=team_id, notice=message)


def republish(
    runtime: Runtime, client: WebClient, body: dict[str, Any], *, team_id: str, notice: Message | None = None
) -> None:
    """Republish the clicking person's Home now, so what they did shows at once."""
    user_id = body["user"]["id"]
    portfolio = portfolio_chart(runtime, client, team_id=team_id)
    publish_home(runtime, client, team_id=team_id, user_id=user_id, notice=notice, portfolio=portfolio)
    home_published(team_id, user_id)


def refresh_homes(changes: HomeChanges) -> None:
    """Republish the Homes of the changed initiatives' people who opened theirs lately, each once, paced under
    views.publish's rate tier; a Slack error on one is logged and the rest go on."""
    runtime = changes.runtime
    by_team: dict[str, tuple[list[int], set[str]]] = {}
    for initiative_id, (team, named) in changes.initiatives.items():
        ids, people = by_team.setdefault(team, ([], set()))
        ids.append(initiative_id)
        people.update(named)
    budget = PostingBudget(sessions=runtime.session, clock=runtime.clock, per_minute=VIEWS_PUBLISH_PER_MINUTE)
    for team_id, (initiative_ids, people) in by_team.items():
        with runtime.session() as session:
            viewers = homes_to_refresh(
                session=session,
                team_id=team_id,
                initiative_ids=initiative_ids,
                user_ids=sorted(people),
                now=runtime.clock.now(),
            )
        pending = [user_id for user_id in viewers if (team_id, user_id) not in changes.published]
        if not pending:
            continue
        portfolio = portfolio_chart(runtime, changes.client, team_id=team_id)
        workspace = team_id + HOME_BUDGET_SUFFIX
        for user_id in pending:
            budget.wait_turn(workspace, user_id)
            try:
                publish_home(runtime, changes.client, team_id=team_id, user_id=user_id, portfolio=portfolio)
            except SlackApiError as error:
                log.warning(
                    "App Home not republished", extra={"user": user_id, "slack_error": error.response.get("error")}
                )
            finally:
                budget.sent(workspace, user_id)
            changes.published.add((team_id, user_id))
