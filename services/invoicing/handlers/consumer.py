"""Consumes the events routed to the invoicing service (template.yaml's InvoicingEventsRule)."""

from services.invoicing.settings import InvoicingSettings
from services.invoicing.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "invoicing"

handler = consumer_entry(InvoicingSettings, CONSUMER, handlers)
