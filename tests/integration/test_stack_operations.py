"""The operator's side of the stack as the local runtime provisions it from template.yaml: upload
CORS on the buckets browsers write to, and the alarms (wired to the stack's topic)."""

from __future__ import annotations

from infra.emulator import Emulator
from infra.template import Stack


def test_browsers_may_upload_into_the_upload_buckets(aws: Emulator, stack: Stack) -> None:
    s3 = aws.client("s3")
    methods = {}
    for logical_id in ("ImportsBucket", "ActivitiesFilesBucket", "EmailFilesBucket"):
        [rule] = s3.get_bucket_cors(Bucket=stack.buckets[logical_id].name)["CORSRules"]
        methods[logical_id] = sorted(rule["AllowedMethods"])
        assert rule["AllowedOrigins"] == ["*"] and rule["ExposeHeaders"] == ["ETag"]
    assert methods == {
        "ImportsBucket": ["PUT"],
        "ActivitiesFilesBucket": ["GET", "POST"],
        "EmailFilesBucket": ["GET", "POST"],
    }


def test_the_alarms_exist_and_notify_the_stack_topic(aws: Emulator, stack: Stack) -> None:
    alarms = aws.client("cloudwatch").describe_alarms(MaxRecords=100)["MetricAlarms"]
    ours = [a for a in alarms if a["AlarmName"] in {x.properties["AlarmName"] for x in stack.alarms.values()}]
    assert len(ours) == len(stack.alarms) >= 7 * 2 + 3  # per service: its functions, its dead letters
    topics = {tuple(a["AlarmActions"]) for a in ours}
    assert len(topics) == 1 and next(iter(topics))[0].startswith("arn:aws:sns:")
    sender_errors = [
        a
        for a in ours
        for q in a.get("Metrics", [])
        if "MetricStat" in q
        and q["MetricStat"]["Metric"]["MetricName"] == "Errors"
        and q["MetricStat"]["Metric"]["Dimensions"][0]["Value"].endswith("EmailSenderFunction")
    ]
    assert len(sender_errors) == 1 and sender_errors[0]["AlarmName"].endswith("EmailFunctionsAlarm")
