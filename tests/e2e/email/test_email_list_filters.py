"""Filters and sort of the email service's lists (issue 16, part 2): templates, list types,
campaigns and automations through the gateway. Each filter returns exactly the matching records
(walked one item a page, so the cursor runs through the filter), follows renames and deletes,
answers 400 naming the parameter it cannot combine, and sees only the caller's tenant."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, created, drain, new_tenant, ok, settle, walk

if TYPE_CHECKING:
    from infra.runtime import LocalRuntime
    from tests.e2e.conftest import Api

HTML = "<p>Hello {{ contact.first_name }}</p>"
DAILY = {"mode": "rate", "expression": "rate(1 day)"}


def ids(api: Api, path: str, **params: Any) -> list[str]:
    return [item["id"] for item in walk(api, path, limit=1, **params)]


@pytest.fixture(scope="module")
def mail(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """Templates of an admin and a manager, two list types, five campaigns in four statuses and
    two automations, in one tenant."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    manager = session_api.as_(tenant, "mgr-1", "manager")

    def template(api: Api, name: str) -> str:
        return str(created(api.post("/email/templates", json={"name": name, "subject": "Hi", "html": HTML}))["id"])

    t1, t2 = template(admin, "Welcome"), template(admin, "Winter news")
    t3 = template(manager, "welcome back")
    l1 = created(admin.post("/email/list-types", json={"name": "Newsletter"}))["id"]
    l2 = created(admin.post("/email/list-types", json={"name": "News flash"}))["id"]
    empty = created(admin.post("/target-groups", json={"name": "Nobody yet"}))["id"]  # no contacts in the tenant

    def campaign(name: str, template_id: str, **fields: Any) -> str:
        body = {"name": name, "template_id": template_id, "list_type_id": "marketing", **fields}
        return str(created(admin.post("/campaigns", json=body))["id"])

    c1 = campaign("Spring A", t1)
    c2 = campaign("Summer", t2, list_type_id=l1)
    c3 = campaign("spring B", t1, target_group_id="G9")
    c4 = campaign("Autumn", t2, target_group_id=empty)
    c5 = campaign("Cancelled one", t3)
    ok(admin.post(f"/campaigns/{c2}/schedule", json={"send_at": "2031-01-10T09:00:00+02:00"}))
    ok(admin.post(f"/campaigns/{c3}/schedule", json={"send_at": "2031-06-01T09:00:00Z"}))
    ok(admin.post(f"/campaigns/{c5}/schedule", json={"send_at": "2032-03-01T09:00:00Z"}))
    ok(admin.post(f"/campaigns/{c5}/cancel"))
    assert ok(admin.post(f"/campaigns/{c4}/send"))["status"] == "sending"
    drain(stack, busy_ok=True)
    assert settle(stack, lambda: admin.get(f"/campaigns/{c4}").json()["status"] == "sent", busy_ok=True)

    def automation(name: str, template_id: str, **fields: Any) -> str:
        body = {"name": name, "template_id": template_id, "list_type_id": "marketing", "target_group_id": empty}
        return str(created(admin.post("/email/automations", json={**body, "schedule": DAILY, **fields}))["id"])

    a1 = automation("Daily digest", t1)
    a2 = automation("weekly report", t2, active=False, target_group_id="G2", list_type_id=l2)
    return {
        "tenant": tenant,
        "admin": admin,
        "user": session_api.as_(tenant, "seller-1", "user"),
        "templates": (t1, t2, t3),
        "list_types": (l1, l2),
        "campaigns": (c1, c2, c3, c4, c5),
        "automations": (a1, a2),
        "empty": empty,
        "other": session_api.as_(new_tenant(), "admin-1", "admin"),
    }


def test_templates_by_name_prefix_and_creator(mail: dict[str, Any]) -> None:
    admin, user = mail["admin"], mail["user"]
    t1, t2, t3 = mail["templates"]
    assert ids(admin, "/email/templates", name="wel") == [t1, t3]  # "welcome" < "welcome back"
    assert ids(admin, "/email/templates", name="WELCOME b") == [t3]
    assert ids(admin, "/email/templates", name="wel", order="desc") == [t3, t1]
    assert ids(admin, "/email/templates", name="spring") == []
    assert ids(admin, "/email/templates", created_by="mgr-1") == [t3]
    assert ids(admin, "/email/templates", created_by="admin-1") == [t1, t2]
    assert ids(admin, "/email/templates", created_by="admin-1", order="desc") == [t2, t1]
    assert ids(admin, "/email/templates", sort="name") == [t1, t3, t2]
    assert ids(admin, "/email/templates", sort="name", order="desc") == [t2, t3, t1]
    assert ids(admin, "/email/templates", sort="id", order="desc") == [t3, t2, t1]
    assert ids(user, "/email/templates", name="wel") == [t1, t3]  # every user sees the templates
    page = ok(admin.get("/email/templates", params={"name": "wel"}))["items"]
    assert "html" not in page[0] and page[0]["name"] == "Welcome"  # summaries, as the unfiltered list


def test_a_template_filter_follows_renames_and_deletes(mail: dict[str, Any], session_api: Api) -> None:
    admin = mail["admin"]
    made = created(admin.post("/email/templates", json={"name": "Zeta offer", "subject": "Hi", "html": HTML}))["id"]
    assert ids(admin, "/email/templates", name="zeta") == [made]
    ok(admin.patch(f"/email/templates/{made}", json={"name": "Omega offer"}))
    assert ids(admin, "/email/templates", name="zeta") == []
    assert ids(admin, "/email/templates", name="omega") == [made]
    assert admin.delete(f"/email/templates/{made}").status_code == 204
    assert ids(admin, "/email/templates", name="omega") == []
    assert made not in ids(admin, "/email/templates", created_by="admin-1")


def test_list_types_by_name(mail: dict[str, Any]) -> None:
    admin = mail["admin"]
    l1, l2 = mail["list_types"]
    assert ids(admin, "/email/list-types", name="news") == [l2, l1]  # "news flash" < "newsletter"
    assert ids(admin, "/email/list-types", name="newsl") == [l1]
    assert ids(admin, "/email/list-types", sort="name") == ["marketing", l2, l1, "service-notices"]  # the defaults too
    by_name = [item["name"].casefold() for item in walk(admin, "/email/list-types", sort="name", order="desc")]
    assert by_name == ["service notices", "newsletter", "news flash", "marketing"]


def test_campaigns_by_status_template_name_and_send_time(mail: dict[str, Any]) -> None:
    admin = mail["admin"]
    t1, _, t3 = mail["templates"]
    l1, _ = mail["list_types"]
    c1, c2, c3, c4, c5 = mail["campaigns"]
    assert ids(admin, "/campaigns", status="draft") == [c1]
    assert ids(admin, "/campaigns", status="scheduled") == [c2, c3]
    assert ids(admin, "/campaigns", status="scheduled", order="desc") == [c3, c2]
    assert ids(admin, "/campaigns", status="sent") == [c4]  # sending, with every mail out: shown "sent"
    assert ids(admin, "/campaigns", status="sending") == []
    assert ids(admin, "/campaigns", status="cancelled") == [c5]
    assert ids(admin, "/campaigns", status="paused") == []
    assert ids(admin, "/campaigns", template_id=t1) == [c1, c3]
    assert ids(admin, "/campaigns", template_id=t3) == [c5]
    assert ids(admin, "/campaigns", list_type_id=l1) == [c2]
    assert ids(admin, "/campaigns", target_group_id="G9") == [c3]
    assert ids(admin, "/campaigns", created_by="admin-1") == [c1, c2, c3, c4, c5]
    assert ids(admin, "/campaigns", created_by="mgr-1") == []
    assert ids(admin, "/campaigns", name="spring") == [c1, c3]
    assert ids(admin, "/campaigns", name="spring", order="desc") == [c3, c1]
    # The send time: scheduled (c2 07:00 UTC), else started (c4 now); c1 is a draft without one.
    assert ids(admin, "/campaigns", send_from="2031-01-10T07:00:00Z", send_to="2031-06-01T09:00:00Z") == [c2]
    assert ids(admin, "/campaigns", send_from="2031-01-10T09:00:00+02:00") == [c2, c3, c5]
    assert ids(admin, "/campaigns", send_to="2031-01-01T00:00:00Z") == [c4]
    assert ids(admin, "/campaigns", send_from="2031-01-01T00:00:00Z", order="desc") == [c5, c3, c2]
    assert ids(admin, "/campaigns", sort="send_time") == [c4, c2, c3, c5]
    assert ids(admin, "/campaigns", sort="name") == [c4, c5, c1, c3, c2]
    listed = ok(admin.get("/campaigns", params={"status": "sent"}))["items"]
    assert listed[0]["status"] == "sent" and listed[0]["stats"]["queued"] == 0


def test_automations_by_active_template_target_and_name(mail: dict[str, Any]) -> None:
    admin, user = mail["admin"], mail["user"]
    t1, t2, _ = mail["templates"]
    _, l2 = mail["list_types"]
    a1, a2 = mail["automations"]
    assert ids(admin, "/email/automations", active="true") == [a1]
    assert ids(admin, "/email/automations", active="false") == [a2]
    assert ids(admin, "/email/automations", template_id=t2) == [a2]
    assert ids(admin, "/email/automations", list_type_id=l2) == [a2]
    assert ids(admin, "/email/automations", list_type_id="marketing") == [a1]
    assert ids(admin, "/email/automations", target_group_id=mail["empty"]) == [a1]
    assert ids(admin, "/email/automations", target_group_id="G2") == [a2]
    assert ids(admin, "/email/automations", name="DAILY") == [a1]
    assert ids(admin, "/email/automations", sort="name", order="desc") == [a2, a1]
    ok(admin.patch(f"/email/automations/{a2}", json={"active": True}))
    assert ids(admin, "/email/automations", active="true") == [a1, a2]
    assert ids(admin, "/email/automations", active="false") == []
    assert ids(user, "/email/automations", template_id=t1) == [a1]


def test_opt_outs_by_address_prefix(mail: dict[str, Any]) -> None:
    admin = mail["admin"]
    l1, l2 = mail["list_types"]
    for address in ("anna@x.example", "Anders@y.example", "bert@x.example"):
        created(admin.post(f"/email/list-types/{l1}/opt-outs", json={"address": address}))
    created(admin.post(f"/email/list-types/{l2}/opt-outs", json={"address": "anna@x.example"}))
    path = f"/email/list-types/{l1}/opt-outs"
    addresses = lambda **params: [o["address"] for o in walk(admin, path, limit=1, **params)]  # noqa: E731
    assert addresses() == ["anders@y.example", "anna@x.example", "bert@x.example"]
    assert addresses(address="AN") == ["anders@y.example", "anna@x.example"]
    assert addresses(address="anna@x.example") == ["anna@x.example"]
    assert addresses(address="c") == []
    assert [o["list_type_id"] for o in walk(admin, f"/email/list-types/{l2}/opt-outs", address="an")] == [l2]
    assert walk(mail["other"], "/email/list-types/marketing/opt-outs", address="an") == []


def _run_jobs(stack: LocalRuntime, *jobs: dict[str, Any]) -> None:
    """Put jobs on the email jobs queue as a schedule does, and wait until they have run."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="kontakt-dev-email-jobs")["QueueUrl"]
    for job in jobs:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 120
    while any(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()):
        assert time.monotonic() < deadline, "the jobs did not run"
        time.sleep(0.1)
    drain(stack, busy_ok=True)


def test_automation_runs_by_scheduled_time(mail: dict[str, Any], stack: LocalRuntime) -> None:
    admin, a1 = mail["admin"], mail["automations"][0]
    job = {"job": "automation.run", "tenant_id": mail["tenant"], "automation_id": a1}
    days = ["2030-01-01T08:00:00Z", "2030-01-02T08:00:00Z", "2030-01-03T08:00:00Z"]
    _run_jobs(stack, *({**job, "scheduled_time": day} for day in days))
    path = f"/email/automations/{a1}/runs"
    times = lambda **params: [r["scheduled_time"][:10] for r in walk(admin, path, limit=1, **params)]  # noqa: E731
    assert times() == ["2030-01-03", "2030-01-02", "2030-01-01"]  # newest first
    assert times(**{"from": "2030-01-02T08:00:00Z"}) == ["2030-01-03", "2030-01-02"]
    assert times(to="2030-01-02T08:00:00Z") == ["2030-01-01"]
    both = {"from": "2030-01-01T09:00:00+01:00", "to": "2030-01-02T08:00:00.5Z"}  # 08:00Z on, to just after 08:00
    assert times(**both) == ["2030-01-02", "2030-01-01"]
    assert times(**{"from": "2030-01-04T00:00:00Z"}) == []


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/email/templates", {"name": "w", "created_by": "admin-1"}, "created_by"),
        ("/email/templates", {"name": "w", "sort": "id"}, "sort"),
        ("/email/templates", {"created_by": "admin-1", "sort": "name"}, "sort"),
        ("/email/list-types", {"name": "n", "sort": "id"}, "sort"),
        ("/campaigns", {"status": "draft", "template_id": "T1"}, "template_id"),
        ("/campaigns", {"name": "s", "send_from": "2031-01-01T00:00:00Z"}, "send_from"),
        ("/campaigns", {"send_from": "2031-01-01T00:00:00Z", "sort": "name"}, "sort"),
        ("/campaigns", {"status": "draft", "sort": "send_time"}, "sort"),
        ("/campaigns", {"name": "s", "sort": "send_time"}, "sort"),
        ("/email/automations", {"active": "true", "template_id": "T1"}, "template_id"),
        ("/email/automations", {"name": "d", "sort": "id"}, "sort"),
    ],
)
def test_a_combination_no_index_serves_is_a_400_naming_it(
    mail: dict[str, Any], path: str, params: dict[str, str], named: str
) -> None:
    body = assert_problem(mail["admin"].get(path, params=params), 400, f"query.{named}")
    assert body["errors"][0]["code"] == "unsupported_combination"


@pytest.mark.parametrize("path", ["/email/templates", "/email/list-types", "/campaigns", "/email/automations"])
def test_an_unknown_or_invalid_parameter_is_a_400_naming_it(mail: dict[str, Any], path: str) -> None:
    admin = mail["admin"]
    assert_problem(admin.get(path, params={"language": "fi"}), 400, "query.language")
    assert_problem(admin.get(path, params={"sort": "subject"}), 422, "query.sort")
    assert_problem(admin.get(path, params={"order": "sideways"}), 422, "query.order")


def test_filters_see_only_the_callers_tenant(mail: dict[str, Any]) -> None:
    other = mail["other"]
    t1 = mail["templates"][0]
    assert ids(other, "/email/templates", name="wel") == []
    assert ids(other, "/email/templates", created_by="admin-1") == []
    assert ids(other, "/campaigns", template_id=t1) == []
    assert ids(other, "/campaigns", status="scheduled") == []
    assert ids(other, "/campaigns", sort="send_time") == []
    assert ids(other, "/email/automations", active="true") == []
    assert ids(other, "/email/list-types", name="news") == []
