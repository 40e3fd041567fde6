"""Faults the local runtime injects into a function's process, for crash tests.

A `Fault` kills the function's worker process (as a crashed or killed Lambda sandbox dies: no
exception, no cleanup, no reply) at one AWS call: before the request goes, or after a successful
response came back (the service did it, the function never learns). The runtime installs it in
the worker like IAM (infra/iam.py): a botocore event handler among the built-in ones, so every
client the function creates carries it. Nothing of this is in the functions' code.

A fault fires once: its `marker` file, created by the first process that fires it, keeps the
worker that the runtime starts after the crash (and every other worker of the function) from
firing it again; without a marker it fires on every matching call.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

EXIT_CODE = 70  # the worker's exit status when a fault kills it


@dataclass(frozen=True)
class Fault:
    """Kill the process `when` ("before" or "after") a call of `operation` of `service`.

    `service` and `operation` as botocore names its events: "sesv2" and "SendEmail",
    "dynamodb" and "PutItem". "after" fires only on a successful (2xx) response.
    """

    service: str
    operation: str
    when: Literal["before", "after"]
    marker: str = ""  # a file path; given, the fault fires once across the function's processes

    @property
    def fired(self) -> bool:
        """Whether a process fired it (known for a fault with a marker only)."""
        return bool(self.marker) and os.path.exists(self.marker)

    @property
    def event(self) -> str:
        return f"{self.when}-call.{self.service}.{self.operation}"

    def fire(self) -> None:
        if self.marker:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # fired already
        print(f"[fault] the process exits {self.when} {self.service}.{self.operation}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_CODE)

    def before_call(self, **_: Any) -> None:
        self.fire()

    def after_call(self, http_response: Any, **_: Any) -> None:
        if 200 <= int(getattr(http_response, "status_code", 0)) < 300:
            self.fire()


def inject(faults: tuple[Fault, ...]) -> None:
    """Install the faults in every botocore session this process creates from now on.

    Call it before any client exists (like `infra.iam.enforce`)."""
    if not faults:
        return
    from botocore import handlers

    for fault in faults:
        handler = fault.before_call if fault.when == "before" else fault.after_call
        handlers.BUILTIN_HANDLERS.append((fault.event, handler))


# ----------------------------------------------------------------------------- an unreliable cloud

UNRELIABLE = "KONTAKT_FAULTS"  # a share of the calls that fail, e.g. 0.05; off when unset or 0
UNRELIABLE_SEED = "KONTAKT_FAULTS_SEED"  # which calls fail (default 18)
UNRELIABLE_SERVICES = ("dynamodb", "sqs", "events", "sesv2", "ses")
# (status, error code) a faulted call answers with, as each protocol carries it: throttling and 5xx
_JSON_ERRORS = ((400, "ThrottlingException"), (500, "InternalServerError"), (503, "ServiceUnavailable"))
_OTHER_ERRORS = ((500, "InternalFailure"), (503, "ServiceUnavailable"))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class Unreliable:
    """Fail `rate` of a process's calls to these services before they go, as AWS answers a call
    it throttles or fails (the SDK retries them like any such answer; the function sees an
    error only when its retries run out). Which calls fail follows `seed` and the process."""

    rate: float
    seed: str
    failed: int = 0

    def __post_init__(self) -> None:
        import random

        self._random = random.Random(f"{self.seed}:{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', '')}:{os.getpid()}")

    def before_send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if self._random.random() >= self.rate:
            return None
        self.failed += 1
        json_protocol = "X-Amz-Target" in request.headers
        status, code = self._random.choice(_JSON_ERRORS if json_protocol else _OTHER_ERRORS)
        body = json.dumps({"__type": code, "message": "injected by KONTAKT_FAULTS"}).encode()
        kind = "application/x-amz-json-1.0" if json_protocol else "application/json"
        headers = {"Content-Type": kind, "x-amzn-ErrorType": code}
        return AWSResponse(request.url, status, headers, _Raw(body))


def inject_unreliable(environment: Mapping[str, str] | None = None) -> Unreliable | None:
    """`KONTAKT_FAULTS` (a share, 0..1) in the environment: install an `Unreliable` in every
    botocore session this process creates from now on (the local runtime's workers do)."""
    found: Mapping[str, str] = os.environ if environment is None else environment
    rate = float(found.get(UNRELIABLE) or 0)
    if rate <= 0:
        return None
    from botocore import handlers

    unreliable = Unreliable(rate, found.get(UNRELIABLE_SEED) or "18")
    for service in UNRELIABLE_SERVICES:
        handlers.BUILTIN_HANDLERS.append((f"before-send.{service}", unreliable.before_send))
    return unreliable
