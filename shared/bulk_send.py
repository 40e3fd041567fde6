"""What every bulk send (an email campaign, an SMS send to a target group) does with the messages
it stages from its audience's pages: write them in transactions of at most `CHUNK` with their
counters, and put them on the service's send queue ten per SendMessageBatch.

Writing before queueing, and queueing again what is still queued when a page comes again, means a
crash anywhere neither loses nor doubles a message: a message's id is derived from its send and
recipient, so a write that finds it written already is a message staged before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import cache
from typing import Any, TypeVar

from shared.store import ConcurrentUpdate

CHUNK = 80  # messages per staging transaction (+ at most 10 counter shards: under DynamoDB's 100)
SQS_BATCH = 10  # SendMessageBatch's most

T = TypeVar("T")


@cache
def _sqs() -> Any:
    import boto3  # here: a cold start that queues nothing does not load boto3

    return boto3.client("sqs")


def send_batches(queue_url: str, bodies: Sequence[str]) -> None:
    """Put the bodies on the queue, ten per SendMessageBatch; raises if any entry failed."""
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        result = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        if result.get("Failed"):
            raise RuntimeError(f"send queue refused {len(result['Failed'])} of {len(chunk)} messages")


def write_chunks(staged: Sequence[tuple[str, T]], commit: Callable[[Sequence[tuple[str, T]]], None]) -> set[str]:
    """Write `(message id, data)` pairs by `commit` (one transaction: the messages, each only if
    new, and their counters) `CHUNK` at a time; a chunk that meets a message written meanwhile (a
    concurrent or earlier delivery) is written one by one. Returns the ids that stand written."""
    written: set[str] = set()
    for start in range(0, len(staged), CHUNK):
        chunk = staged[start : start + CHUNK]
        try:
            commit(chunk)
            written |= {m for m, _ in chunk}
        except ConcurrentUpdate:  # some were written concurrently: write the others one by one
            for one in chunk:
                with suppress(ConcurrentUpdate):
                    commit([one])
                written.add(one[0])
    return written


def chunks(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
