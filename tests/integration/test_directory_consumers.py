"""The directory's consumers are idempotent: redelivery and a crash midway change nothing twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infra.emulator import Emulator
from infra.template import Stack
from services.directory import imports as directory_imports
from services.directory.handlers import api, consumer
from services.directory.handlers import imports as import_handler
from services.directory.store import Placement, Record, new_record
from shared.contracts.audience import PAGE_BYTES, PAGE_SIZE
from shared.events import Envelope
from shared.ids import new_id
from tests.integration.conftest import bus_delivery, http_event, sqs_event


def _outbox_envelopes(aws: Emulator, stack: Stack, tenant: str, event_type: str) -> list[dict[str, Any]]:
    table = stack.tables["DirectoryTable"].name
    items = aws.client("dynamodb").scan(
        TableName=table,
        FilterExpression="kind = :k AND event_type = :t",
        ExpressionAttributeValues={":k": {"S": "outbox"}, ":t": {"S": event_type}},
    )["Items"]
    envelopes = [json.loads(i["envelope"]["S"]) for i in items]
    return [e for e in envelopes if e["tenant_id"] == tenant]


def _seed_contacts(tenant: str, count: int, region: str) -> None:
    with Record.batch_write() as batch:
        for n in range(count):
            contact_id = new_id()
            data = {
                "id": contact_id,
                "number": f"CON-{n}",
                "first_name": f"P{n}",
                "active": True,
                "region": region,
                "owner": {"type": "user", "id": "u1"},
                "groups": [],
                "classes": [],
                "erased": False,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            batch.save(new_record(tenant, "contact", contact_id, data, Placement(owner_id="u1")))


def _target_group(lambda_env: Any, tenant: str) -> str:
    context = lambda_env("DirectoryApiFunction")
    body = {"name": "North", "conditions": [{"op": "equals", "field": "region", "value": "north"}]}
    response = api.handler(http_event("POST", "/target-groups", tenant, body), context)
    assert response["statusCode"] == 201, response["body"]
    return str(json.loads(response["body"])["id"])


def _audience_request(tenant: str, group_id: str) -> dict[str, Any]:
    envelope = Envelope(
        id=new_id(),
        type="audience.requested",
        tenant_id=tenant,
        occurred_at="2026-11-24T10:00:00Z",
        actor={"type": "service", "id": "email"},
        correlation_id="c-1",
        data={"request_id": "send-1", "requester": "email", "target_group_id": group_id, "fields": ["first_name"]},
    )
    return bus_delivery(envelope.model_dump(mode="json"))


def test_a_redelivered_audience_request_publishes_each_page_once(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack
) -> None:
    tenant = directory_tenant()
    group_id = _target_group(lambda_env, tenant)
    context = lambda_env("DirectoryConsumerFunction")
    _seed_contacts(tenant, 520, "north")
    _seed_contacts(tenant, 10, "south")
    queue = stack.queues["DirectoryEventsQueue"].arn
    delivery = _audience_request(tenant, group_id)

    for _ in range(2):
        assert consumer.handler(sqs_event([delivery], queue), context) == {"batchItemFailures": []}

    pages = sorted(_outbox_envelopes(aws, stack, tenant, "audience.page"), key=lambda e: e["data"]["page"])
    assert [p["data"]["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert len(pages) >= 2  # cut by count (500) or by bytes (64 KB), whichever comes first
    assert all(len(p["data"]["members"]) <= PAGE_SIZE for p in pages)
    as_sent = [json.dumps(p["data"], separators=(",", ":"), ensure_ascii=False).encode() for p in pages]
    assert all(len(data) <= PAGE_BYTES for data in as_sent)
    assert sum(len(p["data"]["members"]) for p in pages) == 520
    assert [p["data"]["last"] for p in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1]["data"]["total_members"] == 520
    assert all(m["fields"]["first_name"].startswith("P") for m in pages[0]["data"]["members"])
    assert {p["correlation_id"] for p in pages} == {"c-1"}


def test_a_crash_midway_through_resolution_is_finished_by_the_redelivery(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = directory_tenant()
    group_id = _target_group(lambda_env, tenant)
    context = lambda_env("DirectoryConsumerFunction")
    _seed_contacts(tenant, 510, "north")
    queue = stack.queues["DirectoryEventsQueue"].arn
    delivery = _audience_request(tenant, group_id)
    publish = consumer._publish

    def crash_on_second_page(envelope: Envelope, page: Any) -> None:
        if page.page == 2:
            raise ConnectionError("crashed after the first page")
        publish(envelope, page)

    monkeypatch.setattr(consumer, "_publish", crash_on_second_page)
    with pytest.raises(BatchProcessingError):  # a batch with every record failed is retried whole
        consumer.handler(sqs_event([delivery], queue), context)
    assert len(_outbox_envelopes(aws, stack, tenant, "audience.page")) == 1

    monkeypatch.setattr(consumer, "_publish", publish)
    assert consumer.handler(sqs_event([delivery], queue), context) == {"batchItemFailures": []}
    pages = _outbox_envelopes(aws, stack, tenant, "audience.page")
    assert sorted(p["data"]["page"] for p in pages) == list(range(1, len(pages) + 1))
    assert len(pages) >= 2
    members = [m["contact_id"] for p in pages for m in p["data"]["members"]]
    assert len(members) == len(set(members)) == 510


CSV = (
    "Email;First;Last\nada@example.com;Ada;Lovelace\nbad-email;Bad;Row\nalan@example.com;Alan;Turing\n"
    "grace@example.com;Grace;Hopper\n"
)


def _upload(lambda_env: Any, aws: Emulator, stack: Stack, tenant: str, text: str) -> tuple[str, dict[str, Any]]:
    context = lambda_env("DirectoryApiFunction")
    body = {"kind": "contacts", "mapping": {"Email": "email", "First": "first_name", "Last": "last_name"}}
    response = api.handler(http_event("POST", "/imports", tenant, body), context)
    assert response["statusCode"] == 201, response["body"]
    job_id = json.loads(response["body"])["id"]
    bucket = stack.buckets["ImportsBucket"].name
    key = directory_imports.upload_key(tenant, job_id)
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())
    notice = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": len(text)}},
            }
        ]
    }
    return job_id, sqs_event([notice], stack.queues["ImportsQueue"].arn)


def _job(lambda_env: Any, tenant: str, job_id: str) -> dict[str, Any]:
    """The job and its row reports, read two rows a page to walk the cursor."""
    context = lambda_env("DirectoryApiFunction")
    job = json.loads(api.handler(http_event("GET", f"/imports/{job_id}", tenant), context)["body"])
    rows: list[dict[str, Any]] = []
    query = {"limit": "2"}
    while True:
        response = api.handler(http_event("GET", f"/imports/{job_id}/rows", tenant, query=query), context)
        page = json.loads(response["body"])
        rows += page["items"]
        if not page["next_cursor"]:
            return {"job": job, "rows": rows}
        query = {"limit": "2", "cursor": page["next_cursor"]}


def test_an_import_interrupted_midway_finishes_without_duplicates(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = directory_tenant()
    job_id, event = _upload(lambda_env, aws, stack, tenant, CSV)
    context = lambda_env("DirectoryImportFunction")
    import_row = directory_imports.Importer._import_row
    calls = {"n": 0}

    def crash_on_third_row(self: Any, result: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("crashed on the third row")
        import_row(self, result)

    monkeypatch.setattr(directory_imports.Importer, "_import_row", crash_on_third_row)
    with pytest.raises(BatchProcessingError):
        import_handler.handler(event, context)
    assert _job(lambda_env, tenant, job_id)["job"]["status"] == "processing"

    monkeypatch.setattr(directory_imports.Importer, "_import_row", import_row)
    context = lambda_env("DirectoryImportFunction")
    assert import_handler.handler(event, context) == {"batchItemFailures": []}
    assert import_handler.handler(event, context) == {"batchItemFailures": []}  # a late duplicate

    result = _job(lambda_env, tenant, job_id)
    assert result["job"]["status"] == "completed"
    assert (result["job"]["created"], result["job"]["updated"], result["job"]["rejected"]) == (3, 0, 1)
    assert [(r["row"], r["outcome"]) for r in result["rows"]] == [
        (1, "created"),
        (2, "rejected"),
        (3, "created"),
        (4, "created"),
    ]
    assert result["rows"][1]["errors"][0]["field"] == "Email"
    listed = api.handler(http_event("GET", "/contacts", tenant), lambda_env("DirectoryApiFunction"))
    emails = sorted(c["email"] for c in json.loads(listed["body"])["items"])
    assert emails == ["ada@example.com", "alan@example.com", "grace@example.com"]


def _update_requested(tenant: str, entity: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A workflow's `<entity>.update_requested`, as the workflows service publishes it, on the queue."""
    chain = [{"event_id": "e0", "event_type": f"{entity}.created", "automation_id": "w1", "record_id": record_id}]
    envelope = Envelope(
        id=new_id(),
        type=f"{entity}.update_requested",
        tenant_id=tenant,
        occurred_at="2026-12-06T10:00:00Z",
        actor={"type": "service", "id": "workflows"},
        correlation_id="c-2",
        causation=chain,
        data={
            "request_id": "workflow:r1:0",
            "id": record_id,
            "changes": changes,
            "acting": {"user_id": "u1", "role": "admin"},
        },
    )
    return bus_delivery(envelope.model_dump(mode="json"))


def test_a_requested_account_change_applies_once_with_the_directory_s_rules(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack
) -> None:
    """`account.update_requested` (a workflow's set_field): the account changes once however often the
    request comes, its `account.updated` carries the request's chain; a value the picklist lacks, a
    user that does not exist and a name cleared change nothing and fail no delivery."""
    tenant = directory_tenant()
    created = api.handler(
        http_event("POST", "/accounts", tenant, {"name": "Oy Ab"}), lambda_env("DirectoryApiFunction")
    )
    account = json.loads(created["body"])
    context = lambda_env("DirectoryConsumerFunction")
    queue = stack.queues["DirectoryEventsQueue"].arn
    wanted = _update_requested(tenant, "account", account["id"], {"city": "Oulu"})
    refused = [
        _update_requested(tenant, "account", account["id"], changes)
        for changes in ({"status": "no-such-status"}, {"account_manager_id": "nobody"}, {"name": None})
    ]
    for _ in range(2):
        assert consumer.handler(sqs_event([wanted, *refused], queue), context) == {"batchItemFailures": []}

    [updated] = _outbox_envelopes(aws, stack, tenant, "account.updated")
    assert updated["data"]["changed"] == ["city"] and updated["data"]["record"]["city"] == "Oulu"
    assert updated["actor"] == {"type": "user", "id": "u1"}
    assert [c["automation_id"] for c in updated["causation"]] == ["w1", None]  # the workflow's link, the request
    stored = json.loads(
        api.handler(http_event("GET", f"/accounts/{account['id']}", tenant), lambda_env("DirectoryApiFunction"))["body"]
    )
    assert (stored["city"], stored["status"], stored["name"], stored["account_manager_id"]) == (
        "Oulu",
        "active",
        "Oy Ab",
        None,
    )
