"""What the activities service does with the events it consumes and the jobs it runs.

Feature modules register here at import (`@subscribe("event.type")`, `@job("name")`); the
registry imports every feature module named in features.py the first time it is read
(`handlers()`, `run_job()`), so `handlers/consumer.py` and `handlers/jobs.py` only route.
"""

from services.activities.features import FEATURES
from shared.subscriptions import Job, Subscriptions

REGISTRY = Subscriptions(FEATURES)
subscribe = REGISTRY.subscribe
job = REGISTRY.job
handlers = REGISTRY.handlers
run_job = REGISTRY.run_job

__all__ = ["Job", "handlers", "job", "run_job", "subscribe"]
