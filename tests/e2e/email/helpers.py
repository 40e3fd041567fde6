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
from tests.e2e.helpers import put_envelope

TABLE = "kontakt-dev-email"


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


def sent_mails(stack: LocalRuntime) -> dict[str, list[EmailMessage]]:
    """Every raw mail moto's SES recorded, by our message id (from the `<id@kontakt>` Message-ID)."""
    for _ in range(10):  # moto's dump fails now and then while its streams change under it: read again
        response = requests.get(f"{stack.aws_endpoint}/moto-api/data.json", timeout=30)
        if response.ok:
            break
        time.sleep(0.3)
    response.raise_for_status()
    found: dict[str, list[EmailMessage]] = {}
    for raw in response.json().get("ses", {}).get("RawMessage", []):
        mail: EmailMessage = message_from_string(raw["raw_data"], policy=policy.default)  # type: ignore[assignment]
        message_id = str(mail["Message-ID"] or "").strip("<>").removesuffix("@kontakt")
        found.setdefault(message_id, []).append(mail)
    return found


def put_record(stack: LocalRuntime, tenant: str, kind: str, record_id: str, data: dict[str, str]) -> None:
    """An email-table record written as the service writes it (a suppression or an opt-out, say)."""
    stack.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"T#{tenant}#{kind.upper()}#{record_id}"},
            "sk": {"S": kind.upper()},
            "kind": {"S": kind},
            "gsi1pk": {"S": f"T#{tenant}#{kind.upper()}"},
            "gsi1sk": {"S": record_id},
            "data": {"M": {k: {"S": v} for k, v in data.items()}},
            "version": {"N": "1"},
        },
    )
