"""IAM: the evaluator the local runtime enforces, and every function's translated role against the
calls its code makes (and calls it must not be able to make)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from infra.iam import Request, evaluate, refused, requests
from infra.template import ACCOUNT_ID, REGION, Stack, load_stack, translate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table"

# Actions that have no resource-level permissions (Service Authorization Reference): a statement
# may grant them on "*", and only them.
WILDCARD_ONLY = {
    "ses:GetAccount": "SES v2 GetAccount (the sender's send rate) takes no resource",
    "secretsmanager:GetRandomPassword": "a random string (the link key rotation's new key): no resource",
}


# ---------------------------------------------------------------- the evaluator


def test_allow_deny_and_the_implicit_deny() -> None:
    allow = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": f"{TABLE}/a"}
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}
    assert evaluate([allow], Request("dynamodb:PutItem", f"{TABLE}/a"))
    assert evaluate([allow], Request("DynamoDB:putitem", f"{TABLE}/a"))  # actions ignore case
    assert not evaluate([allow], Request("dynamodb:PutItem", f"{TABLE}/A"))  # resources do not
    assert not evaluate([allow], Request("dynamodb:PutItem", f"{TABLE}/b"))  # nothing allows it
    assert not evaluate([allow, deny], Request("dynamodb:DeleteItem", f"{TABLE}/a"))  # an explicit deny wins
    assert not evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k"))


def test_wildcards_and_negations() -> None:
    statements = [
        {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/uploads/*"},
        {"Effect": "Allow", "NotAction": ["s3:*", "sqs:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": "arn:aws:sqs:*:*:secret-?"},
    ]
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::b/uploads/t/1.csv"))
    assert not evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::b/other/1.csv"))
    assert not evaluate(statements, Request("s3:PutObject", "arn:aws:s3:::b/uploads/1"))
    assert evaluate(statements, Request("events:PutEvents", "arn:aws:events:x:1:event-bus/b"))  # NotAction
    assert evaluate(statements, Request("sqs:SendMessage", "arn:aws:sqs:r:1:public"))
    assert not evaluate(statements, Request("sqs:SendMessage", "arn:aws:sqs:r:1:secret-1"))  # NotResource


def test_conditions() -> None:
    pass_role = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::1:role/r",
        "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
    }
    to_scheduler = Request("iam:PassRole", "arn:aws:iam::1:role/r", {"iam:PassedToService": "scheduler.amazonaws.com"})
    assert evaluate([pass_role], to_scheduler)
    assert not evaluate([pass_role], Request("iam:PassRole", "arn:aws:iam::1:role/r", {"iam:PassedToService": "x"}))
    assert not evaluate([pass_role], Request("iam:PassRole", "arn:aws:iam::1:role/r"))  # the key is missing
    if_exists = {**pass_role, "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "scheduler.amazonaws.com"}}}
    assert evaluate([if_exists], Request("iam:PassRole", "arn:aws:iam::1:role/r"))
    like = {**pass_role, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:1:rule/*"}}}
    assert evaluate(
        [like], Request("iam:PassRole", "arn:aws:iam::1:role/r", {"aws:SourceArn": "arn:aws:events:r:1:rule/x"})
    )
    with pytest.raises(ValueError, match="NumericLessThan"):
        evaluate([{**pass_role, "Condition": {"NumericLessThan": {"k": "1"}}}], to_scheduler)


def test_calls_map_to_what_iam_authorises() -> None:
    def mapped(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r.action, r.resource) for r in requests(service, operation, params, REGION, ACCOUNT_ID)]

    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "a", "Item": {}}},
            {"Update": {"TableName": "a", "Key": {}}},
            {"ConditionCheck": {"TableName": "b", "Key": {}}},
        ]
    }
    assert mapped("dynamodb", "TransactWriteItems", transaction) == [
        ("dynamodb:PutItem", f"{TABLE}/a"),
        ("dynamodb:UpdateItem", f"{TABLE}/a"),
        ("dynamodb:ConditionCheckItem", f"{TABLE}/b"),
    ]
    assert mapped("dynamodb", "Query", {"TableName": "a", "IndexName": "by_type"}) == [
        ("dynamodb:Query", f"{TABLE}/a/index/by_type")
    ]
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/q1"
    assert mapped("sqs", "SendMessageBatch", {"QueueUrl": url}) == [
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:q1")
    ]
    assert mapped("s3", "HeadObject", {"Bucket": "b", "Key": "k/1"}) == [("s3:GetObject", "arn:aws:s3:::b/k/1")]
    schedule = {"Name": "mass-1", "GroupName": "g", "Target": {"RoleArn": "arn:aws:iam::1:role/r"}}
    created = requests("scheduler", "CreateSchedule", schedule, REGION, ACCOUNT_ID)
    assert [(r.action, r.resource) for r in created] == [
        ("scheduler:CreateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/g/mass-1"),
        ("iam:PassRole", "arn:aws:iam::1:role/r"),
    ]
    assert created[1].context == {"iam:PassedToService": "scheduler.amazonaws.com"}
    sent = {"FromEmailAddress": "Shop <news@shop.example>", "ConfigurationSetName": "cs"}
    assert mapped("ses", "SendEmail", sent) == [
        ("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/shop.example"),
        ("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/cs"),
    ]
    assert mapped("ses", "GetAccount", {}) == [("ses:GetAccount", "*")]


# ---------------------------------------------------------------- the template's roles


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack(PROJECT_ROOT, {"Stage": "dev"})


def _names(stack: Stack) -> dict[str, str]:
    names = {f"table:{k}": t.name for k, t in stack.tables.items()}
    names |= {f"queue:{k}": q.url for k, q in stack.queues.items()}
    names |= {f"bucket:{k}": b.name for k, b in stack.buckets.items()}
    names |= {f"bus:{k}": b.name for k, b in stack.buses.items()}
    names |= {f"secret:{k}": s.name for k, s in stack.secrets.items()}
    names |= {f"set:{k}": c.name for k, c in stack.configuration_sets.items()}
    names |= {f"set:{k}": name for k, name in stack.sms_configuration_sets.items()}
    names["group"] = stack.schedule_groups["ScheduleGroup"]
    names["activities-scheduler-role"] = f"arn:aws:iam::{ACCOUNT_ID}:role/kontakt-ActivitiesSchedulerRole"
    names["email-scheduler-role"] = f"arn:aws:iam::{ACCOUNT_ID}:role/kontakt-EmailSchedulerRole"
    names["sms-scheduler-role"] = f"arn:aws:iam::{ACCOUNT_ID}:role/kontakt-SmsSchedulerRole"
    return names


Call = tuple[str, str, dict[str, Any]]


def _put(table: str) -> Call:
    return ("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": table}}]})


def _schedule(operation: str, name: str, role: str | None = None) -> Call:
    params: dict[str, Any] = {"Name": name, "GroupName": "{group}"}
    if role:
        params["Target"] = {"RoleArn": role}
    return ("scheduler", operation, params)


def _key(operation: str, table: str) -> Call:
    return ("dynamodb", operation, {"TableName": table, "Key": {"pk": {"S": "k"}, "sk": {"S": "K"}}})


def _send(queue: str) -> Call:
    return ("sqs", "SendMessageBatch", {"QueueUrl": queue, "Entries": []})


def _object(operation: str, bucket: str, key: str) -> Call:
    return ("s3", operation, {"Bucket": bucket, "Key": key})


def _publish(bus: str) -> Call:
    return ("events", "PutEvents", {"Entries": [{"EventBusName": bus}]})


SECRET: Call = ("secretsmanager", "GetSecretValue", {"SecretId": "{secret:CursorSecret}"})
LINK_SECRET: Call = ("secretsmanager", "GetSecretValue", {"SecretId": "{secret:EmailLinkKeySecret}"})
SMTP_SECRET = "kontakt/dev/smtp/t1"  # a tenant's SMTP password (services/email/transports.py)
OTHER_SECRET = "kontakt/dev/other/t1"


def _secret(operation: str, name: str) -> Call:
    return ("secretsmanager", operation, {"Name" if operation == "CreateSecret" else "SecretId": name})


# For every function: calls its code makes (allowed), and calls it must not make (refused).
CASES: dict[str, tuple[list[Call], list[Call]]] = {
    "DirectoryApiFunction": (
        [_put("{table:DirectoryTable}"), _object("PutObject", "{bucket:ImportsBucket}", "uploads/t/1.csv"), SECRET],
        [
            _put("{table:EmailTable}"),
            ("s3", "PutBucketLifecycleConfiguration", {"Bucket": "{bucket:ImportsBucket}"}),
            _object("GetObject", "{bucket:ImportsBucket}", "uploads/t/1.csv"),
            _object("PutObject", "{bucket:EmailFilesBucket}", "t/1"),
        ],
    ),
    "DirectoryTokenFunction": (  # reads the login's directory user while Cognito waits
        [("dynamodb", "GetItem", {"TableName": "{table:DirectoryTable}"})],
        [_put("{table:DirectoryTable}"), ("dynamodb", "GetItem", {"TableName": "{table:EmailTable}"})],
    ),
    "DirectorySignUpFunction": (  # reads the tenant, its settings and users; writes the pending sign-up
        [
            ("dynamodb", "BatchGetItem", {"RequestItems": {"{table:DirectoryTable}": {}}}),
            ("dynamodb", "Query", {"TableName": "{table:DirectoryTable}", "IndexName": "by_type"}),
            ("dynamodb", "PutItem", {"TableName": "{table:DirectoryTable}"}),
        ],
        [
            ("dynamodb", "UpdateItem", {"TableName": "{table:DirectoryTable}"}),
            ("dynamodb", "DeleteItem", {"TableName": "{table:DirectoryTable}"}),
            ("dynamodb", "PutItem", {"TableName": "{table:EmailTable}"}),
        ],
    ),
    "DirectoryJoinFunction": (  # the same checks, then the user record and the login item in one transaction
        [
            ("dynamodb", "GetItem", {"TableName": "{table:DirectoryTable}"}),
            ("dynamodb", "BatchGetItem", {"RequestItems": {"{table:DirectoryTable}": {}}}),
            ("dynamodb", "Query", {"TableName": "{table:DirectoryTable}", "IndexName": "by_type"}),
            _put("{table:DirectoryTable}"),
        ],
        [
            ("dynamodb", "UpdateItem", {"TableName": "{table:DirectoryTable}"}),
            ("dynamodb", "DeleteItem", {"TableName": "{table:DirectoryTable}"}),
            _put("{table:ActivitiesTable}"),
        ],
    ),
    "DirectoryPublisherFunction": (
        [_publish("{bus:EventBus}"), _send("{queue:DirectoryPublisherDLQ}")],  # an oversized event is set aside
        [_publish("default"), _put("{table:DirectoryTable}"), _send("{queue:DirectoryEventsQueue}")],
    ),
    "DirectoryConsumerFunction": (
        [("dynamodb", "Query", {"TableName": "{table:DirectoryTable}", "IndexName": "by_parent"})],
        [_put("{table:ActivitiesTable}"), _publish("{bus:EventBus}")],
    ),
    "DirectoryImportFunction": (
        [_object("GetObject", "{bucket:ImportsBucket}", "uploads/t/1.csv"), _put("{table:DirectoryTable}")],
        [
            _object("PutObject", "{bucket:ImportsBucket}", "uploads/t/1.csv"),
            _object("GetObject", "{bucket:EmailFilesBucket}", "t/1"),
        ],
    ),
    "DirectoryScanFunction": (  # its table: reads the records, writes the scan, its groups and events, re-keys
        # the index entries (deleting old ones); continues a re-key on its own queue, no other
        [
            _put("{table:DirectoryTable}"),
            _key("GetItem", "{table:DirectoryTable}"),
            _key("DeleteItem", "{table:DirectoryTable}"),
            _send("{queue:DirectoryScansQueue}"),
        ],
        [
            _put("{table:ActivitiesTable}"),
            _publish("{bus:EventBus}"),
            _send("{queue:DirectoryEventsQueue}"),
            SECRET,
        ],
    ),
    "ActivitiesApiFunction": (
        [
            _put("{table:ActivitiesTable}"),
            _schedule("CreateSchedule", "mass-01J", "{activities-scheduler-role}"),
            _schedule("DeleteSchedule", "mass-01J"),
            _object("PutObject", "{bucket:ActivitiesFilesBucket}", "t/activity/1/2"),
            _object("HeadObject", "{bucket:ActivitiesFilesBucket}", "t/activity/1/2"),
            SECRET,
        ],
        [
            _schedule("DeleteSchedule", "campaign-01J"),
            _schedule("DeleteSchedule", "kontakt-dev-activities-reminders"),  # the stack's own
            _schedule("CreateSchedule", "mass-01J", "{email-scheduler-role}"),
            ("scheduler", "DeleteSchedule", {"Name": "mass-01J", "GroupName": "default"}),  # another stage's
            _object("PutObject", "{bucket:EmailFilesBucket}", "t/1"),
            ("s3", "PutBucketCors", {"Bucket": "{bucket:ActivitiesFilesBucket}"}),
            _put("{table:DirectoryTable}"),
        ],
    ),
    "ActivitiesPublisherFunction": ([_publish("{bus:EventBus}")], [_put("{table:ActivitiesTable}")]),
    "ActivitiesConsumerFunction": (
        [_put("{table:ActivitiesTable}")],
        [_put("{table:EmailTable}"), _publish("{bus:EventBus}")],
    ),
    "ActivitiesJobsFunction": (
        [_put("{table:ActivitiesTable}")],
        [_schedule("DeleteSchedule", "mass-01J"), _put("{table:DirectoryTable}")],
    ),
    "EmailApiFunction": (
        [
            _put("{table:EmailTable}"),
            _schedule("CreateSchedule", "campaign-01J", "{email-scheduler-role}"),
            _schedule("UpdateSchedule", "automation-01J", "{email-scheduler-role}"),
            _send("{queue:EmailSendQueue}"),
            _object("PutObject", "{bucket:EmailFilesBucket}", "t/campaign/1/2"),
            _object("DeleteObject", "{bucket:EmailFilesBucket}", "t/campaign/1/2"),
            ("ses", "GetEmailIdentity", {"EmailIdentity": "shop.example"}),
            SECRET,
            LINK_SECRET,
            _secret("CreateSecret", SMTP_SECRET),
            _secret("PutSecretValue", SMTP_SECRET),
            _secret("DeleteSecret", SMTP_SECRET),
        ],
        [
            _schedule("CreateSchedule", "mass-01J", "{activities-scheduler-role}"),
            _schedule("DeleteSchedule", "kontakt-dev-activities-reminders"),
            _send("{queue:EmailJobsQueue}"),
            ("ses", "SendEmail", {"FromEmailAddress": "a@shop.example"}),
            _object("PutObject", "{bucket:ActivitiesFilesBucket}", "t/1"),
            _secret("GetSecretValue", SMTP_SECRET),  # it writes the passwords, never reads them
            _secret("CreateSecret", OTHER_SECRET),
            _secret("PutSecretValue", "kontakt/prod/smtp/t1"),  # another stage's
            _secret("PutSecretValue", "{secret:CursorSecret}"),
            _secret("DeleteSecret", "{secret:CursorSecret}"),
        ],
    ),
    "EmailPublisherFunction": ([_publish("{bus:EventBus}")], [_send("{queue:EmailSendQueue}")]),
    "SmsApiFunction": (
        [
            _put("{table:SmsTable}"),
            SECRET,
            _send("{queue:SmsSendQueue}"),
            _schedule("CreateSchedule", "sms-send-01J", "{sms-scheduler-role}"),
            _schedule("DeleteSchedule", "sms-send-01J"),
        ],
        [
            _put("{table:EmailTable}"),
            _publish("{bus:EventBus}"),
            LINK_SECRET,
            _send("{queue:EmailSendQueue}"),
            _schedule("CreateSchedule", "campaign-01J", "{email-scheduler-role}"),
            _schedule("CreateSchedule", "sms-send-01J", "{email-scheduler-role}"),
        ],
    ),
    "SmsPublisherFunction": ([_publish("{bus:EventBus}")], [_put("{table:SmsTable}")]),
    "SmsSenderFunction": (
        [
            _put("{table:SmsTable}"),
            (
                "sms-voice",
                "SendTextMessage",
                {"DestinationPhoneNumber": "+358401234567", "ConfigurationSetName": "{set:SmsConfigurationSet}"},
            ),
        ],
        [
            _put("{table:EmailTable}"),
            _send("{queue:SmsSendQueue}"),
            SECRET,
            ("sms-voice", "SendTextMessage", {"ConfigurationSetName": "another-set"}),
        ],
    ),
    "SmsInboundFunction": (
        [
            _put("{table:SmsTable}"),
            (
                "sms-voice",
                "SendTextMessage",
                {"DestinationPhoneNumber": "+358401234567", "ConfigurationSetName": "{set:SmsConfigurationSet}"},
            ),
        ],
        [
            _put("{table:EmailTable}"),
            _publish("{bus:EventBus}"),
            _send("{queue:SmsSendQueue}"),
            SECRET,
            ("sms-voice", "SendTextMessage", {"ConfigurationSetName": "another-set"}),
        ],
    ),
    "SmsReceiptsFunction": (  # the table only: its events go out through the outbox
        [_put("{table:SmsTable}")],
        [
            _put("{table:EmailTable}"),
            _publish("{bus:EventBus}"),
            SECRET,
            _send("{queue:SmsSendQueue}"),
            ("sms-voice", "SendTextMessage", {"ConfigurationSetName": "{set:SmsConfigurationSet}"}),
        ],
    ),
    "SmsJobsFunction": (  # scheduled sends and the sweep: its own table, held messages back on the send queue
        [_put("{table:SmsTable}"), _send("{queue:SmsSendQueue}")],
        [
            _put("{table:EmailTable}"),
            _schedule("DeleteSchedule", "sms-send-01J"),
            _publish("{bus:EventBus}"),
            SECRET,
            _send("{queue:EmailSendQueue}"),
            ("sms-voice", "SendTextMessage", {"ConfigurationSetName": "{set:SmsConfigurationSet}"}),
        ],
    ),
    "SmsConsumerFunction": (
        # a send's messages (once its credits are reserved) and requested SMS go on the send queue
        [_put("{table:SmsTable}"), _send("{queue:SmsSendQueue}")],
        [_put("{table:EmailTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:EmailSendQueue}")],
    ),
    "WebhooksApiFunction": (
        [_put("{table:WebhooksTable}"), SECRET],
        [_put("{table:EmailTable}"), _publish("{bus:EventBus}"), _send("{queue:EmailSendQueue}")],
    ),
    "WebhooksPublisherFunction": (
        [_publish("{bus:EventBus}"), _send("{queue:WebhooksPublisherDLQ}")],
        [_put("{table:WebhooksTable}"), _publish("default")],
    ),
    "WebhooksConsumerFunction": (  # the fan-out: its table, then each message on the delivery queue or slow lane
        [_put("{table:WebhooksTable}"), _send("{queue:WebhooksDeliveryQueue}"), _send("{queue:WebhooksSlowQueue}")],
        [_put("{table:SmsTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:SmsSendQueue}")],
    ),
    "WebhooksDeliveryFunction": (  # attempts: its table (events through the outbox), retries and the slow lane
        [_put("{table:WebhooksTable}"), _send("{queue:WebhooksDeliveryQueue}"), _send("{queue:WebhooksSlowQueue}")],
        [
            _put("{table:SmsTable}"),
            _publish("{bus:EventBus}"),
            SECRET,
            _send("{queue:WebhooksJobsQueue}"),
            _send("{queue:SmsSendQueue}"),
        ],
    ),
    "WebhooksJobsFunction": (  # the sweep: its table, due attempts on the delivery queue
        [_put("{table:WebhooksTable}"), _send("{queue:WebhooksDeliveryQueue}")],
        [_put("{table:EmailTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:SmsSendQueue}")],
    ),
    "WorkflowsApiFunction": (  # its table and the cursor secret; nothing else
        [_put("{table:WorkflowsTable}"), SECRET],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), _send("{queue:EmailSendQueue}")],
    ),
    "WorkflowsPublisherFunction": (
        [_publish("{bus:EventBus}"), _send("{queue:WorkflowsPublisherDLQ}")],
        [_put("{table:WorkflowsTable}"), _publish("default")],
    ),
    "WorkflowsConsumerFunction": (  # runs and their command events in its own table (the outbox)
        [_put("{table:WorkflowsTable}")],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:EmailSendQueue}")],
    ),
    "WorkflowsJobsFunction": (  # the sweep: delayed runs and their command events in its own table
        [_put("{table:WorkflowsTable}")],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:WorkflowsJobsQueue}")],
    ),
    "AuditApiFunction": (  # its table (records, settings) and the cursor secret; nothing else
        [_put("{table:AuditTable}"), SECRET],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), _send("{queue:AuditEventsQueue}")],
    ),
    "AuditConsumerFunction": (  # its table only: it publishes nothing
        [_put("{table:AuditTable}")],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:AuditEventsQueue}")],
    ),
    "AccessApiFunction": (  # its table and the cursor secret; nothing else
        [_put("{table:AccessTable}"), SECRET],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), _send("{queue:EmailSendQueue}")],
    ),
    "AccessPublisherFunction": (
        [_publish("{bus:EventBus}"), _send("{queue:AccessPublisherDLQ}")],
        [_put("{table:AccessTable}"), _publish("default")],
    ),
    "AccessAuthorizerFunction": (  # reads a key, notes its last use and a refusal (mark + outbox item)
        [
            _key("GetItem", "{table:AccessTable}"),
            _key("UpdateItem", "{table:AccessTable}"),
            _put("{table:AccessTable}"),
        ],
        [
            _key("DeleteItem", "{table:AccessTable}"),
            _key("GetItem", "{table:DirectoryTable}"),
            SECRET,
            _publish("{bus:EventBus}"),
        ],
    ),
    "AccessSignInFunction": (  # attempts, counters (deleted when clean) and events in its table; the login item
        [
            _put("{table:AccessTable}"),
            _key("GetItem", "{table:AccessTable}"),
            _key("DeleteItem", "{table:AccessTable}"),
            _key("GetItem", "{table:DirectoryTable}"),
        ],
        [
            _key("DeleteItem", "{table:DirectoryTable}"),
            _put("{table:DirectoryTable}"),
            _key("UpdateItem", "{table:DirectoryTable}"),
            SECRET,
            _publish("{bus:EventBus}"),
        ],
    ),
    "InvoicingApiFunction": (  # its table, the cursor secret, a run's first chunk; events through the outbox
        [
            _put("{table:InvoicingTable}"),
            SECRET,
            _send("{queue:InvoicingJobsQueue}"),
            _object("GetObject", "{bucket:InvoicingDocumentsBucket}", "t/1"),
            _object("PutObject", "{bucket:EmailFilesBucket}", "requests/t/invoicing/1.pdf"),
        ],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), _send("{queue:EmailSendQueue}")],
    ),
    "InvoicingPublisherFunction": (
        [_publish("{bus:EventBus}"), _send("{queue:InvoicingPublisherDLQ}")],
        [_put("{table:InvoicingTable}"), _publish("default")],
    ),
    "InvoicingConsumerFunction": (  # the customers projection, draft orders, issued invoices' files
        [_put("{table:InvoicingTable}"), _object("PutObject", "{bucket:InvoicingDocumentsBucket}", "t/1.pdf")],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:EmailSendQueue}")],
    ),
    "InvoicingJobsFunction": (  # billing runs: its table and a run's next chunk (events through the outbox)
        [_put("{table:InvoicingTable}"), _send("{queue:InvoicingJobsQueue}")],
        [_put("{table:DirectoryTable}"), _publish("{bus:EventBus}"), SECRET, _send("{queue:EmailSendQueue}")],
    ),
    "EmailConsumerFunction": (
        [_put("{table:EmailTable}"), _send("{queue:EmailSendQueue}")],
        [
            _object("GetObject", "{bucket:EmailFilesBucket}", "t/1"),
            _put("{table:DirectoryTable}"),
            _secret("GetSecretValue", SMTP_SECRET),
        ],
    ),
    "EmailJobsFunction": (
        [_put("{table:EmailTable}"), _schedule("DeleteSchedule", "campaign-01J")],
        [
            _schedule("DeleteSchedule", "mass-01J"),
            _schedule("CreateSchedule", "campaign-01J", "{email-scheduler-role}"),
            _send("{queue:EmailSendQueue}"),
        ],
    ),
    "EmailSenderFunction": (
        [
            _put("{table:EmailTable}"),
            _object("GetObject", "{bucket:EmailFilesBucket}", "t/campaign/1/2"),
            (
                "ses",
                "SendEmail",
                {"FromEmailAddress": "a@shop.example", "ConfigurationSetName": "{set:EmailConfigurationSet}"},
            ),
            ("ses", "GetAccount", {}),
            LINK_SECRET,
            _secret("GetSecretValue", SMTP_SECRET),
        ],
        [
            SECRET,  # the cursor secret: the sender signs links with the link key only
            ("secretsmanager", "PutSecretValue", {"SecretId": "{secret:EmailLinkKeySecret}"}),
            _object("GetObject", "{bucket:ActivitiesFilesBucket}", "t/1"),
            _secret("PutSecretValue", SMTP_SECRET),
            _secret("GetSecretValue", OTHER_SECRET),
            _secret("GetSecretValue", "kontakt/prod/smtp/t1"),
            ("ses", "SendEmail", {"FromEmailAddress": "a@shop.example", "ConfigurationSetName": "another"}),
            ("ses", "SendRawEmail", {}),
            _object("PutObject", "{bucket:EmailFilesBucket}", "t/1"),
        ],
    ),
    "EmailLinkKeyRotationFunction": (
        [
            ("secretsmanager", "DescribeSecret", {"SecretId": "{secret:EmailLinkKeySecret}"}),
            LINK_SECRET,
            ("secretsmanager", "PutSecretValue", {"SecretId": "{secret:EmailLinkKeySecret}"}),
            ("secretsmanager", "UpdateSecretVersionStage", {"SecretId": "{secret:EmailLinkKeySecret}"}),
            ("secretsmanager", "GetRandomPassword", {}),
        ],
        [
            SECRET,
            ("secretsmanager", "PutSecretValue", {"SecretId": "{secret:CursorSecret}"}),
            _secret("GetSecretValue", SMTP_SECRET),
            _put("{table:EmailTable}"),
            ("secretsmanager", "DeleteSecret", {"SecretId": "{secret:EmailLinkKeySecret}"}),
        ],
    ),
    "EmailFeedbackFunction": (
        [_put("{table:EmailTable}")],
        [_publish("{bus:EventBus}"), SECRET, _secret("GetSecretValue", SMTP_SECRET)],
    ),
    "ScannerApiFunction": (  # the raw messages it is posted, the attachments it presigns
        [
            _put("{table:ScannerTable}"),
            SECRET,
            _object("PutObject", "{bucket:ScannerMailBucket}", "inbound/api/t1/m1/1.eml"),
            _object("GetObject", "{bucket:ScannerMailBucket}", "attachments/t1/m1/abc/1"),
        ],
        [
            _put("{table:DirectoryTable}"),
            _publish("{bus:EventBus}"),
            _object("PutObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
            _object("PutObject", "{bucket:ScannerMailBucket}", "attachments/t1/m1/abc/1"),
            _object("GetObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
        ],
    ),
    "ScannerPublisherFunction": ([_publish("{bus:EventBus}")], [_put("{table:ScannerTable}")]),
    "ScannerConsumerFunction": (
        [_put("{table:ScannerTable}")],
        [
            _put("{table:SmsTable}"),
            _publish("{bus:EventBus}"),
            _object("GetObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
        ],
    ),
    "ScannerInboundFunction": (  # reads the raw mail, writes the attachments, its events go out through the outbox
        [
            _put("{table:ScannerTable}"),
            _object("GetObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
            _object("PutObject", "{bucket:ScannerMailBucket}", "attachments/t1/m1/abc/1"),
        ],
        [
            _object("PutObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
            _object("DeleteObject", "{bucket:ScannerMailBucket}", "inbound/ses/1"),
            _publish("{bus:EventBus}"),
            SECRET,
            _put("{table:DirectoryTable}"),
        ],
    ),
}


def _resolved(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{([^}]+)\}", lambda m: names[m.group(1)], value)
    if isinstance(value, dict):
        return {_resolved(k, names): _resolved(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, names) for v in value]
    return value


def _requests(stack: Stack, call: Call) -> list[Request]:
    service, operation, params = call
    secret_arns = {
        s.name: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{s.name}" for s in stack.secrets.values()
    }
    return requests(service, operation, _resolved(params, _names(stack)), REGION, ACCOUNT_ID, secret_arns)


def test_every_function_has_its_calls_checked(stack: Stack) -> None:
    assert set(CASES) == set(stack.functions)


@pytest.mark.parametrize("function", sorted(CASES))
def test_the_role_allows_the_calls_the_code_makes(stack: Stack, function: str) -> None:
    statements = stack.functions[function].statements
    for call in CASES[function][0]:
        assert refused(statements, _requests(stack, call)) is None, f"{function} may not {call}"


@pytest.mark.parametrize("function", sorted(CASES))
def test_the_role_refuses_what_the_function_must_not_do(stack: Stack, function: str) -> None:
    statements = stack.functions[function].statements
    for call in CASES[function][1]:
        assert refused(statements, _requests(stack, call)) is not None, f"{function} may {call}"


def test_no_wildcard_resource_where_a_narrower_grant_works(stack: Stack) -> None:
    for function in stack.functions.values():
        for statement in function.statements:
            resources = statement.get("Resource")
            if "*" in (resources if isinstance(resources, list) else [resources]):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert set(actions) <= set(WILDCARD_ONLY), f"{function.logical_id}: {actions} on *"


# Wildcards in an action name, and the actions each may match (Service Authorization Reference).
WILDCARD_ACTIONS = {
    "sqs:SendMessage*": "SAM's SQSSendMessagePolicy: sqs:SendMessage only (SendMessageBatch is authorised as it)",
}


def _role_statements() -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every role's inline policies in the translated template (SAM's own too)."""
    template = translate(PROJECT_ROOT)
    found = []
    for logical_id, resource in template.resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in (resource.get("Properties") or {}).get("Policies") or []:
                statements = policy["PolicyDocument"]["Statement"]
                found.extend((logical_id, s) for s in (statements if isinstance(statements, list) else [statements]))
    return found


def test_no_role_grants_every_action_of_a_service() -> None:
    """No `*`, no `service:*`, no NotAction; a pattern only where listed (it matches one action)."""
    statements = _role_statements()
    assert statements
    for role, statement in statements:
        assert "NotAction" not in statement, role
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{role}: {action}"
            if "*" in action or "?" in action:
                assert action in WILDCARD_ACTIONS, f"{role}: {action} (list the actions it matches, or name them)"


def test_no_role_grants_every_resource_where_a_narrower_grant_works() -> None:
    for role, statement in _role_statements():
        assert "NotResource" not in statement, role
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in resources:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert set(actions) <= set(WILDCARD_ONLY), f"{role}: {actions} on *"


def test_service_principals_are_bound_to_this_account_and_source() -> None:
    template = translate(PROJECT_ROOT)
    for logical_id, resource in template.resources.items():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::SQS::QueuePolicy":
            for statement in properties["PolicyDocument"]["Statement"]:
                condition = statement["Condition"]
                assert "aws:SourceAccount" in condition["StringEquals"], logical_id
                assert any("aws:SourceArn" in condition.get(op, {}) for op in ("ArnEquals", "ArnLike")), logical_id
        if resource["Type"] == "AWS::IAM::Role":
            for statement in properties["AssumeRolePolicyDocument"]["Statement"]:
                if "scheduler.amazonaws.com" in str(statement["Principal"]):
                    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"], logical_id
        if resource["Type"] == "AWS::Scheduler::Schedule":
            assert properties["GroupName"] == {"Ref": "ScheduleGroup"}, logical_id
