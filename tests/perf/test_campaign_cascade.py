"""(k) The whole campaign cascade (issue 18, section 2): AWS calls per recipient, stage by stage.

A campaign through the local stack (`kontakt dev`'s runtime, each function's AWS endpoint a
counting proxy: see (h), whose machinery this reuses), from POST /campaigns/{id}/send until every
recipient's delivery status (the feedback function) and marketing activity (the activities
service's consumer) are recorded and every outbox is empty. Every AWS call a function makes is
counted by function and operation; the runtime's own machinery (the SQS pumps and stream pumps,
Lambda's event source mappings in AWS) is not.

Stages (by function):

- sending: the email API's send request, the email consumer (audience pages -> messages), the
  sender (claim, SES, record);
- email events: the email service's outbox publisher (email.sent, the delivery events);
- feedback: the SES events -> delivery statuses;
- marketing: the activities consumer (email.sent -> a marketing activity) and its publisher;
- resolution: the directory's functions (the target group's members), shown, not judged.

The minimum of a stage is worked out from the batch limits: SES SendBulkEmail 50 destinations,
PutEvents 10 entries, SQS receive/delete/send 10, DynamoDB BatchWriteItem 25 and
TransactWriteItems 100 -- with one more bound, a consumer's invocation holds at most the 10
messages of its SQS batch, so a write (or a read) it must make per event costs at least a tenth of
a call per event (see MINIMA), and the reads a stage cannot do without are counted (BatchGetItem,
100 keys). A stage's minimum holds every call its work cannot avoid: the feedback stage's
includes one read a batch (its reports publish the contact and campaign of a mail, which only the
message record holds), the marketing stage's none (its conditions do the reads' work) and no
publishing (marketing activities publish no event). The sending stage is also judged against the
design's floor, one SES call per mail: each mail is its own raw MIME message (its Message-ID,
List-Unsubscribe link and tracked links are the recipient's), built by Kontakt for SES and SMTP
transports alike. SendBulkEmail renders an SES template for every entry instead: its
ReplacementHeaders, ReplacementTags and replacement data could carry a recipient's
List-Unsubscribe, proof tags and body, but the mail would be SES's to build, a second path beside
SMTP's, and moto has no SendBulkEmail to run it on locally (docs/decisions.md, issue 18's
cascade: not now).

The emulator-bound rate: the same minimal calls (the minimum's count of each operation for N
recipients) made back to back by one client with no logic, timed; recipients/s end to end is
compared with it.

Faults (KONTAKT_FAULTS=0.05, see infra/faults.py): the same cascade with 5 % of the functions'
DynamoDB, SQS, EventBridge and SES calls answered with throttling or a 5xx (seeded), and one
consumer process killed mid-batch; prints expected/delivered/duplicated/lost mails, delivery
statuses and marketing activities, and the extra calls.

Recipients: KONTAKT_PERF_CASCADE_RECIPIENTS (default 2,000, as the issue; moto serves ~1 a second
at that size, so ~35 min). A quick run:
`KONTAKT_PERF_CASCADE_RECIPIENTS=60 .venv/bin/pytest -s -p no:xdist tests/perf/test_campaign_cascade.py`.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.template import REGION

from .conftest import FIGURES, PROJECT_ROOT, render, stopwatch
from .test_h_campaign import (
    SEND_RATE,
    SENDER,
    TEMPLATE,
    WARMUP,
    Api,
    CountedRuntime,
    _campaign,
    _sent_mails,
    _wait_until_sent,
    seed,
)

pytestmark = pytest.mark.perf

RECIPIENTS = int(os.environ.get("KONTAKT_PERF_CASCADE_RECIPIENTS", "2000"))
FAULTS = os.environ.get("KONTAKT_FAULTS", "")
TENANT = "perf-campaign"  # as (h): seed() writes this tenant's rows
SETTLE_TIMEOUT = max(600.0, RECIPIENTS * 2.0)
VISIBILITY_IN_FAULTS_RUN = 30

STAGES: dict[str, tuple[str, ...]] = {
    "sending": ("EmailApiFunction", "EmailConsumerFunction", "EmailSenderFunction", "EmailJobsFunction"),
    "email events": ("EmailPublisherFunction",),
    "feedback": ("EmailFeedbackFunction",),
    "marketing": ("ActivitiesConsumerFunction", "ActivitiesPublisherFunction"),
}
SQS_BATCH = 10  # an invocation's SQS batch, and SendMessageBatch's limit
PUT_EVENTS = 10
BULK_SES = 50
BATCH_WRITE = 25
BATCH_GET = 100

# Per recipient, the least calls of each operation a stage can make (service, operation, calls):
# sending: the messages staged (BatchWriteItem, 25) after reading whether each address is
# suppressed or opted out of the list type (BatchGetItem of 100 keys: two a recipient, so 50
# recipients a call; staging must not queue a mail to a blocked address, and only the table knows),
# the send queue filled (SendMessageBatch, 10), per sender invocation of 10 one read of its mails
# (BatchGetItem: a queue message names a mail, and SQS delivers at least once, so the mail's
# content, status and campaign are read from the table before it is claimed), one claim and one
# outcome transaction, and SES (SendBulkEmail, 50).
# email events: email.sent and the delivery event, 10 entries a PutEvents.
# feedback: per invocation of 10 SES events (the send and the delivery of a mail: 2 per
# recipient), one read and one transaction of the statuses. The read cannot go: a delivery's
# `email.delivered` names the mail's contact and campaign, which the SES event does not carry (its
# tags are the tenant and the message), its campaign count and history depend on what the message
# holds, and a Send proof settles the mail only while it is still "sending" (a conditional write
# instead would fail in the usual case, and one failed condition refuses the batch's transaction).
# marketing: per invocation of 10 email.sent, one transaction of the activities. No read: the
# tenant's zone is kept under a condition on its setting (services/activities/tenant.py), the
# activity's own put-if-absent and the dedupe marker refuse a redelivery. Marketing activities
# publish no event (the activities publisher has nothing to send for them); the dedupe markers and
# outbox items expire by TTL, so no cleanup call belongs to any stage.
MINIMA: dict[str, list[tuple[str, str, float]]] = {
    "sending": [
        ("dynamodb", "BatchGetItem", 2 / BATCH_GET + 1 / SQS_BATCH),
        ("dynamodb", "BatchWriteItem", 1 / BATCH_WRITE),
        ("sqs", "SendMessageBatch", 1 / SQS_BATCH),
        ("dynamodb", "TransactWriteItems", 2 / SQS_BATCH),
        ("ses", "SendBulkEmail", 1 / BULK_SES),
    ],
    "email events": [("events", "PutEvents", 2 / PUT_EVENTS)],
    "feedback": [("dynamodb", "BatchGetItem", 2 / SQS_BATCH), ("dynamodb", "TransactWriteItems", 2 / SQS_BATCH)],
    "marketing": [("dynamodb", "TransactWriteItems", 1 / SQS_BATCH)],
}
RAW_SES_FLOOR = 1.0 - 1 / BULK_SES  # the sending stage with one SendEmail per mail instead


def minimum(stage: str) -> float:
    return sum(calls for _, _, calls in MINIMA[stage])


# ----------------------------------------------------------------------------- the stack


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    environment: dict[str, dict[str, str]] = {SENDER: {"MAX_SEND_RATE": SEND_RATE}}
    runtime = CountedRuntime(PROJECT_ROOT, environment, stage="perfcascade", port=0, concurrency=2)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def _stage_of(function: str) -> str:
    for stage, functions in STAGES.items():
        if function in functions:
            return stage
    return "resolution" if function.startswith("Directory") else "other"


def _by_stage(calls: Counter[tuple[str, str, str]]) -> dict[str, Counter[str]]:
    stages: dict[str, Counter[str]] = {}
    for (function, service, operation), n in calls.items():
        stages.setdefault(_stage_of(function), Counter())[f"{service} {operation}"] += n
    return stages


# ----------------------------------------------------------------------------- the emulator's bound


def emulator_bound(runtime: CountedRuntime, count: int) -> float:
    """Seconds the minimal calls of `count` recipients take, made back to back by one client.

    Each operation of MINIMA, as many times as the minimum says, with payloads of the cascade's
    size (moto has no SendBulkEmail: its calls are SESv2 SendEmail calls)."""
    from shared.ids import new_id

    assert runtime.stack is not None
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=runtime.aws_endpoint)  # type: ignore[call-overload]

    dynamodb, sqs, events, ses = client("dynamodb"), client("sqs"), client("events"), client("sesv2")
    table = runtime.stack.tables["EmailTable"].name
    queue = sqs.create_queue(QueueName="perf-cascade-bound")["QueueUrl"]
    ses.create_email_identity(EmailIdentity="bound.example")
    bus = next(iter(runtime.stack.buses.values())).name if getattr(runtime.stack, "buses", None) else "default"
    detail = '{"id": "x", "type": "email.sent", "data": {"message_id": "' + "m" * 26 + '"}}'

    def item(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"T#bound#X#{key}"}, "sk": {"S": "X"}, "data": {"S": "d" * 300}}

    def call(service: str, operation: str) -> None:
        if (service, operation) == ("dynamodb", "BatchWriteItem"):
            dynamodb.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": item(new_id())}} for _ in range(BATCH_WRITE)]}
            )
        elif (service, operation) == ("dynamodb", "BatchGetItem"):
            keys = [{"pk": {"S": f"T#bound#X#{new_id()}"}, "sk": {"S": "X"}} for _ in range(BATCH_GET)]
            dynamodb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        elif (service, operation) == ("dynamodb", "TransactWriteItems"):
            puts = [{"Put": {"TableName": table, "Item": item(new_id())}} for _ in range(SQS_BATCH)]
            dynamodb.transact_write_items(TransactItems=puts)
        elif (service, operation) == ("sqs", "SendMessageBatch"):
            entries = [{"Id": str(i), "MessageBody": detail} for i in range(SQS_BATCH)]
            sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        elif (service, operation) == ("events", "PutEvents"):
            entry = {"Source": "kontakt.email", "DetailType": "email.sent", "Detail": detail, "EventBusName": bus}
            events.put_events(Entries=[entry] * PUT_EVENTS)
        elif (service, operation) == ("ses", "SendBulkEmail"):
            ses.send_email(
                FromEmailAddress="news@bound.example",
                Destination={"ToAddresses": [f"r{i}@perf.example" for i in range(BULK_SES)]},
                Content={"Simple": {"Subject": {"Data": "News"}, "Body": {"Text": {"Data": "Hello " * 40}}}},
            )
        else:
            raise AssertionError((service, operation))

    todo = [
        (service, operation)
        for stage in MINIMA
        for service, operation, per in MINIMA[stage]
        for _ in range(math.ceil(per * count))
    ]
    with stopwatch() as elapsed:
        for service, operation in todo:
            call(service, operation)
    return elapsed()


# ----------------------------------------------------------------------------- what each recipient got


def _data_of_kind(runtime: CountedRuntime, table: str, kind: str) -> Iterator[dict[str, Any]]:
    """The `data` of every item of `kind` in the stack's table `table` (a scan: a benchmark's count)."""
    from boto3.dynamodb.conditions import Attr

    assert runtime.stack is not None
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=runtime.aws_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(runtime.stack.tables[table].name)
    kwargs: dict[str, Any] = {"FilterExpression": Attr("kind").eq(kind)}
    while True:
        page = resource.scan(**kwargs)
        for item in page["Items"]:
            data = item.get("data") or {}
            if isinstance(data, dict):
                yield data
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _statuses(runtime: CountedRuntime, campaign_id: str) -> Counter[str]:
    """The campaign's message records by delivery status (the feedback function writes them)."""
    return Counter(
        str(data.get("delivery") or data.get("status"))
        for data in _data_of_kind(runtime, "EmailTable", "message")
        if data.get("campaign_id") == campaign_id
    )


def _activities(runtime: CountedRuntime, contact_ids: set[str]) -> Counter[str]:
    """Marketing activities of type email per seeded contact (the activities consumer writes them)."""
    return Counter(
        str(data["contact_id"])
        for data in _data_of_kind(runtime, "ActivitiesTable", "marketing")
        if data.get("contact_id") in contact_ids
    )


# ----------------------------------------------------------------------------- the benchmark


def _kill_a_consumer_mid_batch(runtime: CountedRuntime, timeout: float = 120) -> list[int]:
    """SIGKILL a worker of the activities consumer once it has made AWS calls for this campaign
    (inside a batch: its calls come from handling one), as a Lambda sandbox dies; the runtime
    starts another and the queue delivers the batch again after its visibility timeout."""
    import signal

    function = "ActivitiesConsumerFunction"
    start, _ = runtime.log.snapshot()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now, _ = runtime.log.snapshot()
        if sum(n for (f, _, _), n in (now - start).items() if f == function) >= 3:
            pids = runtime.worker_pids(function)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                return [pids[0]]
        time.sleep(0.05)
    return []


def test_campaign_cascade(stack: CountedRuntime) -> None:
    assert stack.stack is not None
    seed(stack, 0, WARMUP, "warmup")
    addresses = seed(stack, WARMUP, RECIPIENTS, "customer")
    api = Api(stack, TENANT)
    template = api.call("POST", "/email/templates", 201, TEMPLATE)
    list_type = api.call("GET", "/email/list-types", 200)["items"][0]
    warmup = _campaign(api, "warmup", template["id"], list_type["id"])
    campaign = _campaign(api, "customer", template["id"], list_type["id"])
    api.call("POST", f"/campaigns/{warmup['id']}/send", (200, 202))  # cold starts, not measured
    _wait_until_sent(api, warmup["id"], WARMUP, SETTLE_TIMEOUT)
    stack.drain(300)

    events_queue = stack.stack.queues["ActivitiesEventsQueue"]
    if FAULTS:  # the killed worker's batch returns after the visibility timeout: 30 s here, not 30 min
        visibility = {"VisibilityTimeout": str(VISIBILITY_IN_FAULTS_RUN)}
        stack.client("sqs").set_queue_attributes(QueueUrl=events_queue.url, Attributes=visibility)
    before, ids_before = stack.log.snapshot()
    killed: list[int] = []
    with stopwatch() as elapsed:
        api.call("POST", f"/campaigns/{campaign['id']}/send", (200, 202))
        after_send, _ = stack.log.snapshot()
        if FAULTS:  # one consumer process killed while email.sent events reach it
            killed = _kill_a_consumer_mid_batch(stack)
        _wait_until_sent(api, campaign["id"], RECIPIENTS, SETTLE_TIMEOUT)
        stack.drain(SETTLE_TIMEOUT)  # every delivery status and marketing activity recorded
        if killed:  # the killed worker's batch comes back after the queue's visibility timeout
            deadline = time.monotonic() + VISIBILITY_IN_FAULTS_RUN + 120
            while len(_activities(stack, set(addresses))) < RECIPIENTS and time.monotonic() < deadline:
                time.sleep(5)
                stack.drain(SETTLE_TIMEOUT)
    seconds = elapsed()
    after, ids_after = stack.log.snapshot()
    api_calls = {k: n for k, n in (after_send - before).items() if k[0] == "EmailApiFunction"}
    calls: Counter[tuple[str, str, str]] = Counter(api_calls)
    calls.update({k: n for k, n in (after - before).items() if k[0] != "EmailApiFunction"})

    # What each recipient got: one mail, one delivery status, one marketing activity.
    mails = ids_after - ids_before
    recorded = _sent_mails(stack)
    statuses = _statuses(stack, campaign["id"])
    activities = _activities(stack, set(addresses))
    delivered = sum(1 for m in mails if recorded[m] >= 1)
    duplicated = sum(n - 1 for n in mails.values() if n > 1)
    lost = RECIPIENTS - len(mails)
    activities_twice = sum(n - 1 for n in activities.values() if n > 1)

    rows: list[tuple[str, ...]] = [
        ("recipients", f"{RECIPIENTS:,}", "", "", ""),
        ("send request -> every effect recorded", f"{seconds:.1f}", "", "", "s"),
    ]
    stages = _by_stage(calls)
    total = 0
    least_total = 0.0
    for stage in [*MINIMA, "resolution", "other"]:
        counted = stages.get(stage)
        if not counted:
            continue
        n = sum(counted.values())
        total += n
        per = n / RECIPIENTS
        if stage in MINIMA:
            least = minimum(stage)
            least_total += least
            rows.append((stage, f"{per:.3f}", f"{least:.3f}", f"{per / least:.2f}", ""))
            FIGURES.add("k. cascade", f"{stage} calls per recipient (minimum {least:.3f})", round(per, 3), "calls")
        else:
            rows.append((stage, f"{per:.3f}", "", "", "not judged"))
        for operation, count in sorted(counted.items()):
            rows.append((f"  {operation}", f"{count / RECIPIENTS:.3f}", "", "", ""))
    rows.append(("by function", "", "", "", ""))
    for function in sorted({f for (f, _, _) in calls}):
        count = sum(n for (f, _, _), n in calls.items() if f == function)
        rows.append((f"  {function}", f"{count / RECIPIENTS:.3f}", "", "", _stage_of(function)))
        for (f, service, operation), n in sorted(calls.items()):  # where a stage's calls come from
            if f == function:
                rows.append((f"    {service} {operation}", f"{n / RECIPIENTS:.3f}", "", "", ""))
    judged = sum(sum(stages.get(s, Counter()).values()) for s in MINIMA) / RECIPIENTS
    rows.append(("cascade (judged stages)", f"{judged:.3f}", f"{least_total:.3f}", f"{judged / least_total:.2f}", ""))
    sending = sum(stages.get("sending", Counter()).values()) / RECIPIENTS
    floor = minimum("sending") + RAW_SES_FLOOR
    rows.append(("sending, one SendEmail a mail", f"{sending:.3f}", f"{floor:.3f}", f"{sending / floor:.2f}", ""))
    rows.append(("all calls", f"{total / RECIPIENTS:.3f}", "", "", "per recipient"))
    bound = emulator_bound(stack, RECIPIENTS)
    rate, bound_rate = RECIPIENTS / seconds, RECIPIENTS / bound
    rows.append(("recipients/s end to end", f"{rate:.2f}", "", "", "per s"))
    rows.append(("emulator-bound recipients/s", f"{bound_rate:.1f}", "", f"{rate / bound_rate:.3f}", "per s"))
    rows.append(("mails expected / delivered", f"{RECIPIENTS}", f"{delivered}", "", ""))
    rows.append(("mails duplicated / lost", f"{duplicated}", f"{lost}", "", ""))
    rows.append(("delivery statuses", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())), "", "", ""))
    rows.append(("marketing activities / twice", f"{sum(activities.values())}", f"{activities_twice}", "", ""))
    if FAULTS:
        rows.append(("faults", FAULTS, f"killed {killed}", "", "KONTAKT_FAULTS, consumer pid"))
    print(
        render(
            f"(k) campaign cascade to {RECIPIENTS:,} recipients, AWS calls per recipient by stage",
            rows,
            header=("stage / operation", "calls", "minimum", "ratio", ""),
        )
    )
    FIGURES.add("k. cascade", "cascade calls per recipient", round(judged, 3), "calls")
    FIGURES.add("k. cascade", "recipients/s end to end", round(rate, 2), "per s")
    FIGURES.add("k. cascade", "emulator-bound recipients/s", round(bound_rate, 1), "per s")

    assert duplicated == 0 and lost == 0, (duplicated, lost)
    assert len(activities) == RECIPIENTS and activities_twice == 0, (len(activities), activities_twice)
