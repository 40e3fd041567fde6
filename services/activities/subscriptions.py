"""What the activities service does with the events it consumes and the jobs it runs.

Feature modules register here at import (`@subscribe("event.type")`, `@job("name")`);
`handlers/consumer.py` and `handlers/jobs.py` import every feature (features.py) and route.
"""

from shared.subscriptions import Job, Subscriptions

REGISTRY = Subscriptions()
subscribe = REGISTRY.subscribe
job = REGISTRY.job
handlers = REGISTRY.handlers
run_job = REGISTRY.run_job

__all__ = ["Job", "handlers", "job", "run_job", "subscribe"]
