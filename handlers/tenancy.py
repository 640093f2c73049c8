"""Whose data a request touches: the tenant of every request Slack sends, read from Bolt's context.

Bolt's context already names the install rather than the person acting: `view.app_installed_team_id` for a form
submitted from a Slack Connect channel (whose `team` is the submitter's company), `authorizations[0]` for events,
and the install's `team` for buttons. An org-wide (Enterprise Grid) install has no team of its own
(`authorizations[0].team_id` is null), while its commands and buttons name whichever workspace of the org they came
from; so there the enterprise is the tenant of every request, the key Bolt's installation stores use too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.initiatives import Actor


class TenantUnknown(LookupError):
    """A request that names neither a workspace nor an enterprise; Slack sends none such to a listener."""


def find_tenant(context: Mapping[str, Any]) -> str | None:
    """The tenant id of a request: the enterprise for an org-wide install, else the installing workspace."""
    enterprise_id = context.get("enterprise_id")
    if context.get("is_enterprise_install") and enterprise_id:
        return str(enterprise_id)
    team_id = context.get("team_id") or enterprise_id
    return str(team_id) if team_id else None


def tenant_of(context: Mapping[str, Any]) -> str:
    """The tenant id of a request a listener acts on; every team id handed to a service comes from here."""
    tenant = find_tenant(context)
    if tenant is None:
        raise TenantUnknown("the request names neither a workspace nor an enterprise")
    return tenant


def actor_of(context: Mapping[str, Any], user_id: str) -> Actor:
    """The person acting, by the Slack user id in the payload, within the request's tenant."""
    return Actor(team_id=tenant_of(context), user_id=user_id)
