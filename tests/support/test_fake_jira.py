"""FakeJira, driven through the real ``jira`` client the way the bot drives Jira Cloud and Data Center."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError

from tests.support.fake_jira import DEFAULT_ACTOR, EPIC_LINK_FIELD, FakeJira, RecordedRequest

EMAIL, API_TOKEN, PAT = "bot@example.com", "cloud-token", "dc-pat"
NOW = datetime(2027, 1, 4, 17, 45, tzinfo=UTC)  # 09:45 in Los Angeles
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}
APPLINKS_WARNING = "Unable to gather applicationlinks"
NOT_ON_SCREEN = "It is not on the appropriate screen, or unknown."


def cloud_client(fake: FakeJira, token: str = API_TOKEN) -> JIRA:
    return JIRA(
        server=fake.url,
        basic_auth=(EMAIL, token),
        options={"rest_api_version": "3"},
        max_retries=0,
        get_server_info=True,
    )


def dc_client(fake: FakeJira, token: str = PAT) -> JIRA:
    return JIRA(server=fake.url, token_auth=token, max_retries=0)


def _seed(fake: FakeJira) -> FakeJira:
    fake.clock = lambda: NOW
    fake.add_project("DS", name="Data Science")
    fake.add_issue("DS-1", "Churn model", issue_type="Epic", assignee="Ann Lee")
    fake.add_issue("DS-2", "Feature store", status="In Progress")
    fake.add_issue("OPS-1", "Deploy pipeline", status="Done")
    return fake


@pytest.fixture
def cloud() -> Iterator[FakeJira]:
    with FakeJira(flavor="cloud", email=EMAIL, api_token=API_TOKEN, user_timezone="UTC") as fake:
        yield _seed(fake)


@pytest.fixture
def dc() -> Iterator[FakeJira]:
    with FakeJira(flavor="datacenter", personal_token=PAT, user_timezone="UTC") as fake:
        yield _seed(fake)


def _raises(call: Any, *args: Any, **kwargs: Any) -> JIRAError:
    with pytest.raises(JIRAError) as exc:
        call(*args, **kwargs)
    return exc.value


def _messages(error: JIRAError) -> list[str]:
    assert error.response is not None
    return list(error.response.json()["errorMessages"])


def _field_errors(error: JIRAError) -> dict[str, str]:
    assert error.response is not None
    return dict(error.response.json()["errors"])


# ---------------------------------------------------------------------------------------------- basics


def test_server_info_and_myself_per_flavour(cloud: FakeJira, dc: FakeJira) -> None:
    c, d = cloud_client(cloud), dc_client(dc)
    assert c._is_cloud is True and d._is_cloud is False
    info = c.server_info()
    assert info["deploymentType"] == "Cloud" and info["versionNumbers"] == [1001, 0, 0]
    assert info["baseUrl"] == cloud.url and not cloud.url.endswith("/")
    assert d.server_info()["deploymentType"] == "Server"
    assert d.server_info()["version"] == "9.12.2"

    me = c.myself()
    assert me["accountId"] and me["timeZone"] == "UTC" and me["emailAddress"] == EMAIL
    assert "name" not in me and "key" not in me
    dc_me = d.myself()
    assert dc_me["name"] and dc_me["key"] and dc_me["timeZone"] == "UTC"
    assert cloud.flavor == "cloud" and dc.flavor == "datacenter"


def test_v3_exists_only_on_cloud(cloud: FakeJira, dc: FakeJira) -> None:
    d = dc_client(dc)
    error = _raises(d._session.get, f"{dc.url}/rest/api/3/serverInfo")
    assert error.status_code == 404
    c = cloud_client(cloud)
    assert c._session.get(f"{cloud.url}/rest/api/2/issue/DS-1").json()["key"] == "DS-1"


def test_get_issue_with_fields_and_case_insensitive_key(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    issue = c.issue("ds-2", fields="summary,status")
    assert issue.key == "DS-2"
    assert set(issue.raw["fields"]) == {"summary", "status"}
    status = issue.raw["fields"]["status"]
    assert status["name"] == "In Progress"
    assert status["statusCategory"] == {
        "self": f"{cloud.url}/rest/api/3/statuscategory/4",
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    }
    full = c.issue("DS-1").raw
    assert full["id"] == cloud.issue("DS-1").id and full["self"].endswith(f"/rest/api/3/issue/{full['id']}")
    assert full["fields"]["updated"] == "2027-01-04T17:45:00.000+0000"
    assert full["fields"]["issuetype"]["name"] == "Epic"
    assert full["fields"]["project"]["key"] == "DS"
    assert "parent" not in full["fields"] and EPIC_LINK_FIELD not in full["fields"]


def test_missing_issue_is_404_with_each_flavours_message(cloud: FakeJira, dc: FakeJira) -> None:
    error = _raises(cloud_client(cloud).issue, "DS-404")
    assert error.status_code == 404
    assert _messages(error) == ["Issue does not exist or you do not have permission to see it."]
    error = _raises(dc_client(dc).issue, "DS-404")
    assert error.status_code == 404
    assert _messages(error) == ["Issue Does Not Exist"]


def test_users_are_account_ids_on_cloud_and_names_on_dc(cloud: FakeJira, dc: FakeJira) -> None:
    assignee = cloud_client(cloud).issue("DS-1").raw["fields"]["assignee"]
    assert assignee["accountId"] == cloud.account_id("Ann Lee") and len(assignee["accountId"]) == 24
    assert assignee["displayName"] == "Ann Lee" and assignee["accountType"] == "atlassian"
    assert "name" not in assignee and "key" not in assignee
    dc_assignee = dc_client(dc).issue("DS-1").raw["fields"]["assignee"]
    assert dc_assignee["name"] == "ann.lee" and dc_assignee["key"].startswith("JIRAUSER")
    assert dc_assignee["emailAddress"] == "ann.lee@example.com" and "accountId" not in dc_assignee
    assert dc_client(dc).issue("DS-2").raw["fields"]["assignee"] is None


def test_fields_list(cloud: FakeJira, dc: FakeJira) -> None:
    cloud_fields = {f["id"]: f for f in cloud_client(cloud).fields()}
    assert {"summary", "status", "assignee", "updated", "issuetype", "project", "parent", "issuekey"} <= set(
        cloud_fields
    )
    assert cloud_fields["updated"]["clauseNames"] == ["updated", "updatedDate"]
    assert EPIC_LINK_FIELD not in cloud_fields
    epic = {f["id"]: f for f in dc_client(dc).fields()}[EPIC_LINK_FIELD]
    assert epic["name"] == "Epic Link" and epic["custom"] is True
    assert epic["clauseNames"] == ["cf[10014]", "Epic Link"]
    assert epic["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-epic-link"


# ---------------------------------------------------------------------------------------------- writes


def test_create_issue_on_cloud_with_parent(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    fields = {
        "project": {"key": "DS"},
        "summary": "Backfill labels",
        "issuetype": {"name": "Task"},
        "parent": {"key": "DS-1"},
        "description": ADF,
    }
    created = c.create_issue(fields=fields)
    assert created.key == "DS-3"
    assert created.fields.status.name == "To Do"
    assert created.raw["fields"]["parent"]["key"] == "DS-1"
    assert created.raw["fields"]["description"] == ADF
    stored = cloud.issue("DS-3")
    assert stored.parent == "DS-1" and stored.issue_type == "Task" and stored.updated == NOW
    assert c.issue("DS-3").id != c.issue("DS-2").id
    # v2 shows the same description as plain text.
    assert c._session.get(f"{cloud.url}/rest/api/2/issue/DS-3").json()["fields"]["description"] == "hi"
    assert cloud.count("/rest/api/3/issue", method="POST") == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"summary": ""}, {"summary": "You must specify a summary of the issue."}),
        ({"project": {"key": "NOPE"}}, {"project": "valid project is required"}),
        ({"parent": {"key": "DS-99"}}, {"parent": "Could not find issue by id or key."}),
        ({"description": "plain text"}, {"description": "Operation value must be an Atlassian Document"}),
        (
            {EPIC_LINK_FIELD: "DS-1"},
            {EPIC_LINK_FIELD: f"Field '{EPIC_LINK_FIELD}' cannot be set. {NOT_ON_SCREEN}"},
        ),
    ],
)
def test_create_issue_validation_on_cloud(cloud: FakeJira, change: dict, expected: dict) -> None:
    fields = {"project": {"key": "DS"}, "summary": "ok", "issuetype": {"name": "Task"}, **change}
    error = _raises(cloud_client(cloud).create_issue, fields=fields)
    assert error.status_code == 400
    assert _field_errors(error) == expected
    assert cloud.issues == 3


def test_create_issue_on_datacenter_with_epic_link(dc: FakeJira) -> None:
    d = dc_client(dc)
    fields = {
        "project": {"key": "DS"},
        "summary": "Backfill labels",
        "issuetype": {"name": "Task"},
        EPIC_LINK_FIELD: "DS-1",
        "description": "h1. wiki markup",
    }
    created = d.create_issue(fields=fields)
    assert created.raw["fields"][EPIC_LINK_FIELD] == "DS-1"
    assert created.raw["fields"]["description"] == "h1. wiki markup"
    assert dc.issue(created.key).epic_link == "DS-1"

    error = _raises(d.create_issue, fields={**fields, EPIC_LINK_FIELD: "DS-99"})
    assert error.status_code == 400 and EPIC_LINK_FIELD in _field_errors(error)
    error = _raises(d.create_issue, fields={**fields, "description": ADF})
    assert _field_errors(error) == {"description": "Operation value must be a string"}


def test_remote_links_upsert_by_global_id(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    with pytest.warns(Warning, match=APPLINKS_WARNING):
        first = c.add_remote_link("DS-1", {"url": "https://slack/1", "title": "Thread"}, globalId="handoff:1")
    with pytest.warns(Warning, match=APPLINKS_WARNING):
        again = c.add_remote_link(
            "DS-1", {"url": "https://slack/1", "title": "Renamed"}, globalId="handoff:1", relationship="mentioned in"
        )
    with pytest.warns(Warning, match=APPLINKS_WARNING):
        other = c.add_remote_link("DS-1", {"url": "https://slack/2", "title": "Other"}, globalId="handoff:2")
    assert first.id == again.id != other.id
    posts = [r.status for r in cloud.requests if r.path.endswith("/remotelink") and r.method == "POST"]
    assert posts == [201, 200, 201]

    links = c.remote_links("DS-1")
    assert [(link.globalId, link.object.title) for link in links] == [("handoff:1", "Renamed"), ("handoff:2", "Other")]
    assert links[0].raw["relationship"] == "mentioned in"
    assert links[0].raw["self"] == f"{cloud.url}/rest/api/3/issue/DS-1/remotelink/{first.id}"
    assert len(cloud.issue("DS-1").remote_links) == 2

    with pytest.warns(Warning, match=APPLINKS_WARNING):
        error = _raises(c.add_remote_link, "DS-404", {"url": "https://x", "title": "x"}, globalId="g")
    assert error.status_code == 404
    with pytest.warns(Warning, match=APPLINKS_WARNING):
        error = _raises(c.add_remote_link, "DS-1", {"url": "https://x"}, globalId="g")
    assert _field_errors(error) == {"title": "'title' is required."}


def test_transitions_list_apply_and_reject(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    transitions = c.transitions("DS-1", expand="transitions.fields")
    assert [(t["id"], t["name"], t["to"]["name"]) for t in transitions] == [
        ("21", "Start progress", "In Progress"),
        ("31", "Review", "In Review"),
        ("41", "Done", "Done"),
    ]
    assert transitions[2]["to"]["statusCategory"]["key"] == "done"
    assert transitions[0]["isAvailable"] is True and transitions[0]["fields"] == {}

    later = NOW + timedelta(minutes=5)
    cloud.clock = lambda: later
    c.transition_issue("DS-1", "41")
    stored = cloud.issue("DS-1")
    assert stored.status == "Done" and stored.updated == later
    (entry,) = stored.changelog
    assert entry["author"] == "Handoff Bot"
    assert entry["items"] == [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": "10000",
            "fromString": "To Do",
            "to": "10001",
            "toString": "Done",
        }
    ]

    error = _raises(c.transition_issue, "DS-1", "99")
    assert error.status_code == 400
    assert _messages(error) == ["Transition id '99' is not valid for this issue."]


def test_transition_overrides(cloud: FakeJira, dc: FakeJira) -> None:
    c = cloud_client(cloud)
    cloud.set_transitions("DS-2", [("5", "Park", "To Do")])
    assert [(t["id"], t["name"]) for t in c.transitions("DS-2")] == [("5", "Park")]
    assert _raises(c.transition_issue, "DS-2", "41").status_code == 400
    cloud.set_transitions("DS-2", None)
    assert "41" in [t["id"] for t in c.transitions("DS-2")]

    # Data Center's transition JSON has none of Cloud's is* flags.
    dc_transitions = dc_client(dc).transitions("DS-1")
    assert set(dc_transitions[0]) == {"id", "name", "to"}


def test_comments_adf_on_v3_and_wiki_on_v2(cloud: FakeJira, dc: FakeJira) -> None:
    later = NOW + timedelta(hours=1)
    cloud.clock = lambda: later
    c = cloud_client(cloud)
    comment = c.add_comment("DS-1", ADF)  # type: ignore[arg-type]
    assert comment.raw["body"] == ADF and comment.raw["author"]["displayName"] == "Handoff Bot"
    stored = cloud.issue("DS-1")
    assert stored.comments[0]["body"] == ADF and stored.comments[0]["api_version"] == "3"
    assert stored.updated == later

    error = _raises(c.add_comment, "DS-1", "plain text")
    assert error.status_code == 400
    assert _field_errors(error) == {"comment": "Comment body is not valid!"}

    d = dc_client(dc)
    assert d.add_comment("DS-1", "*bold* wiki").raw["body"] == "*bold* wiki"
    assert dc.issue("DS-1").comments[0]["api_version"] == "2"
    assert _raises(d.add_comment, "DS-1", ADF).status_code == 400  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- search


def _many(fake: FakeJira, count: int) -> None:
    for n in range(3, count + 3):
        fake.add_issue(f"DS-{n}", f"issue {n}", updated=NOW - timedelta(minutes=n))


def test_cloud_search_pages_with_next_page_token(cloud: FakeJira) -> None:
    _many(cloud, 248)  # DS-1 .. DS-250
    c = cloud_client(cloud)
    keys: list[str] = []
    pages: list[dict] = []
    token = None
    while True:
        page = c.enhanced_search_issues(
            "project = DS ORDER BY key ASC",
            nextPageToken=token,
            maxResults=100,
            fields=["summary", "updated"],
            json_result=True,
        )
        assert isinstance(page, dict)
        pages.append(page)
        keys.extend(issue["key"] for issue in page["issues"])
        token = page.get("nextPageToken")
        if token is None:
            break
    assert [len(p["issues"]) for p in pages] == [100, 100, 50]
    assert [p["isLast"] for p in pages] == [False, False, True]
    assert all("total" not in p for p in pages)
    assert keys == [f"DS-{n}" for n in range(1, 251)]
    assert set(pages[0]["issues"][0]["fields"]) == {"summary", "updated"}
    assert cloud.count("/rest/api/3/search/jql") == 3

    capped = c.enhanced_search_issues("project = DS", maxResults=500, json_result=True)
    assert isinstance(capped, dict) and len(capped["issues"]) == 100


def test_cloud_search_post_and_default_fields(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    found = c.enhanced_search_issues("key = DS-2", fields=None, json_result=True, use_post=True)
    assert isinstance(found, dict) and [i["key"] for i in found["issues"]] == ["DS-2"]
    (post,) = [r for r in cloud.requests if r.path == "/rest/api/3/search/jql"]
    assert post.method == "POST" and post.body["jql"] == "key = DS-2"
    # Without fields, /search/jql returns ids only.
    bare = c._session.get(f"{cloud.url}/rest/api/3/search/jql", params={"jql": "key = DS-2"}).json()
    assert bare["issues"][0]["id"] == cloud.issue("DS-2").id and bare["issues"][0]["fields"] == {}


def test_cloud_old_search_is_gone(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    for version in ("2", "3"):
        error = _raises(c._session.get, f"{cloud.url}/rest/api/{version}/search", params={"jql": "project = DS"})
        assert error.status_code == 410
        assert "Please migrate to the /rest/api/3/search/jql API" in _messages(error)[0]


def test_dc_search_pages_with_start_at_and_total(dc: FakeJira) -> None:
    _many(dc, 248)
    d = dc_client(dc)
    page = d.search_issues("project = DS ORDER BY key ASC", startAt=100, maxResults=100, json_result=True)
    assert page["total"] == 250 and page["startAt"] == 100 and page["maxResults"] == 100
    assert [i["key"] for i in page["issues"]] == [f"DS-{n}" for n in range(101, 201)]
    last = d.search_issues("project = DS ORDER BY key ASC", startAt=200, maxResults=100, json_result=True)
    assert len(last["issues"]) == 50 and last["total"] == 250
    posted = d.search_issues("project = DS", maxResults=5, fields=["summary"], json_result=True, use_post=True)
    assert posted["total"] == 250 and set(posted["issues"][0]["fields"]) == {"summary"}

    error = _raises(d._session.get, f"{dc.url}/rest/api/2/search/jql", params={"jql": "project = DS"})
    assert error.status_code == 404


def test_missing_keys_are_one_400_with_every_message(cloud: FakeJira, dc: FakeJira) -> None:
    jql = "key in (DS-1, X-9, DS-999)"
    error = _raises(cloud_client(cloud).enhanced_search_issues, jql, json_result=True)
    assert error.status_code == 400
    assert _messages(error) == [
        "The value 'X-9' does not exist for the field 'key'.",
        "The value 'DS-999' does not exist for the field 'key'.",
    ]
    error = _raises(dc_client(dc).search_issues, jql, json_result=True)
    assert error.status_code == 400
    assert _messages(error) == [
        "An issue with key 'X-9' does not exist for field 'key'.",
        "An issue with key 'DS-999' does not exist for field 'key'.",
    ]
    # Data Center only warns when asked not to validate strictly.
    lenient = (
        dc_client(dc)._session.get(f"{dc.url}/rest/api/2/search", params={"jql": jql, "validateQuery": "warn"}).json()
    )
    assert [i["key"] for i in lenient["issues"]] == ["DS-1"] and len(lenient["warningMessages"]) == 2


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_updated_is_read_in_the_users_time_zone(flavor: str) -> None:
    with FakeJira(flavor=flavor, user_timezone="America/Los_Angeles") as fake:
        fake.clock = lambda: NOW
        base = datetime(2027, 1, 4, 17, 30, tzinfo=UTC)  # 09:30 in Los Angeles
        for n, minutes in enumerate((-61, -1, 0, 1, 14), start=1):
            fake.add_issue(f"DS-{n}", f"issue {n}", updated=base + timedelta(minutes=minutes))
        client = cloud_client(fake) if flavor == "cloud" else dc_client(fake)

        def keys(jql: str) -> list[str]:
            if flavor == "cloud":
                found = client.enhanced_search_issues(jql, fields=["updated"], json_result=True)
            else:
                found = client.search_issues(jql, fields=["updated"], json_result=True)
            assert isinstance(found, dict)
            return [i["key"] for i in found["issues"]]

        assert keys('project = DS AND updated >= "2027/01/04 09:30"') == ["DS-3", "DS-4", "DS-5"]
        assert keys('project = DS and UPDATED > "2027-01-04 09:30" ORDER BY updated DESC') == ["DS-5", "DS-4"]
        assert keys('project = DS AND updated < "2027/01/04 09:30"') == ["DS-1", "DS-2"]
        assert keys("project = DS AND updated <= 2027-01-04") == []
        # Relative dates count back from the fake's clock (17:45 UTC).
        assert keys("project = DS AND updated >= -15m") == ["DS-3", "DS-4", "DS-5"]
        assert keys('project = DS AND updated >= "-1h"') == ["DS-2", "DS-3", "DS-4", "DS-5"]
        rendered = client.issue("DS-3", fields="updated").raw["fields"]["updated"]
        assert rendered == "2027-01-04T09:30:00.000-0800"


def test_jql_parsing(cloud: FakeJira, dc: FakeJira) -> None:
    c = cloud_client(cloud)

    def keys(jql: str) -> list[str]:
        found = c.enhanced_search_issues(jql, json_result=True)
        assert isinstance(found, dict)
        return [i["key"] for i in found["issues"]]

    assert keys('PROJECT in ("DS", ops) and KEY IN (ds-1, DS-2, OPS-1) order by KEY desc') == ["OPS-1", "DS-2", "DS-1"]
    assert keys("issuekey = DS-2") == ["DS-2"]
    assert keys("project = DS AND status = 'In Progress'") == ["DS-2"]
    assert keys("project in (DS, OPS) AND statusCategory != Done") == ["DS-1", "DS-2"]
    assert keys("(key = DS-1 OR key = OPS-1) AND NOT status = Done") == ["DS-1"]

    def error(jql: str, client: JIRA = c) -> list[str]:
        if client is c:
            return _messages(_raises(c.enhanced_search_issues, jql, json_result=True))
        return _messages(_raises(client.search_issues, jql, json_result=True))

    assert error("project = ") == [
        "Error in JQL Query: Expecting either a value, list or function before the end of the query."
    ]
    assert error("project DS") == [
        "Error in JQL Query: Expecting operator but got 'DS'. The valid operators are '=', '!=', '<', '>', '<=', "
        "'>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"
    ]
    assert error('summary = "open') == [
        "Error in JQL Query: The quoted string 'open' has not been completed. (line 1, character 11)"
    ]
    assert error("project = DS AND key = A@1")[0].startswith("Error in JQL Query: The character '@' is a reserved")
    assert error("foo = bar") == ["Field 'foo' does not exist or you do not have permission to view it."]
    assert error("project = NOPE") == ["The value 'NOPE' does not exist for the field 'project'."]
    assert error("project = DS ORDER BY") == ["Error in JQL Query: Expecting a field name before the end of the query."]
    assert error("ORDER BY key") == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    ]
    assert error("project = DS AND updated > yesterday")[0].startswith("Date value 'yesterday' for field 'updated'")
    assert error("key in (DS-1", dc_client(dc)) == [
        "Error in the JQL Query: Expecting ')' before the end of the query."
    ]


def test_hundred_key_query_over_ten_thousand_issues_is_fast(cloud: FakeJira) -> None:
    for n in range(3, 10_001):
        cloud.add_issue(f"DS-{n}", f"issue {n}")
    assert cloud.issues == 10_001  # and OPS-1
    c = cloud_client(cloud)
    jql = "key in ({}) ORDER BY updated DESC".format(", ".join(f"DS-{n}" for n in range(5000, 5100)))
    started = time.perf_counter()
    found = c.enhanced_search_issues(jql, maxResults=100, fields=["summary", "status"], json_result=True)
    elapsed = time.perf_counter() - started
    assert isinstance(found, dict) and len(found["issues"]) == 100
    assert elapsed < 0.5


# ---------------------------------------------------------------------------------------------- failures


def test_rate_limit_carries_retry_after(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    cloud.fail_next("/rest/api/3/issue/DS-1", status=429, retry_after=7)
    error = _raises(c.issue, "DS-1")
    assert error.status_code == 429 and error.response is not None
    assert error.response.headers["Retry-After"] == "7"
    assert error.response.headers["X-RateLimit-Remaining"] == "0"
    assert error.response.headers["X-RateLimit-Reset"] == "2027-01-04T17:45Z"
    assert c.issue("DS-1").key == "DS-1"  # only the next request failed

    cloud.fail_next("/rest/api/3/search/jql", status=503, retry_after=None, times=2, method="GET")
    for _ in range(2):
        error = _raises(c.enhanced_search_issues, "key = DS-1", json_result=True)
        assert error.status_code == 503 and error.response is not None
        assert "Retry-After" not in error.response.headers
    assert c.enhanced_search_issues("key = DS-1", json_result=True)["issues"]

    cloud.fail_next("/rest/api/3/issue/DS-1/transitions", status=500, method="POST")
    assert c.transitions("DS-1")  # a GET does not match
    assert _raises(c.transition_issue, "DS-1", "41").status_code == 500
    cloud.fail_next("/rest/api/3/issue", status=403, body={"errorMessages": ["Nope"], "errors": {}})
    assert _messages(_raises(c.issue, "DS-2")) == ["Nope"]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_bad_credentials_are_401(flavor: str) -> None:
    with FakeJira(flavor=flavor) as fake:
        make = cloud_client if flavor == "cloud" else dc_client
        error = _raises(make, fake, "wrong")
        assert error.status_code == 401
        assert _messages(error) == ["You are not authenticated. Authentication required to perform this operation."]
        assert error.response is not None
        assert error.response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        # serverInfo answers anonymously, as Jira's does; nothing else does.
        anonymous = JIRA(server=fake.url, max_retries=0)
        assert anonymous.server_info()["baseUrl"] == fake.url
        assert _raises(anonymous.myself).status_code == 401
        assert [r.status for r in fake.requests] == [401, 200, 200, 401]


def test_outage_and_recovery_on_the_same_port(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    url = cloud.url
    for _ in range(2):
        cloud.go_down()
        assert cloud.url == url
        with pytest.raises(requests.exceptions.ConnectionError):
            c.issue("DS-1")
        cloud.come_back()
        assert cloud.url == url
        assert c.issue("DS-1").fields.summary == "Churn model"


# ---------------------------------------------------------------------------------------------- inspection


def test_request_recording_and_counting(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    cloud.reset_requests()
    c.issue("DS-1", fields="summary")
    c.issue("DS-2")
    c.add_comment("DS-2", ADF)  # type: ignore[arg-type]
    assert cloud.count() == 3
    assert cloud.count("/rest/api/3/issue/DS-") == 3
    assert cloud.count("/rest/api/3/issue/DS-2") == 2
    assert cloud.count(method="POST") == 1
    first = cloud.requests[0]
    assert first == RecordedRequest(
        method="GET",
        path="/rest/api/3/issue/DS-1",
        query={"fields": "summary"},
        body=None,
        status=200,
        headers=first.headers,
    )
    assert first.headers["Authorization"].startswith("Basic ")
    assert cloud.requests[2].body == {"body": ADF}
    cloud.reset_requests()
    assert cloud.requests == []


def test_changelog_and_webhook_payload(cloud: FakeJira) -> None:
    at = NOW + timedelta(minutes=3)
    entry = cloud.set_status("DS-2", "Done", at=at)
    assert entry["author"] == DEFAULT_ACTOR and entry["created"] == at
    cloud.set_summary("DS-2", "Feature store v2", at=at + timedelta(minutes=1))
    assigned = cloud.set_assignee("DS-2", "Bo Chen", at=at + timedelta(minutes=2))
    stored = cloud.issue("DS-2")
    assert stored.updated == at + timedelta(minutes=2)
    assert int(assigned["id"]) > int(entry["id"])
    assert assigned["items"][0]["to"] == cloud.account_id("Bo Chen")

    payload = cloud.webhook_payload("DS-2", entry)
    assert payload["webhookEvent"] == "jira:issue_updated"
    assert payload["issue_event_type_name"] == "issue_generic"
    assert payload["timestamp"] == int(at.timestamp() * 1000)
    assert payload["user"]["displayName"] == DEFAULT_ACTOR
    assert payload["issue"]["key"] == "DS-2"
    assert payload["issue"]["fields"]["status"]["statusCategory"]["key"] == "done"
    assert payload["changelog"] == {"id": entry["id"], "items": entry["items"]}
    assert entry["items"][0]["fromString"] == "In Progress" and entry["items"][0]["toString"] == "Done"

    history = cloud_client(cloud).issue("DS-2", expand="changelog").raw["changelog"]["histories"]
    assert [h["items"][0]["field"] for h in history] == ["assignee", "summary", "status"]

    cloud.delete_issue("DS-2")
    assert _raises(cloud_client(cloud).issue, "DS-2").status_code == 404
    with pytest.raises(KeyError):
        cloud.issue("DS-2")


def test_wait_for_and_browse(cloud: FakeJira) -> None:
    c = cloud_client(cloud)
    worker = threading.Thread(target=c.add_comment, args=("DS-1", ADF))
    worker.start()
    assert cloud.wait_for(lambda: cloud.count("/rest/api/3/issue/DS-1/comment") == 1, timeout=5)
    worker.join()
    assert cloud.wait_for(lambda: False, timeout=0) is False
    page = c._session.get(f"{cloud.url}/browse/DS-1")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Churn model" in page.text
