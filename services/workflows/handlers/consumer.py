"""Consumes the events routed to the workflows service (template.yaml's WorkflowsEventsRule)."""

from services.workflows.settings import WorkflowsSettings
from services.workflows.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "workflows"

handler = consumer_entry(WorkflowsSettings, CONSUMER, handlers)
