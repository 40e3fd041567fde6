"""Powertools logger, tracer and metrics, created once per process.

The tracer (the X-Ray SDK) is created by the first function entry that traces (`shared.entry`),
not at import: a function that does not trace (the Cognito triggers, the outbox publisher) never
loads the SDK. It patches botocore only, which records every AWS call (boto3's and pynamodb's,
both go through botocore): patching everything X-Ray supports would also import and patch
sqlite3 and, where installed, requests and httpx, which no function uses (docs/decisions.md,
"Cold start").
"""

import os
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# template.yaml's Globals set POWERTOOLS_METRICS_NAMESPACE; a process that imports this module
# before its environment is complete (a test run importing handlers in-process) still gets one,
# instead of failing its first flush with "Must contain a metric namespace".
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Kontakt"
PATCHED = ("botocore",)

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


@cache
def tracer() -> "Tracer":
    """The process's tracer (X-Ray), created on the first call: at import of a traced handler."""
    from aws_lambda_powertools import Tracer

    created = Tracer(auto_patch=False)
    created.patch(PATCHED)
    return created
