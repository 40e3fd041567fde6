"""Helpers shared by the e2e tests: answers, bus events, problem responses, paging, waiting for the
stack, and the records a service stored (keyed as the kernel keys them)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from infra.runtime import LocalRuntime
from shared.ids import new_id
from shared.store import record_key, tenant_key

T = TypeVar("T")

BUS_NAME = "kontakt-dev"
PROBLEM_JSON = "application/problem+json"


def bus_name(stack: LocalRuntime) -> str:
    assert stack.stack is not None
    names = [bus.name for bus in stack.stack.buses.values()]
    return names[0] if names else BUS_NAME


def envelopes(stack: LocalRuntime, tenant: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The envelopes (EventBridge `detail`) put on the bus for a tenant, oldest first."""
    found = []
    for event in reversed(stack.events(None)):
        detail = event.get("detail") or {}
        if detail.get("tenant_id") != tenant:
            continue
        if event_type is not None and detail.get("type") != event_type:
            continue
        assert event.get("detail-type") == detail.get("type")
        found.append(detail)
    return found


def put_envelope(stack: LocalRuntime, envelope: dict[str, Any], source: str = "kontakt.test") -> None:
    response = stack.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": envelope["type"],
                "Detail": json.dumps(envelope),
                "EventBusName": bus_name(stack),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, response


def merge_envelope(tenant: str, entity: str, record: dict[str, Any], merged_ids: list[str]) -> dict[str, Any]:
    """`contact.merged` / `account.merged` as the directory publishes it: `record` is the survivor
    after the merge (its `id` the survivor's), `merged_ids` the records merged into it."""
    event_id = new_id()
    return {
        "id": event_id,
        "type": f"{entity}.merged",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "user", "id": "admin-1"},
        "correlation_id": event_id,
        "data": {"id": record["id"], "merged_ids": merged_ids, "merge_id": new_id(), "record": record},
    }


def ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of an answer that must have `status`."""
    request = response.request
    assert response.status_code == status, (
        f"expected {status} from {request.method} {request.path_url}, got {response.status_code}: {response.text}"
    )
    body: dict[str, Any] = response.json()
    return body


def created(response: requests.Response) -> dict[str, Any]:
    """The body of a `201 Created` answer."""
    return ok(response, 201)


def upload_file(upload: dict[str, Any], name: str, content: bytes) -> None:
    """Send a file to a presigned POST (`url`, `fields`) as a browser's form does: S3 answers 204."""
    response = requests.post(upload["url"], data=upload["fields"], files={"file": (name, content)}, timeout=60)
    assert response.status_code == 204, (
        f"expected 204 from the presigned POST, got {response.status_code}: {response.text}"
    )


def field_names(response: requests.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status, naming `field` among its errors if given."""
    body = ok(response, status)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), f"expected {PROBLEM_JSON}: {response.headers}"
    assert body["status"] == status, f"expected the body's status {status}: {body}"
    assert body["code"] and body["detail"], f"expected a code and a detail: {body}"
    if field is not None:
        assert field in field_names(response), f"expected an error naming {field!r}: {body}"
    return body


def assert_moved(api: Any, path: str, merged: str, survivor: str, **params: Any) -> None:
    """A GET naming a merged id (in the path or `params`) answers 301 to the same request with the
    survivor's id in its place (`shared.merges.redirect_if_merged`), the body naming the survivor."""
    response = api.get(path, params=params, allow_redirects=False)
    assert response.status_code == 301, response.text
    moved = {k: survivor if v == merged else v for k, v in params.items()}
    location = path.replace(merged, survivor) + (f"?{urlencode(moved)}" if moved else "")
    assert response.headers["Location"] == location and response.json()["survivor_id"] == survivor


def walk(api: Any, path: str, limit: int = 1, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor with pages of `limit`."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        body = ok(api.get(path, params=query))
        assert len(body["items"]) <= limit, f"expected at most {limit} items: {body}"
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("the cursor never ended")


def new_tenant() -> str:
    return "t" + uuid.uuid4().hex[:16]


def drain(stack: LocalRuntime, timeout: float = 60, busy_ok: bool = False) -> None:
    """`stack.drain()`; with `busy_ok` a drain that times out is no failure: the email feedback
    queue retries SES events until it knows their mail and may outlast any drain, and a machine
    shared by other test runs is slow, not broken; the caller polls for what it checks anyway."""
    try:
        stack.drain(timeout=timeout)
    except TimeoutError:
        if not busy_ok:
            raise


def settle(stack: LocalRuntime, ready: Any, attempts: int = 20, timeout: float = 60, busy_ok: bool = False) -> Any:
    """Drain until `ready()` returns something truthy, and return it (its last value if it never is).

    `stack.drain()` can return while a table's stream still holds records its pump has not read
    yet (the pump counts as idle between two polls), so an event that a consumer's outbox write
    causes may reach the bus just after a drain. Draining again until the expected outcome shows
    up keeps the tests free of sleeps and of that race. `timeout` and `busy_ok` are each drain's
    (see `drain`): more time for a runtime whose functions start cold on a busy machine.
    """
    result = None
    for _ in range(attempts):
        drain(stack, timeout, busy_ok)
        result = ready()
        if result:
            return result
    return result


def known_users(stack: LocalRuntime, manager: Any, *user_ids: str) -> None:
    """Wait until the activities service has heard of the users (the directory's `user.created`):
    goals and sales targets are set only for users of the tenant. `manager`: a manager's client."""

    def ready() -> bool:
        return all(manager.get(f"/sales-targets/{u}").status_code == 200 for u in user_ids)

    assert settle(stack, ready, busy_ok=True), f"the activities service never heard of {user_ids}"


def scheduler_schedule(stack: LocalRuntime, name: str) -> dict[str, Any] | None:
    """An EventBridge Scheduler schedule of the stack's schedule group, None if there is none."""
    group = stack.stack.schedule_groups["ScheduleGroup"] if stack.stack else "default"
    try:
        return dict(stack.client("scheduler").get_schedule(Name=name, GroupName=group))
    except ClientError as error:
        code = error.response["Error"]["Code"]
        assert code == "ResourceNotFoundException", f"expected the schedule or ResourceNotFoundException, got {code}"
        return None


# ----------------------------------------------------------------------------- stored records


def table_name(stack: LocalRuntime, logical_id: str) -> str:
    """The physical name of one of the template's tables in this runtime (its stage's)."""
    assert stack.stack is not None, "start() first"
    return stack.stack.tables[logical_id].name


def record_item_key(tenant: str, kind: str, record_id: str) -> dict[str, dict[str, str]]:
    """A service record's key (shared.store.record_key / `<KIND>`) as DynamoDB's API takes it."""
    return {"pk": {"S": record_key(tenant, kind, record_id)}, "sk": {"S": kind.upper()}}


def stored_data(stack: LocalRuntime, table: str, tenant: str, kind: str, record_id: str) -> dict[str, Any]:
    """A service record's fields (its `data` map) as plain values (numbers as Decimal); {} if there is none."""
    item = (
        stack.client("dynamodb")
        .get_item(TableName=table, Key=record_item_key(tenant, kind, record_id), ConsistentRead=True)
        .get("Item", {})
    )
    return {k: TypeDeserializer().deserialize(v) for k, v in item.get("data", {}).get("M", {}).items()}


def put_stored(stack: LocalRuntime, table: str, tenant: str, kind: str, record_id: str, data: dict[str, Any]) -> None:
    """A service record written as the kernel's store writes one (keys, by_type index keys, data, version)."""
    serialize = TypeSerializer().serialize
    stack.client("dynamodb").put_item(
        TableName=table,
        Item={
            **record_item_key(tenant, kind, record_id),
            "kind": {"S": kind},
            "gsi1pk": {"S": tenant_key(tenant, kind.upper())},
            "gsi1sk": {"S": record_id},
            "data": {"M": {k: serialize(v) for k, v in data.items()}},
            "version": {"N": "1"},
        },
    )


@contextmanager
def quick_redelivery(stack: LocalRuntime, queue_name: str) -> Iterator[None]:
    """A killed delivery from `queue_name` comes back in a second, not in the queue's minutes, and
    never goes to its dead-letter queue (the crash tests)."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    redrive = {**json.loads(before["Attributes"]["RedrivePolicy"]), "maxReceiveCount": 1000}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=before["Attributes"])


def poll_until(ready: Callable[[], T], timeout: float = 120, every: float = 0.2) -> T:
    """`ready()` once it is truthy, or its last value at the timeout; polls without draining (a
    killed delivery keeps its queue busy until it is done)."""
    deadline = time.monotonic() + timeout
    while True:
        result = ready()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)
