"""`kontakt dev`'s state across restarts: snapshots of the emulator's moto backends.

moto keeps every resource in memory, in one `BackendDict` per service (account -> region ->
backend). Inside the emulator process a snapshot pickles those that hold anything (tables and
their streams, buckets and objects, queues and their messages, secrets and their versions,
buses, rules, schedules, SES identities and sent mail ...), as LocalStack's local persistence
pickles its moto backends, and a start loads them back in place before the server answers.

A snapshot is consistent: requests pass a `Gate` together, and a snapshot closes it, waits for
the requests in progress (an SQS long poll steps aside while it waits for messages) and pickles
while nothing changes. Only the pickling holds requests (milliseconds for a dev stack); the file
is written after, to a temporary file that is fsynced and renamed over the last one, so a crash
(SIGKILL) leaves the last complete snapshot. A snapshot is taken only when a request that can
change state (not a Get/List/Describe/Query/Receive ...) came since the last one.

The file starts with a header line (JSON: the format, moto's and Python's versions and a digest
of the stack's resource definitions); a snapshot whose header differs is not unpickled (objects
of another moto version could load half-right): the start is fresh, with a message, and the old
file is kept beside as `<name>.stale`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
MAGIC = b"kontakt-emulator-state\n"
STATE_FILE = "emulator.state"  # the tests' name; a stage's state is `state_file(stage)`


def state_file(stage: str) -> str:
    """A file per stage: `kontakt dev --stage demo` neither loads nor discards the dev stage's data."""
    return f"emulator-{stage}.state"


# Operations that only read (by name prefix): a request of one of them does not call for a snapshot.
# ReceiveMessage changes a message's visibility only, which a load resets (`_messages_visible`).
_READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "ReceiveMessage", "Head")


class StateError(Exception):
    """A snapshot that cannot be loaded (another format, moto, Python or stack, or a damaged file)."""


def stamp(resources: Any) -> dict[str, Any]:
    """What a snapshot must agree with to be loaded: the format, the versions, the stack's resources."""
    import moto

    digest = hashlib.sha256(repr(resources).encode()).hexdigest()[:16]
    return {
        "format": FORMAT,
        "moto": moto.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "stack": digest,
    }


# ----------------------------------------------------------------------------- the gate


class Gate:
    """Requests pass together; `closed()` waits for those in progress and holds new ones."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._closing = False
        self._mine = threading.local()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self._enter()
        self._mine.depth = getattr(self._mine, "depth", 0) + 1
        try:
            yield
        finally:
            self._mine.depth -= 1
            self._leave()

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """While a request waits (an SQS long poll), a snapshot may be taken."""
        if not getattr(self._mine, "depth", 0):
            yield
            return
        self._leave()
        try:
            yield
        finally:
            self._enter()

    @contextlib.contextmanager
    def closed(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._closing)
            self._closing = True
            self._condition.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            with self._condition:
                self._closing = False
                self._condition.notify_all()

    def _enter(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: not self._closing)
            self._active += 1

    def _leave(self) -> None:
        with self._condition:
            self._active -= 1
            if self._active == 0:
                self._condition.notify_all()


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether a request may change the emulator's state (its operation is not a read)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return False  # REST APIs (S3, Scheduler, SES v2): reads are GETs
    else:
        query = environ.get("QUERY_STRING", "")
        operation = next((p[7:] for p in query.split("&") if p.startswith("Action=")), "")
    return not operation.startswith(_READS)


class Recorder:
    """Wraps the emulator's WSGI app: every request passes the gate; state-changing ones are counted."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.gate = Gate()
        self.changes = 0  # state-changing requests so far
        self.saved_changes = -1  # `changes` when the last snapshot was taken
        self.saved_extra: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.gate.request():
            if changes_state(environ):
                self.changes += 1
            return list(self.app(environ, start_response))


def apply(gate: Gate) -> None:
    """An SQS long poll steps out of the gate while it waits for messages."""
    from moto.sqs.models import Queue

    wait = Queue.wait_for_messages

    def wait_for_messages(self: Any, timeout: int) -> None:
        with gate.aside():
            wait(self, timeout)

    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- snapshots


class _Pickler(pickle.Pickler):
    """Locks and conditions (in moto's queues and objects) are pickled as new, free ones."""

    _LOCKS = (type(threading.Lock()), type(threading.RLock()))

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, self._LOCKS):
            return threading.RLock if "RLock" in type(obj).__name__ else threading.Lock, ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        return NotImplemented


def _backends() -> dict[str, Any]:
    """moto's backends that hold something, by the module and name of their BackendDict."""
    from moto.core.base_backend import BackendDict

    found: dict[str, Any] = {}
    instances: list[Any] = BackendDict._instances  # type: ignore[misc]  # moto's registry of used services
    for backend_dict in instances:
        if len(backend_dict) and _name(backend_dict) not in _NOT_SAVED:
            found[_name(backend_dict)] = dict(backend_dict)
    return found


# DynamoDB Streams' backend holds only shard iterators (a stream pump keeps one from poll to poll and
# opens another when one is refused, as after a restart; AWS lets them expire in 15 minutes); the
# streams' records are in DynamoDB's tables.
_NOT_SAVED = {"moto.dynamodbstreams.models:dynamodbstreams_backends"}


_names: dict[int, str] = {}


def _name(backend_dict: Any) -> str:
    """ "module:attribute" of a BackendDict (where its service's module keeps it)."""
    if id(backend_dict) not in _names:
        modules = [sys.modules[backend_dict.backend.__module__], *list(sys.modules.values())]
        _names[id(backend_dict)] = next(
            f"{module.__name__}:{name}"
            for module in modules
            if module is not None and module.__name__.startswith("moto.")
            for name, value in list(vars(module).items())
            if value is backend_dict
        )
    return _names[id(backend_dict)]


@dataclass
class Snapshot:
    header: dict[str, Any]
    extra: Any = None  # the runtime's own (the stream pumps' checkpoints)
    backends: dict[str, Any] = field(default_factory=dict)


def take(recorder: Recorder, header: dict[str, Any], extra: Any) -> bytes | None:
    """The pickled state, or None when nothing changed since the last snapshot."""
    with recorder.gate.closed():
        if recorder.changes == recorder.saved_changes and extra == recorder.saved_extra:
            return None
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump({"extra": extra, "backends": _backends()})
        recorder.saved_changes, recorder.saved_extra = recorder.changes, extra
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside, fsync, rename over: the file is the old snapshot or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # gone once renamed; a failed write leaves no litter
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_header(data: bytes) -> dict[str, Any]:
    if not data.startswith(MAGIC):
        raise StateError("not a Kontakt emulator snapshot")
    line, _, _ = data[len(MAGIC) :].partition(b"\n")
    try:
        header: dict[str, Any] = json.loads(line)
    except ValueError as error:
        raise StateError(f"a damaged header: {error}") from None
    return header


def load(path: Path, header: dict[str, Any]) -> Snapshot:
    """The snapshot at `path`, put in place in moto; raises StateError (nothing changed) when it does not fit."""
    data = path.read_bytes()
    saved = read_header(data)
    if saved != header:
        differs = ", ".join(f"{k} {saved.get(k)!r} -> {header.get(k)!r}" for k in header if saved.get(k) != header[k])
        raise StateError(f"made by another version or stack ({differs})")
    body = data[len(MAGIC) :].partition(b"\n")[2]
    try:
        content = pickle.loads(body)
    except Exception as error:  # a damaged file: nothing is put in place
        raise StateError(f"cannot be read: {type(error).__name__}: {error}") from None
    _put_in_place(content["backends"])
    return Snapshot(saved, content["extra"], content["backends"])


def _put_in_place(backends: dict[str, Any]) -> None:
    import importlib

    from moto.core.base_backend import BackendDict

    targets = []
    for key in backends:  # find every target first: nothing is replaced unless all are found
        module_name, name = key.split(":")
        target = getattr(importlib.import_module(module_name), name, None)
        if not isinstance(target, BackendDict):
            raise StateError(f"moto has no {key}")
        targets.append(target)
    instances: list[Any] = BackendDict._instances  # type: ignore[misc]  # moto's registry of used services
    for target, accounts in zip(targets, backends.values(), strict=True):
        for account, backend in accounts.items():
            dict.__setitem__(target, account, backend)
        if target not in instances:
            instances.append(target)
    _messages_visible()


def _messages_visible() -> None:
    """Messages received before the stop go back to their queues: whoever held them is gone."""
    from moto.sqs.models import sqs_backends

    for account in sqs_backends.values():
        for backend in account.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    message.visible_at = 0.0


# ----------------------------------------------------------------------------- checkpoints


def checkpoint() -> bytes:
    """moto's whole state, pickled in memory: what `rewind` puts back. The integration tests take
    one of a freshly provisioned stack and rewind to it before each module, in one emulator process
    per test worker (a start and a provisioning cost ~1.2 s of CPU, a rewind ~0.05 s)."""
    from moto.core.base_backend import BackendDict

    instances: list[Any] = BackendDict._instances  # type: ignore[misc]  # moto's registry of used services
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump({_name(b): dict(b) for b in instances if len(b)})
    return buffer.getvalue()


def rewind(data: bytes) -> None:
    """moto's state as at the `checkpoint` that gave `data`: every backend used since is emptied,
    those of the checkpoint are put back (new objects each time). Only while no request is under way."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    backends = pickle.loads(data)
    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    for backend_dict in instances:
        dict.clear(backend_dict)
    instances.clear()
    reset_model_data()
    _put_in_place(backends)


def set_aside(path: Path) -> Path:
    """Keep a snapshot that is not loaded beside, under a name no start loads."""
    aside = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.stale")
    os.replace(path, aside)
    return aside
