"""SMS credits [002: activated per tenant and paid from an SMS credit balance; no balance, no send].

One credit pays one message part. The balance has three figures: `available` (what sends may
reserve), `reserved` (taken by accepted sends, not yet charged or refunded) and `charged` (paid
for parts the provider accepted, in total). The ledger lists every change: a top-up adds to
`available`; a reservation moves credits from `available` to `reserved` when a send is accepted;
a charge moves a message's parts from `reserved` to `charged` when the provider accepts it; a
refund moves them back to `available` when it fails or is not sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from shared.types import INPUT, OUTPUT

MAX_TOP_UP = 1_000_000

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class SmsEntryType(StrEnum):
    top_up = "top_up"
    reservation = "reservation"
    charge = "charge"
    refund = "refund"


class SmsTopUp(BaseModel):
    model_config = INPUT

    credits: int = Field(ge=1, le=MAX_TOP_UP, description="Credits added to the balance (one pays one message part)")
    note: Note = Field("", description="Why: an order or invoice number, for the ledger")


class SmsBalance(BaseModel):
    model_config = OUTPUT

    available: int = Field(description="Credits sends may reserve")
    reserved: int = Field(description="Credits held by accepted sends until their messages are charged or refunded")
    charged: int = Field(description="Credits paid for message parts the provider accepted, in total")


class SmsLedgerEntry(BaseModel):
    model_config = OUTPUT

    id: str
    type: SmsEntryType
    credits: int = Field(description="Credits the entry moved (always positive; `type` says where)")
    send_id: str | None = None
    message_id: str | None = None
    note: str = ""
    created_by: str
    created_at: datetime
