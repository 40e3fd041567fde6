"""AWS's size limits, enforced by the local runtime where moto accepts more.

moto takes a PutEvents call, an SQS message, a DynamoDB item or transaction, a mail of any size (or
counts them otherwise than AWS does), so code that passes on the laptop could fail in AWS. The
emulator refuses, before anything is written or sent, what AWS refuses, with AWS's error code:

- EventBridge PutEvents: the entries of one call at most 1 MB in total, an entry sized as
  "Calculating PutEvents event entry size" says (Time 14 bytes; Source, DetailType, Detail and each
  Resources item their UTF-8 bytes): ValidationException for the whole call.
- SQS SendMessage: a message (its body and each message attribute's name, type and value, in bytes)
  at most the queue's MaximumMessageSize (1 MiB by default): InvalidParameterValue. SendMessageBatch:
  the messages together at most 1 MiB: BatchRequestTooLong (moto counts characters of bodies only).
- DynamoDB: an item at most 400 KB counted as "DynamoDB item sizes and formats" says (names and
  values; numbers by significant digits; lists and maps 3 bytes plus 1 a member); PutItem
  "Item size has exceeded the maximum allowed size", UpdateItem (the item as it would be after the
  update) "Item size to update has exceeded the maximum allowed size", both ValidationException; in
  TransactWriteItems a TransactionCanceledException with a ValidationError reason. A transaction:
  at most 100 actions (moto_patches) and 4 MB of items; a BatchWriteItem at most 25 requests and
  every item within 400 KB, checked before any is written (moto wrote the ones before).
- SES v2 SendEmail: a message at most 40 MB (41,943,040 bytes of MIME, attachments base64-encoded):
  BadRequestException.
- An event EventBridge puts on a queue is its JSON in UTF-8; one larger than the queue takes is a
  failed delivery (logged), not a failed PutEvents.
- Lambda's 6 MB response (6,291,556 bytes) is enforced by the function runner (infra/functions.py).

docs/decisions.md lists each limit with its AWS source.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("kontakt.emulator.limits")

PUT_EVENTS_MAX_BYTES = 1024 * 1024  # "the total entry size must be less than 1MB" (PutEvents)
SQS_BATCH_MAX_BYTES = 1024 * 1024  # SendMessageBatch: all messages together
DYNAMODB_ITEM_MAX_BYTES = 400 * 1024
TRANSACTION_MAX_BYTES = 4 * 1024 * 1024
BATCH_WRITE_MAX_REQUESTS = 25
SES_V2_MESSAGE_MAX_BYTES = 40 * 1024 * 1024
LAMBDA_RESPONSE_MAX_BYTES = 6_291_556  # the figure Lambda's own error names
LAMBDA_RESPONSE_TOO_LARGE = {
    "errorType": "Function.ResponseSizeTooLarge",
    "errorMessage": f"Response payload size exceeded maximum allowed payload size ({LAMBDA_RESPONSE_MAX_BYTES} bytes).",
}

ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
ITEM_TO_UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


# ---------------------------------------------------------------- sizes, as AWS counts them


def put_events_entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it (kept apart from the publisher's, which it checks)."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if value is not None:
            size += len(str(value).encode("utf-8"))
    for resource in entry.get("Resources") or []:
        if resource is not None:
            size += len(str(resource).encode("utf-8"))
    return size


def sqs_message_size(body: str, attributes: dict[str, Any] | None) -> int:
    """A message's size as SQS counts it: the body's UTF-8 bytes, and each message attribute's name,
    data type and value (a binary value's bytes); message system attributes do not count."""
    size = len(body.encode("utf-8"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8")) + len(str(attribute.get("DataType", "")).encode("utf-8"))
        if attribute.get("StringValue") is not None:
            size += len(str(attribute["StringValue"]).encode("utf-8"))
        if attribute.get("BinaryValue") is not None:
            size += _binary_length(attribute["BinaryValue"])
    return size


def _binary_length(value: Any) -> int:
    """Raw bytes of a binary value, which arrives base64-encoded in JSON (bytes when already decoded)."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    text = str(value).strip()
    return len(text) * 3 // 4 - text[-2:].count("=")


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    mantissa = str(text).strip().lstrip("+-").lower().split("e", 1)[0]
    digits = mantissa.replace(".", "").strip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def value_size(value: Any) -> int:
    """An attribute value's size without its name: a typed dict ({"S": ...}) or moto's DynamoType."""
    kind, data = (value.type, value.value) if hasattr(value, "type") else next(iter(value.items()))
    if kind == "S":
        return len(str(data).encode("utf-8"))
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return _binary_length(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in data)
    if kind == "NS":
        return sum(_number_size(v) for v in data)
    if kind == "BS":
        return sum(_binary_length(v) for v in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(str(k).encode("utf-8")) + value_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(attributes: dict[str, Any]) -> int:
    """An item's size ("DynamoDB item sizes and formats"): each attribute's name and value."""
    return sum(len(str(name).encode("utf-8")) + value_size(value) for name, value in attributes.items())


# ---------------------------------------------------------------- EventBridge


def _put_events_within_limits(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> Any:
        from moto.events.exceptions import ValidationException

        if len(events) <= 10 and sum(put_events_entry_size(e) for e in events) > PUT_EVENTS_MAX_BYTES:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        return original(self, events)  # moto checks the count (at most 10 entries) itself

    return put_events


# ---------------------------------------------------------------- SQS


def _too_long(limit: int) -> Exception:
    from moto.sqs.exceptions import InvalidParameterValue

    reason = f"Message must be shorter than {limit} bytes."
    return InvalidParameterValue(f"One or more parameters are invalid. Reason: {reason}")


def _sized_message(original: Callable[..., Any]) -> Callable[..., Any]:
    """On SendMessage requests only: moto's EventBridge and S3 deliver through the backend's
    send_message, and a delivery over the limit is the target's failure, not the sender's."""

    @functools.wraps(original)
    def send_message(self: Any) -> Any:
        body = self._get_param("MessageBody") or ""
        attributes = self._get_param("MessageAttributes", {})
        limit = int(self.sqs_backend.get_queue(self._get_queue_name()).maximum_message_size)
        if sqs_message_size(str(body), attributes) > limit:
            raise _too_long(limit)
        return original(self)

    return send_message


_delivering = threading.local()  # set while moto's EventBridge puts an event on a queue (this thread)


def _delivering_events(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_to_queue(self: Any, *args: Any, **kwargs: Any) -> Any:
        _delivering.active = True
        try:
            return original(self, *args, **kwargs)
        finally:
            _delivering.active = False

    return send_to_queue


def _delivered_as_aws_does(original: Callable[..., Any]) -> Callable[..., Any]:
    """An event EventBridge puts on a queue is its JSON in UTF-8 (moto wrote non-ASCII as \\u escapes,
    up to 6 bytes a character). One larger than the queue takes (an entry near 1 MB plus the event's
    own fields) is a failed delivery in AWS (retried, then the rule's dead-letter queue), not a failed
    PutEvents: the emulator logs it and delivers nothing."""

    @functools.wraps(original)
    def send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        if not getattr(_delivering, "active", False):
            return original(self, queue_name, message_body, *args, **kwargs)
        import json

        body = json.dumps(json.loads(message_body), ensure_ascii=False)
        limit = int(self.get_queue(queue_name).maximum_message_size)
        if len(body.encode("utf-8")) > limit:
            log.warning("an event was not delivered to queue %s: over its %d bytes", queue_name, limit)
            return None
        return original(self, queue_name, body, *args, **kwargs)

    return send_message


def _sized_batch(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        from moto.sqs.exceptions import BatchRequestTooLong

        sizes = [sqs_message_size(e.get("MessageBody") or "", e.get("MessageAttributes")) for e in entries.values()]
        if sum(sizes) > SQS_BATCH_MAX_BYTES:
            raise BatchRequestTooLong(sum(sizes))
        limit = int(self.get_queue(queue_name).maximum_message_size)
        if any(size > limit for size in sizes):  # before any is sent, as moto validates bodies
            raise _too_long(limit)
        return original(self, queue_name, entries)

    return send_message_batch


# ---------------------------------------------------------------- DynamoDB


def _validation(message: str) -> Exception:
    from moto.dynamodb.exceptions import MockValidationException

    return MockValidationException(message)


def _unchecked_set(self: dict[str, Any], key: str, value: Any) -> None:
    dict.__setitem__(self, key, value)


def _sized_put(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if item_size(item_attrs) > DYNAMODB_ITEM_MAX_BYTES:
            raise _validation(ITEM_TOO_LARGE)
        return original(self, item_attrs, *args, **kwargs)

    return put_item


def updated_size(
    backend: Any,
    table_name: str,
    key: dict[str, Any],
    expression: str,
    names: Any,
    values: Any,
    precise: bool = False,
) -> tuple[int, int] | None:
    """The item's size after the update, and how much more it may be: (size, 0) when the update ran
    on a copy, (the size before, the most it can add) when that stays within 400 KB and `precise` is
    not asked. None if moto cannot tell, which then answers the update itself (its validation
    errors, conditions ...)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    try:
        table = backend.get_table(table_name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        current = table.get_item(hash_key, range_key)
        size = item_size(current.attrs) if current is not None else item_size(key)
        slack = _growth_bound(size, expression, names, values)
        if not precise and size + slack <= DYNAMODB_ITEM_MAX_BYTES:
            return size, slack  # within the limit whatever the update does: not run twice
        item = copy.deepcopy(current) if current is not None else Item(hash_key, range_key, dict(key))
        ast = UpdateExpressionValidator(
            UpdateExpressionParser.make(expression),
            expression_attribute_names=names,
            expression_attribute_values=values,
            item=item,
            table=table,
        ).validate()
        ast.normalize()
        UpdateExpressionExecutor(ast, item, names).execute()
    except Exception:
        return None
    return item_size(item.attrs), 0


def _growth_bound(size: int, expression: str, names: Any, values: Any) -> int:
    """At most what an update can add to an item of `size`: each action (fewer than its commas and
    clauses) writes one value no larger than two operands (list_append), each no larger than the
    item or every value given, under a name no longer than the expression and every name given."""
    given = sum(value_size(v) for v in (values or {}).values())
    named = sum(len(str(n).encode("utf-8")) for n in (names or {}).values())
    actions = expression.count(",") + 4  # SET, REMOVE, ADD, DELETE
    return actions * (2 * (size + given) + len(expression.encode("utf-8")) + named + 4)


_checked = threading.local()  # set while a transaction writes what it checked already (this thread)


def _sized_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_item(
        self: Any,
        table_name: str,
        key: dict[str, Any],
        update_expression: str,
        expression_attribute_names: Any,
        expression_attribute_values: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if update_expression and not getattr(_checked, "active", False):
            found = updated_size(
                self, table_name, key, update_expression, expression_attribute_names, expression_attribute_values
            )
            if found is not None and found[0] > DYNAMODB_ITEM_MAX_BYTES:
                raise _validation(ITEM_TO_UPDATE_TOO_LARGE)
        return original(
            self,
            table_name,
            key,
            update_expression,
            expression_attribute_names,
            expression_attribute_values,
            *args,
            **kwargs,
        )

    return update_item


def transaction_sizes(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, str] | None]:
    """Per action, the ValidationError reason of an item over 400 KB (None: within); raises the
    ValidationException of a transaction whose items pass 4 MB together. Before any condition or write."""

    def sized(op_type: str, op: dict[str, Any], precise: bool) -> tuple[int, int, str]:
        key = op.get("Key") or {}
        if op_type == "Put":
            return item_size(op.get("Item") or {}), 0, ITEM_TOO_LARGE
        if op_type == "Update":
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            expression = op.get("UpdateExpression", "")
            found = updated_size(backend, op.get("TableName", ""), key, expression, names, values, precise)
            size, slack = found if found is not None else (item_size(key), 0)
            return size, slack, ITEM_TO_UPDATE_TOO_LARGE
        return item_size(key), 0, ITEM_TOO_LARGE  # ConditionCheck, Delete: the key

    actions = [next(iter(transact_item.items())) for transact_item in transact_items]
    sizes = [sized(op_type, op, precise=False) for op_type, op in actions]
    if sum(size + slack for size, slack, _ in sizes) > TRANSACTION_MAX_BYTES:  # near 4 MB: the updates run
        sizes = [sized(op_type, op, precise=True) for op_type, op in actions]
    if sum(size for size, _, _ in sizes) > TRANSACTION_MAX_BYTES:
        raise _validation("Transaction request cannot be larger than 4 MB")
    return [("ValidationError", message) if size > DYNAMODB_ITEM_MAX_BYTES else None for size, _, message in sizes]


@contextmanager
def checked_writes() -> Iterator[None]:
    """Writes of a transaction whose sizes `transaction_sizes` checked: not sized again."""
    _checked.active = True
    try:
        yield
    finally:
        _checked.active = False


def _batch_write_within_limits(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def batch_write_item(self: Any) -> Any:
        tables = self.body.get("RequestItems") or {}
        if any(len(requests) > BATCH_WRITE_MAX_REQUESTS for requests in tables.values()):
            raise _validation(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value "
                "must satisfy constraint: [Member must have length less than or equal to 25, Member must have "
                "length greater than or equal to 1]"
            )
        if sum(len(requests) for requests in tables.values()) > BATCH_WRITE_MAX_REQUESTS:
            raise _validation("Too many items requested for the BatchWriteItem call")
        for requests in tables.values():
            for request in requests:
                item = (request.get("PutRequest") or {}).get("Item")
                if item is not None and item_size(item) > DYNAMODB_ITEM_MAX_BYTES:
                    raise _validation(ITEM_TOO_LARGE)
        return original(self)

    return batch_write_item


# ---------------------------------------------------------------- SES v2


def _sized_mail(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_email(self: Any) -> Any:
        import json

        from moto.core.exceptions import JsonRESTError

        content = json.loads(self.body or "{}").get("Content") or {}
        size = _binary_length((content.get("Raw") or {}).get("Data") or "")
        if size > SES_V2_MESSAGE_MAX_BYTES:
            error = JsonRESTError(
                "BadRequestException", f"Message length is more than {SES_V2_MESSAGE_MAX_BYTES} bytes long: '{size}'."
            )
            error.code = 400
            raise error
        return original(self)

    return send_email


def apply() -> None:
    """In the emulator process, after moto_patches' and ses_emulation's own patches."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.models import EventsBackend, Rule
    from moto.sesv2.responses import SESV2Response
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    EventsBackend.put_events = _put_events_within_limits(EventsBackend.put_events)  # type: ignore[method-assign]
    Rule._send_to_sqs_queue = _delivering_events(Rule._send_to_sqs_queue)  # type: ignore[method-assign]
    SQSBackend.send_message = _delivered_as_aws_does(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSResponse.send_message = _sized_message(SQSResponse.send_message)  # type: ignore[method-assign]
    SQSBackend.send_message_batch = _sized_batch(SQSBackend.send_message_batch)  # type: ignore[method-assign]
    # moto's own item check (every attribute set re-adds the item: O(n²), at 405,000 of its own sizes)
    LimitedSizeDict.__setitem__ = _unchecked_set  # type: ignore[method-assign,assignment]
    Table.put_item = _sized_put(Table.put_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _sized_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    DynamoHandler.batch_write_item = _batch_write_within_limits(DynamoHandler.batch_write_item)  # type: ignore[method-assign]
    SESV2Response.send_email = _sized_mail(SESV2Response.send_email)  # type: ignore[method-assign]
