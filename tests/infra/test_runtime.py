"""The runtime end to end on the fixture stack: gateway, pumps, streams, schedules, workers."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import unquote_plus

import pytest
import requests

from infra.faults import Fault
from infra.functions import FunctionError
from infra.runtime import LocalRuntime
from tests.infra.conftest import logged

# The runtime talks to its emulator and gateway over loopback, whatever unit tests disable.
pytestmark = pytest.mark.enable_socket


def _get(runtime: LocalRuntime, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(runtime.api_url + path, headers=headers, timeout=30)


# ---------------------------------------------------------------- gateway


def test_route_reaches_the_function_with_claims(runtime: LocalRuntime) -> None:
    token = runtime.token("t1", "u1", "manager", ["g1", "g2"])
    response = requests.get(
        runtime.api_url + "/hello/bob?a=1&a=2&b=",
        headers={"Authorization": f"Bearer {token}", "Cookie": "x=1; y=2", "X-Many": "1"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["x-function"] == "kontakt-ApiFunction"
    assert response.headers["Set-Cookie"] == "seen=1"
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /hello/{name}"
    assert event["pathParameters"] == {"name": "bob"}
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["headers"]["x-many"] == "1"
    assert "cookie" not in event["headers"]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["tenant_id"] == "t1"
    assert claims["sub"] == "u1"
    assert claims["role"] == "manager"
    assert claims["groups"] == "[g1 g2]"
    assert isinstance(claims["exp"], str)
    assert event["requestContext"]["stage"] == "$default"


def test_exact_and_greedy_routes(runtime: LocalRuntime) -> None:
    token = runtime.token("t1", "u1")
    assert _get(runtime, "/hello/me", token).json()["event"]["routeKey"] == "GET /hello/me"
    event = requests.post(
        runtime.api_url + "/items/a/b", data=b"\x00\xff", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()["event"]
    assert event["routeKey"] == "ANY /items/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["isBase64Encoded"] is True


def test_auth_and_errors(runtime: LocalRuntime) -> None:
    assert _get(runtime, "/hello/bob").status_code == 401
    assert _get(runtime, "/hello/bob").json() == {"message": "Unauthorized"}
    assert _get(runtime, "/hello/bob", "not-a-token").status_code == 401
    public = _get(runtime, "/public")
    assert public.status_code == 200
    assert "authorizer" not in public.json()["event"]["requestContext"]
    assert _get(runtime, "/public?fail=1").json() == {"message": "Internal Server Error"}
    assert _get(runtime, "/nowhere").status_code == 404
    assert _get(runtime, "/dev/health").json()["status"] == "ok"


def test_function_environment(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    assert _get(runtime, "/public").json()["env"] == {"IS_PROD": "no"}
    secret_arn = runtime.stack.secrets["Secret"].arn
    assert secret_arn is not None
    value = runtime.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    assert len(value) == 32


def test_a_call_the_function_role_does_not_grant_is_refused(runtime: LocalRuntime) -> None:
    """IAM in the worker: the API function's role grants nothing, the queue worker's grants the log table."""
    response = _get(runtime, "/items/write", runtime.token("t1", "u1"))
    assert response.status_code == 403
    error = response.json()
    assert error["Code"] == "AccessDeniedException"
    assert "assumed-role/ApiFunctionRole/" in error["Message"]  # the function's role, as AWS names the caller
    assert "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:" in error["Message"]
    assert logged(runtime, "api") == {}  # nothing reached the emulator


# ---------------------------------------------------------------- queues and the bus


def test_partial_batch_failure_redelivers_only_the_failed_record(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    ok_id, bad_id = f"ok-{uuid.uuid4()}", f"bad-{uuid.uuid4()}"
    entries = [
        {"Source": "test", "DetailType": "thing.happened", "Detail": json.dumps(detail), "EventBusName": "infra-test"}
        for detail in ({"id": ok_id}, {"id": bad_id, "fail": True})
    ]
    assert runtime.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0
    # A drain does not wait out a failed message's visibility timeout (it is no work until it shows
    # again): drain until the bad record has reached the dead-letter queue.
    dlq_url = runtime.stack.queues["WorkDLQ"].url
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runtime.drain(30)
        attributes = runtime.client("sqs").get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]):
            break
        time.sleep(0.5)
    records = logged(runtime, "sqs")
    assert f"{ok_id}#1" in records and f"{ok_id}#2" not in records
    assert f"{bad_id}#1" in records and f"{bad_id}#2" in records
    assert f"{bad_id}#3" not in records  # maxReceiveCount 2: the third receive moves it to the DLQ
    record = records[f"{ok_id}#1"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == runtime.stack.queues["WorkQueue"].arn
    dlq = runtime.client("sqs").receive_message(QueueUrl=runtime.stack.queues["WorkDLQ"].url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert [json.loads(m["Body"])["detail"]["id"] for m in dlq] == [bad_id]
    tapped = [e["detail"]["id"] for e in runtime.events(50)]
    assert ok_id in tapped and bad_id in tapped


def test_s3_upload_reaches_the_queue(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    bucket = runtime.stack.buckets["UploadsBucket"].name
    runtime.client("s3").put_object(Bucket=bucket, Key="uploads/new file.csv", Body=b"a,b\n")
    runtime.client("s3").put_object(Bucket=bucket, Key="elsewhere/x.csv", Body=b"a,b\n")
    runtime.drain(30)
    bodies = list(logged(runtime, "uploads").values())
    assert all("Records" in b for b in bodies)  # the s3:TestEvent never reaches the function
    keys = [unquote_plus(b["Records"][0]["s3"]["object"]["key"]) for b in bodies]
    assert keys == ["uploads/new file.csv"]  # URL-encoded as in AWS (moto also encodes the slash)


# ---------------------------------------------------------------- streams


def _put_source(runtime: LocalRuntime, pk: str, kind: str, fail_times: int = 0) -> None:
    assert runtime.stack is not None
    runtime.client("dynamodb").put_item(
        TableName=runtime.stack.tables["SourceTable"].name,
        Item={"pk": {"S": pk}, "kind": {"S": kind}, "fail_times": {"N": str(fail_times)}},
    )


def test_stream_records_are_shaped_and_filtered(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    watched, other = f"w-{uuid.uuid4()}", f"o-{uuid.uuid4()}"
    _put_source(runtime, watched, "watched")
    _put_source(runtime, other, "other")
    _put_source(runtime, watched, "watched", 0)  # a MODIFY: filtered out
    runtime.drain(30)
    records = logged(runtime, "stream")
    assert other not in records
    record = records[watched]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-north-1"
    assert record["eventSourceARN"] == runtime.stack.tables["SourceTable"].stream_arn
    assert "/stream/pending" not in record["eventSourceARN"]
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int | float)
    assert logged(runtime, "attempts")[watched]["n"]["N"] == "1"


def test_binary_attributes_reach_the_function_as_base64_and_filters_take_them(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    watched, other = f"w-{uuid.uuid4()}", f"o-{uuid.uuid4()}"
    table = runtime.stack.tables["SourceTable"].name
    for pk, kind in ((other, "other"), (watched, "watched")):  # the filtered-out one first
        runtime.client("dynamodb").put_item(
            TableName=table,
            Item={"pk": {"S": pk}, "kind": {"S": kind}, "body": {"B": b"\x00\xffbody"}, "set": {"BS": [b"a"]}},
        )
    runtime.drain(30)
    image = logged(runtime, "stream")[watched]["dynamodb"]["NewImage"]
    assert image["body"] == {"B": base64.b64encode(b"\x00\xffbody").decode()}  # as Lambda sends it
    assert image["set"] == {"BS": [base64.b64encode(b"a").decode()]}
    assert other not in logged(runtime, "stream")


def test_failing_stream_batch_is_retried_then_sent_to_the_destination(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    flaky, broken, after = f"f-{uuid.uuid4()}", f"b-{uuid.uuid4()}", f"a-{uuid.uuid4()}"
    _put_source(runtime, flaky, "watched", fail_times=1)
    runtime.drain(30)
    assert flaky in logged(runtime, "stream")
    assert logged(runtime, "attempts")[flaky]["n"]["N"] == "2"

    _put_source(runtime, broken, "watched", fail_times=99)
    _put_source(runtime, after, "watched")
    runtime.drain(30)
    deadline = time.monotonic() + 15
    while after not in logged(runtime, "stream") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert after in logged(runtime, "stream")
    assert broken not in logged(runtime, "stream")
    assert logged(runtime, "attempts")[broken]["n"]["N"] == "3"  # first try + MaximumRetryAttempts 2
    failures = runtime.client("sqs").receive_message(
        QueueUrl=runtime.stack.queues["StreamDLQ"].url, MaxNumberOfMessages=10
    )["Messages"]
    info = json.loads(failures[0]["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["streamArn"] == runtime.stack.tables["SourceTable"].stream_arn
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1


def test_a_failed_stream_batch_is_kept_whole_in_an_s3_destination(runtime: LocalRuntime) -> None:
    """An S3 on-failure destination gets the invocation record AND the batch (the records
    themselves), under Lambda's key layout; a queue would get only pointers into the stream."""
    assert runtime.stack is not None
    s3, bucket = runtime.client("s3"), runtime.stack.buckets["StreamFailuresBucket"].name
    broken = f"k-{uuid.uuid4()}"
    _put_source(runtime, broken, "kept", fail_times=99)
    runtime.drain(30)
    deadline = time.monotonic() + 15
    while not s3.list_objects_v2(Bucket=bucket).get("Contents") and time.monotonic() < deadline:
        time.sleep(0.2)
    [stored] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    prefix, shard, year, month, day, name = stored["Key"].rsplit("/", 5)
    today = datetime.now(UTC)
    assert prefix.startswith("aws/lambda/") and uuid.UUID(prefix.removeprefix("aws/lambda/"))
    assert (year, month, day) == (f"{today:%Y}", f"{today:%m}", f"{today:%d}") and name.startswith(f"{today:%Y-%m-%d}T")
    document = json.loads(s3.get_object(Bucket=bucket, Key=stored["Key"])["Body"].read())
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 2  # first try + MaximumRetryAttempts 1
    assert document["DDBStreamBatchInfo"]["shardId"] == shard
    [record] = json.loads(document["payload"])["Records"]
    assert record["dynamodb"]["NewImage"]["pk"] == {"S": broken}  # the record itself, not a pointer
    assert record["dynamodb"]["SequenceNumber"] == document["DDBStreamBatchInfo"]["startSequenceNumber"]
    assert broken not in logged(runtime, "stream")


# ---------------------------------------------------------------- schedules and workers


def test_runtime_created_schedules_fire(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    scheduler = runtime.client("scheduler")
    now = datetime.now(UTC)
    one_off = f"once-{uuid.uuid4().hex[:8]}"
    scheduler.create_schedule(
        Name=one_off,
        ScheduleExpression=f"at({(now + timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": runtime.stack.queues["WorkQueue"].arn,
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps({"id": one_off}),
        },
    )
    scheduler.create_schedule(
        Name="every-5-minutes",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": runtime.stack.functions["TickFunction"].arn,
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps({"tick": True, "at": "<aws.scheduler.scheduled-time>"}),
        },
    )
    assert one_off not in runtime.fire_schedules(now + timedelta(minutes=30))
    fired = runtime.fire_schedules(now + timedelta(hours=2))
    assert one_off in fired and "every-5-minutes" in fired
    runtime.drain(30)
    assert f"{one_off}#1" in logged(runtime, "sqs")
    ticks = [e for e in logged(runtime, "record").values() if e.get("tick")]
    assert ticks and datetime.fromisoformat(ticks[0]["at"]) <= now + timedelta(hours=2)  # placeholder filled in
    names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
    assert one_off not in names and "every-5-minutes" in names
    assert runtime.fire_schedules(now + timedelta(hours=2)) == []


def test_template_schedules_fire(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    fired = runtime.fire_schedules(datetime.now(UTC) + timedelta(days=2))
    assert set(fired) >= {s.name for s in runtime.stack.schedules.values()}
    events = list(logged(runtime, "record").values())
    assert {"from": "scheduler"} in events
    assert any(e.get("detail-type") == "Scheduled Event" for e in events)


def test_rate_schedules_fire_again_after_a_test_fired_the_future(runtime: LocalRuntime) -> None:
    """A test that fires a moment years ahead must not silence the rate schedules for later tests."""
    assert runtime.stack is not None
    rates = {s.name for s in runtime.stack.schedules.values() if s.expression.startswith("rate(")}
    assert rates, "the fixture template has a rate schedule"
    assert set(runtime.fire_schedules(datetime.now(UTC) + timedelta(days=3 * 365))) >= rates
    assert set(runtime.fire_schedules(datetime.now(UTC) + timedelta(hours=2))) >= rates


def test_timeout_kills_and_restarts_the_worker(runtime: LocalRuntime) -> None:
    with pytest.raises(FunctionError) as failure:
        runtime.invoke("SlowFunction", {"seconds": 5})
    assert failure.value.error_type == "Sandbox.Timedout"
    assert runtime.invoke("SlowFunction", {"seconds": 0}) == {"slept": True}


@pytest.mark.parametrize(("when", "written"), [("after", True), ("before", False)])
def test_an_injected_fault_kills_the_function_once_at_its_call(
    runtime: LocalRuntime, when: Literal["before", "after"], written: bool
) -> None:
    """A crash test's fault: the worker dies at the DynamoDB call (after: the item is written;
    before: it is not), the caller sees the process exit, and the restarted worker runs normally."""
    assert runtime.functions is not None
    run = str(uuid.uuid4())
    with runtime.functions.configured("TickFunction", faults=[Fault("dynamodb", "PutItem", when)]) as (fault,):
        assert not fault.fired
        with pytest.raises(FunctionError) as died:
            runtime.invoke("TickFunction", {"run": run, "call": 1})
        assert died.value.error_type == "Runtime.ExitError"
        assert fault.fired
        assert runtime.functions.worker_pids("TickFunction") == []  # its process is gone
        assert runtime.invoke("TickFunction", {"run": run, "call": 2}) == {"ok": True}  # fired once
        assert len(runtime.functions.worker_pids("TickFunction")) == 1  # a new one
    calls = sorted(p["call"] for p in logged(runtime, "record").values() if isinstance(p, dict) and p.get("run") == run)
    assert calls == ([1, 2] if written else [2])
