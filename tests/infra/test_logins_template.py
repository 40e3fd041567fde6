"""The translated template's logins: what a deployed user pool lets users do, and its trigger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from infra.template import build_stack, translate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(translate(ROOT).resources)


def test_sign_ups_pass_the_directorys_trigger_and_no_user_can_write_a_claim(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]["Properties"]
    # Users may sign up, but only through the pre-sign-up trigger (it refuses a sign-up unless a
    # tenant allows it) and only confirmed: an unconfirmed email gets no login.
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert pool["LambdaConfig"]["PreSignUp"] == {"Fn::GetAtt": ["DirectorySignUpFunction", "Arn"]}
    assert pool["LambdaConfig"]["PostConfirmation"] == {"Fn::GetAtt": ["DirectoryJoinFunction", "Arn"]}
    assert pool["AutoVerifiedAttributes"] == ["email"]  # Cognito mails a code; nothing confirms without it
    assert not [a for a in pool.get("Schema", []) if a["Name"] in ("tenant_id", "role")]
    client = resources["UserPoolClient"]["Properties"]
    assert client["WriteAttributes"] == ["name"]
    assert not [a for a in client["ReadAttributes"] if a.startswith("custom:")]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]  # the README's shell sign-in


def test_the_directory_trigger_makes_every_token(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]["Properties"]
    assert set(pool["LambdaConfig"]) == {
        "PreTokenGeneration",
        "PreSignUp",
        "PostConfirmation",
        "PreAuthentication",
        "DefineAuthChallenge",
        "PostAuthentication",
    }
    assert pool["LambdaConfig"]["PreTokenGeneration"] == {"Fn::GetAtt": ["DirectoryTokenFunction", "Arn"]}
    for function in ("DirectoryTokenFunction", "DirectorySignUpFunction", "DirectoryJoinFunction"):
        permission = resources[f"{function}CognitoPermission"]["Properties"]
        assert permission["Principal"] == "cognito-idp.amazonaws.com"
        assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    stack = build_stack(translate(ROOT))
    assert stack.token_trigger == "DirectoryTokenFunction"
    function = stack.functions["DirectoryTokenFunction"]
    assert function.handler == "services.directory.handlers.token.handler"
    assert function.environment["TABLE_NAME"] == stack.tables["DirectoryTable"].name


def test_cognito_mails_through_the_sending_domain_and_email_recovers_a_password(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]["Properties"]
    email = pool["EmailConfiguration"]
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert "identity/${SendingDomain}" in email["SourceArn"]["Fn::Sub"]
    assert email["From"]["Fn::Sub"].endswith("@${SendingDomain}>")
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]


def test_the_user_pool_outlives_its_stack(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_the_stack_outputs_what_the_operator_commands_read() -> None:
    outputs = yaml_parse((ROOT / "template.yaml").read_text())["Outputs"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UserPoolClient"}
    assert outputs["DirectoryTableName"]["Value"] == {"Ref": "DirectoryTable"}
