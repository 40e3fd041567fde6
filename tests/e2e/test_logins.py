"""Logins: `kontakt tenant create` / `kontakt user add` against the emulator's Cognito, the
pre-token-generation trigger, and one identity for a login and its directory user.

The commands run as an operator runs them (a separate process, `python -m infra.cli`), their AWS
calls going to the runtime's emulator; CloudFormation's DescribeStacks is answered by a small
stand-in that knows one stack and its outputs (moto's CloudFormation is not installed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from infra.functions import FunctionError
from infra.runtime import LocalRuntime
from tests.e2e.conftest import PROJECT_ROOT, Api
from tests.e2e.helpers import assert_problem, new_tenant

STACK_NAME = "kontakt-logins-test"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class _Stacks(BaseHTTPRequestHandler):
    outputs: dict[str, str] = {}

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        if form.get("StackName") != [STACK_NAME]:
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
                f"<Message>Stack with id {form.get('StackName', ['?'])[0]} does not exist</Message>"
                "</Error><RequestId>r</RequestId></ErrorResponse>"
            )
            self._send(400, body)
            return
        members = "".join(
            f"<member><OutputKey>{k}</OutputKey><OutputValue>{v}</OutputValue></member>"
            for k, v in self.outputs.items()
        )
        body = (
            '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<DescribeStacksResult><Stacks><member><StackName>{STACK_NAME}</StackName>"
            f"<StackId>arn:aws:cloudformation:eu-north-1:123456789012:stack/{STACK_NAME}/1</StackId>"
            "<CreationTime>2026-12-04T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>"
            f"<Outputs>{members}</Outputs></member></Stacks></DescribeStacksResult>"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>"
        )
        self._send(200, body)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def deployed(stack: LocalRuntime) -> Iterator[dict[str, str]]:
    """A "deployed stack": a user pool in the emulator's Cognito and the runtime's directory table."""
    assert stack.stack is not None
    pool = stack.client("cognito-idp").create_user_pool(
        PoolName="kontakt-e2e", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    handler = type(
        "Stacks",
        (_Stacks,),
        {
            "outputs": {
                "UserPoolId": pool,
                "DirectoryTableName": stack.stack.tables["DirectoryTable"].name,
            }
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"pool": pool, "cloudformation": f"http://127.0.0.1:{server.server_port}"}
    finally:
        server.shutdown()
        server.server_close()


def kontakt(stack: LocalRuntime, deployed: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`kontakt ARGS` as an operator runs it, with AWS at the emulator."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "AWS_ENDPOINT_URL": stack.aws_endpoint,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": deployed["cloudformation"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-north-1",
    }
    env.pop("AWS_PROFILE", None)
    command = [sys.executable, "-m", "infra.cli", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def cognito_user(stack: LocalRuntime, pool: str, email: str) -> dict[str, Any]:
    user: dict[str, Any] = stack.client("cognito-idp").admin_get_user(UserPoolId=pool, Username=email)
    user["attributes"] = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    return user


def login(stack: LocalRuntime, pool: str, email: str) -> Api:
    """The client of this Cognito user after sign-in: the trigger's claims in its ID token."""
    subject = cognito_user(stack, pool, email)["attributes"]["sub"]
    return Api(stack, stack.login_token(subject, email))


def test_tenant_create_provisions_the_tenant_and_its_admin_login_once(
    stack: LocalRuntime, deployed: dict[str, str]
) -> None:
    tenant, email = new_tenant(), f"boss-{uuid.uuid4().hex[:6]}@example.fi"
    first = kontakt(
        stack, deployed, "tenant", "create", "--stack", STACK_NAME, "--tenant", tenant, "--admin-email", email
    )
    assert first.returncode == 0, first.stderr
    assert f"tenant {tenant}: created" in first.stdout
    assert "invitation mailed" in first.stdout

    user = cognito_user(stack, deployed["pool"], email)
    assert user["attributes"]["email"] == email
    assert user["attributes"]["email_verified"] == "true"
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"  # must set a password at first sign-in

    admin = login(stack, deployed["pool"], email)
    users = admin.get("/users").json()["items"]
    assert [(u["email"], u["role"]) for u in users] == [(email, "admin")]
    assert ULID.match(users[0]["id"]) and users[0]["id"] != user["attributes"]["sub"]

    again = kontakt(
        stack, deployed, "tenant", "create", "--stack", STACK_NAME, "--tenant", tenant, "--admin-email", email
    )
    assert again.returncode == 0, again.stderr
    assert f"tenant {tenant}: exists" in again.stdout and "login " + email + ": exists" in again.stdout
    assert f"directory user {users[0]['id']}: exists" in again.stdout
    assert [u["id"] for u in login(stack, deployed["pool"], email).get("/users").json()["items"]] == [users[0]["id"]]
    pool_users = stack.client("cognito-idp").list_users(UserPoolId=deployed["pool"], Filter=f'email = "{email}"')
    assert len(pool_users["Users"]) == 1


def test_a_task_assigned_to_a_directory_user_is_on_that_users_todo_list(
    stack: LocalRuntime, deployed: dict[str, str]
) -> None:
    tenant = new_tenant()
    boss, sam = f"boss-{uuid.uuid4().hex[:6]}@example.fi", f"sam-{uuid.uuid4().hex[:6]}@example.fi"
    created = kontakt(
        stack, deployed, "tenant", "create", "--stack", STACK_NAME, "--tenant", tenant, "--admin-email", boss
    )
    assert created.returncode == 0, created.stderr
    admin = login(stack, deployed["pool"], boss)
    sam_id = admin.post("/users", json={"email": sam, "name": "Sam"}).json()["id"]

    added = kontakt(stack, deployed, "user", "add", "--stack", STACK_NAME, "--tenant", tenant, "--email", sam)
    assert added.returncode == 0, added.stderr
    assert f"directory user {sam_id}: exists, linked" in added.stdout

    due = "2031-01-01T09:00:00Z"
    task = admin.post("/activities", json={"type": "task", "subject": "Call Acme", "due": due, "owner_id": sam_id})
    assert task.status_code == 201, task.text
    as_sam = login(stack, deployed["pool"], sam)
    assert [i["id"] for i in as_sam.get("/todo").json()["items"]] == [task.json()["id"]]
    assert admin.get("/todo").json()["items"] == []
    assert_problem(as_sam.post("/groups", json={"name": "Mine"}), 403)  # the directory says: not an admin


def test_a_role_changed_in_the_directory_is_in_the_next_token(stack: LocalRuntime, deployed: dict[str, str]) -> None:
    tenant = new_tenant()
    boss, kim = f"boss-{uuid.uuid4().hex[:6]}@example.fi", f"kim-{uuid.uuid4().hex[:6]}@example.fi"
    assert (
        kontakt(
            stack, deployed, "tenant", "create", "--stack", STACK_NAME, "--tenant", tenant, "--admin-email", boss
        ).returncode
        == 0
    )
    assert (
        kontakt(stack, deployed, "user", "add", "--stack", STACK_NAME, "--tenant", tenant, "--email", kim).returncode
        == 0
    )
    admin = login(stack, deployed["pool"], boss)
    kim_id = next(u["id"] for u in admin.get("/users").json()["items"] if u["email"] == kim)
    assert_problem(login(stack, deployed["pool"], kim).post("/groups", json={"name": "Kim's"}), 403)
    assert admin.patch(f"/users/{kim_id}", json={"role": "admin"}).status_code == 200
    assert login(stack, deployed["pool"], kim).post("/groups", json={"name": "Kim's"}).status_code == 201


def test_a_login_of_no_tenant_gets_no_token(stack: LocalRuntime, deployed: dict[str, str]) -> None:
    email = f"stray-{uuid.uuid4().hex[:6]}@example.fi"
    stack.client("cognito-idp").admin_create_user(UserPoolId=deployed["pool"], Username=email)
    with pytest.raises(FunctionError, match="not a user of any Kontakt tenant"):
        login(stack, deployed["pool"], email)


def test_user_add_needs_an_existing_tenant_and_a_known_stack(stack: LocalRuntime, deployed: dict[str, str]) -> None:
    unknown = kontakt(
        stack, deployed, "user", "add", "--stack", STACK_NAME, "--tenant", new_tenant(), "--email", "x@example.fi"
    )
    assert unknown.returncode == 1 and "no tenant" in unknown.stderr
    missing = kontakt(
        stack, deployed, "tenant", "create", "--stack", "nope", "--tenant", "t1", "--admin-email", "x@example.fi"
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_a_token_of_a_tenant_never_provisioned_is_refused(api: Api) -> None:
    forged = Api(api.runtime, api.runtime.issuer.mint(new_tenant(), "admin-1", "admin"))
    body = assert_problem(forged.get("/accounts"), 403)
    assert "tenant does not exist" in body["detail"]


def test_dev_tokens_are_made_like_a_cognito_login(api: Api) -> None:
    """`kontakt token` (POST /dev/token): the tenant and directory user exist, the claims are the trigger's."""
    tenant = new_tenant()
    answer = api.post("/dev/token", json={"tenant": tenant, "user": "kim", "role": "manager", "groups": ["g1"]})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    claims = api.runtime.issuer.verify(token)
    assert (claims["tenant_id"], claims["user_id"], claims["role"], claims["groups"]) == (
        tenant,
        "kim",
        "manager",
        "g1",
    )
    assert claims["sub"] != "kim" and len(claims["sub"]) == 36  # a login subject, like Cognito's UUID
    kim = Api(api.runtime, token)
    assert [(u["id"], u["role"], u["groups"]) for u in kim.get("/users").json()["items"]] == [
        ("kim", "manager", ["g1"])
    ]
    assert api.post("/dev/token", json={"tenant": "a/b", "user": "kim"}).status_code == 400


def test_a_self_signed_up_login_is_a_user_of_the_tenant_that_allows_it_and_of_no_other(
    stack: LocalRuntime, deployed: dict[str, str]
) -> None:
    """Cognito's sign-up as the pool runs it: the pre-sign-up trigger, SignUp, the emailed code
    confirmed, the post-confirmation trigger (moto runs no triggers: they are invoked here with the
    events Cognito sends), then a sign-in through the pre-token-generation trigger."""
    tenant, other = new_tenant(), new_tenant()
    boss, other_boss = f"boss-{uuid.uuid4().hex[:6]}@example.fi", f"boss-{uuid.uuid4().hex[:6]}@example.fi"
    for name, email in ((tenant, boss), (other, other_boss)):
        made = kontakt(
            stack, deployed, "tenant", "create", "--stack", STACK_NAME, "--tenant", name, "--admin-email", email
        )
        assert made.returncode == 0, made.stderr
    admin = login(stack, deployed["pool"], boss)
    settings = admin.get("/settings").json()
    assert settings["self_sign_up"] == {"enabled": False, "allowed_domains": []}
    settings["self_sign_up"] = {"enabled": True, "allowed_domains": ["acme.fi"]}
    assert admin.put("/settings", json=settings).status_code == 200

    cognito = stack.client("cognito-idp")
    client = cognito.create_user_pool_client(UserPoolId=deployed["pool"], ClientName="web")["UserPoolClient"]
    email = f"sam-{uuid.uuid4().hex[:6]}@acme.fi"

    def sign_up(named: str, user_name: str) -> None:
        event = {
            "version": "1",
            "triggerSource": "PreSignUp_SignUp",
            "region": "eu-north-1",
            "userPoolId": deployed["pool"],
            "userName": user_name,  # the user name Cognito is creating (with email sign-in, a UUID)
            "callerContext": {"awsSdkVersion": "aws-cli", "clientId": client["ClientId"]},
            "request": {
                "userAttributes": {"email": email},
                "validationData": None,
                "clientMetadata": {"tenant": named},
            },
            "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
        }
        stack.invoke("DirectorySignUpFunction", event)  # Cognito creates the user only if this succeeds

    with pytest.raises(FunctionError, match="not open"):
        sign_up(other, str(uuid.uuid4()))  # self sign-up is off in the other tenant: Cognito creates no user
    subject = cognito.sign_up(
        ClientId=client["ClientId"],
        Username=email,
        Password="Correct-Horse-9",
        UserAttributes=[{"Name": "email", "Value": email}],
        ClientMetadata={"tenant": tenant},
    )["UserSub"]
    user_name = cognito_user(stack, deployed["pool"], email)["Username"]
    sign_up(tenant, user_name)  # what Cognito ran inside SignUp, before it created that user
    with pytest.raises(FunctionError, match="not a user of any Kontakt tenant"):
        login(stack, deployed["pool"], email)  # unconfirmed: no directory user yet

    cognito.admin_confirm_sign_up(UserPoolId=deployed["pool"], Username=email)
    confirmed = {
        "version": "1",
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": "eu-north-1",
        "userPoolId": deployed["pool"],
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-cli", "clientId": client["ClientId"]},
        "request": {"userAttributes": cognito_user(stack, deployed["pool"], email)["attributes"], "clientMetadata": {}},
        "response": {},
    }
    stack.invoke("DirectoryJoinFunction", confirmed)
    stack.invoke("DirectoryJoinFunction", confirmed)  # delivered twice

    sam = login(stack, deployed["pool"], email)
    claims = stack.issuer.verify(str(sam.session.headers["Authorization"]).removeprefix("Bearer "))
    assert (claims["sub"], claims["tenant_id"], claims["role"], claims["groups"]) == (subject, tenant, "user", "")
    mine = [(u["id"], u["role"]) for u in admin.get("/users").json()["items"] if u["email"] == email]
    assert mine == [(claims["user_id"], "user")]
    assert_problem(sam.put("/settings", json=settings), 403)  # a user, not an admin
    other_admin = login(stack, deployed["pool"], other_boss)
    assert [u for u in other_admin.get("/users").json()["items"] if u["email"] == email] == []
