"""The audit functions' settings, read once at cold start (template.yaml sets them)."""

from pydantic import Field

from shared.settings import TableSettings
from shared.store import MAX_TRANSACTION_ITEMS


class AuditSettings(TableSettings):
    # The items of one TransactWriteItems of the consumer (its records and the erasure checks they
    # need): DynamoDB takes 100; a crash test makes it small to crash between two of a batch.
    transaction_items: int = Field(MAX_TRANSACTION_ITEMS, ge=2, le=MAX_TRANSACTION_ITEMS)
