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

import os
import sys
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
