"""`kontakt dev`'s inbound mail: a real SMTP server on loopback standing in for SES's receipt rules.

For each `AWS::SES::ReceiptRule` of template.yaml with an S3 action (the scanner's), the listener
does what the rule does in AWS: it stores every message it accepts in the action's bucket under
the action's `ObjectKeyPrefix` (`<prefix><id>`), so the bucket's notification queues it and the
same function processes it as in AWS. The runtime skips the receipt types themselves
(infra/template.py SKIPPED_TYPES).

It accepts every recipient (as the rule does every address of its domain): the scanner drops mail
that no active mailbox's address names. The envelope's RCPT TO addresses ride along as the
object's `recipients` metadata (`x-amz-meta-recipients`), which the scanner reads before the
headers: a message whose only trace of the mailbox is the envelope (a Bcc) still finds it.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from infra.template import Stack, TranslatedTemplate
from shared.ids import new_id

log = logging.getLogger("kontakt.smtp")

HOST = "127.0.0.1"
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # over the scanner's 36 MB of raw source: it refuses the rest itself
METADATA_BYTES = 1800  # S3 allows 2 KB of user metadata in all


@dataclass(frozen=True)
class Target:
    """Where a receipt rule's S3 action stores mail."""

    bucket: str
    prefix: str


def targets(template: TranslatedTemplate, stack: Stack) -> list[Target]:
    """The S3 actions of the template's receipt rules, their buckets resolved to the local names."""
    found = []
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::SES::ReceiptRule":
            continue
        for action in (resource.get("Properties") or {}).get("Rule", {}).get("Actions", []):
            s3 = action.get("S3Action")
            if not s3:
                continue
            name = s3.get("BucketName")
            if isinstance(name, dict) and "Ref" in name:
                bucket = stack.buckets.get(name["Ref"])
                if bucket is None:
                    continue
                name = bucket.name
            found.append(Target(bucket=str(name), prefix=str(s3.get("ObjectKeyPrefix") or "")))
    return found


class _Handler:
    def __init__(self, s3: Any, destinations: list[Target]) -> None:
        self.s3 = s3
        self.destinations = destinations

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        recipients = ",".join(str(r) for r in envelope.rcpt_tos)[:METADATA_BYTES]
        metadata = {"recipients": "".join(c for c in recipients if 32 < ord(c) < 127)}
        try:
            for target in self.destinations:
                key = f"{target.prefix}{new_id()}"
                self.s3.put_object(Bucket=target.bucket, Key=key, Body=data, Metadata=metadata)
                log.info("inbound mail stored: s3://%s/%s (%d bytes)", target.bucket, key, len(data))
        except Exception:  # the sender sees a temporary failure and may try again
            log.exception("inbound mail not stored")
            return "451 Requested action aborted: the message could not be stored"
        return "250 Message accepted for delivery"


def _available(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpListener:
    """An SMTP server on loopback that stores what it accepts where the template's receipt rules would."""

    def __init__(self, s3: Any, destinations: list[Target], port: int = 0) -> None:
        """`port` 0: a free one (aiosmtpd's controller checks its server by connecting to the port it
        was given, so the port is chosen here rather than by the kernel at bind). A port in use (a
        second `kontakt dev`, a test run beside one) gives way to a free one: the banner names it."""
        self.destinations = destinations
        self.port = port if port and _available(port) else _free_port()
        if port and self.port != port:
            log.info("SMTP port %d is in use: inbound mail on %d", port, self.port)
        self.controller = Controller(
            _Handler(s3, destinations), hostname=HOST, port=self.port, data_size_limit=MAX_MESSAGE_BYTES
        )

    def start(self) -> SmtpListener:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
