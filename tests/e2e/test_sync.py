"""Incremental sync (issue 16, section 2): `updated_since` on the lists of records of a kind answers
what changed since then in the order of the changes, and the records deleted since then as
tombstones in the page's `deleted`, paged with the same cursor. A plain user learns only of the
records they may see; another tenant of nothing. One tenant for the module."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.e2e.helpers import assert_problem, created, new_tenant, ok

if TYPE_CHECKING:
    from conftest import Api


def deleted_(response: requests.Response) -> None:
    assert response.status_code == 204, response.text


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sync(api: Api, path: str, since: str, limit: int = 2) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Every item and tombstone of a sync list, following next_cursor; and the number of pages."""
    items: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    cursor = None
    for pages in range(1, 100):
        params: dict[str, Any] = {"updated_since": since, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = ok(api.get(path, params=params))
        assert len(page["items"]) + len(page["deleted"]) <= limit
        items += page["items"]
        deleted += page["deleted"]
        cursor = page["next_cursor"]
        if not cursor:
            return items, deleted, pages
    raise AssertionError("the cursor never ended")


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    """Contacts of an admin and of a plain user, created, one changed and some deleted after `since`."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    made = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla"}))
    user = session_api.as_(tenant, made["id"], "user")
    before = created(admin.post("/contacts", json={"first_name": "Before"}))["id"]
    time.sleep(0.05)
    since = datetime.now(UTC)
    time.sleep(0.05)
    a = created(admin.post("/contacts", json={"first_name": "A"}))["id"]
    b = created(admin.post("/contacts", json={"first_name": "B"}))["id"]
    c = created(admin.post("/contacts", json={"first_name": "C"}))["id"]
    own = created(user.post("/contacts", json={"first_name": "Own"}))["id"]
    gone = created(user.post("/contacts", json={"first_name": "Gone"}))["id"]
    ok(admin.patch(f"/contacts/{a}", json={"last_name": "Changed"}))
    time.sleep(0.05)
    later = datetime.now(UTC)
    time.sleep(0.05)
    deleted_(admin.delete(f"/contacts/{b}"))
    deleted_(user.delete(f"/contacts/{gone}"))
    return {
        "tenant": tenant,
        "admin": admin,
        "user": user,
        "user_id": made["id"],
        "since": stamp(since),
        "later": stamp(later),
        "ids": {"before": before, "a": a, "b": b, "c": c, "own": own, "gone": gone},
    }


def test_changes_come_in_update_order_with_tombstones_across_pages(office: dict[str, Any]) -> None:
    ids = office["ids"]
    items, deleted, pages = sync(office["admin"], "/contacts", office["since"], limit=2)
    assert [i["id"] for i in items] == [ids["c"], ids["own"], ids["a"]]  # `a` last: changed after the others
    assert items[2]["last_name"] == "Changed"
    stamps = [i["updated_at"] for i in items]
    assert stamps == sorted(stamps)
    assert [(d["id"], d["deleted"]) for d in deleted] == [(ids["b"], True), (ids["gone"], True)]
    assert all(d["deleted_at"] >= office["since"][:19] for d in deleted)
    assert pages == 3  # five changes in pages of two


def test_a_later_time_lists_only_what_changed_after_it(office: dict[str, Any]) -> None:
    ids = office["ids"]
    items, deleted, _ = sync(office["admin"], "/contacts", office["later"], limit=50)
    assert items == []
    assert [d["id"] for d in deleted] == [ids["b"], ids["gone"]]
    items, deleted, _ = sync(office["admin"], "/contacts", "2000-01-01T00:00:00Z", limit=50)
    assert ids["before"] in [i["id"] for i in items]


def test_a_plain_user_learns_only_of_their_own_records(office: dict[str, Any]) -> None:
    ids = office["ids"]
    items, deleted, _ = sync(office["user"], "/contacts", office["since"], limit=1)
    assert [i["id"] for i in items] == [ids["own"]]
    assert [d["id"] for d in deleted] == [ids["gone"]]  # not the admin's deleted contact


def test_another_tenant_sees_nothing(office: dict[str, Any], session_api: Api) -> None:
    other = session_api.as_(new_tenant(), "admin-1", "admin")
    assert sync(other, "/contacts", office["since"], limit=50)[:2] == ([], [])


def test_a_list_without_updated_since_is_as_before(office: dict[str, Any]) -> None:
    page = ok(office["admin"].get("/contacts"))
    assert "deleted" not in page
    assert office["ids"]["b"] not in [i["id"] for i in page["items"]]


@pytest.mark.parametrize("value", ["yesterday", "2026-01-01T00:00:00"])  # not a time; no offset
def test_a_bad_time_is_refused_naming_the_parameter(office: dict[str, Any], value: str) -> None:
    ok(office["admin"].get("/contacts", params={"updated_since": "2026-01-01T00:00:00+02:00"}))  # a time it takes
    assert_problem(office["admin"].get("/contacts", params={"updated_since": value}), 422, "query.updated_since")


@pytest.mark.parametrize(
    ("path", "param", "value"),
    [("/contacts", "name", "A"), ("/accounts", "sort", "name"), ("/activities", "type", "call")],
)
def test_updated_since_takes_no_filter_or_sort(office: dict[str, Any], path: str, param: str, value: str) -> None:
    response = office["admin"].get(path, params={"updated_since": office["since"], param: value})
    body = assert_problem(response, 400, f"query.{param}")
    assert body["errors"][0]["code"] == "unsupported_combination"


# The lists whose filters and sorts the kernel's index serves (shared/lookup.py `plan`): each
# filter, sort and non-default order sent with updated_since is refused, naming it.
FILTERED_LISTS = [
    ("/contacts", "email", "a@x.example.fi"),
    ("/contacts", "order", "desc"),
    ("/accounts", "owner_id", "u-1"),
    ("/target-groups", "name", "Hel"),
    ("/email/templates", "name", "x"),
    ("/email/templates", "created_by", "u-1"),
    ("/email/list-types", "sort", "name"),
    ("/campaigns", "status", "draft"),
    ("/campaigns", "send_from", "2026-01-01T00:00:00Z"),
    ("/email/automations", "active", "true"),
    ("/mass-activities", "target_group_id", "g-1"),
    ("/mass-activities", "order", "desc"),
]


@pytest.mark.parametrize(("path", "param", "value"), FILTERED_LISTS)
def test_updated_since_takes_none_of_the_index_filters(
    office: dict[str, Any], path: str, param: str, value: str
) -> None:
    admin = office["admin"]
    ok(admin.get(path, params={param: value}))  # the filter alone is served
    response = admin.get(path, params={"updated_since": office["since"], param: value})
    body = assert_problem(response, 400, f"query.{param}")
    assert body["errors"][0]["code"] == "unsupported_combination"


def test_the_filtered_lists_sync_too(office: dict[str, Any]) -> None:
    """Lists with index filters answer updated_since from the kernel's sync page: target groups
    (with the permission check), mass activities, list types, automations, campaigns."""
    admin = office["admin"]
    quiet = ("/mass-activities", "/email/list-types", "/email/automations", "/campaigns")
    for path in quiet:
        ok(admin.get(path))  # the list types' defaults are made at the first list
    since = stamp(datetime.now(UTC))
    time.sleep(0.05)
    group = {"name": "Helsinki", "conditions": []}
    kept = created(admin.post("/target-groups", json=group))["id"]
    dropped = created(admin.post("/target-groups", json={**group, "name": "Turku"}))["id"]
    deleted_(admin.delete(f"/target-groups/{dropped}"))
    items, deleted, _ = sync(admin, "/target-groups", since, limit=1)
    assert [i["id"] for i in items] == [kept]
    assert [d["id"] for d in deleted] == [dropped]
    user_items, user_deleted, _ = sync(office["user"], "/target-groups", since, limit=50)
    assert (user_items, user_deleted) == ([], [])  # the admin's groups are not the plain user's to see
    for path in quiet:
        page = ok(admin.get(path, params={"updated_since": since}))
        assert page["items"] == [] and page["deleted"] == [], path


def test_every_service_lists_changes_and_deletions(office: dict[str, Any]) -> None:
    """The kernel's sync in the other services: activities and email templates."""
    admin = office["admin"]
    since = stamp(datetime.now(UTC))
    time.sleep(0.05)
    activity = {"type": "task", "subject": "Call back", "due": "2030-01-01T10:00:00Z"}
    kept = created(admin.post("/activities", json=activity))["id"]
    dropped = created(admin.post("/activities", json=activity))["id"]
    deleted_(admin.delete(f"/activities/{dropped}"))
    items, deleted, _ = sync(admin, "/activities", since, limit=50)
    assert [i["id"] for i in items] == [kept]
    assert [d["id"] for d in deleted] == [dropped]

    template = {"name": "Hello", "subject": "Hi", "html": "<p>Hi</p>"}
    first = created(admin.post("/email/templates", json=template))["id"]
    second = created(admin.post("/email/templates", json={**template, "name": "Other"}))["id"]
    ok(admin.patch(f"/email/templates/{first}", json={"name": "Hello again"}))
    deleted_(admin.delete(f"/email/templates/{second}"))
    items, deleted, _ = sync(admin, "/email/templates", since, limit=1)
    assert [(i["id"], i["name"]) for i in items] == [(first, "Hello again")]
    assert [d["id"] for d in deleted] == [second]


def test_contact_orders_sync_as_the_user_may_see_them(office: dict[str, Any]) -> None:
    """A user who sees only the orders assigned to them learns of those changes and deletions only."""
    admin, user, user_id = office["admin"], office["user"], office["user_id"]
    since = stamp(datetime.now(UTC))
    time.sleep(0.05)

    def order(**extra: Any) -> str:
        return created(admin.post("/contact-orders", json={"subject": "Sales", "account_id": "ACC1", **extra}))["id"]

    theirs, other = order(assignee_ids=[user_id]), order()
    gone_theirs, gone_other = order(assignee_ids=[user_id]), order()
    deleted_(admin.delete(f"/contact-orders/{gone_theirs}"))
    deleted_(admin.delete(f"/contact-orders/{gone_other}"))
    ok(admin.patch("/contact-orders/settings", json={"permissions": {"user": ["view_assigned"]}}))

    items, deleted, _ = sync(admin, "/contact-orders", since, limit=3)
    assert ([i["id"] for i in items], [d["id"] for d in deleted]) == ([theirs, other], [gone_theirs, gone_other])
    items, deleted, _ = sync(user, "/contact-orders", since, limit=1)
    assert ([i["id"] for i in items], [d["id"] for d in deleted]) == ([theirs], [gone_theirs])
