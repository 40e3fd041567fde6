"""What the email service does with the events it consumes and the jobs it runs; feature modules register at import."""

from shared.subscriptions import Subscriptions

REGISTRY = Subscriptions()
subscribe = REGISTRY.subscribe
job = REGISTRY.job
handlers = REGISTRY.handlers
run_job = REGISTRY.run_job
