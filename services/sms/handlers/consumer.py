"""Consumes the events routed to the sms service (template.yaml's SmsEventsRule)."""

from services.sms.settings import SmsSettings
from services.sms.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "sms"

handler = consumer_entry(SmsSettings, CONSUMER, handlers)
