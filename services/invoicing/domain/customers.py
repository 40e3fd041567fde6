"""A customer as invoicing knows it: the directory account's billing projection (pure).

The directory announces accounts with `account.*` (`shared/contracts/directory.py`: the record as
its API shows it, with its `version`). Invoicing keeps what an invoice needs: name, business id,
billing address, e-invoice address and operator, payment terms; and one field of its own, whether
the customer's due periods go on one invoice (`consolidated`). Fields the directory does not
carry yet (e-invoice address and operator, payment terms, a billing address apart from the
visiting one) are read when an account has them: `billing_street` etc. before `street`. The
account's `owner` is kept too: a customer is shown by the directory's ownership rule (a user sees
the accounts they or their groups own), through the kernel's one check.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.types import OUTPUT, Owner, input_config

DEFAULT_PAYMENT_TERMS_DAYS = 14


class BillingAddress(BaseModel):
    model_config = OUTPUT

    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


class Customer(BaseModel):
    model_config = OUTPUT

    id: str = Field(description="The account's id")
    name: str
    business_id: str | None = None
    email: str | None = None
    billing_address: BillingAddress = Field(default_factory=BillingAddress)
    e_invoice_address: str | None = Field(None, description="The customer's e-invoice address (OVT or IBAN)")
    e_invoice_operator: str | None = Field(None, description="The customer's e-invoice operator (its BIC or code)")
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    consolidated: bool = Field(False, description="Every due period of the customer's orders on one invoice")
    deleted: bool = Field(False, description="The account was deleted in the directory: no new orders")
    owner: Owner | None = Field(None, description="The account's owner in the directory")
    version: int = 1


class CustomerUpdate(BaseModel):
    model_config = input_config()

    consolidated: bool = Field(description="Every due period of the customer's orders on one invoice")


def _text(record: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _owner(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and value.get("type") in ("user", "group") and value.get("id"):
        return {"type": str(value["type"]), "id": str(value["id"])}
    return None


def owner_of(data: dict[str, Any]) -> Owner | None:
    """The account's owner in the directory (whose sight the customer's data follows)."""
    owner = data.get("owner")
    return Owner.model_construct(type=owner["type"], id=owner["id"]) if owner else None


def projected(record: dict[str, Any]) -> dict[str, Any]:
    """The projection's fields from an account as `account.created`/`account.updated` carry it."""
    terms = record.get("payment_terms_days")
    return {
        "name": _text(record, "name") or "",
        "business_id": _text(record, "business_id"),
        "email": _text(record, "billing_email", "email"),
        "billing_address": {
            part: _text(record, f"billing_{part}", part) for part in ("street", "postal_code", "city", "country")
        },
        "e_invoice_address": _text(record, "e_invoice_address"),
        "e_invoice_operator": _text(record, "e_invoice_operator"),
        "payment_terms_days": terms if isinstance(terms, int) and 0 <= terms <= 365 else DEFAULT_PAYMENT_TERMS_DAYS,
        "owner": _owner(record.get("owner")),
        "source_version": int(record.get("version") or 0),
    }
