"""Handoff: a Slack bot that gets data-science work into production."""
