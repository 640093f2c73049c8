"""Slack listeners: parse payloads into plain values, call one service, render, respond."""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Runtime


def register_all(app: App, runtime: Runtime) -> None:
    """Wire every listener; `bot.app` is the only caller, on the first request from Slack. The listener modules
    bring every feature's services and Block Kit builders with them, so they are imported here, when needed."""
    from handlers import (
        actions,
        capture_forms,
        card_forms,
        card_menu,
        channel_view,
        commands,
        errors,
        events,
        home_changes,
        model_versions,
        pickers,
        shortcuts,
        views,
    )

    errors.register(app, runtime)
    home_changes.register(app, runtime)
    commands.register(app, runtime)
    actions.register(app, runtime)
    channel_view.register(app, runtime)
    views.register(app, runtime)
    card_menu.register(app, runtime)
    card_forms.register(app, runtime)
    events.register(app, runtime)
    shortcuts.register(app, runtime)
    capture_forms.register(app, runtime)
    pickers.register(app, runtime)
    model_versions.register(app, runtime)
