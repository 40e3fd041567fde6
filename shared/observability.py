"""Powertools logger, tracer and metrics, created once per process."""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# template.yaml's Globals set POWERTOOLS_METRICS_NAMESPACE; a process that imports this module
# before its environment is complete (a test run importing handlers in-process) still gets one,
# instead of failing its first flush with "Must contain a metric namespace".
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Kontakt"

# Most invocations add no application metric (an API call, a consumer's event): `log_metrics`
# then publishes nothing and warns each time, in CloudWatch Logs as on the console. Nothing is
# wrong then; the warning is silenced the way Powertools documents ("suppress the warning with
# warnings.filterwarnings"), and an invocation that adds metrics still publishes them.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
