"""The webhooks functions' settings, read once at cold start (template.yaml sets them)."""

from shared.settings import TableSettings


class WebhooksSettings(TableSettings):
    # The queue of messages to deliver (`{tenant_id, message_id, attempt}`): the consumer's fan-out,
    # the deliverer's short retries and the sweep put them there.
    delivery_queue_url: str = ""
    slow_queue_url: str = ""  # the slow lane: messages to an endpoint whose last attempt timed out
