"""A permission removed from a copy of template.yaml is refused under the local runtime, as in AWS.

The link key's rotation function is started from the real template and from a copy whose role lacks
one action (`secretsmanager:DescribeSecret`, the rotation's first call): the same invocation works
with the first and fails with the second, with the error AWS returns (AccessDeniedException, the
function's assumed role, the action and the secret's ARN), before any request reaches the emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.functions import FunctionError
from infra.runtime import LocalRuntime

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FUNCTION = "EmailLinkKeyRotationFunction"
REMOVED = "                - secretsmanager:DescribeSecret\n"  # one line of its role's Statement


def _copy_without_the_permission(target: Path) -> Path:
    """The project with every file linked but template.yaml, which loses the one action."""
    for path in PROJECT_ROOT.iterdir():
        if path.name not in ("template.yaml", ".git", ".kontakt"):
            (target / path.name).symlink_to(path)
    text = (PROJECT_ROOT / "template.yaml").read_text()
    assert text.count(REMOVED) == 1, "the rotation role's DescribeSecret line moved: update REMOVED"
    (target / "template.yaml").write_text(text.replace(REMOVED, ""))
    return target


def _rotate(runtime: LocalRuntime) -> object:
    assert runtime.stack is not None
    secret = runtime.stack.secrets["EmailLinkKeySecret"].arn
    step = {"SecretId": secret, "ClientRequestToken": str(uuid.uuid4()), "Step": "createSecret"}
    return runtime.invoke(FUNCTION, step)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_without_the_permission(tmp_path_factory.mktemp("project"))


def _started(root: Path) -> Iterator[LocalRuntime]:
    with LocalRuntime(root, stage="iam", batching_window=0, preload=True) as runtime:
        yield runtime


def test_the_template_as_written_allows_the_call() -> None:
    for runtime in _started(PROJECT_ROOT):
        assert _rotate(runtime) == {}
        assert runtime.stack is not None
        secret = runtime.stack.secrets["EmailLinkKeySecret"].arn
        versions = runtime.client("secretsmanager").list_secret_version_ids(SecretId=secret)["Versions"]
        assert any("AWSPENDING" in v.get("VersionStages", []) for v in versions)  # the new key was added


def test_the_copy_without_the_permission_refuses_it_as_aws_does(copy: Path) -> None:
    for runtime in _started(copy):
        with pytest.raises(FunctionError) as failed:
            _rotate(runtime)
        assert runtime.stack is not None
        secret = runtime.stack.secrets["EmailLinkKeySecret"].arn
        assert failed.value.error_type == "ClientError"
        assert failed.value.message == (
            "An error occurred (AccessDeniedException) when calling the DescribeSecret operation: "
            f"User: arn:aws:sts::123456789012:assumed-role/{FUNCTION}Role/kontakt-{FUNCTION} "
            f"is not authorized to perform: secretsmanager:DescribeSecret on resource: {secret} "
            "because no identity-based policy allows the secretsmanager:DescribeSecret action"
        )
        # nothing reached the emulator: the secret has no pending version
        versions = runtime.client("secretsmanager").list_secret_version_ids(SecretId=secret)["Versions"]
        assert all("AWSPENDING" not in v.get("VersionStages", []) for v in versions)
