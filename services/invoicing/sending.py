"""Sending an issued invoice (issue 22, item 8): by email through the email service, or prepared for
e-invoicing.

`POST /invoices/{id}/send` once its documents are rendered (documents.py; 409 before):
- `email`: the PDF is copied into the email service's files bucket under `requests/<tenant>/invoicing/`
  (that service reads only there) and `email.send_requested` asks for one mail to `to` (default:
  the customer's billing email; 422 naming `to` without one), rendered from the tenant's invoice
  template (`email_template_id` in /invoicing/settings) with the invoice's fields, or a plain
  Finnish text when it has none. The request's id is `<invoice id>.<n>` (the n-th send): the email
  service sends one mail per id, however often the event is delivered.
- `einvoice`: the Finvoice message with the operator's SOAP envelope in front (`finvoice.
  einvoice_file`) is stored beside the documents (`einvoice_url`), for the operator integration
  to transmit (out of scope). Both parties' e-invoice addresses and operators are needed: a 422
  names the first one missing (`seller.einvoice_address`, `buyer.einvoice_operator` ...).
Each send is recorded on the invoice (`sent`: channel, to, at, request id) with its event, in one
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.invoicing import customers, documents, invoices
from services.invoicing.domain.invoices import Invoice
from services.invoicing.domain.money import fi_amount
from services.invoicing.service import INVOICES, Caller
from services.invoicing.settings import InvoicingSettings as FunctionSettings
from shared import clock, files
from shared.contracts.messaging import EmailAttachment, EmailSendRequested
from shared.errors import Conflict, ValidationFailed
from shared.permissions import Action
from shared.service import commit
from shared.settings import load
from shared.store import UnitOfWork
from shared.types import input_config

REQUESTER = "invoicing"


class InvoiceSend(BaseModel):
    model_config = input_config()

    channel: Literal["email", "einvoice"] = Field(description="By email (the PDF attached) or as an e-invoice")
    to: str | None = Field(
        None,
        max_length=320,
        pattern=r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+\.[^\s@<>,;\"]+$",
        description="email: the address (default: the customer's billing email)",
    )


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def _mail(caller: Caller, record: Any, to: str, request_id: str) -> Any:
    data = record.data
    settings = invoices.settings(caller)
    bucket = load(FunctionSettings)
    key = f"requests/{caller.tenant}/invoicing/{record.record_id}/{data['number']}.pdf"
    source = data["document_keys"]["pdf"]
    _s3().copy_object(
        Bucket=bucket.email_files_bucket,
        Key=key,
        CopySource={"Bucket": bucket.documents_bucket, "Key": source},
        ServerSideEncryption="AES256",
    )
    size = int(_s3().head_object(Bucket=bucket.documents_bucket, Key=source)["ContentLength"])
    seller = settings.seller.name if settings.seller else ""
    kind = "Hyvityslasku" if data["kind"] == "credit_note" else "Lasku"
    fields = {
        "number": data["number"],
        "kind": kind,
        "total": fi_amount(Decimal(str(data["totals"]["gross"]))),
        "currency": data["currency"],
        "due_date": data.get("due_date"),
        "reference": data.get("reference"),
        "seller": seller,
        "customer_name": data.get("customer_name"),
    }
    text = (
        f"Hei,\n\nliitteenä {kind.lower()} {data['number']} ({fields['total']} {data['currency']}), "
        f"eräpäivä {data.get('due_date')}, viite {data.get('reference')}.\n\nYstävällisin terveisin\n{seller}\n"
    )
    payload = EmailSendRequested(
        request_id=request_id,
        requester=REQUESTER,
        to=to,
        to_name=data.get("customer_name"),
        account_id=data["account_id"],
        template_id=settings.email_template_id,
        data={"invoice": fields},
        subject=None if settings.email_template_id else f"{kind} {data['number']} / {seller}"[:500],
        text=None if settings.email_template_id else text,
        attachments=[
            EmailAttachment(
                bucket=bucket.email_files_bucket,
                key=key,
                name=f"{kind.lower()}-{data['number']}.pdf",
                content_type="application/pdf",
                size=size,
            )
        ],
    )
    return caller.event("email.send_requested", payload)


def _einvoice(caller: Caller, record: Any, request_id: str) -> str:
    from services.invoicing.domain.finvoice import einvoice_file

    data = record.data
    document = documents.document_of(caller, data)
    try:
        content = einvoice_file(document, message_id=request_id, sent=datetime.now(UTC))
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise ValidationFailed.on(field, message or str(error), "required") from None
    key = f"{caller.tenant}/invoices/{record.record_id}/{data['number']}.einvoice.xml"
    files.put(load(FunctionSettings).documents_bucket, key, content, "application/xml")
    return key


def send_invoice(caller: Caller, invoice_id: str, body: InvoiceSend) -> Invoice:
    def run() -> Invoice:
        record = invoices.record_for(caller, invoice_id)
        caller.require(Action.CHANGE, INVOICES)
        data = record.data
        if data["status"] == "draft":
            raise Conflict("A draft is not sent: issue it first.")
        if not data.get("document_keys"):
            raise Conflict("Its documents are being made: send it again in a moment.")
        sent = list(data.get("sent") or [])
        request_id = f"{invoice_id}.{len(sent) + 1}"
        uow = UnitOfWork()
        entry: dict[str, Any] = {"channel": body.channel, "at": clock.now().isoformat(), "request_id": request_id}
        after = dict(data)
        if body.channel == "email":
            customer = caller.store.get(caller.tenant, customers.CUSTOMER, data["account_id"])
            to = body.to or (customer.data.get("email") if customer else None)
            if not to:
                raise ValidationFailed.on("to", "The customer has no billing email: name the address.", "required")
            uow.publish(_mail(caller, record, to, request_id))
            entry["to"] = to
        else:
            after["einvoice_key"] = _einvoice(caller, record, request_id)
        after["sent"] = [*sent, entry]
        after["updated_at"] = entry["at"]
        caller.store.replace(uow, record, after)
        uow.commit()
        return invoices.get_invoice(caller, invoice_id)

    return commit(run)
