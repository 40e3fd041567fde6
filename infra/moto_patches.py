"""Fixes applied to moto inside the emulator process only.

moto's TransactWriteItems backs up every table it touches with a deep copy before it writes, and
rolls back by putting the copy in place. That makes each transaction cost O(table size) (a write
on a 10,000-item table took seconds) and swaps the table object, with its stream shard, under
the stream's readers. The emulator serialises DynamoDB requests (see emulator.py), so a
transaction can instead check every condition first and write only when all hold: atomic,
O(items in the transaction), and the table stays the same object.

moto's SQS SendMessage reads `queue.attributes` to learn whether the queue dedupes by content, and
that property counts every message of the queue (ApproximateNumberOfMessages ...): a send cost
O(queue length), so a backlog (100,000 queued mails, SES events waiting for the feedback function)
made each further send slower. While a message is sent, the queue answers that one attribute only.

moto's EventBridge parses the same JSONPath expressions (a target's input paths) again for every
event it delivers, ~13 ms an event: parsed expressions are kept (they are immutable).

SES v2: see infra/ses_emulation.py.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_sending = threading.local()  # set while moto's SQS sends a message (this thread only)


def check_then_write(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        key = _key(self, op_type, op)
        target = (str(op["TableName"]), str(key))
        if target in seen:
            raise MultipleTransactionsException()
        seen.add(target)
        condition = op.get("ConditionExpression")
        current = self.get_item(op["TableName"], key)
        if condition is None:
            errors.append((None, None, None))
            continue
        expression = get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if expression.expr(current):
            errors.append((None, None, None))
        else:
            old = current.to_json()["Attributes"] if current and _wants_old(op) else None
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for item in transact_items:
        _write(self, *next(iter(item.items())))


def _wants_old(op: dict[str, Any]) -> bool:
    return op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"


def _key(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _write(backend: Any, op_type: str, op: dict[str, Any]) -> None:
    """Apply one operation whose condition was checked already (so none is passed again)."""
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], op["Key"])
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            op["Key"],
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _attributes_while_sending(original: property) -> property:
    def attributes(queue: Any) -> dict[str, Any]:
        if not getattr(_sending, "active", False):
            return original.fget(queue)  # type: ignore[misc,no-any-return]
        if not queue.fifo_queue:
            return {}
        value = getattr(queue, "content_based_deduplication", False)
        return {"ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value}

    return property(attributes)


def _sending_messages(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_sending, "active", False)
        _sending.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _sending.active = outer

    return wrapped


def _keep_parsed_json_paths() -> None:
    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):  # moto imports it from the module at each call
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)


def apply(mail_dir: str | None = None) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sqs.models import Queue, SQSBackend

    from infra import ses_emulation

    DynamoDBBackend.transact_write_items = check_then_write  # type: ignore[method-assign]
    _keep_parsed_json_paths()
    Queue.attributes = _attributes_while_sending(vars(Queue)["attributes"])  # type: ignore[method-assign,assignment]
    SQSBackend.send_message = _sending_messages(SQSBackend.send_message)  # type: ignore[method-assign]
    ses_emulation.configure(mail_dir)
    ses_emulation.apply()  # SES v2 event destinations and the folder of sent mails
