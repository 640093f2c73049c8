"""Block Kit builders: pure functions from data to message and view payloads, with fallback text.

Every value a user typed passes through `bot.text.escape` before it reaches mrkdwn.
"""
