"""Consumes the events routed to the email service (send requests, directory changes)."""

from services.email.settings import EmailSettings
from services.email.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "email"

handler = consumer_entry(EmailSettings, CONSUMER, handlers)
