"""Functions as Lambda runs them: one worker process each, own environment, cold start, timeout."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import math
import multiprocessing
import os
import queue
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from infra.account import ACCOUNT_ID, REGION
from infra.aws_limits import LAMBDA_RESPONSE_MAX_BYTES, LAMBDA_RESPONSE_TOO_LARGE
from infra.console import Console, Note, Notes, note_of
from infra.faults import UNRELIABLE, UNRELIABLE_SEED, Fault, inject, inject_unreliable
from infra.iam import Principal, enforce
from infra.local_dns import install as install_hosts
from infra.local_dns import loopback_only

if TYPE_CHECKING:  # a worker process imports this module: not the template reader (infra.build, packaging)
    from infra.template import Function

log = logging.getLogger("kontakt.functions")

# Kept from the parent's environment so the interpreter and locale work; nothing else leaks in.
# Lambda allows 10 s of init; spawning and importing on a busy laptop can take longer.
INIT_TIMEOUT = 60

INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV", UNRELIABLE, UNRELIABLE_SEED)

# What Lambda sets the same in every function's environment (the rest names the function).
LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "TZ": ":UTC",
    # X-Ray has no emulator; metrics still print their EMF lines to stdout.
    "POWERTOOLS_TRACE_DISABLED": "true",
}

# The module a preloading runtime's forkserver imports once: the libraries every function's init
# imports, so that each worker forked from it starts with them (infra/worker_preload.py).
PRELOAD = "infra.worker_preload"

# The API's public address as the template spells it (`https://${HttpApi}.execute-api...`): locally
# no such host exists, so a function's public links (mail links) point at the local gateway instead.
_EXECUTE_API = re.compile(r"https://[A-Za-z0-9-]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com")


class FunctionError(Exception):
    """An invocation failed: the handler raised, timed out or its process died."""

    def __init__(
        self, error_type: str, message: str, trace: list[str] | None = None, notes: tuple[Note, ...] = ()
    ) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.trace = trace or []
        self.notes = notes  # the warnings and errors the function logged before it failed
        self.cold = False  # the invocation began with a cold start

    def payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.message, "stackTrace": self.trace}


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs, picklable for the spawn start method."""

    function_name: str
    handler: str
    code_dir: str
    timeout: int
    memory: int
    environment: dict[str, str]
    principal: Principal | None = None  # its role, enforced on every AWS call it makes; None: no IAM
    faults: tuple[Fault, ...] = ()  # crashes injected at AWS calls (infra/faults.py): tests only
    log_file: str | None = None  # where the function's output goes (infra/console.py); None: nowhere


def worker_spec(
    function: Function, project_root: Path, aws_endpoint: str, secret_arns: dict[str, str] | None = None
) -> WorkerSpec:
    """`secret_arns`: names -> ARNs of the stack's secrets; given, the worker enforces the function's role."""
    environment = {
        **function.environment,
        **LAMBDA_ENVIRONMENT,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str((project_root / function.code_dir).resolve()),
    }
    return WorkerSpec(
        function_name=function.name,
        handler=function.handler,
        code_dir=str((project_root / function.code_dir).resolve()),
        timeout=function.timeout,
        memory=function.memory,
        environment=environment,
        principal=None
        if secret_arns is None
        else Principal(
            function_name=function.name,
            role_name=function.role,
            statements=tuple(function.statements),
            region=REGION,
            account=ACCOUNT_ID,
            secret_arns=secret_arns,
        ),
    )


# ---------------------------------------------------------------- inside the worker process


class LambdaContext:
    """The context object Lambda passes to a handler."""

    def __init__(self, spec: WorkerSpec, request_id: str) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.function_name}"
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _FunctionOutput(io.TextIOBase):
    """The function's stdout or stderr, as CloudWatch Logs takes it: each line to its log file (or
    nowhere), the warnings and errors among them kept for the runtime's console (`notes`)."""

    def __init__(self, target: TextIO | None, notes: Notes) -> None:
        self._target = target
        self._notes = notes
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        if self._target is not None:
            self._target.write(line + "\n")  # line-buffered: `kontakt logs --follow` sees it at once
        note = note_of(line)
        if note is not None:
            self._notes.add(note)

    def flush(self) -> None:
        with self._lock:
            if self._partial:
                self._line(self._partial)
                self._partial = ""


def inherited_environment() -> dict[str, str]:
    """What a worker keeps of the runtime's environment, read when the worker starts."""
    return {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}


def shared_environment() -> dict[str, str]:
    """The environment every worker has before its function's own variables (a preloading
    forkserver's while it imports: infra/worker_preload.py)."""
    return {**inherited_environment(), **LAMBDA_ENVIRONMENT}


def _worker_main(connection: Any, spec: WorkerSpec, kept: dict[str, str]) -> None:
    """Entry point of the worker process: set up the sandbox, then serve invocations. `kept`: the
    runtime's inherited_environment() (a forked worker's own environment is its forkserver's)."""
    # A terminal's Ctrl-C reaches every process of its group: the runtime stops its workers after
    # the invocations in progress end (and `kontakt dev` saved its state), or the pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update({**kept, **spec.environment})
    if hasattr(time, "tzset"):
        time.tzset()
    if spec.principal is not None:  # before the handler's import creates any AWS client
        enforce(spec.principal)
    inject(spec.faults)
    inject_unreliable()  # KONTAKT_FAULTS: a share of the function's AWS calls fail (infra/faults.py)
    sys.path.insert(0, spec.code_dir)
    os.chdir(spec.code_dir)
    if install_hosts():  # KONTAKT_HOSTS: a stand-in DNS for tests, and sockets to loopback only (infra/local_dns.py)
        loopback_only()
    notes = Notes()
    log_file = open(spec.log_file, "a", encoding="utf-8", buffering=1) if spec.log_file else None  # noqa: SIM115
    sys.stdout = _FunctionOutput(log_file, notes)  # type: ignore[assignment]
    sys.stderr = _FunctionOutput(log_file, notes)  # type: ignore[assignment]
    handler: Callable[[Any, Any], Any] | None = None
    init_ms: float | None = None  # reported by the first invocation's REPORT line, as Lambda does
    while True:
        try:
            message = connection.recv()
        except (EOFError, KeyboardInterrupt):
            message = None
        if message is None:
            # The sandbox is shut down, as Lambda does (no interpreter teardown): that of a function's
            # modules (boto3, pydantic, Powertools) cost a tenth of a second or more of every stop.
            sys.stdout.flush()
            sys.stderr.flush()
            if log_file is not None:
                log_file.close()
            os._exit(0)
        request_id, event_json = message
        if request_id is None:  # the init phase: import the handler's module
            started = time.monotonic()
            try:
                handler = _load_handler(spec.handler)
                init_ms = (time.monotonic() - started) * 1000
                init: tuple[str, Any] = ("ok", "null")
            except BaseException as error:
                init = ("error", _error_payload(error, "Runtime.ImportModuleError"))
            sys.stdout.flush()
            sys.stderr.flush()
            connection.send((*init, notes.take()))
            continue
        _platform_line(log_file, f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        try:
            assert handler is not None, "invoked before init"
            result = handler(json.loads(event_json), LambdaContext(spec, request_id))
            reply: tuple[str, Any] = ("ok", response_payload(result))
        except _ResponseTooLarge:
            reply = ("error", {**LAMBDA_RESPONSE_TOO_LARGE, "stackTrace": []})
        except Exception as error:
            reply = ("error", _error_payload(error))
        except BaseException as error:  # sys.exit in a handler: Lambda reports it and restarts
            reply = ("error", _error_payload(error))
        sys.stdout.flush()
        sys.stderr.flush()
        _platform_line(log_file, f"END RequestId: {request_id}")
        _platform_line(log_file, _report(request_id, (time.monotonic() - started) * 1000, spec.memory, init_ms))
        init_ms = None
        connection.send((*reply, notes.take()))


def _platform_line(log_file: TextIO | None, line: str) -> None:
    """A line Lambda itself writes to the function's log (START, END, REPORT)."""
    if log_file is not None:
        log_file.write(line + "\n")


def _report(request_id: str, ms: float, memory: int, init_ms: float | None) -> str:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, bytes on macOS
        used = peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024
    except ImportError:  # Windows
        used = 0
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(ms))} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(parts)


def response_payload(result: Any) -> str:
    """The handler's result as Lambda's Python 3.12 runtime sends it (JSON, non-ASCII as is); Lambda
    refuses one over 6,291,556 bytes: the invocation fails with Function.ResponseSizeTooLarge."""
    payload = json.dumps(result, ensure_ascii=False)
    if len(payload) > LAMBDA_RESPONSE_MAX_BYTES // 4 and len(payload.encode()) > LAMBDA_RESPONSE_MAX_BYTES:
        raise _ResponseTooLarge
    return payload


class _ResponseTooLarge(Exception):
    pass


def _load_handler(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, attribute)  # type: ignore[no-any-return]


def _error_payload(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    trace = traceback.format_exception(type(error), error, error.__traceback__)
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return {"errorType": error_type or type(error).__name__, "errorMessage": str(error), "stackTrace": trace}


# ---------------------------------------------------------------- in the runtime


def start_context(preload: bool) -> Any:
    """How a worker process starts. Spawned: a fresh interpreter, as Lambda's init phase is (its
    import time is what the console's REPORT lines show). Preloaded: forked from a server that
    imported PRELOAD once, which saves each cold start the import of the base libraries (the test
    suite's ~200 cold starts). Either way the worker then sets its own environment and imports its
    handler from its own code directory."""
    if not preload or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    return context


class Worker:
    """One worker process; invocations are serialized on it."""

    def __init__(self, spec: WorkerSpec, preload: bool = False) -> None:
        self.spec = spec
        self._context = start_context(preload)
        self._process: Any = None
        self._connection: Any = None

    def _ensure_started(self) -> tuple[Note, ...] | None:
        """None when the process runs already, else the notes of its init (a cold start)."""
        if self._process is not None and self._process.is_alive():
            return None
        self._discard()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.spec, inherited_environment()),
            name=f"lambda:{self.spec.function_name}",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        try:
            # The cold start: like Lambda's init phase, it does not count against the timeout.
            _, notes = self._call(None, "null", INIT_TIMEOUT, "Init timed out")
        except FunctionError as error:
            error.cold = True
            self._discard()
            raise
        return notes

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs; None before its cold start or after it died."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def invoke(self, event: Any, request_id: str) -> tuple[Any, tuple[Note, ...], bool]:
        """The handler's result, the warnings and errors it logged, whether it began with a cold start."""
        init_notes = self._ensure_started()
        try:
            result, notes = self._call(request_id, json.dumps(event), self.spec.timeout, "Task timed out")
        except FunctionError as error:
            error.notes = (*(init_notes or ()), *error.notes)
            error.cold = init_notes is not None
            raise
        return result, (*(init_notes or ()), *notes), init_notes is not None

    def _call(
        self, request_id: str | None, event_json: str, timeout: float, timeout_message: str
    ) -> tuple[Any, tuple[Note, ...]]:
        try:
            self._connection.send((request_id, event_json))
            if not self._connection.poll(timeout):
                self._discard()
                raise FunctionError("Sandbox.Timedout", f"{timeout_message} after {timeout:.2f} seconds")
            status, payload, notes = self._connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as error:
            self._discard()
            raise FunctionError("Runtime.ExitError", f"the function's process exited: {error!r}") from error
        if status == "error":
            raise FunctionError(payload["errorType"], payload["errorMessage"], payload["stackTrace"], notes)
        return json.loads(payload), notes

    def _discard(self) -> None:
        # Taken first: the invoking thread (its worker died) and a reconfiguring one (`stop`) may
        # discard at once, and each must find a process to kill or none, never one gone meanwhile.
        process, connection = self._process, self._connection
        self._process, self._connection = None, None
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)
        if connection is not None:
            connection.close()

    def ask_to_stop(self) -> None:
        """Tell the process to exit, without waiting (`stop` waits): a stack's workers exit together."""
        if self._process is not None and self._process.is_alive():
            with contextlib.suppress(OSError):
                self._connection.send(None)

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            try:
                self._connection.send(None)
                self._process.join(2)
            except (OSError, BrokenPipeError):
                pass
        self._discard()


class FunctionPool:
    """A function's workers: `concurrency` processes, started lazily (cold start on first use). The
    warmest idle worker serves next (last in, first out), as Lambda reuses a warm environment: a
    function allowed many workers starts only as many as ran at once."""

    def __init__(self, spec: WorkerSpec, concurrency: int = 1, preload: bool = False) -> None:
        self.spec = spec
        self._workers = [Worker(spec, preload) for _ in range(concurrency)]
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        for worker in self._workers:
            self._idle.put(worker)

    @contextmanager
    def _worker(self) -> Iterator[Worker]:
        worker = self._idle.get()
        try:
            yield worker
        finally:
            self._idle.put(worker)

    def invoke(self, event: Any) -> Any:
        return self.run(event)[0]

    def run(self, event: Any) -> tuple[Any, tuple[Note, ...], bool]:
        """The result, the notes of the invocation and whether it was a cold start (see Worker.invoke)."""
        with self._worker() as worker:
            return worker.invoke(event, str(uuid.uuid4()))

    def ask_to_stop(self) -> None:
        for worker in self._workers:
            worker.ask_to_stop()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def pids(self) -> list[int]:
        """The process ids of the function's running workers."""
        return [pid for worker in self._workers if (pid := worker.pid) is not None]

    def point_public_links(self, gateway_url: str) -> None:
        """Environment values naming the API's execute-api host name the local gateway (before a cold start)."""
        environment = {k: _EXECUTE_API.sub(gateway_url.rstrip("/"), v) for k, v in self.spec.environment.items()}
        self.reconfigure(replace(self.spec, environment=environment))

    def override(self, values: dict[str, str]) -> None:
        """Give the variables among `values` the function's template sets another value (before a cold start)."""
        environment = {k: values.get(k, v) for k, v in self.spec.environment.items()}
        if environment != self.spec.environment:
            self.reconfigure(replace(self.spec, environment=environment))

    def reconfigure(self, spec: WorkerSpec) -> None:
        """Run the function with another spec: its running workers stop, the next call cold-starts."""
        self.stop()
        self.spec = spec
        for worker in self._workers:
            worker.spec = spec


class Functions:
    """Every function of the stack, invoked by logical id; counts what is in flight."""

    def __init__(self, pools: dict[str, FunctionPool], console: Console | None = None) -> None:
        """`console`: told of every invocation (infra/console.py)."""
        self._pools = pools
        self.console = console
        self._in_flight = 0
        self._started = self._ended = 0  # invocations begun and finished, so a waiter can tell work moved
        self._lock = threading.Lock()
        # Called with the function's logical id when an invocation ends (it may have written to a
        # table): the runtime wakes the stream pumps of the tables that function may write.
        self.on_end: Callable[[str], None] | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def activity(self) -> int:
        """Grows with every invocation that begins or ends."""
        return self._started + self._ended

    def invoke(self, logical_id: str, event: Any) -> Any:
        pool = self._pools.get(logical_id)
        if pool is None:
            raise KeyError(f"no function {logical_id} in the stack")
        with self._lock:
            self._in_flight += 1
            self._started += 1
        started = time.monotonic()
        try:
            result, notes, cold = pool.run(event)
        except FunctionError as error:
            if self.console is not None:
                ms = (time.monotonic() - started) * 1000
                self.console.invocation(logical_id, event, None, error, error.notes, ms, error.cold)
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
                self._ended += 1
            if self.on_end is not None:
                self.on_end(logical_id)
        if self.console is not None:
            self.console.invocation(logical_id, event, result, None, notes, (time.monotonic() - started) * 1000, cold)
        return result

    def stop(self) -> None:
        for pool in self._pools.values():
            pool.ask_to_stop()  # all at once: each exit takes a moment (its interpreter's teardown)
        for pool in self._pools.values():
            pool.stop()

    def worker_pids(self, logical_id: str) -> list[int]:
        """The process ids of a function's running workers (to measure them)."""
        return self._pools[logical_id].pids()

    def point_public_links(self, gateway_url: str) -> None:
        for pool in self._pools.values():
            pool.point_public_links(gateway_url)

    def override(self, values: dict[str, str]) -> None:
        """Local values of variables the template sets (only in the functions whose template sets them)."""
        for pool in self._pools.values():
            pool.override(values)

    @contextmanager
    def configured(
        self, logical_id: str, environment: dict[str, str] | None = None, faults: Iterable[Fault] = ()
    ) -> Iterator[tuple[Fault, ...]]:
        """Run a function with extra environment and injected faults (each fires once) for a while;
        yields the armed faults (their `fired` tells whether they did).

        Its workers cold-start with them, and again with the function's own configuration after.
        For tests: e.g. `Fault("sesv2", "SendEmail", "after")` kills the function's process once
        SES accepted a mail, before the function could record it."""
        pool = self._pools[logical_id]
        original = pool.spec
        with tempfile.TemporaryDirectory(prefix="kontakt-faults-") as markers:
            armed = tuple(replace(f, marker=f.marker or str(Path(markers) / str(i))) for i, f in enumerate(faults))
            pool.reconfigure(
                replace(original, environment={**original.environment, **(environment or {})}, faults=armed)
            )
            try:
                yield armed
            finally:
                pool.reconfigure(original)
