"""Powertools logger, tracer and metrics, created once per process."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

# template.yaml's Globals set POWERTOOLS_METRICS_NAMESPACE; a process that imports this module
# before its environment is complete (a test run importing handlers in-process) still gets one,
# instead of failing its first flush with "Must contain a metric namespace".
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Kontakt"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
