"""What the email e2e tests share: asking for a mail the way another service does, and reading the
mails moto's SES recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import requests

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from shared.store import tenant_key
from tests.e2e.helpers import put_envelope, put_stored, stored_data, walk

TABLE = "kontakt-dev-email"  # the email table of the e2e tests' runtime (stage dev)


def send_requested(tenant: str, requester: str = "scanner", **data: Any) -> dict[str, Any]:
    """An `email.send_requested` envelope from `requester`; `data` fills the request (a new request id)."""
    return {
        "id": new_id(),
        "type": "email.send_requested",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "service", "id": requester},
        "correlation_id": new_id(),
        "data": {"request_id": new_id(), "requester": requester, **data},
    }


def request_mail(stack: LocalRuntime, tenant: str, requester: str = "scanner", **data: Any) -> str:
    """Put a send request on the bus; the id of the mail it makes."""
    envelope = send_requested(tenant, requester, **data)
    put_envelope(stack, envelope)
    return derived_id(requester, envelope["data"]["request_id"])


def ses_raw_messages(stack: LocalRuntime) -> list[dict[str, Any]]:
    """Every raw mail moto's SES recorded, as its state dump holds them (`raw_data`, `id` ...)."""
    for _ in range(10):  # moto's dump fails now and then while its streams change under it: read again
        response = requests.get(f"{stack.aws_endpoint}/moto-api/data.json", timeout=30)
        if response.ok:
            break
        time.sleep(0.3)
    response.raise_for_status()
    raw: list[dict[str, Any]] = response.json().get("ses", {}).get("RawMessage", [])
    return raw


def sent_mails(stack: LocalRuntime) -> dict[str, list[EmailMessage]]:
    """Every raw mail moto's SES recorded, by our message id (from the `<id@kontakt>` Message-ID)."""
    found: dict[str, list[EmailMessage]] = {}
    for raw in ses_raw_messages(stack):
        mail: EmailMessage = message_from_string(raw["raw_data"], policy=policy.default)  # type: ignore[assignment]
        message_id = str(mail["Message-ID"] or "").strip("<>").removesuffix("@kontakt")
        found.setdefault(message_id, []).append(mail)
    return found


def raw_sent(stack: LocalRuntime, message_id: str) -> list[bytes]:
    """The raw bytes of every mail SES took for our message (SendRawEmail's data, as moto keeps it)."""
    header = f"Message-ID: <{message_id}@kontakt>".encode()
    mails = [str(raw["raw_data"]).encode() for raw in ses_raw_messages(stack)]
    return [mail for mail in mails if header in mail.split(b"\n\n", 1)[0]]


def link_keys(stack: LocalRuntime) -> list[bytes]:
    """The keys the stack signs public links with (its email-link-key secret), the signing one first."""
    secrets = stack.client("secretsmanager")
    name = next(s["Name"] for s in secrets.list_secrets()["SecretList"] if s["Name"].endswith("-email-link-key"))
    return [str(secrets.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]).encode()]


def list_mail(
    stack: LocalRuntime,
    tenant: str,
    to: str,
    list_type_id: str,
    contact_id: str | None = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> str:
    """A sent list mail's message record, as the sender leaves it; its id (what its links name)."""
    message_id = new_id()
    data = {
        "id": message_id,
        "to": to.strip().lower(),
        "subject": "News",
        "list_type_id": list_type_id,
        "contact_id": contact_id,
        "status": "sent",
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        **fields,
    }
    put_record(stack, tenant, "message", message_id, {k: v for k, v in data.items() if v is not None})
    return message_id


def unsubscribe_link_token(stack: LocalRuntime, tenant: str, to: str, list_type_id: str, **fields: Any) -> str:
    """The opaque unsubscribe token of a list mail to `to` (its message record made first), as its mail carries it."""
    from services.email.unsubscribe import unsubscribe_token

    return unsubscribe_token(tenant, list_mail(stack, tenant, to, list_type_id, **fields), keys=link_keys(stack))


def put_record(stack: LocalRuntime, tenant: str, kind: str, record_id: str, data: dict[str, Any]) -> None:
    """An email-table record written as the service writes it (a suppression or an opt-out, say)."""
    put_stored(stack, TABLE, tenant, kind, record_id, data)


def stored_message(stack: LocalRuntime, tenant: str, message_id: str, table: str = TABLE) -> dict[str, Any]:
    """A message record's fields as stored (status, delivery, attempts ...); {} while there is none."""
    return stored_data(stack, table, tenant, "message", message_id)


def opted_out(client: Any, list_type_id: str) -> list[str]:
    """The addresses opted out of a list type, as the API lists them."""
    return [o["address"] for o in walk(client, f"/email/list-types/{list_type_id}/opt-outs", limit=50)]


def campaign_counts(stack: LocalRuntime, tenant: str, campaign_id: str) -> dict[str, int]:
    """A campaign's counters as stored, summed over their shards."""
    items = stack.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": tenant_key(tenant, "CAMPAIGN", campaign_id, "STATS")}},
    )["Items"]
    totals: dict[str, int] = {}
    for item in items:
        for name, value in item.items():
            if "N" in value and name != "version":
                totals[name] = totals.get(name, 0) + int(value["N"])
    return totals
