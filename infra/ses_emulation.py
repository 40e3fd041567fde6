"""SES v2 as the stack uses it, inside the emulator process (moto's server): configuration sets'
EventBridge destinations, and a folder of the mails sent.

moto 5 sends mails (SendEmail) but knows no SES v2 event destinations and ignores a send's
ConfigurationSetName and EmailTags. Here, once SendEmail succeeds with a configuration set that
has an enabled EventBridge destination, the events SES would publish go onto that bus (moto's
events backend, so the stack's rules route them): "Email Sent" (eventType Send), then, as the
recipient's server answers, "Email Delivered" (Delivery), or what the SES mailbox simulator
answers for its addresses: bounce@ -> "Email Bounced" (Permanent), complaint@ -> delivered, then
"Email Complaint Received", suppressionlist@ -> bounced (OnAccountSuppressionList).
Local only: recipients in the reserved `.invalid` TLD (RFC 2606) get a Send event and no outcome,
as for a server that keeps deferring; tests report bounces for them themselves.

Every piece is O(1) per mail: the mail's own headers, its configuration set by name.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from infra.template import ACCOUNT_ID, REGION

log = logging.getLogger("kontakt.emulator.ses")

SIMULATOR_DOMAIN = "simulator.amazonses.com"
# SES v2 MatchingEventTypes (lower case) -> (EventBridge detail-type, eventType of the record)
DETAIL_TYPES = {
    "send": ("Email Sent", "Send"),
    "delivery": ("Email Delivered", "Delivery"),
    "bounce": ("Email Bounced", "Bounce"),
    "complaint": ("Email Complaint Received", "Complaint"),
}
_TAG = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")

_mail_dir: Path | None = None


def configure(mail_dir: str | Path | None) -> None:
    """Where sent mails are written as .eml files (None: nowhere)."""
    global _mail_dir
    _mail_dir = Path(mail_dir) if mail_dir else None
    if _mail_dir is not None:
        _mail_dir.mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------- moto patches


def apply() -> None:
    """Before moto's server builds its apps (they read the URL table once)."""
    from moto.sesv2 import urls
    from moto.sesv2.responses import SESV2Response

    base = "{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations"
    urls.url_paths[base + "$"] = SESV2Response.dispatch
    urls.url_paths[base + "/(?P<EventDestinationName>[^/]+)$"] = SESV2Response.dispatch
    urls.url_paths["{0}/v2/email/account$"] = SESV2Response.dispatch

    original = SESV2Response.send_email

    def send_email(self: Any) -> str:
        params = json.loads(self.body or "{}")
        _check_request(self, params)
        answer = str(original(self))
        _after_send(self, params, json.loads(answer)["MessageId"])
        return answer

    SESV2Response.send_email = send_email  # type: ignore[method-assign]
    SESV2Response.create_configuration_set_event_destination = _create_destination  # type: ignore[attr-defined]
    SESV2Response.get_configuration_set_event_destinations = _get_destinations  # type: ignore[attr-defined]
    SESV2Response.delete_configuration_set_event_destination = _delete_destination  # type: ignore[attr-defined]
    SESV2Response.get_account = _get_account  # type: ignore[attr-defined]


# GetAccount's send quota locally: SES's default for an account with production access (out of
# the sandbox), the rate the sender used locally before the emulator answered GetAccount.
LOCAL_MAX_SEND_RATE = 14.0
LOCAL_MAX_24_HOUR_SEND = 50000.0


def _get_account(self: Any) -> str:
    """GetAccount, the one account call Kontakt makes (the sender reads its MaxSendRate): moto has none."""
    backend = self.sesv2_backend.core_backend
    quota = {
        "Max24HourSend": LOCAL_MAX_24_HOUR_SEND,
        "MaxSendRate": LOCAL_MAX_SEND_RATE,
        "SentLast24Hours": float(backend.sent_message_count),
    }
    return json.dumps(
        {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendQuota": quota,
            "SendingEnabled": True,
            "SuppressionAttributes": {"SuppressedReasons": []},
        }
    )


def _destinations(response: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Configuration set name -> destination name -> EventDestinationDefinition, on the SES backend."""
    backend = response.sesv2_backend.core_backend
    if not hasattr(backend, "kontakt_event_destinations"):
        backend.kontakt_event_destinations = {}
    found: dict[str, dict[str, dict[str, Any]]] = backend.kontakt_event_destinations
    return found


def _set_name(response: Any) -> str:
    """The configuration set of /v2/email/configuration-sets/{name}/event-destinations[/{dest}]."""
    return unquote(response.path.split("/configuration-sets/", 1)[1].split("/", 1)[0])


def _error(code: str, message: str, status: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, message)
    error.code = status
    return error


def _existing_set(response: Any, name: str) -> None:
    if name not in response.sesv2_backend.core_backend.config_sets:
        raise _error("NotFoundException", f"Configuration set <{name}> does not exist.", 404)


def _create_destination(self: Any) -> str:
    name = _set_name(self)
    _existing_set(self, name)
    params = json.loads(self.body or "{}")
    destinations = _destinations(self).setdefault(name, {})
    destination_name = str(params["EventDestinationName"])
    if destination_name in destinations:
        raise _error("AlreadyExistsException", f"Event destination {destination_name} already exists.", 400)
    destinations[destination_name] = dict(params.get("EventDestination") or {})
    return "{}"


def _get_destinations(self: Any) -> str:
    name = _set_name(self)
    _existing_set(self, name)
    found = [{"Name": n, **d} for n, d in _destinations(self).get(name, {}).items()]
    return json.dumps({"EventDestinations": found})


def _delete_destination(self: Any) -> str:
    name = _set_name(self)
    destination_name = unquote(self.path.rstrip("/").rsplit("/", 1)[1])
    if _destinations(self).get(name, {}).pop(destination_name, None) is None:
        raise _error("NotFoundException", f"Event destination {destination_name} does not exist.", 404)
    return "{}"


def _check_request(response: Any, params: dict[str, Any]) -> None:
    """What SES refuses before sending: an unknown configuration set, tags it cannot publish."""
    name = params.get("ConfigurationSetName")
    if name:
        _existing_set(response, str(name))
    for tag in params.get("EmailTags") or []:
        if not (_TAG.match(str(tag.get("Name", ""))) and _TAG.match(str(tag.get("Value", "")))):
            raise _error("BadRequestException", f"Invalid tag {tag}: letters, digits, _ and - only.", 400)


# ---------------------------------------------------------------- after a send


def _after_send(response: Any, params: dict[str, Any], ses_id: str) -> None:
    raw = _raw(params)
    if raw is None:
        return
    sent_at = datetime.now(UTC)
    if _mail_dir is not None:
        _write_mail(_mail_dir, sent_at, ses_id, raw)
    name = params.get("ConfigurationSetName")
    if not name:
        return
    buses = _eventbridge_buses(_destinations(response).get(str(name), {}))
    if not buses:
        return
    events_backend = _events_backend(response)
    tags = {str(t["Name"]): str(t["Value"]) for t in params.get("EmailTags") or []}
    source = str(params.get("FromEmailAddress") or "")
    records = ses_records(ses_id, sent_at, source, _recipients(params), raw, str(name), tags)
    for bus_arn, types in buses:
        entries = [_entry(bus_arn, t, detail, str(name)) for kind, t, detail in records if kind in types]
        try:
            for start in range(0, len(entries), 10):  # PutEvents takes 10 entries at most
                events_backend.put_events(entries[start : start + 10])
        except Exception:  # SES sent the mail: publishing its events never fails the send
            log.exception("SES events of %s not published to %s", ses_id, bus_arn)


def _raw(params: dict[str, Any]) -> bytes | None:
    data = ((params.get("Content") or {}).get("Raw") or {}).get("Data")
    return base64.b64decode(data) if data else None


def _recipients(params: dict[str, Any]) -> list[str]:
    destination = params.get("Destination") or {}
    return [
        *destination.get("ToAddresses", []),
        *destination.get("CcAddresses", []),
        *destination.get("BccAddresses", []),
    ]


def _eventbridge_buses(destinations: dict[str, dict[str, Any]]) -> list[tuple[str, set[str]]]:
    found = []
    for destination in destinations.values():
        bus = (destination.get("EventBridgeDestination") or {}).get("EventBusArn")
        if bus and destination.get("Enabled", False):
            found.append((str(bus), {str(t).lower() for t in destination.get("MatchingEventTypes") or []}))
    return found


def _events_backend(response: Any) -> Any:
    from moto.events.models import events_backends

    return events_backends[response.current_account][response.region]


def _entry(bus_arn: str, detail_type: str, detail: dict[str, Any], set_name: str) -> dict[str, Any]:
    arn = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/{set_name}"
    return {
        "Source": "aws.ses",
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": bus_arn,
        "Resources": [arn],
    }


# ---------------------------------------------------------------- the records (pure)


def outcome(address: str) -> list[str]:
    """What happens to a mail to `address` after SES accepts it: event types in order."""
    _, email_address = parseaddr(address)
    local, _, domain = email_address.lower().rpartition("@")
    if domain == SIMULATOR_DOMAIN:
        box = local.split("+", 1)[0]
        return {"bounce": ["bounce"], "complaint": ["delivery", "complaint"], "suppressionlist": ["bounce"]}.get(
            box, ["delivery"]
        )
    if domain.endswith(".invalid"):
        return []
    return ["delivery"]


def ses_records(
    ses_id: str,
    sent_at: datetime,
    source: str,
    destination: list[str],
    raw: bytes,
    set_name: str,
    tags: dict[str, str],
) -> list[tuple[str, str, dict[str, Any]]]:
    """(event type, detail-type, detail) of every event SES publishes about one mail, as SES shapes them."""
    mail = _mail_object(ses_id, sent_at, source, destination, raw, set_name, tags)
    records: list[tuple[str, str, dict[str, Any]]] = [
        ("send", "Email Sent", {"eventType": "Send", "mail": mail, "send": {}})
    ]
    later = sent_at + timedelta(milliseconds=250)
    for recipient in destination:
        for kind in outcome(recipient):
            detail_type, event_type = DETAIL_TYPES[kind]
            section = _section(kind, recipient, later, sent_at)
            records.append((kind, detail_type, {"eventType": event_type, "mail": mail, kind: section}))
    return records


def _section(kind: str, recipient: str, at: datetime, sent_at: datetime) -> dict[str, Any]:
    _, address = parseaddr(recipient)
    stamp = _stamp(at)
    feedback_id = f"{uuid.uuid4().hex}-000000"
    if kind == "delivery":
        return {
            "timestamp": stamp,
            "processingTimeMillis": int((at - sent_at).total_seconds() * 1000),
            "recipients": [address],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    if kind == "complaint":
        return {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": stamp,
            "feedbackId": feedback_id,
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": stamp,
        }
    suppressed = address.lower().startswith("suppressionlist")
    return {
        "bounceType": "Permanent",
        "bounceSubType": "OnAccountSuppressionList" if suppressed else "General",
        "bouncedRecipients": [
            {
                "emailAddress": address,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "Amazon SES did not send the message to this address because it is on the "
                "suppression list for your account."
                if suppressed
                else "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": stamp,
        "feedbackId": feedback_id,
        "reportingMTA": "dns; amazonses.com",
    }


def _mail_object(
    ses_id: str,
    sent_at: datetime,
    source: str,
    destination: list[str],
    raw: bytes,
    set_name: str,
    tags: dict[str, str],
) -> dict[str, Any]:
    headers = BytesHeaderParser().parsebytes(raw)
    from_domain = parseaddr(source)[1].rpartition("@")[2]
    common: dict[str, Any] = {
        "from": [str(v) for v in headers.get_all("From", [])],
        "to": [str(v) for v in headers.get_all("To", [])],
        "messageId": ses_id,
        "subject": str(headers.get("Subject", "")),
    }
    if headers.get("Date"):
        common["date"] = str(headers["Date"])
    for name, key in (("Cc", "cc"), ("Reply-To", "replyTo")):
        if headers.get(name):
            common[key] = [formatted for _, formatted in getaddresses([str(headers[name])])]
    return {
        "timestamp": _stamp(sent_at),
        "source": source,
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{from_domain}",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": ses_id,
        "destination": [parseaddr(d)[1] for d in destination],
        "headersTruncated": False,
        "headers": [{"name": name, "value": str(value)} for name, value in headers.items()],
        "commonHeaders": common,
        "tags": {
            "ses:configuration-set": [set_name],
            "ses:source-ip": ["127.0.0.1"],
            "ses:from-domain": [from_domain],
            "ses:caller-identity": ["kontakt-local"],
            **{name: [value] for name, value in tags.items()},
        },
    }


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- the mail folder


def mail_file_name(sent_at: datetime, ses_id: str) -> str:
    """`<UTC time>-<SES message id>.eml`: sorts by time, unique per mail."""
    return f"{sent_at.strftime('%Y%m%dT%H%M%S.%f')}-{_UNSAFE.sub('_', ses_id)}.eml"


def _write_mail(folder: Path, sent_at: datetime, ses_id: str, raw: bytes) -> None:
    try:
        (folder / mail_file_name(sent_at, ses_id)).write_bytes(raw.replace(b"\r\n", b"\n"))
    except OSError as error:  # a full disk must not fail the send
        log.warning("cannot write the sent mail to %s: %s", folder, error)
