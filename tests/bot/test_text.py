"""Reading Slack's message text as a person does: entities resolved, Slack's escaping undone, the first link found."""

from __future__ import annotations

import pytest

from bot.text import first_link, people_mentioned, plain_from_message


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("ask <@U0BOB>", "ask @bob"),
        ("ask <@U0BOB|bob>", "ask @bob"),
        ("ask <@U0NOBODY>", "ask @U0NOBODY"),  # nobody by that id: the id, never the entity
        ("in <#C0CHURN|churn> and <#C0OLD>", "in #churn and #C0OLD"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S0DS|@ds-team> please", "@ds-team please"),
        ("due <!date^1796571928^{date_short}|Jan 4>", "due Jan 4"),
        ("see <https://x.example.com/a?b=1&amp;c=2|the doc>", "see the doc (https://x.example.com/a?b=1&c=2)"),
        ("see <https://x.example.com/a>", "see https://x.example.com/a"),
        ("see <https://x.example.com|x.example.com>", "see https://x.example.com"),
        ("mail <mailto:a@example.com|a@example.com>", "mail a@example.com"),
        ("a &amp; b &lt;c&gt; &amp;lt;", "a & b <c> &lt;"),
    ],
)
def test_message_text_reads_as_a_person_sees_it(sent: str, read: str) -> None:
    assert plain_from_message(sent, {"U0BOB": "bob"}) == read


def test_people_mentioned_are_those_slack_sent_without_a_name() -> None:
    assert people_mentioned("<@U0BOB> <@U0CAROL|carol> <@U0BOB> <@U0ALICE>") == ["U0BOB", "U0ALICE"]


@pytest.mark.parametrize(
    ("sent", "link"),
    [
        (
            "card: <https://wiki.example.com/card?v=2&amp;l=en|card>, old <https://old.example.com>",
            "https://wiki.example.com/card?v=2&l=en",
        ),
        ("<mailto:a@example.com> then <http://x.example.com>", "http://x.example.com"),
        ("no link, only <@U0BOB> and <#C0CHURN|churn>", None),
    ],
)
def test_the_first_link_of_a_message(sent: str, link: str | None) -> None:
    assert first_link(sent) == link
