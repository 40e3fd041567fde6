"""Consumes the events routed to the webhooks service (template.yaml's WebhooksEventsRule)."""

from services.webhooks.settings import WebhooksSettings
from services.webhooks.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "webhooks"

handler = consumer_entry(WebhooksSettings, CONSUMER, handlers)
