"""What the email service does with the events it consumes; feature modules register at import."""

from shared.subscriptions import Subscriptions

REGISTRY = Subscriptions()
subscribe = REGISTRY.subscribe
handlers = REGISTRY.handlers
