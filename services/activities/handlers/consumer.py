"""Consumes the events routed to the activities service (directory changes, audience pages, messages sent)."""

from services.activities.settings import ActivitiesSettings
from services.activities.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "activities"

handler = consumer_entry(ActivitiesSettings, CONSUMER, handlers)
