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

moto's SQS ReceiveMessage checks each message it hands out against the queue's retention period
through `get_queue_attributes`, which builds `queue.attributes` (every count of the queue, O(queue
length)) three times a message: a receive cost O(backlog), so the feedback queue's backlog slowed
its own draining. The retention period is read from the queue itself.

moto's server finds the backend of every request by listing moto's package folder (a listdir and
~200 isdir calls) under the dispatcher's lock, which serialises every request of every service: the
answer for a host never changes, so it is kept.

moto's EventBridge parses the same JSONPath expressions (a target's input paths) again for every
event it delivers, ~13 ms an event: parsed expressions are kept (they are immutable).

moto's DynamoDB Query reads every item of the table and keeps those of the asked key, on the table
and on an index alike: each Query cost O(table size), so a campaign's cascade (feedback, the
activities consumer, the counters) slowed down as every mail added items. A Query now reads only
the items of its partition: the table's own partition, or for an index the items that ever had
that index key value (kept per table and key attribute, filled on first use and on every put and
update; moto's own loop then checks them as before, so a stale candidate is dropped, never shown).

AWS's size limits (PutEvents, SQS messages, DynamoDB items and transactions, SES mails): see
infra/aws_limits.py.

moto's S3 GetObject ignores the `response-content-type`, `response-content-disposition` ... query
parameters with which a presigned GET overrides the object's headers (AWS honours them on signed
requests): a download link then shows the object inline under its upload type. They are applied.

moto keeps every model object it ever made (every item, message, stream record and shard
iterator: a stream poll makes one) in a list per class, for its state dump (/moto-api/data.json):
the emulator's memory grew all session and each dump, which the tests read SES's sent mails from,
cost O(everything ever made). Only SES's objects are kept for the dump.

moto's responses find whether an action is a method of the service's response class by listing the
class's members (`inspect.getmembers`) on every request: ~5 % of the emulator's CPU in the e2e
tests. A class's methods do not change while the emulator runs: each class's list is kept.

The local runtime's SQS pumps long-poll for 20 s, as Lambda's pollers do (a receive per queue a
second was most of an idle stack's remaining CPU). A stopping runtime closes the receives
(`close_receives`, on its own route, infra/emulator.py): every long poll waiting then returns empty
at once, and so does every later one, so the pumps end without waiting out their polls and no
message is taken after they were told to stop.

SES v2: see infra/ses_emulation.py.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_closing = threading.Event()  # set by close_receives: SQS long polls end now and later ones at once
_sending = threading.local()  # set while moto's SQS sends a message (this thread only)
_narrowed = threading.local()  # the items a Query of this thread reads (its partition's), while it runs


def check_then_write(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    from infra.aws_limits import checked_writes, transaction_sizes

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    too_large = transaction_sizes(self, transact_items)  # 4 MB in all, 400 KB an item: before anything
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
    for index, reason in enumerate(too_large):
        if reason is not None and errors[index][0] is None:
            errors[index] = (*reason, None)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    with checked_writes():
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


def _valid_in_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    from moto.core.utils import unix_time

    period = int(self.get_queue(queue_name).message_retention_period)
    return bool(period + message.sent_timestamp / 1000 > unix_time())


def _backends_by_host(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        known: dict[str | None, Any] = self.__dict__.setdefault("_kontakt_backends", {})
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    return get_backend_for_host


def _keep_parsed_json_paths() -> None:
    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):  # moto imports it from the module at each call
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)


class _Partitions:
    """A table's items by the value of one key attribute: item keys that ever had that value."""

    def __init__(self, table: Any, attribute: str) -> None:
        self.attribute = attribute
        self.keys: dict[Any, dict[tuple[Any, Any], None]] = {}
        for item in _every_item(table):
            self.add(item)

    def add(self, item: Any) -> None:
        value = item.attrs.get(self.attribute)
        if value is not None:
            self.keys.setdefault(value, {})[(item.hash_key, item.range_key)] = None

    def items(self, table: Any, value: Any) -> list[Any]:
        """The current items holding `value`; keys whose item changed or went are forgotten."""
        found, gone = [], []
        for key in self.keys.get(value, {}):
            item = _current(table, *key)
            held = item.attrs.get(self.attribute) if item is not None else None
            if held is not None and held == value:
                found.append(item)
            else:
                gone.append(key)
        for key in gone:
            del self.keys[value][key]
        return found


def _current(table: Any, hash_key: Any, range_key: Any) -> Any:
    partition = table.items.get(hash_key)  # .get: table.items is a defaultdict
    if partition is None or range_key is None:
        return partition
    return partition.get(range_key)


def _every_item(table: Any) -> list[Any]:
    outer = getattr(_narrowed, "query", None)
    _narrowed.query = None
    try:
        return list(table.all_items())
    finally:
        _narrowed.query = outer


def _partitions(table: Any, attribute: str) -> _Partitions:
    known: dict[str, _Partitions] = table.__dict__.setdefault("_kontakt_partitions", {})
    if attribute not in known:
        known[attribute] = _Partitions(table, attribute)
    return known[attribute]


def _remember(table: Any, item: Any) -> None:
    for partitions in table.__dict__.get("_kontakt_partitions", {}).values():
        partitions.add(item)


def _query_items(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
    """The items a Query can match (a superset moto's loop filters); None: every item, as moto reads."""
    if not index_name:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    hash_keys = [k["AttributeName"] for k in table.get_index(index_name).schema if k["KeyType"] == "HASH"]
    values = dict(conditions or [])
    if len(hash_keys) != 1 or hash_keys[0] not in values:
        return None
    return _partitions(table, hash_keys[0]).items(table, values[hash_keys[0]])


def _partition_query(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        items = _query_items(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
        outer = getattr(_narrowed, "query", None)
        _narrowed.query = (self, items) if items is not None else None
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            _narrowed.query = outer

    return query


def _narrowed_items(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def all_items(self: Any) -> Any:
        narrowed = getattr(_narrowed, "query", None)
        if narrowed is not None and narrowed[0] is self:
            return list(narrowed[1])
        return original(self)

    return all_items


def _remembering_puts(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        _remember(self, item)
        return item

    return put_item


def _remembering_updates(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)  # changes the stored item in place
        if item is not None:
            _remember(self.get_table(table_name), item)
        return item

    return update_item


def _query_by_partition() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    Table.query = _partition_query(Table.query)  # type: ignore[method-assign]
    Table.all_items = _narrowed_items(Table.all_items)  # type: ignore[method-assign]
    Table.put_item = _remembering_puts(Table.put_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _remembering_updates(DynamoDBBackend.update_item)  # type: ignore[method-assign]


_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-disposition": "Content-Disposition",
    "response-content-language": "Content-Language",
    "response-content-encoding": "Content-Encoding",
    "response-cache-control": "Cache-Control",
    "response-expires": "Expires",
}


def _with_response_overrides(get_object: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_object)
    def overridden(self: Any) -> Any:
        status, headers, body = get_object(self)
        asked = {k.lower(): v for k, v in (getattr(self, "querystring", None) or {}).items()}
        for parameter, header in _RESPONSE_OVERRIDES.items():
            if parameter in asked and status == 200:
                for name in [n for n in headers if n.lower() == header.lower()]:
                    del headers[name]
                value = asked[parameter]
                headers[header.lower()] = value[0] if isinstance(value, list) else value  # moto's spelling
        return status, headers, body

    return overridden


_DUMPED = ("moto.ses.", "moto.sesv2.")  # the state dump lists these services' objects only


def _track_dumped_only() -> None:
    from moto.core.common_models import BaseModel

    def new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)
        if cls.__module__.startswith(_DUMPED):
            cls.instances_tracked.append(instance)
        return instance

    BaseModel.__new__ = new  # type: ignore[method-assign,assignment]


class _Closed(Exception):
    """Raised out of a long poll's wait when the receives are closed (its receive has taken nothing yet)."""


def _closable_wait(self: Any, timeout: int) -> None:
    """moto's Queue.wait_for_messages, also ended by close_receives."""
    with self._messages_lock:
        self._messages_lock.wait_for(lambda: self.messages or _closing.is_set(), timeout=timeout)
    if _closing.is_set():
        raise _Closed


def _closable_receives(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds: int, visibility_timeout: int, *args: Any
    ) -> Any:
        if _closing.is_set():
            return []
        queue = self.get_queue(queue_name)
        default = visibility_timeout == queue.visibility_timeout  # the request named none (or the same)
        try:
            received = original(self, queue_name, count, wait_seconds, visibility_timeout, *args)
        except _Closed:  # moto waits only while its receive holds no message
            return []
        if default and received and queue.visibility_timeout != visibility_timeout:
            # moto took the queue's timeout when the request came; a long poll may take its message
            # seconds later, after a change (a test shortens a queue's timeout): the queue's at receipt.
            taken = {message.id for message in received}
            for message in list(queue._messages):
                if message.id in taken:
                    message.change_visibility(queue.visibility_timeout)
        return received

    return receive_message


def close_receives() -> None:
    """Every SQS long poll returns empty now, and every later receive at once."""
    from moto.sqs.models import sqs_backends

    from infra.account import ACCOUNT_ID, REGION

    _closing.set()
    for queue in list(sqs_backends[ACCOUNT_ID][REGION].queues.values()):
        with queue._messages_lock:
            queue._messages_lock.notify_all()


def _keep_method_names() -> None:
    from moto.core import responses

    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)  # type: ignore[assignment]


def apply(mail_dir: str | None = None) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3.responses import S3Response
    from moto.sqs.models import Queue, SQSBackend

    from infra import aws_limits, ses_emulation

    _track_dumped_only()
    _keep_method_names()
    DynamoDBBackend.transact_write_items = check_then_write  # type: ignore[method-assign]
    _keep_parsed_json_paths()
    _query_by_partition()
    Queue.attributes = _attributes_while_sending(vars(Queue)["attributes"])  # type: ignore[method-assign,assignment]
    SQSBackend.send_message = _sending_messages(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _valid_in_retention_period  # type: ignore[method-assign]
    SQSBackend.receive_message = _closable_receives(SQSBackend.receive_message)  # type: ignore[method-assign]
    Queue.wait_for_messages = _closable_wait  # type: ignore[method-assign]
    DomainDispatcherApplication.get_backend_for_host = _backends_by_host(  # type: ignore[method-assign]
        DomainDispatcherApplication.get_backend_for_host
    )
    S3Response.get_object = _with_response_overrides(S3Response.get_object)  # type: ignore[method-assign]
    ses_emulation.configure(mail_dir)
    ses_emulation.apply()  # SES v2 event destinations and the folder of sent mails
    aws_limits.apply()  # last: a request over a limit is refused before any other patch sees it
