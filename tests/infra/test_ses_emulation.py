"""SES v2 in the emulator: configuration set event destinations put SES's events on EventBridge,
only for mails sent with the set; the mailbox simulator's bounce and complaint; the mail folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator
from infra.template import ACCOUNT_ID, REGION, load_stack

DEFAULT_BUS = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"
SET = "kontakt-test-email"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def emulator(mail_dir: Path) -> Iterator[Emulator]:
    emulator = Emulator(mail_dir=mail_dir)
    emulator.start()
    ses = emulator.client("sesv2")
    ses.create_email_identity(EmailIdentity="kontakt.dev")
    ses.create_configuration_set(ConfigurationSetName=SET, SendingOptions={"SendingEnabled": True})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=SET,
        EventDestinationName="eventbridge",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"],
            "EventBridgeDestination": {"EventBusArn": DEFAULT_BUS},
        },
    )
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def queue(emulator: Emulator) -> str:
    """Every SES event on the default bus lands here (as the stack's feedback rule routes them)."""
    sqs, events = emulator.client("sqs"), emulator.client("events")
    url = sqs.create_queue(QueueName="ses-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="ses", EventPattern=json.dumps({"source": ["aws.ses"]}))
    events.put_targets(Rule="ses", Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def _raw(to: str, message_id: str) -> bytes:
    return (
        f"From: Kontakt <news@kontakt.dev>\r\nTo: {to}\r\nSubject: Hello\r\n"
        f"Message-ID: <{message_id}@kontakt>\r\nMIME-Version: 1.0\r\n\r\nHi there\r\n"
    ).encode()


def _send(emulator: Emulator, to: str, message_id: str, **extra: Any) -> str:
    response = emulator.client("sesv2").send_email(
        FromEmailAddress="news@kontakt.dev",
        Destination={"ToAddresses": [to]},
        Content={"Raw": {"Data": _raw(to, message_id)}},
        **extra,
    )
    return str(response["MessageId"])


def _events(emulator: Emulator, queue: str) -> list[dict[str, Any]]:
    sqs, found = emulator.client("sqs"), list[dict[str, Any]]()
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_the_template_makes_the_configuration_set_and_its_eventbridge_destination() -> None:
    stack = load_stack(PROJECT_ROOT, {"Stage": "dev"})
    config = stack.configuration_sets["EmailConfigurationSet"]
    assert config.name == "kontakt-dev-email"
    assert stack.functions["EmailSenderFunction"].environment["CONFIGURATION_SET"] == "kontakt-dev-email"
    [destination] = config.event_destinations
    assert destination.event_bus_arn == DEFAULT_BUS
    assert {"SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "RENDERING_FAILURE"} <= set(
        destination.definition["MatchingEventTypes"]
    )


def test_a_mail_with_the_set_reports_sent_and_delivered(emulator: Emulator, queue: str) -> None:
    tags = [{"Name": "tenant", "Value": "acme"}, {"Name": "message", "Value": "m-1"}]
    ses_id = _send(emulator, "Anna <anna@example.com>", "m-1", ConfigurationSetName=SET, EmailTags=tags)
    events = _events(emulator, queue)
    assert [(e["detail-type"], e["detail"]["eventType"]) for e in events] == [
        ("Email Sent", "Send"),
        ("Email Delivered", "Delivery"),
    ]
    sent, delivered = events
    assert sent["source"] == "aws.ses"
    assert sent["resources"] == [f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/{SET}"]
    mail = delivered["detail"]["mail"]
    assert mail["messageId"] == ses_id
    assert mail["destination"] == ["anna@example.com"]
    assert {"name": "Message-ID", "value": "<m-1@kontakt>"} in mail["headers"]
    assert mail["commonHeaders"]["subject"] == "Hello"
    assert mail["commonHeaders"]["from"] == ["Kontakt <news@kontakt.dev>"]
    assert mail["tags"]["tenant"] == ["acme"] and mail["tags"]["message"] == ["m-1"]
    assert mail["tags"]["ses:configuration-set"] == [SET]
    assert delivered["detail"]["delivery"]["recipients"] == ["anna@example.com"]
    assert delivered["detail"]["delivery"]["timestamp"] >= mail["timestamp"]
    assert sent["detail"]["send"] == {}


def test_a_mail_without_a_set_reports_nothing(emulator: Emulator, queue: str) -> None:
    _send(emulator, "bob@example.com", "m-2")
    assert _events(emulator, queue) == []


def test_the_mailbox_simulator_bounces_and_complains(emulator: Emulator, queue: str) -> None:
    _send(emulator, "bounce@simulator.amazonses.com", "m-3", ConfigurationSetName=SET)
    _send(emulator, "complaint+x@simulator.amazonses.com", "m-4", ConfigurationSetName=SET)
    events = _events(emulator, queue)
    kinds = [(e["detail"]["mail"]["destination"][0].split("@")[0], e["detail"]["eventType"]) for e in events]
    assert kinds == [
        ("bounce", "Send"),
        ("bounce", "Bounce"),
        ("complaint+x", "Send"),
        ("complaint+x", "Delivery"),
        ("complaint+x", "Complaint"),
    ]
    bounce = events[1]["detail"]["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
    assert bounce["bouncedRecipients"][0]["emailAddress"] == "bounce@simulator.amazonses.com"
    assert events[1]["detail-type"] == "Email Bounced"
    complaint = events[4]
    assert complaint["detail-type"] == "Email Complaint Received"
    assert complaint["detail"]["complaint"]["complainedRecipients"] == [
        {"emailAddress": "complaint+x@simulator.amazonses.com"}
    ]


def test_a_reserved_invalid_domain_gets_no_outcome(emulator: Emulator, queue: str) -> None:
    _send(emulator, "full@example.invalid", "m-5", ConfigurationSetName=SET)
    assert [e["detail"]["eventType"] for e in _events(emulator, queue)] == ["Send"]


def test_an_unknown_set_and_bad_tags_are_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as unknown:
        _send(emulator, "a@example.com", "m-6", ConfigurationSetName="nope")
    assert unknown.value.response["Error"]["Code"] == "NotFoundException"
    with pytest.raises(ClientError) as bad:
        _send(emulator, "a@example.com", "m-7", EmailTags=[{"Name": "tenant", "Value": "a b"}])
    assert bad.value.response["Error"]["Code"] == "BadRequestException"


def test_every_sent_mail_is_in_the_mail_folder(emulator: Emulator, mail_dir: Path) -> None:
    ses_id = _send(emulator, "carl@example.com", "m-8")
    [path] = [p for p in mail_dir.glob("*.eml") if ses_id in p.name]
    mail = message_from_bytes(path.read_bytes())
    assert mail["Message-ID"] == "<m-8@kontakt>" and mail["To"] == "carl@example.com"
    assert sorted(mail_dir.glob("*.eml"))[-1] == path  # names sort by time


def test_a_destination_that_cannot_take_events_does_not_fail_the_send(emulator: Emulator) -> None:
    ses = emulator.client("sesv2")
    ses.create_configuration_set(ConfigurationSetName="lost")
    missing_bus = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/missing"
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="lost",
        EventDestinationName="gone",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["SEND"],
            "EventBridgeDestination": {"EventBusArn": missing_bus},
        },
    )
    assert _send(emulator, "a@example.com", "m-9", ConfigurationSetName="lost")
