"""AWS End User Messaging SMS (`pinpoint-sms-voice-v2`) as the stack uses it, inside the emulator
process: moto has no backend for it, so the emulator's WSGI app answers its JSON 1.0 calls here
(`X-Amz-Target: PinpointSMSVoiceV2.<Operation>`) and passes every other request to moto.

What is emulated is what Kontakt calls: configuration sets (created by the provisioner from
template.yaml's AWS::SMSVOICE::ConfigurationSet) and SendTextMessage with its checks. A message
SMS accepts is appended to a folder's `sent.jsonl` (what `/dev/sms` lists), and its delivery
events go to the default event bus as AWS sends them ("Text Message Delivery Status Updated",
source `aws.sms-voice`, the send's `Context` echoed): TEXT_SUCCESSFUL (the carrier took it), then
TEXT_DELIVERED, or TEXT_UNREACHABLE for AWS's destination simulator numbers that fail (as SES's
mailbox simulator does for mail). Every piece is O(1) per message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.template import ACCOUNT_ID, REGION

log = logging.getLogger("kontakt.emulator.sms")

TARGET_PREFIX = "PinpointSMSVoiceV2."
DETAIL_TYPE = "Text Message Delivery Status Updated"
SOURCE = "aws.sms-voice"
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
SETS_FILE = "configuration-sets.json"
MAX_BODY = 1600  # characters SendTextMessage takes
MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")
# AWS's destination simulator numbers (End User Messaging SMS guide, "Simulator phone numbers"):
# each country has one that succeeds and one that fails.
SIMULATOR_FAILURES = frozenset(
    {
        "+61455944039",  # Australia
        "+43676800442032",  # Austria
        "+32460213923",  # Belgium
        "+420790542287",  # Czech Republic
        "+4525919215",  # Denmark
        "+37282720793",  # Estonia
        "+3584573979111",  # Finland
        "+33755512502",  # France
    }
)

Start = Callable[[str, list[tuple[str, str]]], Any]


class SmsEmulation:
    """The account's SMS state: configuration sets and the folder sent messages are written to."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.configuration_sets: dict[str, dict[str, Any]] = self._load_sets()
        self.lock = threading.Lock()

    def _load_sets(self) -> dict[str, dict[str, Any]]:
        """The configuration sets kept in the folder: they outlive a restart, as the emulator's state does."""
        path = self.folder / SETS_FILE if self.folder else None
        if path is None or not path.exists():
            return {}
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def _save_sets(self) -> None:
        if self.folder is not None:
            (self.folder / SETS_FILE).write_text(json.dumps(self.configuration_sets), encoding="utf-8")

    def wrap(self, app: Any) -> Any:
        """The emulator's WSGI app, answering SMS calls itself."""

        def wrapped(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if not target.startswith(TARGET_PREFIX):
                return app(environ, start_response)  # type: ignore[no-any-return]
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            status, body = self.call(target[len(TARGET_PREFIX) :], json.loads(raw or b"{}"))
            payload = json.dumps(body).encode()
            headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))]
            if status != 200:
                headers.append(("x-amzn-ErrorType", body["__type"]))
            start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
            return [payload]

        return wrapped

    def call(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handler = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower(), None)
        if handler is None:
            return _error("ValidationException", f"{operation} is not emulated locally", 400)
        try:
            return 200, handler(params)
        except _Refused as refused:
            return _error(refused.code, str(refused), refused.status)

    # ------------------------------------------------------------ configuration sets

    def _create_configuration_set(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "ConfigurationSetName")
        with self.lock:
            if name in self.configuration_sets:
                raise _Refused("ConflictException", f"Configuration set {name} already exists", 400)
            self.configuration_sets[name] = {"created": time.time()}
            self._save_sets()
        return {"ConfigurationSetArn": _set_arn(name), "ConfigurationSetName": name, "Tags": []}

    def _describe_configuration_sets(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params.get("ConfigurationSetNames") or sorted(self.configuration_sets)
        missing = [n for n in names if n not in self.configuration_sets]
        if missing:
            raise _Refused("ResourceNotFoundException", f"Configuration set {missing[0]} does not exist", 404)
        sets = [{"ConfigurationSetArn": _set_arn(n), "ConfigurationSetName": n, "EventDestinations": []} for n in names]
        return {"ConfigurationSets": sets}

    def _delete_configuration_set(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "ConfigurationSetName")
        with self.lock:
            if self.configuration_sets.pop(name, None) is None:
                raise _Refused("ResourceNotFoundException", f"Configuration set {name} does not exist", 404)
            self._save_sets()
        return {"ConfigurationSetArn": _set_arn(name), "ConfigurationSetName": name}

    # ------------------------------------------------------------ sending

    def _send_text_message(self, params: dict[str, Any]) -> dict[str, Any]:
        destination = _required(params, "DestinationPhoneNumber")
        if not E164.match(destination):
            raise _Refused("ValidationException", "DestinationPhoneNumber must be an E.164 number", 400)
        body = str(params.get("MessageBody") or "")
        if not body or len(body) > MAX_BODY:
            raise _Refused("ValidationException", f"MessageBody must be 1 to {MAX_BODY} characters", 400)
        kind = params.get("MessageType", "TRANSACTIONAL")
        if kind not in MESSAGE_TYPES:
            raise _Refused("ValidationException", f"MessageType must be one of {', '.join(MESSAGE_TYPES)}", 400)
        set_name = params.get("ConfigurationSetName")
        if set_name and set_name not in self.configuration_sets:
            raise _Refused("ResourceNotFoundException", f"Configuration set {set_name} does not exist", 404)
        message = {
            "MessageId": str(uuid.uuid4()),
            "DestinationPhoneNumber": destination,
            "OriginationIdentity": params.get("OriginationIdentity", ""),
            "MessageBody": body,
            "MessageType": kind,
            "ConfigurationSetName": set_name,
            "Context": params.get("Context") or {},
            "RequestTimestamp": int(time.time() * 1000),
        }
        if params.get("DryRun"):
            return {"MessageId": message["MessageId"]}
        self._write(message)
        self._publish(delivery_events(message))
        return {"MessageId": message["MessageId"]}

    def _write(self, message: dict[str, Any]) -> None:
        if self.folder is None:
            return
        try:
            with self.lock, (self.folder / "sent.jsonl").open("a", encoding="utf-8") as sent:
                sent.write(json.dumps(message, ensure_ascii=False) + "\n")
        except OSError as error:  # a full disk must not fail the send
            log.warning("cannot write the sent SMS to %s: %s", self.folder, error)

    def _publish(self, events: list[dict[str, Any]]) -> None:
        from moto.events.models import events_backends

        entries = [
            {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail), "EventBusName": "default"}
            for detail in events
        ]
        try:
            events_backends[ACCOUNT_ID][REGION].put_events(entries)
        except Exception:  # SMS accepted the message: publishing its events never fails the send
            log.exception("SMS events of %s not published", events[0]["messageId"] if events else "?")


def delivery_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events AWS publishes about one accepted message, in order (the `detail` of each)."""
    from services.sms.domain.segments import segment

    shape = segment(message["MessageBody"])
    failed = message["DestinationPhoneNumber"] in SIMULATOR_FAILURES
    outcomes = [("TEXT_SUCCESSFUL", "SUCCESSFUL", "Message has been accepted by phone carrier", False)]
    if failed:
        outcomes = [("TEXT_UNREACHABLE", "UNREACHABLE", "The destination phone number is unreachable", True)]
    else:
        outcomes.append(("TEXT_DELIVERED", "DELIVERED", "Message has been delivered to the handset", True))
    now = int(time.time() * 1000)
    return [
        {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": now + index,
            "isFinal": final,
            "originationPhoneNumber": message["OriginationIdentity"],
            "destinationPhoneNumber": message["DestinationPhoneNumber"],
            "isInternationalSend": False,
            "messageId": message["MessageId"],
            "messageRequestTimestamp": message["RequestTimestamp"],
            "messageEncoding": "GSM" if shape.encoding == "GSM-7" else "UCS2",
            "messageType": message["MessageType"],
            "messageStatus": status,
            "messageStatusDescription": description,
            "context": message["Context"],
            "totalMessageParts": len(shape.parts),
            "totalMessagePrice": 0.0,
            "totalCarrierFee": 0.0,
        }
        for index, (event_type, status, description, final) in enumerate(outcomes)
    ]


def sent_messages(folder: str | Path) -> list[dict[str, Any]]:
    """What the emulator's SMS accepted, oldest first (tests)."""
    path = Path(folder) / "sent.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def listing(folder: str | Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` messages, newest first, as `/dev/sms` and the console page show them."""
    return [
        {
            "time": datetime.fromtimestamp(m["RequestTimestamp"] / 1000, UTC).isoformat(),
            "to": m["DestinationPhoneNumber"],
            "from": m["OriginationIdentity"],
            "type": m["MessageType"],
            "text": m["MessageBody"],
            "message_id": m["MessageId"],
            "context": m["Context"],
        }
        for m in reversed(sent_messages(folder)[-limit:])
    ]


def two_way_message(folder: str | Path | None, origination: str, body: str) -> dict[str, Any]:
    """What End User Messaging SMS publishes when a handset sends `body` from `origination` (E.164):
    the two-way JSON ("Example of a two-way SMS message payload for Amazon SNS topics"), answering
    the last message the emulator sent that handset (`previousPublishedMessageId`, from our number)."""
    if not E164.match(origination):
        raise ValueError(f"{origination!r} is not an E.164 number")
    last = next(
        (m for m in reversed(sent_messages(folder) if folder else []) if m["DestinationPhoneNumber"] == origination),
        None,
    )
    return {
        "originationNumber": origination,
        "destinationNumber": (last or {}).get("OriginationIdentity") or "+358000000000",
        "messageKeyword": "KEYWORD_" + ACCOUNT_ID,
        "messageBody": body,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": (last or {}).get("MessageId", ""),
    }


def sns_envelope(message: dict[str, Any], topic_name: str) -> dict[str, Any]:
    """SNS's envelope of a notification as an SQS subscription receives it (raw delivery off)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic_name}",
        "Message": json.dumps(message),
        "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
        "UnsubscribeURL": "",
    }


class _Refused(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _Refused("ValidationException", f"{name} is required", 400)
    return str(value)


def _error(code: str, message: str, status: int) -> tuple[int, dict[str, Any]]:
    return status, {"__type": code, "message": message, "Message": message}


def _set_arn(name: str) -> str:
    return f"arn:aws:sms-voice:{REGION}:{ACCOUNT_ID}:configuration-set/{name}"
