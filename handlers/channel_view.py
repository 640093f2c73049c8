"""The buttons of `/handoff` alone: help, and every initiative in the workspace, each answered privately next to
the channel's view so it stays in sight. (*New initiative* is App Home's button, which opens the same form.)"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot import ids
from bot.blocks.help import render_help
from bot.blocks.status import render_status_page
from bot.runtime import Runtime
from bot.status import ScopeKind, StatusScope
from handlers.command_table import GUIDE
from handlers.errors import after_ack
from handlers.initiatives import first_status_page
from handlers.tenancy import tenant_of


def register(app: App, runtime: Runtime) -> None:
    @after_ack
    def show_help(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        """The same overview `/handoff help` gives, with the workspace's own doc kinds."""
        doc_kinds = runtime.settings.checklist.for_team(tenant_of(context)).doc_kinds
        respond(response_type="ephemeral", replace_original=False, **render_help(GUIDE, doc_kinds).as_kwargs())

    @after_ack
    def show_all(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        page = first_status_page(runtime, tenant_of(context), StatusScope(ScopeKind.ALL))
        message = render_status_page(page, jira_url=runtime.jira_url)
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())

    def ack_only(ack: Ack) -> None:
        ack()

    app.action(ids.ACTION_SHOW_HELP)(ack=ack_only, lazy=[show_help])
    app.action(ids.ACTION_SHOW_ALL_INITIATIVES)(ack=ack_only, lazy=[show_all])
