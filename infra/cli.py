"""The `kontakt` command: run the system locally and the tools around template.yaml."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEV_FILE = Path(".kontakt") / "dev.json"
MAIL_DIR = Path(".kontakt") / "mail"
LOG_DIR = Path(".kontakt") / "logs"  # each function's full log: <LogicalId>.log (infra/console.py)
STATE_DIR = Path(".kontakt") / "state"

Command = Callable[[argparse.Namespace], int]

# This module imports little at its top: `kontakt dev`'s emulator and every function worker are
# spawned processes, and each imports the main module again (multiprocessing's spawn), so what is
# imported here is imported once more by every cold start. The commands import what they use.


def find_project_root() -> Path:
    from infra.template import find_project_root

    return find_project_root()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    command: Command = args.command
    return command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kontakt", description="Kontakt's local runtime and tools.")
    sub = parser.add_subparsers(metavar="COMMAND")

    dev = sub.add_parser("dev", help="run the whole system locally")
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument(
        "--smtp-port", type=int, default=2525, help="the loopback SMTP listener taking inbound mail (0: any free port)"
    )
    dev.add_argument("--stage", default="dev")
    dev.add_argument(
        "--no-demo", action="store_true", help="do not load the demo data (it goes only into a stack that starts empty)"
    )
    dev.add_argument(
        "--mail-dir",
        default=os.environ.get("KONTAKT_MAIL_DIR", str(MAIL_DIR)),
        help=f"where sent mails are written as .eml files (default $KONTAKT_MAIL_DIR or {MAIL_DIR}); '' for nowhere",
    )
    dev.add_argument(
        "--state-dir",
        default=os.environ.get("KONTAKT_STATE_DIR", str(STATE_DIR)),
        help=f"where the stack's data is saved across restarts (default $KONTAKT_STATE_DIR or {STATE_DIR}); "
        "'' for nowhere",
    )
    dev.add_argument("--fresh", action="store_true", help="start empty: discard the saved data")
    dev.add_argument(
        "--snapshot-interval",
        type=float,
        default=float(os.environ.get("KONTAKT_SNAPSHOT_INTERVAL", "2")),
        help="seconds between saves of changed data: what a crash may lose (default 2)",
    )
    dev.set_defaults(command=run_dev)

    tenant = sub.add_parser("tenant", help="tenants of a deployed stack")
    tenant_sub = tenant.add_subparsers(metavar="ACTION")
    create = tenant_sub.add_parser("create", help="provision a tenant and its first admin's login")
    create.add_argument("--stack", required=True, help="the CloudFormation stack name (sam deploy's --stack-name)")
    create.add_argument("--tenant", required=True, help="the tenant id (letters, digits, - and _)")
    create.add_argument("--admin-email", required=True, help="the admin's email: their user name, invited by mail")
    create.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    create.set_defaults(command=run_tenant_create)
    reindex = tenant_sub.add_parser(
        "reindex", help="write a tenant's index entries again (list filters, search, updated_since keys)"
    )
    reindex.add_argument("--stack", required=True)
    reindex.add_argument("--tenant", required=True)
    reindex.add_argument("--region")
    reindex.set_defaults(command=run_tenant_reindex)

    user = sub.add_parser("user", help="logins of a deployed stack")
    user_sub = user.add_subparsers(metavar="ACTION")
    add = user_sub.add_parser("add", help="give a user of a tenant a login (links the directory user of that email)")
    add.add_argument("--stack", required=True)
    add.add_argument("--tenant", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=["admin", "manager", "user"], help="set the user's role (default: keep)")
    add.add_argument("--region")
    add.set_defaults(command=run_user_add)

    token = sub.add_parser("token", help="print a dev bearer token (from the running `kontakt dev`)")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--role", default="admin", choices=["admin", "manager", "user"])
    token.add_argument("--groups", default="", help="comma-separated group ids")
    token.set_defaults(command=run_token)

    events = sub.add_parser("events", help="print the last events of a running `kontakt dev`")
    events.add_argument("--limit", type=int, default=20)
    events.set_defaults(command=run_events)

    sms = sub.add_parser("sms", help="play a handset against the running `kontakt dev`")
    sms_sub = sms.add_subparsers(metavar="ACTION")
    reply = sms_sub.add_parser("reply", help="send an inbound SMS from a number (e.g. STOP, HELP or any text)")
    reply.add_argument("number", help="the handset's number, E.164, e.g. +358401234567")
    reply.add_argument("text", nargs="+", help="the message")
    reply.set_defaults(command=run_sms_reply)

    logs = sub.add_parser("logs", help="print a function's log of the running (or last) `kontakt dev`")
    logs.add_argument("function", help="the function's logical id in template.yaml, e.g. DirectoryApiFunction")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing lines as they are written")
    logs.add_argument("-n", "--lines", type=int, help="only the last N lines")
    logs.set_defaults(command=run_logs)

    check = sub.add_parser("check-template", help="translate template.yaml with the SAM translator")
    check.set_defaults(command=run_check_template)

    docs = sub.add_parser("docs", help="write the generated docs (events.md, OpenAPI)")
    docs.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    docs.set_defaults(command=run_docs)

    lock = sub.add_parser("lock", help="pin the functions' runtime dependencies for Lambda (requirements/lambda.txt)")
    lock.set_defaults(command=run_lock)

    build = sub.add_parser(
        "build", help="build the dependency layer and the functions' code artifacts for `sam deploy`"
    )
    build.set_defaults(command=run_build)

    new = sub.add_parser("new-service", help="start a new service in the one shape (docs/architecture.md)")
    new.add_argument("name", help="2-20 lower-case letters: the service's folder, table and route prefix")
    new.set_defaults(command=run_new_service)
    return parser


def run_dev(args: argparse.Namespace) -> int:
    from infra.console import ConsoleFormatter
    from infra.runtime import LocalRuntime

    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(ConsoleFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[console])
    root = find_project_root()
    mail_dir = (root / args.mail_dir) if args.mail_dir else None  # an absolute --mail-dir stays as it is
    state_dir = (root / args.state_dir) if args.state_dir else None
    runtime = LocalRuntime(
        root,
        stage=args.stage,
        port=args.port,
        smtp_port=args.smtp_port,
        mail_dir=mail_dir,
        state_dir=state_dir,
        fresh=args.fresh,
        snapshot_interval=args.snapshot_interval,
        log_dir=root / LOG_DIR,
    )
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    try:
        runtime.start()
    except RuntimeError as error:  # e.g. a saved state that no longer fits: what to do, not a traceback
        print(f"kontakt dev: {error}", file=sys.stderr)
        return 1
    try:
        _write_dev_file(root, runtime)
        demo_steps: list[str] = []
        if not args.no_demo and not runtime.restored:  # demo data goes into an empty stack only
            demo_steps = _load_demo(runtime)
        _print_banner(runtime, demo_steps)
        stopping.wait()
    finally:
        print("stopping ...", flush=True)
        runtime.stop()
        (root / DEV_FILE).unlink(missing_ok=True)
    return 0


def _write_dev_file(root: Path, runtime: Any) -> None:
    path = root / DEV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    mail_dir = str(runtime.mail_dir) if runtime.mail_dir else None
    document = {"api_url": runtime.api_url, "aws_endpoint": runtime.aws_endpoint, "mail_dir": mail_dir}
    path.write_text(json.dumps(document, indent=2))


def _load_demo(runtime: Any) -> list[str]:
    """Load the demo data; the requests its summary suggests trying (for the banner)."""
    try:
        demo = importlib.import_module("infra.demo")
    except ModuleNotFoundError as error:
        if error.name != "infra.demo":
            raise
        print("(no infra/demo.py yet: starting without demo data)")
        return []
    summary = demo.load(runtime)
    return list(demo.next_steps(summary, runtime.api_url))


def _print_banner(runtime: Any, demo_steps: list[str] | None = None) -> None:
    api = runtime.api_url
    try:
        token = runtime.token("demo", "demo-admin", "admin")
    except Exception as error:  # a slow cold start must not end the stack: ask again with `kontakt token`
        token = f"(none yet: {error}; kontakt token --tenant demo --user demo-admin)"
    mail = f"{runtime.mail_dir}/*.eml   (or {api}/dev/mail)" if runtime.mail_dir else "not kept (--mail-dir '')"
    smtp = getattr(runtime, "smtp_address", None)
    demo_mailbox = "tuki"  # infra/demo.py's SUPPORT_MAILBOX, on the stack's sending domain
    inbound = (
        f"smtp://{smtp[0]}:{smtp[1]}   (SMTP to a mailbox's address opens a ticket: /scanner/mailboxes;"
        f" the demo's is {demo_mailbox}@{runtime.stack.parameters['SendingDomain']})"
        if smtp
        else "no SMTP listener (the template has no receipt rule)"
    )
    if runtime.state_file is None:
        state = "not kept (--state-dir '')"
    else:
        loaded = "loaded" if runtime.restored else "new"
        state = f"{runtime.state_file}   ({loaded}; saved as it changes; --fresh starts empty)"
        if "not loaded" in runtime.emulator.state_message:  # another moto or stack made it: say why
            state += f"\n               {runtime.emulator.state_message}"
    steps = "".join(f"  {line}\n" for line in demo_steps or [])
    duplicates = f"\nThe demo's duplicate contacts and accounts:\n\n{steps}" if steps else ""
    print(
        f"""
Kontakt is running.

  API          {api}
  API docs     {api}/docs   (one document: {api}/openapi.json)
  Console page {api}/dev   (events and their deliveries, sent mail, tickets, invoices, duplicates, queues, schedules)
  AWS emulator {runtime.aws_endpoint}
  Events       kontakt events   (or {api}/dev/events)
  Sent mail    {mail}
  Webhooks     {api}/dev/webhooks   (what POST {api}/dev/webhooks/<name> received: the demo endpoint's is demo)
  Inbound mail {inbound}
  Logs         kontakt logs <function> [--follow]   (.kontakt/logs/<function>.log, JSON lines)
  Saved data   {state}

Bearer token (tenant demo, user demo-admin, role admin), then requests to try:

  export TOKEN={token}
  curl -H "Authorization: Bearer $TOKEN" {api}/contacts
  curl -H "Authorization: Bearer $TOKEN" "{api}/call-list?mode=accounts"
  curl -H "Authorization: Bearer $TOKEN" "{api}/invoices?status=issued"   (the demo's; GET /invoices/<id>: PDF link)
  curl -X POST -H "Authorization: Bearer $TOKEN" -H "content-type: application/json" \\
       -d '{{"name": "Acme Oy"}}' {api}/accounts
{duplicates}
Ctrl-C to stop.
""",
        flush=True,
    )


def run_token(args: argparse.Namespace) -> int:
    """Asks the running `kontakt dev` for the token: it provisions the tenant and user like AWS."""
    path = find_project_root() / DEV_FILE
    if not path.exists():
        print("kontakt dev is not running (no .kontakt/dev.json): start it first", file=sys.stderr)
        return 1
    api_url = json.loads(path.read_text())["api_url"]
    groups = [g for g in args.groups.split(",") if g]
    body = json.dumps({"tenant": args.tenant, "user": args.user, "role": args.role, "groups": groups}).encode()
    import urllib.request

    request = urllib.request.Request(
        f"{api_url}/dev/token", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            print(json.loads(response.read())["token"])
    except OSError as error:
        print(f"kontakt dev at {api_url} gave no token: {error}", file=sys.stderr)
        return 1
    return 0


def _provisioner(args: argparse.Namespace) -> Any:
    import boto3

    from infra.provision import Provisioner

    return Provisioner(args.stack, boto3.session.Session(region_name=args.region))


def run_tenant_create(args: argparse.Namespace) -> int:
    return _provision("tenant create", lambda p: p.create_tenant(args.tenant, args.admin_email), args)


def run_tenant_reindex(args: argparse.Namespace) -> int:
    return _provision("tenant reindex", lambda p: p.reindex(args.tenant), args)


def run_user_add(args: argparse.Namespace) -> int:
    return _provision("user add", lambda p: p.add_user(args.tenant, args.email, args.role), args)


def _provision(command: str, action: Callable[[Any], Any], args: argparse.Namespace) -> int:
    """Run one provisioning step on the deployed stack; its result lines, or the error, printed."""
    from infra.provision import ProvisionError

    try:
        result = action(_provisioner(args))
    except ProvisionError as error:
        print(f"kontakt {command}: {error}", file=sys.stderr)
        return 1
    print("\n".join(result.lines()))
    return 0


def run_events(args: argparse.Namespace) -> int:
    path = find_project_root() / DEV_FILE
    if not path.exists():
        print("kontakt dev is not running (no .kontakt/dev.json)", file=sys.stderr)
        return 1
    api_url = json.loads(path.read_text())["api_url"]
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api_url}/dev/events?limit={args.limit}", timeout=5) as response:
            events = json.loads(response.read())
    except OSError as error:
        print(f"cannot reach kontakt dev at {api_url}: {error}", file=sys.stderr)
        return 1
    for event in events:
        detail = event.get("detail") or {}
        envelope_id = detail.get("id", event.get("id")) if isinstance(detail, dict) else event.get("id")
        print(f"{event.get('time', '')}  {event.get('detail-type', '?'):32}  {envelope_id}  {event.get('source', '')}")
    return 0


def run_sms_reply(args: argparse.Namespace) -> int:
    """POST /dev/sms/inbound: the message goes on the inbound queue as SNS would deliver it."""
    path = find_project_root() / DEV_FILE
    if not path.exists():
        print("kontakt dev is not running (no .kontakt/dev.json)", file=sys.stderr)
        return 1
    api_url = json.loads(path.read_text())["api_url"]
    import urllib.error
    import urllib.request

    body = json.dumps({"from": args.number, "text": " ".join(args.text)}).encode()
    request = urllib.request.Request(
        f"{api_url}/dev/sms/inbound", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            message = json.loads(response.read())
    except urllib.error.HTTPError as error:
        print(f"kontakt dev refused the SMS: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"cannot reach kontakt dev at {api_url}: {error}", file=sys.stderr)
        return 1
    answered = message["previousPublishedMessageId"] or "no message of ours"
    print(f"{message['originationNumber']} -> {message['destinationNumber']}: {message['messageBody']!r}")
    print(f"  inbound {message['inboundMessageId']}, answering {answered}")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    """Print a function's log file (`tail -f` with --follow); an unknown name lists the known ones."""
    root = find_project_root()
    known = function_ids(root)
    name = args.function if args.function in known else _unique_match(args.function, known)
    if name is None:
        print(f"kontakt logs: no function {args.function!r} in template.yaml; its functions:", file=sys.stderr)
        print("\n".join(f"  {n}" for n in sorted(known)), file=sys.stderr)
        return 2
    path = root / LOG_DIR / f"{name}.log"
    if not path.exists() and not args.follow:
        print(f"kontakt logs: {name} has not run under kontakt dev (no {LOG_DIR / path.name})", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow
        _print_log(path, args.lines, args.follow)
    return 0


def function_ids(root: Path) -> set[str]:
    """The logical ids of template.yaml's functions (read as YAML: no transform), and of any other
    function with a log (the dev provisioner's)."""
    from samtranslator.yaml_helper import yaml_parse

    from infra.template import TEMPLATE_FILE

    resources = yaml_parse((root / TEMPLATE_FILE).read_text()).get("Resources") or {}
    types = ("AWS::Serverless::Function", "AWS::Lambda::Function")
    logged = {path.stem for path in (root / LOG_DIR).glob("*.log")}
    return {name for name, r in resources.items() if isinstance(r, dict) and r.get("Type") in types} | logged


def _unique_match(asked: str, known: set[str]) -> str | None:
    """`directoryapi` or `DirectoryApi` for DirectoryApiFunction: a case-insensitive name, "Function" optional."""
    wanted = asked.lower().removesuffix("function")
    found = [n for n in known if n.lower().removesuffix("function") == wanted]
    return found[0] if len(found) == 1 else None


def _print_log(path: Path, lines: int | None, follow: bool) -> None:
    while not path.exists():  # --follow: the function has not run yet
        time.sleep(0.5)
    with path.open(encoding="utf-8", errors="replace") as log:
        text = log.readlines()
        if lines is not None:
            text = text[len(text) - lines :] if 0 < lines < len(text) else text if lines > 0 else []
        sys.stdout.writelines(text)
        sys.stdout.flush()
        while follow:
            position = log.tell()
            line = log.readline()
            if line.endswith("\n"):
                sys.stdout.write(line)
                sys.stdout.flush()
                continue
            log.seek(position)  # a line still being written: read it whole
            if path.stat().st_size < position:  # a new `kontakt dev` emptied it: from its start
                log.seek(0)
            time.sleep(0.25)


def run_check_template(args: argparse.Namespace) -> int:
    from infra.template import TemplateError, build_stack, translate

    try:
        root = find_project_root()
        stack = build_stack(translate(root))
    except TemplateError as error:
        print(f"template.yaml: {error}", file=sys.stderr)
        return 1
    print(
        f"template.yaml translates: {len(stack.functions)} functions, {len(stack.routes)} routes, "
        f"{len(stack.mappings)} event source mappings, {len(stack.tables)} tables, {len(stack.queues)} queues"
    )
    return 0


def run_docs(args: argparse.Namespace) -> int:
    from infra import docs

    root = find_project_root()
    try:
        return _docs(root, args.check)
    except docs.MergeError as error:
        print(f"docs: the services' OpenAPI documents do not merge: {error}", file=sys.stderr)
        return 1


def _docs(root: Path, check: bool) -> int:
    from infra import docs

    if check:
        stale = docs.stale(root)
        for path in stale:
            print(f"{path} is stale: run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for path in docs.write_all(root):
        print(f"wrote {path}")
    return 0


def run_lock(args: argparse.Namespace) -> int:
    from infra import build

    try:
        path = build.lock(find_project_root())
    except build.BuildError as error:
        print(f"lock: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}: {len(build.read_lock(path))} distributions")
    return 0


def run_build(args: argparse.Namespace) -> int:
    from infra import build

    root = find_project_root()
    try:
        sizes = build.build(root)
    except build.BuildError as error:
        print(f"build: {error}", file=sys.stderr)
        return 1
    print(f"built {root / build.BUILD_DIR}: a layer of dependencies and a code artifact per service")
    print(build.render_sizes(sizes))
    print("next: sam deploy --guided (it zips and uploads these folders)")
    return 0


def run_new_service(args: argparse.Namespace) -> int:
    from infra import newservice

    root = find_project_root()
    try:
        written = newservice.create(root, args.name)
    except newservice.NewServiceError as error:
        print(f"new-service: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(newservice.next_steps(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
