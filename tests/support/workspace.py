"""The Slack workspace every test plays in: its moment, people, channels and the app's credentials for it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.fake_slack import FakeChannel, FakeSlack, FakeUser

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-bot-token"
NOW = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)  # a Monday

ALICE, BOB, CAROL, DAVE, ADMIN, ROBOT, GONE = (
    "U0ALICE",
    "U0BOB",
    "U0CAROL",
    "U0DAVE",
    "U0ADMIN",
    "U0ROBOT",
    "U0GONE",
)
GENERAL, CHURN, SECRET, OLD = "C0GENERAL", "C0CHURN", "G0SECRET", "C0OLD"
JIRA_SITE = "https://jira.example.com"

# People service tests add to the directory: one who creates an initiative without leading it, a workspace owner,
# and one nobody's directory knows.
CREATOR, OWNER, NOBODY = "U0CREATOR", "U0OWNER", "U0NOBODY"
OTHER_TEAM = "T0OTHER"

# Three people, an outsider, an admin, a bot and a leaver.
WORKSPACE_USERS = (
    FakeUser(ALICE, "alice", "Alice Data", tz="Europe/Berlin"),
    FakeUser(BOB, "bob", "Bob Builder", tz="America/New_York"),
    FakeUser(CAROL, "carol", "Carol Embedded", tz="Europe/London"),
    FakeUser(DAVE, "dave", "Dave Outsider"),
    FakeUser(ADMIN, "admin", "Ada Admin", is_admin=True),
    FakeUser(ROBOT, "robot", "Some Bot", is_bot=True),
    FakeUser(GONE, "gone", "Gone Away", deleted=True),
)


def seed(fake: FakeSlack) -> FakeSlack:
    """Give the fake Slack this workspace's people and channels."""
    for user in WORKSPACE_USERS:
        fake.add_user(user)
    fake.add_channel(FakeChannel(GENERAL, "general", members={"UBOT", ALICE, BOB, CAROL, DAVE, ADMIN}))
    fake.add_channel(FakeChannel(CHURN, "churn", members={"UBOT", ALICE, BOB}))
    fake.add_channel(FakeChannel(SECRET, "secret", is_private=True, members={ALICE}))
    fake.add_channel(FakeChannel(OLD, "old", is_archived=True))
    return fake
