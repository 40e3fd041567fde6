"""What the workflows service does with the events it consumes and the jobs it runs.

Feature modules register here at import; the registry imports every feature module named in
features.py the first time it is read (`handlers()`, `run_job()`).
"""

from services.workflows.features import FEATURES
from shared.subscriptions import Subscriptions

REGISTRY = Subscriptions(FEATURES)
subscribe = REGISTRY.subscribe
job = REGISTRY.job
handlers = REGISTRY.handlers
run_job = REGISTRY.run_job
