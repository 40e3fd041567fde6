"""The embedded AWS emulator (moto's server on loopback) and the creation of the stack in it."""

from __future__ import annotations

import calendar
import contextlib
import http.client
import io
import json
import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.template import REGION, Stack, TranslatedTemplate, build_stack

log = logging.getLogger("kontakt.emulator")

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_dynamodb_request_at_a_time(app: Any) -> Any:
    """moto's DynamoDB is not thread-safe: two concurrent transactions can both pass a condition
    (seen as duplicate counter values). DynamoDB serialises conflicting writes, so the emulator
    serialises DynamoDB requests; other services (SQS long polls) stay concurrent."""
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


GET_RECORDS = "DynamoDBStreams_20120810.GetRecords"


def _stream_reads(app: Any) -> Any:
    """GetRecords answered here, not by moto's dispatch: the same records, as plain JSON.

    moto serialises a GetRecords answer by walking botocore's shapes value by value, and a stream
    record's images are nested AttributeValue maps: that walk was a fifth of the emulator's CPU in
    an e2e run (every item written to a streamed table is read by its pump). `json.dumps` of the
    same result costs a fraction of it. An iterator at the end of its shard gets no records and
    the same iterator (moto's answer but for a new iterator of the same position, which it keeps
    forever): most stream reads find nothing. Anything this does not know (an unknown iterator, a
    malformed request, a position before the shard, a binary attribute) goes to moto. Called under
    the DynamoDB lock: no write adds a record while the shard is read."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from infra.template import ACCOUNT_ID

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET") != GET_RECORDS:
            return app(environ, start_response)
        request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(request)
        try:
            asked = json.loads(request)
            arn, limit = asked["ShardIterator"], int(asked.get("Limit") or 1000)
            iterator = dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators[arn]
            shard = iterator.stream_shard
            position = iterator.sequence_number - shard.starting_sequence_number
        except (ValueError, KeyError, TypeError, AttributeError):
            return app(environ, start_response)
        if position < 0 or not 1 <= limit <= 1000:  # moto's errors
            return app(environ, start_response)
        if position >= len(shard.items):
            answer: dict[str, Any] = {"Records": [], "NextShardIterator": arn}
        else:
            records = [stream_record_json(item.to_json()) for item in shard.items[position : position + limit]]
            if any(record is None for record in records):
                return app(environ, start_response)
            answer = iterator.get(limit)  # moto's next iterator, registered as moto registers it
            answer["Records"] = records
        body = json.dumps(answer).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [body]

    return wrapped


BINARY_TYPES = ('"B":', '"BS":')


def stream_record_json(record: dict[str, Any]) -> dict[str, Any] | None:
    """A moto stream record as DynamoDB Streams' JSON protocol sends it: the creation time in epoch
    seconds (millisecond precision, as moto's serialiser truncates it). None for a record with a
    binary attribute (moto's serialiser base64-encodes those; left to it)."""
    dynamodb = record["dynamodb"]
    images = json.dumps([dynamodb.get("Keys"), dynamodb.get("NewImage"), dynamodb.get("OldImage")])
    if any(marker in images for marker in BINARY_TYPES):
        return None
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, str):
        moment = datetime.fromisoformat(created)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        seconds = calendar.timegm(moment.utctimetuple())
        created = seconds + (moment.microsecond // 1000) / 1000.0 if moment.microsecond else seconds
    return {**record, "dynamodb": {**dynamodb, "ApproximateCreationDateTime": created}}


QUEUE_COUNTS_PATH = "/_kontakt/queue-counts"
STREAM_HEADS_PATH = "/_kontakt/stream-heads"
CLOSE_RECEIVES_PATH = "/_kontakt/close-receives"


def _runtime_routes(app: Any) -> Any:
    """The local runtime's own routes (not AWS's):

    - GET /_kontakt/queue-counts: every queue's visible and in-flight messages and its dead-letter
      queue, by name, in one request. A drain checks the queues ten times a second, where a
      GetQueueAttributes per queue cost a dozen requests a check (and moto's builds every
      attribute of the queue, each count O(queue length), to answer one).
    - GET /_kontakt/stream-heads: every stream's shards and the sequence number of each shard's
      last record (null: none yet), by stream ARN, in one request. The runtime's stream pumps
      call GetRecords only on a shard whose last record they have not read (infra/pumps.py,
      StreamHeads): most polls find nothing, and a GetRecords cost the runtime's process ~1 ms
      of CPU (botocore's serialising, signing and parsing) where this costs one for all streams.
    - POST /_kontakt/close-receives: SQS long polls return empty, now and from then on (a
      stopping runtime's pumps end at once; infra/moto_patches.py).
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO")
        if path == CLOSE_RECEIVES_PATH:
            from infra import moto_patches

            moto_patches.close_receives()
            start_response("204 No Content", [])
            return [b""]
        if path == QUEUE_COUNTS_PATH:
            answer: dict[str, Any] = _queue_counts()
        elif path == STREAM_HEADS_PATH:
            answer = _stream_heads()
        else:
            return app(environ, start_response)
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def _queue_counts() -> dict[str, dict[str, Any]]:
    from moto.sqs.models import sqs_backends

    from infra.template import ACCOUNT_ID

    counts = {}
    for name, queue in list(sqs_backends[ACCOUNT_ID][REGION].queues.items()):
        messages = list(queue._messages)
        dead_letters = queue.dead_letter_queue.name if queue.dead_letter_queue is not None else None
        counts[name] = {
            "visible": sum(1 for m in messages if m.visible and not m.delayed),
            "in_flight": sum(1 for m in messages if not m.visible),
            "dead_letters": dead_letters,
        }
    return counts


def _stream_heads() -> dict[str, dict[str, str | None]]:
    """{stream ARN: {shard id: the sequence number of the shard's last record, or None}}. Read
    without the DynamoDB lock: a write whose answer was sent has appended its record; one under
    way shows in the next request (the runtime wakes the pumps again when its writer ends)."""
    from moto.dynamodb.models import dynamodb_backends

    from infra.template import ACCOUNT_ID

    heads: dict[str, dict[str, str | None]] = {}
    for table in list(dynamodb_backends[ACCOUNT_ID][REGION].tables.values()):
        shard = table.stream_shard
        if shard is None or not table.latest_stream_label:
            continue
        items = shard.items
        last = items[-1].record["dynamodb"]["SequenceNumber"] if items else None
        heads[f"{table.table_arn}/stream/{table.latest_stream_label}"] = {shard.id: last}
    return heads


def _timed(app: Any, path: str) -> Any:
    """Appends one line per request to `path` (KONTAKT_EMULATOR_TIMINGS): the time, the operation and
    how long the emulator took (waiting for the DynamoDB lock included), to find what grows with load."""
    lock = threading.Lock()
    out = open(path, "a", buffering=1)  # noqa: SIM115  (open while the emulator runs: an open per request cost more)

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        operation = environ.get("HTTP_X_AMZ_TARGET") or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        if operation.startswith("DynamoDB"):  # which table and index
            request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(request)
            with contextlib.suppress(ValueError):
                fields = json.loads(request or b"{}")
                operation += f" {fields.get('TableName', '')} {fields.get('IndexName', '')}"
        started = time.perf_counter()
        body = list(app(environ, start_response))
        took = time.perf_counter() - started
        line = f"{time.time():.3f}\t{operation}\t{took * 1000:.2f}\n"
        with lock:
            out.write(line)
        return body

    return wrapped


def _sample_stacks(path: str, interval: float = 0.01, every: float = 30.0) -> None:
    """KONTAKT_EMULATOR_PROFILE: a sampling profiler of the emulator's threads (cProfile sees one
    thread only). Every `interval` the innermost frames of each busy thread are counted; every `every`
    seconds the top functions (self and cumulative samples) are written to `path`."""
    import sys
    from collections import Counter

    def where(code: Any) -> str:
        return f"{code.co_filename.split('site-packages/')[-1]} {code.co_name}"

    me = threading.get_ident()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples, written = 0, time.monotonic()
    while True:
        time.sleep(interval)
        for ident, frame in sys._current_frames().items():
            if ident == me or frame.f_code.co_name in ("wait", "select", "accept", "_recv_into", "readinto", "poll"):
                continue  # an idle thread
            samples += 1
            own[f"{where(frame.f_code)}:{frame.f_lineno}"] += 1
            seen: set[str] = set()
            current: Any = frame
            while current is not None:
                seen.add(where(current.f_code))
                current = current.f_back
            total.update(seen)
        if time.monotonic() - written >= every:
            written = time.monotonic()
            with open(path, "w") as out:
                out.write(f"samples {samples}\n-- self\n")
                out.writelines(f"{n:8d} {name}\n" for name, n in own.most_common(40))
                out.write("-- cumulative\n")
                out.writelines(f"{n:8d} {name}\n" for name, n in total.most_common(80))


def _serve(
    connection: Any, mail_dir: str | None = None, state: dict[str, Any] | None = None, sms_dir: str | None = None
) -> None:
    """Entry point of the emulator process: serve until told to stop or the parent goes away.

    With `state` ({"path", "header"}: infra/persistence.py) the snapshot there is loaded before the
    server answers, and the parent's ("snapshot", extra) commands write one.
    """
    from moto.server import DomainDispatcherApplication, create_backend_app

    from infra import moto_patches, persistence
    from infra.sms_emulation import SmsEmulation

    # A Ctrl-C reaches every process of the terminal's group: the runtime stops this one when it is
    # done with it (after the last snapshot), or it ends when the runtime's end closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    moto_patches.apply(mail_dir)
    sms = SmsEmulation(sms_dir)
    app = sms.wrap(DomainDispatcherApplication(create_backend_app))  # moto has no SMS
    app = _runtime_routes(_one_dynamodb_request_at_a_time(_stream_reads(app)))
    if os.environ.get("KONTAKT_EMULATOR_TIMINGS"):
        app = _timed(app, os.environ["KONTAKT_EMULATOR_TIMINGS"])
    recorder = None
    ready: dict[str, Any] = {"restored": None, "message": ""}
    if state is not None:
        app = recorder = persistence.Recorder(app)
        persistence.apply(recorder.gate)
        ready.update(_restore(Path(state["path"]), state["header"]))
    server = _server(app)
    if os.environ.get("KONTAKT_EMULATOR_PROFILE"):
        profile = os.environ["KONTAKT_EMULATOR_PROFILE"]
        threading.Thread(target=_sample_stacks, args=(profile,), name="profile", daemon=True).start()
    thread = threading.Thread(target=server.run, name="server", daemon=True)
    thread.start()
    connection.send({"port": server.effective_port, **ready})
    checkpoint: _Checkpoint | None = None
    while True:
        try:
            command = connection.recv()
        except EOFError:
            break
        if command is None:
            break
        if command[0] == "snapshot" and recorder is not None and state is not None:
            connection.send(_snapshot(recorder, Path(state["path"]), state["header"], command[1]))
        elif command[0] == "checkpoint":
            checkpoint = _Checkpoint(sms, mail_dir)
            connection.send("taken")
        elif command[0] == "rewind":
            if checkpoint is not None:
                checkpoint.rewind(sms)
            connection.send("rewound" if checkpoint is not None else "no checkpoint")
    server.close()  # no new connections; the process ends with the requests under way (long polls)
    # Nothing is left to write (a snapshot is taken by command, before the stop): the interpreter's
    # teardown of moto's modules and objects took seconds of a stack's stop, for nothing.
    connection.close()
    os._exit(0)


class _Checkpoint:
    """The emulator's state at one moment, in its process: moto's backends (infra/persistence.py),
    the SMS configuration sets, and which sent SMS and mails the folders held (`rewind` drops the
    later ones: a test that reads a folder sees only what was sent since)."""

    def __init__(self, sms: Any, mail_dir: str | None) -> None:
        from infra import persistence

        self.backends = persistence.checkpoint()
        self.sms_sets = json.dumps(sms.configuration_sets)
        self.folders = [Path(folder) for folder in (sms.folder, mail_dir) if folder]
        self.files = {path: path.stat().st_size for folder in self.folders for path in folder.iterdir()}

    def rewind(self, sms: Any) -> None:
        from infra import persistence

        persistence.rewind(self.backends)
        with sms.lock:
            sms.configuration_sets = json.loads(self.sms_sets)
            sms._save_sets()
        for folder in self.folders:
            for path in folder.iterdir():
                if path not in self.files and path.is_file():
                    path.unlink()
                elif path.stat().st_size != self.files[path]:
                    os.truncate(path, self.files[path])


# The emulator's HTTP server is waitress, not werkzeug's dev server: that one closes the connection
# after every response, so every request of the tests, the pumps and the function workers opened a
# TCP connection and the emulator a thread (accept, thread start and handler setup were a fifth of
# its CPU). waitress keeps HTTP/1.1 connections alive and serves requests from a fixed thread pool.
# SERVER_THREADS: a request holds a thread until it is answered, an SQS long poll for up to 20 s.
# A runtime long-polls from every SQS pump (one per mapping, up to LOCAL_MAX_CONCURRENCY for a
# mapping with a MaximumConcurrency: 39 for template.yaml's 24 SQS mappings) and its dev tap; the
# rest is for the requests of the tests, pumps and workers (DynamoDB's are served one at a time).
# An idle thread costs no CPU; a busy pool queues requests ("Task queue depth" warnings).
SERVER_THREADS = 200
# Every client keeps its connections open: the runtime's (one per pump and per service), each
# function worker's (one per service it calls), the tests'. waitress stops accepting at its
# connection limit (default 100) until one closes, and an idle one closes after channel_timeout:
# the limit is far above what a stack opens, and poll() is used (select() fails beyond fd 1023).
SERVER_CONNECTIONS = 4000
# Idle connections are closed after this: a worker that has finished keeps its connections (and
# its slot in every poll of the server's loop) until then. Clients reconnect when they need to.
IDLE_CONNECTION_SECONDS = 60


def _server(app: Any) -> Any:
    """The WSGI server of the emulator, on a free loopback port (`effective_port`; `run()` serves)."""
    import resource

    from waitress.server import create_server

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SERVER_CONNECTIONS + 100 if hard == resource.RLIM_INFINITY else min(hard, SERVER_CONNECTIONS + 100)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # a common soft limit is 1024
    # waitress warns of a queue of requests waiting for a thread ("Task queue depth"): SERVER_THREADS
    # is too few. Its socket errors are clients gone mid-request (a worker killed by a crash test, a
    # runtime stopped), which the emulator's clients see and report themselves: not logged.
    logging.getLogger("waitress").setLevel(logging.WARNING)
    _keep_header_names()
    return create_server(
        _raw_uri(app),
        host="127.0.0.1",
        port=0,
        threads=SERVER_THREADS,
        connection_limit=SERVER_CONNECTIONS,
        asyncore_use_poll=True,
        channel_timeout=IDLE_CONNECTION_SECONDS,
        cleanup_interval=IDLE_CONNECTION_SECONDS / 2,
        ident="kontakt-emulator",
        log_socket_errors=False,
    )


def _keep_header_names() -> None:
    """Answer headers named as moto names them. waitress capitalises every response header name
    (`x-amz-meta-recipients` becomes `X-Amz-Meta-Recipients`); names are case-insensitive in HTTP,
    but an S3 object's user metadata keys are not: botocore takes them from the header names, and
    S3 answers them in lower case (a `recipients` key read back as `Recipients`)."""
    from waitress.task import Task

    if getattr(Task.build_response_header, "keeps_names", False):
        return
    capitalised = Task.build_response_header

    def build_response_header(task: Any) -> bytes:
        names = {name.lower(): name for name, _ in task.response_headers}
        header: bytes = capitalised(task)
        lines = header.split(b"\r\n")
        for i, line in enumerate(lines[1:], start=1):
            name, colon, value = line.partition(b": ")
            original = names.get(name.decode("latin-1").lower())
            if colon and original is not None:
                lines[i] = original.encode("latin-1") + colon + value
        return b"\r\n".join(lines)

    build_response_header.keeps_names = True  # type: ignore[attr-defined]
    Task.build_response_header = build_response_header  # type: ignore[method-assign]


def _raw_uri(app: Any) -> Any:
    """moto's S3 reads an object key from the undecoded request path, werkzeug's RAW_URI (a key with
    an encoded `/` or `%` differs from the decoded PATH_INFO); waitress names it REQUEST_URI."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    return wrapped


def _restore(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The snapshot at `path` put in place: {"restored": the runtime's extra} or a message why not."""
    from infra import persistence

    if not path.exists():
        return {}
    started = time.perf_counter()
    try:
        snapshot = persistence.load(path, header)
    except persistence.StateError as error:
        aside = persistence.set_aside(path)
        return {"message": f"the saved state {path} is not loaded: {error}; starting empty (kept as {aside.name})"}
    took = time.perf_counter() - started
    return {"restored": snapshot.extra or {}, "message": f"loaded the saved state {path} in {took:.2f}s"}


def _snapshot(recorder: Any, path: Path, header: dict[str, Any], extra: Any) -> tuple[str, str]:
    from infra import persistence

    started = time.perf_counter()
    try:
        data = persistence.take(recorder, header, extra)
        if data is None:
            return ("unchanged", "")
        taken = time.perf_counter()
        persistence.write_atomically(path, data)
    except Exception as error:  # reported to the runtime, which logs it; the emulator serves on
        return ("failed", f"{type(error).__name__}: {error}")
    held, written = taken - started, time.perf_counter() - taken
    return ("saved", f"{len(data) / 1e6:.1f} MB, taken in {held:.2f}s (requests held), written in {written:.2f}s")


class KeptConnection:
    """GETs of one of the emulator's own routes on a connection kept open (a new one cost a TCP
    connection and a thread in the emulator each time), one request at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def get(self, url: str) -> bytes:
        with self._lock:
            for attempt in (1, 2):  # a kept connection the emulator closed: once more on a new one
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
                try:
                    self._connection.request("GET", self.path)
                    response = self._connection.getresponse()
                    body = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    self._connection.close()
                    self._connection = None
                    if attempt == 2:
                        raise
            if response.status >= 300:
                raise RuntimeError(f"the emulator answered {response.status} to GET {self.path}")
        return body

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class Emulator:
    """moto's server (its WSGI app on waitress), in a process of its own.

    moto keeps its state in module globals: a process per emulator keeps two runtimes (or a
    test's `mock_aws`, which resets every backend) from sharing or wiping each other's resources.
    Nothing global is set here: clients get the URL. With `mail_dir`, every mail SES sends is
    written there as an .eml file (infra/ses_emulation.py). With `state_file`, the state saved
    there is loaded at the start (when its header is `header`) and `snapshot()` saves it there
    (infra/persistence.py); `restored` is then what the runtime saved with it (None: none loaded).
    """

    def __init__(
        self,
        mail_dir: str | Path | None = None,
        state_file: str | Path | None = None,
        header: dict[str, Any] | None = None,
        sms_dir: str | Path | None = None,
    ) -> None:
        self.mail_dir = Path(mail_dir).resolve() if mail_dir else None
        # Every SMS sent is kept (infra/sms_emulation.py): in `sms_dir`, or a folder of this emulator's own.
        self.sms_dir = Path(sms_dir).resolve() if sms_dir else Path(tempfile.mkdtemp(prefix="kontakt-sms-"))
        self.state_file = Path(state_file).resolve() if state_file else None
        self.header = header or {}
        self.restored: Any = None
        self.state_message = ""
        self._process: Any = None
        self._connection: Any = None
        self._commands = threading.Lock()
        # Kept open, one each: a drain asks for the counts ten times a second, the stream pumps for
        # the heads at every poll round (and from other threads than the drain's).
        self._counts = KeptConnection(QUEUE_COUNTS_PATH)
        self._heads = KeptConnection(STREAM_HEADS_PATH)
        self.url = ""

    def start(self, timeout: float = 60) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        mail_dir = str(self.mail_dir) if self.mail_dir else None
        state = {"path": str(self.state_file), "header": self.header} if self.state_file else None
        self._process = context.Process(
            target=_serve, args=(child, mail_dir, state, str(self.sms_dir)), name="kontakt-emulator", daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent
        if not parent.poll(timeout):
            self.stop()
            raise RuntimeError("the AWS emulator did not start")
        ready = parent.recv()
        self.url = f"http://127.0.0.1:{ready['port']}"
        self.restored, self.state_message = ready["restored"], ready["message"]
        if self.state_message:
            log.info("%s", self.state_message)
        log.info("emulator on %s", self.url)

    def snapshot(self, extra: Any = None, timeout: float = 60) -> tuple[str, str]:
        """Save the emulator's state (with `extra`) if anything changed: ("saved" | "unchanged" | "failed", detail)."""
        if self.state_file is None or self._process is None:
            return ("unchanged", "no state file")
        with self._commands:
            try:
                self._connection.send(("snapshot", extra))
                if not self._connection.poll(timeout):
                    return ("failed", f"no answer in {timeout}s")
                answer: tuple[str, str] = self._connection.recv()
            except (OSError, EOFError) as error:  # the emulator's process is gone
                return ("failed", f"the emulator is gone: {error!r}")
        return answer

    def checkpoint(self) -> None:
        """Keep the emulator's state as it is now, in its process, for `rewind` (one at a time)."""
        self._command(("checkpoint",), "taken")

    def rewind(self) -> None:
        """The emulator's state as at the last `checkpoint`: what was made, changed or sent since is
        gone. Only while no request is under way."""
        self._command(("rewind",), "rewound")

    def _command(self, command: tuple[Any, ...], expected: str, timeout: float = 60) -> None:
        with self._commands:
            self._connection.send(command)
            if not self._connection.poll(timeout):
                raise RuntimeError(f"the emulator did not answer {command[0]} in {timeout}s")
            answer = self._connection.recv()
        if answer != expected:
            raise RuntimeError(f"the emulator answered {answer!r} to {command[0]}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._counts.close()
        self._heads.close()
        with self._commands, contextlib.suppress(OSError):
            self._connection.send(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._connection.close()
        self._process = self._connection = None

    def queue_counts(self) -> dict[str, dict[str, Any]]:
        """Every queue's `visible` and `in_flight` messages and its `dead_letters` queue (a name or
        None), by queue name: what GetQueueAttributes answers as ApproximateNumberOfMessages and
        ApproximateNumberOfMessagesNotVisible, and the redrive policy's target, of all queues at once."""
        body = self._counts.get(self.url)
        counts: dict[str, dict[str, Any]] = json.loads(body)
        return counts

    def stream_heads(self) -> dict[str, dict[str, str | None]]:
        """Per stream ARN, per shard, the sequence number of the shard's last record (None: none
        yet), of all streams in one request: which shards a stream pump need read."""
        heads: dict[str, dict[str, str | None]] = json.loads(self._heads.get(self.url))
        return heads

    def close_receives(self) -> None:
        """SQS long polls return empty, now and from then on: for a runtime that stops its pumps."""
        if self._process is not None:
            with contextlib.suppress(OSError, RuntimeError):  # an emulator that is gone has no polls
                self._runtime_route("POST", CLOSE_RECEIVES_PATH)

    def _runtime_route(self, method: str, path: str) -> bytes:
        connection = http.client.HTTPConnection(self.url.removeprefix("http://"), timeout=60)  # no proxy
        try:
            connection.request(method, path)
            response = connection.getresponse()
            body = response.read()
            if response.status >= 300:
                raise RuntimeError(f"the emulator answered {response.status} to {method} {path}")
        finally:
            connection.close()
        return body

    def client(self, service: str) -> Any:
        config = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=50)
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, config=config, **FAKE_CREDENTIALS)


def provisioned(stack: Stack) -> tuple[Any, ...]:
    """The definitions `provision` creates resources from (what a saved state must have been made with)."""
    return (
        stack.parameters,
        stack.tables,
        stack.queues,
        stack.secrets,
        stack.buses,
        stack.rules,
        stack.buckets,
        stack.alarms,
        stack.configuration_sets,
        stack.email_identities,
        stack.sms_configuration_sets,
        stack.schedule_groups,
    )


def provision(
    emulator: Emulator, template: TranslatedTemplate, parameters: Mapping[str, str], existing: bool = False
) -> Stack:
    """Create every resource of the stack; returns the stack with the emulator's real values.

    `existing`: the emulator holds them already (a saved state was loaded): only the values the
    emulator gave them (stream ARNs, queue URLs, secret ARNs) are read.
    """
    first = build_stack(template, parameters)
    late: dict[tuple[str, str], str] = {}
    if existing:
        try:
            late.update(existing_values(emulator, first))
        except ClientError as error:  # changed in the emulator since (deleted by hand): say so, change nothing
            raise RuntimeError(
                f"the saved state lacks a resource of the stack ({error}): start with `kontakt dev --fresh`"
            ) from error
        return build_stack(template, parameters, late)
    late.update(create_tables(emulator, first))
    late.update(create_queues(emulator, first))
    late.update(create_secrets(emulator, first))
    stack = build_stack(template, parameters, late)
    set_redrive_policies(emulator, stack)
    create_buses_and_rules(emulator, stack)
    create_buckets(emulator, stack)
    create_alarms(emulator, stack)
    create_configuration_sets(emulator, stack)
    create_sms_configuration_sets(emulator, stack)
    create_email_identities(emulator, stack)
    create_schedule_groups(emulator, stack)
    return stack


def existing_values(emulator: Emulator, stack: Stack) -> dict[tuple[str, str], str]:
    """The values `create_tables`, `create_queues` and `create_secrets` return, of existing resources."""
    dynamodb, sqs, secrets = emulator.client("dynamodb"), emulator.client("sqs"), emulator.client("secretsmanager")
    late = {}
    for table in stack.tables.values():
        if table.stream_view_type:
            description = dynamodb.describe_table(TableName=table.name)["Table"]
            late[(table.logical_id, "StreamArn")] = description["LatestStreamArn"]
    for queue in stack.queues.values():
        late[(queue.logical_id, "Ref")] = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    for secret in stack.secrets.values():
        late[(secret.logical_id, "Ref")] = secrets.describe_secret(SecretId=secret.name)["ARN"]
    return late


def create_tables(emulator: Emulator, stack: Stack) -> dict[tuple[str, str], str]:
    dynamodb = emulator.client("dynamodb")
    late = {}
    for table in stack.tables.values():
        request: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": table.key_schema,
            "AttributeDefinitions": table.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = table.global_secondary_indexes
        if table.local_secondary_indexes:
            request["LocalSecondaryIndexes"] = table.local_secondary_indexes
        if table.stream_view_type:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
        description = dynamodb.create_table(**request)["TableDescription"]
        if table.ttl_attribute:
            # Stored but never enforced by moto.
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        if table.stream_view_type:
            late[(table.logical_id, "StreamArn")] = description["LatestStreamArn"]
    return late


def create_queues(emulator: Emulator, stack: Stack) -> dict[tuple[str, str], str]:
    """Queues without redrive first: a redrive policy needs its dead-letter queue to exist."""
    sqs = emulator.client("sqs")
    late = {}
    for queue in stack.queues.values():
        url = sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)["QueueUrl"]
        late[(queue.logical_id, "Ref")] = url
    return late


def set_redrive_policies(emulator: Emulator, stack: Stack) -> None:
    sqs = emulator.client("sqs")
    for queue in stack.queues.values():
        if queue.redrive_policy:
            sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"RedrivePolicy": json.dumps(queue.redrive_policy)})


def create_secrets(emulator: Emulator, stack: Stack) -> dict[tuple[str, str], str]:
    secrets = emulator.client("secretsmanager")
    late = {}
    for secret in stack.secrets.values():
        value = secret.secret_string or _generated_secret(emulator, secret.generate)
        response = secrets.create_secret(Name=secret.name, Description=secret.description, SecretString=value)
        late[(secret.logical_id, "Ref")] = response["ARN"]
    return late


def _generated_secret(emulator: Emulator, spec: dict[str, Any] | None) -> str:
    """GenerateSecretString: a random password, or a JSON object holding one."""
    spec = dict(spec or {})
    template = spec.pop("SecretStringTemplate", None)
    key = spec.pop("GenerateStringKey", None)
    password = emulator.client("secretsmanager").get_random_password(**spec)["RandomPassword"]
    if template and key:
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return str(password)


def create_buses_and_rules(emulator: Emulator, stack: Stack) -> None:
    events = emulator.client("events")
    for bus in stack.buses.values():
        events.create_event_bus(Name=bus.name)
    for rule in stack.rules.values():
        request: dict[str, Any] = {
            "Name": rule.name,
            "EventBusName": rule.bus_name,
            "State": "ENABLED" if rule.enabled else "DISABLED",
        }
        if rule.event_pattern is not None:
            request["EventPattern"] = json.dumps(rule.event_pattern)
        if rule.schedule_expression:
            request["ScheduleExpression"] = rule.schedule_expression
        events.put_rule(**request)
        # Schedule rules are fired by the runtime; their Lambda targets would break put_events.
        queue_targets = [t for t in rule.targets if t.arn.split(":")[2] == "sqs"]
        if queue_targets and not rule.schedule_expression:
            events.put_targets(
                Rule=rule.name,
                EventBusName=rule.bus_name,
                Targets=[_rule_target(t.id, t.arn, t.input, t.input_path) for t in queue_targets],
            )


def _rule_target(target_id: str, arn: str, input_text: str | None, input_path: str | None) -> dict[str, Any]:
    target: dict[str, Any] = {"Id": target_id, "Arn": arn}
    if input_text is not None:
        target["Input"] = input_text
    if input_path is not None:
        target["InputPath"] = input_path
    return target


def create_buckets(emulator: Emulator, stack: Stack) -> None:
    s3 = emulator.client("s3")
    for bucket in stack.buckets.values():
        s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if bucket.cors_rules:  # browsers upload with presigned requests, locally as in AWS
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": bucket.cors_rules})
        if bucket.queue_notifications:
            configurations = [
                {
                    "QueueArn": n.queue_arn,
                    "Events": n.events,
                    **({"Filter": {"Key": {"FilterRules": n.filter_rules}}} if n.filter_rules else {}),
                }
                for n in bucket.queue_notifications
            ]
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name, NotificationConfiguration={"QueueConfigurations": configurations}
            )


def create_alarms(emulator: Emulator, stack: Stack) -> None:
    cloudwatch = emulator.client("cloudwatch")
    for alarm in stack.alarms.values():
        properties = {k: v for k, v in alarm.properties.items() if k != "AlarmActions" or v}
        cloudwatch.put_metric_alarm(**properties)


def create_configuration_sets(emulator: Emulator, stack: Stack) -> None:
    """SES v2 configuration sets and their event destinations (EventBridge ones are emulated)."""
    ses = emulator.client("sesv2")
    for config in stack.configuration_sets.values():
        ses.create_configuration_set(ConfigurationSetName=config.name, **config.options)
        for destination in config.event_destinations:
            ses.create_configuration_set_event_destination(
                ConfigurationSetName=config.name,
                EventDestinationName=destination.name,
                EventDestination=destination.definition,
            )


def create_sms_configuration_sets(emulator: Emulator, stack: Stack) -> None:
    """End User Messaging SMS configuration sets (infra/sms_emulation.py); one kept from a saved state stays."""
    sms = emulator.client("pinpoint-sms-voice-v2")
    for name in stack.sms_configuration_sets.values():
        with contextlib.suppress(sms.exceptions.ConflictException):
            sms.create_configuration_set(ConfigurationSetName=name)


def create_schedule_groups(emulator: Emulator, stack: Stack) -> None:
    """The stack's schedule groups (the services' schedules go there; the runtime fires them)."""
    scheduler = emulator.client("scheduler")
    for name in stack.schedule_groups.values():
        scheduler.create_schedule_group(Name=name)


def create_email_identities(emulator: Emulator, stack: Stack) -> None:
    """The sending identities (moto verifies them at once; AWS waits for the domain's DKIM records)."""
    ses = emulator.client("sesv2")
    for identity in stack.email_identities.values():
        ses.create_email_identity(EmailIdentity=identity)
