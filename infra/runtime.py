"""`LocalRuntime`: the whole stack of template.yaml on one machine."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from infra import dev_webhooks, devlogins, devpage, iam, local_dns, persistence, smtp_listener
from infra.auth import AUDIENCE, DEFAULT_TTL, ISSUER, ROLES, DevIssuer
from infra.console import Console
from infra.emulator import Emulator, provision, provisioned
from infra.functions import FunctionError, FunctionPool, Functions, WorkerSpec, worker_spec
from infra.gateway import Gateway, SignInFailed
from infra.pumps import FailureDestination, Pump, SqsPump, StreamHeads, StreamPump, TapPump
from infra.schedules import ScheduleRunner
from infra.smtp_listener import SmtpListener
from infra.template import REGION, EventSourceMapping, Stack, build_stack, translate
from shared import auth

log = logging.getLogger("kontakt.runtime")

TAP_NAME = "kontakt-dev-tap"
# The dev-only function that provisions dev logins (infra/devlogins.py), beside the template's.
DEV_PROVISIONER = "KontaktDevProvisioner"
LOCAL_USER_POOL = f"{REGION}_local"  # what Ref UserPool resolves to locally
# Matches every event: every event has a string `source`.
TAP_PATTERN = {"source": [{"prefix": ""}]}
# At most this many invocations of one function at once locally, whatever its ScalingConfig says
# (two cores): enough for a slow invocation not to hold up the queue's others (the webhooks deliverer).
LOCAL_MAX_CONCURRENCY = 10
# The IAM actions that write a table's items (a transaction's writes are authorised as these).
TABLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")


def _table_arn(pump: StreamPump) -> str:
    """The table whose stream a pump reads (a stream ARN is the table's ARN + /stream/<label>)."""
    return pump.mapping.source_arn.split("/stream/", 1)[0]


def streamed_tables_written(stack: Stack) -> dict[str, set[str]]:
    """Per function, the ARNs of the tables with a stream that its role lets it write: an invocation
    that ends wakes those tables' stream pumps only (a stream poll is the emulator's costliest
    routine call; waking every stream after every invocation was most of an e2e run's polls)."""
    streamed = [t.arn for t in stack.tables.values() if t.stream_view_type]
    return {
        logical_id: {
            arn
            for arn in streamed
            if any(iam.evaluate(function.statements, iam.Request(f"dynamodb:{a}", arn)) for a in TABLE_WRITES)
        }
        for logical_id, function in stack.functions.items()
    }


def mapping_pumps(mapping: EventSourceMapping) -> int:
    """How many pumps feed an SQS mapping locally: its MaximumConcurrency, at most LOCAL_MAX_CONCURRENCY."""
    return min(mapping.max_concurrency, LOCAL_MAX_CONCURRENCY) if mapping.max_concurrency else 1


def local_concurrency(stack: Stack, function: str) -> int:
    """The function's workers: one per pump of its mappings that have a MaximumConcurrency (so their
    pumps never wait for a worker), else one, as before."""
    scaled = [mapping_pumps(m) for m in stack.mappings.values() if m.function == function and m.max_concurrency]
    return sum(scaled) if scaled else 1


class LocalRuntime:
    """Emulator, resources, functions, pumps, schedules and HTTP gateway of one template."""

    def __init__(
        self,
        project_root: str | Path,
        stage: str = "dev",
        port: int = 0,
        parameters: dict[str, str] | None = None,
        concurrency: int = 1,
        mail_dir: str | Path | None = None,
        batching_window: int | None = None,
        log_dir: str | Path | None = None,
        state_dir: str | Path | None = None,
        fresh: bool = False,
        snapshot_interval: float = 2.0,
        hosts: dict[str, list[str]] | None = None,
        smtp_port: int = 0,
        preload: bool = False,
    ) -> None:
        """`mail_dir`: where every mail SES sends is written as an .eml file (and /dev/mail lists them).

        `batching_window`: the most seconds a stream or queue pump gathers records before it invokes (None:
        each mapping's MaximumBatchingWindowInSeconds, as deployed). Tests pass 0: a window only
        delays each hop of a cascade (the outbox publishers' 1 s cost every event a second locally,
        where batches of 100 rarely fill); what a batch holds and how it fails stay as in AWS.

        `log_dir`: where each function's full log goes, `<LogicalId>.log`, emptied at the start
        (`kontakt dev`: .kontakt/logs). None: $KONTAKT_LOG_DIR, else nowhere, as in tests: the
        console's warnings and errors (infra/console.py) still reach `logging`, which pytest shows
        for a failing test; set KONTAKT_LOG_DIR to keep the whole logs of a test run.

        `state_dir`: where the emulator's state is saved (`kontakt dev`: .kontakt/state; None, as in
        the tests: nothing is saved or loaded). The saved state is loaded at the start (`restored`),
        unless `fresh`, which discards it; a snapshot is taken every `snapshot_interval` seconds when
        something changed, and at the stop (infra/persistence.py).

        `hosts`: a stand-in DNS for the functions, names and their addresses (infra/local_dns.py);
        any other name does not resolve. None (`kontakt dev`): the system's resolver. Tests pass one:
        no test asks real DNS.
        `smtp_port`: the loopback SMTP listener's port (0: a free one), standing in for SES's receipt
        rules (infra/smtp_listener.py); it runs when the template has a rule that stores mail in S3.

        `preload`: workers are forked from a server that imported the base libraries once, rather
        than spawned (infra/functions.py `start_context`). Tests pass True: it saves ~0.2 CPU s of
        each of their ~200 cold starts. `kontakt dev` spawns, so its console's init times are a
        fresh interpreter's, as Lambda's are.
        """
        self.project_root = Path(project_root).resolve()
        self.parameters = {**(parameters or {}), "Stage": stage}
        self.port = port
        self.concurrency = concurrency
        self.batching_window = batching_window
        self.issuer = DevIssuer(self.project_root)
        self.state_file = Path(state_dir).resolve() / persistence.state_file(stage) if state_dir else None
        self.fresh = fresh
        self.snapshot_interval = snapshot_interval
        self.hosts = hosts
        self.webhook_receiver = dev_webhooks.Receiver()  # POST /dev/webhooks/<name> (infra/dev_webhooks.py)
        self.restored = False
        # Sent SMS and the SMS configuration sets (infra/sms_emulation.py) live beside the saved state.
        sms_dir = Path(state_dir).resolve() / f"sms-{stage}" if state_dir else None
        if fresh and sms_dir is not None and sms_dir.exists():
            shutil.rmtree(sms_dir)
        self.emulator = Emulator(mail_dir, self.state_file, sms_dir=sms_dir)
        self._saver: threading.Thread | None = None
        self._stop_saving = threading.Event()
        self._save_failure = ""  # why the last snapshot failed (logged once)
        log_dir = log_dir if log_dir is not None else os.environ.get("KONTAKT_LOG_DIR")
        self.log_dir = Path(log_dir).resolve() if log_dir else None
        self.stack: Stack | None = None
        self.functions: Functions | None = None
        self.gateway: Gateway | None = None
        self.schedules: ScheduleRunner | None = None
        self.pumps: list[Pump] = []
        self._written: dict[str, list[StreamPump]] = {}  # function -> the stream pumps it may write
        self.tap: TapPump | None = None
        self.smtp_port = smtp_port
        self.preload = preload
        self.smtp: SmtpListener | None = None
        self._watched_queue_urls: list[str] = []
        self._cached_clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str, tuple[str, ...]], tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()

    # -- lifecycle

    @property
    def api_url(self) -> str:
        return self.gateway.url if self.gateway else ""

    @property
    def smtp_address(self) -> tuple[str, int] | None:
        """(host, port) of the loopback SMTP listener taking inbound mail, if it runs."""
        return (smtp_listener.HOST, self.smtp.port) if self.smtp else None

    @property
    def aws_endpoint(self) -> str:
        return self.emulator.url

    @property
    def mail_dir(self) -> Path | None:
        return self.emulator.mail_dir

    @property
    def sms_dir(self) -> Path:
        return self.emulator.sms_dir

    def start(self) -> LocalRuntime:
        started = time.monotonic()
        template = translate(self.project_root)
        if self.state_file is not None:
            if self.fresh and self.state_file.exists():
                self.state_file.unlink()
                log.info("discarded the saved state %s (--fresh)", self.state_file)
            self.emulator.header = persistence.stamp(provisioned(build_stack(template, self.parameters)))
        self.emulator.start()
        self.restored = self.emulator.restored is not None
        try:
            self.stack = provision(self.emulator, template, self.parameters, existing=self.restored)
            self.functions = self._functions(self.stack)
            self.tap = self._tap(self.stack)
            self.pumps = [self.tap, *self._pumps(self.stack)]
            self.schedules = ScheduleRunner(
                self.stack, self.client("scheduler"), self.client("sqs"), self.functions.invoke
            )
            self.gateway = Gateway(
                self.stack,
                self.issuer,
                self.functions.invoke,
                self.events,
                mail_dir=self.emulator.mail_dir,
                sms_dir=self.emulator.sms_dir,
                token=self.token,
                sign_in=self.sign_in if self.stack.signin_trigger else None,
                console=self.functions.console,
                dev_state=lambda: devpage.state(self),
                sms_inbound=self._sms_inbound,
                webhooks=self.webhook_receiver,
            )
            self.gateway.start(self.port)
            self.functions.point_public_links(self.gateway.url)  # workers start lazily, after this
            # The dev issuer stands in for the user pool: the API functions verify its tokens against its
            # key set, which the gateway serves (template.yaml names the pool's; shared/auth.py).
            self.functions.override(
                {
                    auth.ISSUER_VARIABLE: ISSUER,
                    auth.AUDIENCE_VARIABLE: AUDIENCE,
                    auth.KEYS_VARIABLE: f"{self.gateway.url}/dev/jwks.json",
                }
            )
            # Then the pumps and schedules: a saved state's waiting work would otherwise be invoked in
            # workers that pointing the links stops (a failed delivery waits out its visibility timeout).
            self._written = self._streams_written(self.stack)
            self.functions.on_end = self._wake_written_streams
            destinations = smtp_listener.targets(template, self.stack)
            if destinations:  # SES's receipt rules, locally: mail it accepts goes where they store it
                self.smtp = SmtpListener(self.client("s3"), destinations, self.smtp_port).start()
            for pump in self.pumps:
                pump.start()
            self.schedules.start()
            if self.state_file is not None:  # only a stack that started is saved
                self._stop_saving.clear()
                self._saver = threading.Thread(target=self._save_periodically, name="snapshots", daemon=True)
                self._saver.start()
        except BaseException:
            self.stop()
            raise
        log.info(
            "kontakt runtime up in %.1fs: api %s, aws %s", time.monotonic() - started, self.api_url, self.aws_endpoint
        )
        return self

    def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
        if self.gateway is not None:
            self.gateway.stop()
        if self.schedules is not None:
            self.schedules.stop()
        for pump in self.pumps:
            pump.stop()
        self.emulator.close_receives()  # the SQS pumps' long polls end now (not after up to 20 s)
        for pump in self.pumps:
            pump.join()
        if self.schedules is not None:
            self.schedules.join()
        if self._saver is not None:  # the pumps are done: their checkpoints are final
            self._stop_saving.set()
            self._saver.join()
            self._saver = None
            self.save()
        if self.functions is not None:
            self.functions.stop()
        self.emulator.stop()
        self.pumps = []
        self.gateway = self.schedules = self.functions = None

    # -- saved state

    def save(self) -> tuple[str, str]:
        """Take a snapshot of the emulator's state (when anything changed since the last one)."""
        streams = {p.mapping.logical_id: dict(p.checkpoints) for p in self.pumps if isinstance(p, StreamPump)}
        outcome, detail = self.emulator.snapshot({"streams": streams})
        if outcome == "failed" and detail != self._save_failure:  # each new reason once, not every interval
            log.warning("the state was not saved: %s", detail)
        elif outcome == "saved":
            log.debug("state saved to %s: %s", self.state_file, detail)
        self._save_failure = detail if outcome == "failed" else ""
        return outcome, detail

    def _save_periodically(self) -> None:
        """A crash loses at most the last `snapshot_interval` seconds."""
        while not self._stop_saving.wait(self.snapshot_interval):
            self.save()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- wiring

    def _functions(self, stack: Stack) -> Functions:
        """A pool per function; each worker enforces its function's role (IAM) on its AWS calls."""
        secret_arns = {s.name: s.arn for s in stack.secrets.values() if s.arn}
        pools = {
            logical_id: FunctionPool(
                self._with_hosts(
                    replace(
                        worker_spec(function, self.project_root, self.aws_endpoint, secret_arns),
                        log_file=self._log_file(logical_id),
                    )
                ),
                max(self.concurrency, local_concurrency(stack, logical_id)),
                self.preload,
            )
            for logical_id, function in stack.functions.items()
        }
        if stack.token_trigger:
            # Dev logins are provisioned with the trigger's environment (its directory table).
            trigger = worker_spec(stack.functions[stack.token_trigger], self.project_root, self.aws_endpoint)
            spec = replace(
                trigger,
                function_name="kontakt-dev-provisioner",
                handler="infra.devlogins.handler",
                code_dir=str(self.project_root),
                log_file=self._log_file(DEV_PROVISIONER),
            )
            pools[DEV_PROVISIONER] = FunctionPool(spec, 1, self.preload)
        return Functions(pools, Console(pools))

    def _with_hosts(self, spec: WorkerSpec) -> WorkerSpec:
        """The worker answers names from `hosts` when the runtime has them (infra/local_dns.py)."""
        return replace(spec, environment={**spec.environment, **local_dns.environment(self.hosts)})

    def _log_file(self, logical_id: str) -> str | None:
        """The function's log file, emptied: each run of the runtime starts its logs anew."""
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"{logical_id}.log"
        path.write_text("")
        return str(path)

    def _pumps(self, stack: Stack) -> list[Pump]:
        assert self.functions is not None
        pumps: list[Pump] = []
        resumed: dict[str, dict[str, str]] = (self.emulator.restored or {}).get("streams", {})
        heads = StreamHeads(self.emulator.stream_heads)  # one request a round for all stream pumps
        for mapping in stack.mappings.values():
            if not mapping.enabled:
                continue
            function = stack.functions[mapping.function]
            if mapping.kind == "sqs":
                queue = stack.queue_by_arn(mapping.source_arn)
                if queue is None:
                    raise ValueError(f"{mapping.logical_id}: no queue {mapping.source_arn} in the stack")
                self._watched_queue_urls.append(queue.url)
                if self.batching_window is not None:
                    mapping = replace(mapping, batching_window=min(mapping.batching_window, self.batching_window))
                for _ in range(mapping_pumps(mapping)):  # side by side, as Lambda's pollers
                    pumps.append(SqsPump(self.client("sqs"), mapping, queue, function.name, self.functions.invoke))
            elif mapping.kind == "dynamodb":
                if self.batching_window is not None:
                    mapping = replace(mapping, batching_window=min(mapping.batching_window, self.batching_window))
                pumps.append(
                    StreamPump(
                        self.client("dynamodbstreams"),
                        mapping,
                        function.name,
                        function.arn,
                        self._failure_destination(stack, mapping),
                        self.functions.invoke,
                        resume=resumed.get(mapping.logical_id),
                        heads=heads,
                    )
                )
            else:
                log.warning("%s: event source %s is not supported locally", mapping.logical_id, mapping.source_arn)
        return pumps

    def _failure_destination(self, stack: Stack, mapping: EventSourceMapping) -> FailureDestination | None:
        """The mapping's on-failure destination: a queue of the stack or a bucket of the stack."""
        arn = mapping.on_failure_arn
        if not arn:
            return None
        queue = stack.queue_by_arn(arn)
        if queue is not None:
            return FailureDestination("sqs", queue.url, self.client("sqs"))
        bucket = stack.bucket_by_arn(arn)
        if bucket is not None:
            return FailureDestination("s3", bucket.name, self.client("s3"))
        raise ValueError(f"{mapping.logical_id}: on-failure destination {arn} is not a queue or bucket of the stack")

    def _tap(self, stack: Stack) -> TapPump:
        """Dev tooling outside the template: a catch-all rule on every bus into one queue."""
        sqs, events = self.client("sqs"), self.client("events")
        url = sqs.create_queue(QueueName=TAP_NAME)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for bus in stack.buses.values():
            events.put_rule(Name=TAP_NAME, EventBusName=bus.name, EventPattern=json.dumps(TAP_PATTERN))
            events.put_targets(Rule=TAP_NAME, EventBusName=bus.name, Targets=[{"Id": TAP_NAME, "Arn": arn}])
        self._watched_queue_urls.append(url)
        return TapPump(self.client("sqs"), url)

    # -- for tests and tools

    def _sms_inbound(self, envelope: dict[str, Any]) -> None:
        """SNS's delivery of an inbound SMS to SmsInboundQueue (SNS itself is not run locally)."""
        assert self.stack is not None
        queue = self.stack.queues["SmsInboundQueue"]
        self.cached_client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(envelope))

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    boto3_client = client

    def cached_client(self, service: str) -> Any:
        """One client per service, made once (making one takes a while): for tools that ask often,
        as the /dev page does every second or two."""
        with self._clients_lock:
            if service not in self._cached_clients:
                self._cached_clients[service] = self.client(service)
            return self._cached_clients[service]

    def token(self, tenant: str, user: str, role: str = "admin", groups: Iterable[str] = ()) -> str:
        """A dev ID token for `user` of `tenant` with this role and groups, made as in AWS.

        The tenant and the directory user are provisioned (idempotently) and linked to a dev login,
        then the template's pre-token-generation trigger gives the claims (infra/devlogins.py).
        Tokens are kept per (tenant, user, role, groups) for half their lifetime.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        key = (tenant, user, role, tuple(groups))
        with self._tokens_lock:
            token, made = self._tokens.get(key, ("", 0.0))
            if token and time.monotonic() - made < DEFAULT_TTL / 2:  # a long `kontakt dev` gets fresh ones
                return token
            if self.stack is None or self.stack.token_trigger is None:
                token = self.issuer.mint(tenant, user, role, key[3])  # a template without logins
            else:
                provisioned = self.invoke(
                    DEV_PROVISIONER, {"tenant": tenant, "user": user, "role": role, "groups": list(key[3])}
                )
                token = self.login_token(provisioned["subject"], provisioned["email"])
            self._tokens[key] = (token, time.monotonic())
            return token

    def sign_in(
        self, tenant: str, user: str, password: str, ip: str, user_agent: str, role: str = "admin", flow: str = "custom"
    ) -> str:
        """A dev sign-in as Cognito runs one: the sign-in triggers with their events in Cognito's
        order, the password checked in between (`devlogins.DEV_PASSWORD`). `flow`: "custom"
        (CUSTOM_AUTH with SRP: DefineAuthChallenge sees the password's result) or "password"
        (USER_PASSWORD_AUTH, as USER_SRP_AUTH: no trigger sees a wrong password).

        Returns the ID token; raises SignInFailed as Cognito answers NotAuthorizedException: a wrong
        password, or a refusal of the pre-authentication trigger (a locked user or address).
        """
        assert self.stack is not None and self.stack.signin_trigger, "the template has no sign-in triggers"
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if flow not in ("custom", "password"):
            raise ValueError(f"flow must be custom or password, not {flow!r}")
        provisioned = self.invoke(DEV_PROVISIONER, {"tenant": tenant, "user": user, "role": role, "groups": []})
        subject, email = provisioned["subject"], provisioned["email"]
        client_id = self.stack.parameters.get("JwtAudience", "kontakt")
        client = {"ip": ip, "user_agent": user_agent}

        def trigger(source: str, **request: Any) -> Any:
            event = devlogins.sign_in_event(source, subject, email, LOCAL_USER_POOL, client_id, client)
            event["request"].update(request)
            assert self.stack is not None and self.stack.signin_trigger
            return self.invoke(self.stack.signin_trigger, event)

        try:
            trigger("PreAuthentication_Authentication")
        except FunctionError as refused:
            raise SignInFailed(f"PreAuthentication failed with error {refused}") from refused
        right = password == devlogins.DEV_PASSWORD
        if flow == "custom":
            answer = trigger("DefineAuthChallenge_Authentication", session=devlogins.password_session(right))
            right = bool(answer["response"].get("issueTokens"))
        if not right:
            raise SignInFailed("Incorrect username or password.")
        trigger("PostAuthentication_Authentication", newDeviceUsed=False)
        return self.login_token(subject, email)

    def login_token(self, subject: str, email: str) -> str:
        """The ID token Cognito would issue to this login: the trigger's claims, signed by the dev key.

        Raises FunctionError when the trigger refuses the login (Cognito would refuse the sign-in).
        """
        assert self.stack is not None and self.stack.token_trigger, "the template has no pre-token-generation trigger"
        event = devlogins.cognito_event(
            subject, email, LOCAL_USER_POOL, self.stack.parameters.get("JwtAudience", "kontakt")
        )
        answer = self.invoke(self.stack.token_trigger, event)
        claims = dict(answer["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"])
        return self.issuer.sign({**claims, "sub": subject, "email": email, "email_verified": "true"})

    def events(self, limit: int | None = 50) -> list[dict[str, Any]]:
        """The last events put on any bus, newest first."""
        return self.tap.events(limit) if self.tap else []

    def invoke(self, function_logical_id: str, event: Any) -> Any:
        """Invoke a function directly; raises FunctionError when it fails."""
        assert self.functions is not None, "start() first"
        return self.functions.invoke(function_logical_id, event)

    def fire_schedules(self, now: datetime | None = None) -> list[str]:
        """Fire the schedules due at `now`; returns the names of those fired."""
        assert self.schedules is not None, "start() first"
        return self.schedules.fire_due(now)

    def drain(self, timeout: float = 60) -> None:
        """Wait until every pumped queue and stream is empty and no invocation is in flight.

        Drained: a check finds no work (no pump holding records, no invocation, no visible message
        in a watched queue), each stream is then read by a poll that began after that check (it reads
        every shard with a record not read, from heads asked after it began: StreamHeads), and no
        message or record was taken and no invocation began or ended from before the check until
        after those polls. Work moves only by those steps, so nothing moved while the check looked
        (its reads are one after another, not one snapshot) and no stream record was left unread.
        """
        deadline = time.monotonic() + timeout
        quiet: tuple[int, dict[str, int]] | None = None  # activity and stream polls begun at a check that found no work
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"runtime not drained after {timeout}s: {self._pending_work()}")
            time.sleep(0.1)  # a check is 9 queue reads: more often only loads the emulator the functions need
            activity = self._activity()
            if self._has_work():
                quiet = None
                continue
            if quiet is None or quiet[0] != activity:
                quiet = (activity, self._stream_polls_begun())
                self._wake_streams()
                continue
            # A poll numbered above those begun at the check that found no work began after it: one
            # completed poll more than had begun then (two when a poll was under way at the check,
            # as the count of completed polls alone had to assume of every pump).
            polls = self._stream_polls()
            if all(polls[name] >= quiet[1][name] + 1 for name in polls):
                return
            self._wake_streams()  # an idle stream pump polls again at once, not within STREAM_IDLE_POLL

    def _activity(self) -> int:
        taken = sum(p.taken for p in self.pumps)
        return taken + (self.functions.activity if self.functions is not None else 0)

    def failed_deliveries(self) -> dict[str, int]:
        """Messages of each consumer queue that no pump holds and no consumer finished, by queue name:
        after a drain, each is a delivery a consumer failed (waiting out its visibility timeout
        for a retry) or a dead letter. Queues with none are left out."""
        counts = self.emulator.queue_counts()
        failed: dict[str, int] = {}
        for url in self._watched_queue_urls:
            name = url.rsplit("/", 1)[-1]
            if counts[name]["in_flight"]:
                failed[name] = counts[name]["in_flight"]
            dead_letters = counts[name]["dead_letters"]
            if dead_letters and counts[dead_letters]["visible"]:
                failed[dead_letters] = counts[dead_letters]["visible"]
        return failed

    def queue_dead_letters(self, url: str) -> str | None:
        """The URL of a queue's dead-letter queue, from its redrive policy."""
        sqs = self.client("sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        policy = attributes.get("RedrivePolicy")
        if not policy:
            return None
        arn = json.loads(policy)["deadLetterTargetArn"]
        return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

    def _streams_written(self, stack: Stack) -> dict[str, list[StreamPump]]:
        """Per function, the stream pumps of the tables it may write (`streamed_tables_written`)."""
        streams = [p for p in self.pumps if isinstance(p, StreamPump)]
        return {
            function: [p for p in streams if _table_arn(p) in tables]
            for function, tables in streamed_tables_written(stack).items()
        }

    def _wake_written_streams(self, logical_id: str) -> None:
        pumps = self._written.get(logical_id)
        if pumps is None:  # not a template function (the dev provisioner): any table
            self._wake_streams()
            return
        for pump in pumps:
            pump.wake()

    def _wake_streams(self) -> None:
        """Something may have been written to a table (an invocation ended, a drain must see a poll)."""
        for pump in self.pumps:
            if isinstance(pump, StreamPump):
                pump.wake()

    def _stream_polls(self) -> dict[str, int]:
        return {p.name: p.polls for p in self.pumps if isinstance(p, StreamPump)}

    def _stream_polls_begun(self) -> dict[str, int]:
        return {p.name: p.began for p in self.pumps if isinstance(p, StreamPump)}

    def _has_work(self) -> bool:
        """Whether `_pending_work` would name anything, read in its order: the queues are asked only
        when no pump holds records and no invocation is in flight (most checks of a drain find
        either, and a count was the emulator's request most made after its streams')."""
        if any(not p.idle() for p in self.pumps) or (self.functions is not None and self.functions.in_flight):
            return True
        counts = self.emulator.queue_counts()
        return any(counts[url.rsplit("/", 1)[-1]]["visible"] for url in self._watched_queue_urls)

    def _pending_work(self) -> list[str]:
        pending = [f"pump {p.name}" for p in self.pumps if not p.idle()]
        if self.functions is not None and self.functions.in_flight:
            pending.append(f"{self.functions.in_flight} invocations")
        counts = self.emulator.queue_counts()  # all queues in one request (a dozen GetQueueAttributes before)
        for url in self._watched_queue_urls:
            # Visible messages only: one a pump holds is counted by the pump and the invocation in
            # flight; one a consumer failed waits out its visibility timeout (12 to 30 minutes in
            # the template) and is no work until it shows again, as in AWS. Counting those stalled
            # every later drain of a test worker for the whole timeout.
            name = url.rsplit("/", 1)[-1]
            count = counts[name]["visible"]
            if count:
                pending.append(f"{count} messages in {name}")
        return pending
