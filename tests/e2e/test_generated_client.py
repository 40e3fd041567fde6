"""One SDK for all of Kontakt: a Python client generated from docs/openapi/kontakt.json with
openapi-python-client drives one flow per service against the running API.

The generator runs as a subprocess into a temporary folder; the client raises on any status the
document does not list, so a response the document does not describe fails here as it would in a
client's code.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra import docs
from infra.runtime import LocalRuntime
from tests.e2e.helpers import new_tenant

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "kontakt_generated_client"
# No post hooks: the generator would run ruff over the generated code (not needed to import it).
CONFIG = f"package_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\npost_hooks: []\n"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("sdk")
    (out / "config.yaml").write_text(CONFIG, encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [str(generator), "generate", "--path", str(ROOT / docs.MERGED_OPENAPI), "--meta", "none"]
    command += ["--config", str(out / "config.yaml"), "--output-path", str(out / PACKAGE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # The one part the generator cannot model: the tracking pixel's image/gif (not a client's call).
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("WARNING")]
    assert warnings == ["WARNING parsing GET /t/{token} within email_public_pages."], result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def op(tag: str, operation_id: str) -> Any:
    """An operation module of the generated client: `api.<tag>.<operationId>`, as Python names
    (`op("email templates", "email.templates.get")` is `api.email_templates.email_templates_get`)."""
    module = operation_id.replace(".", "_")
    module = "".join(f"_{c.lower()}" if c.isupper() else c for c in module)
    return importlib.import_module(f"{PACKAGE}.api.{tag.replace(' ', '_')}.{module}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_one_flow_per_service_through_the_generated_client(sdk: ModuleType, stack: LocalRuntime) -> None:
    token = stack.token(new_tenant(), "sdk-admin", "admin")
    client = sdk.AuthenticatedClient(base_url=stack.api_url, token=token, raise_on_unexpected_status=True)

    contact = op("contacts", "contacts.create").sync(
        client=client, body=model("ContactCreate")(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    )
    assert isinstance(contact, model("ContactCreated")) and contact.possible_duplicates == [], contact
    read = op("contacts", "contacts.get").sync(contact.id, client=client)
    assert isinstance(read, model("Contact")) and read.last_name == "Lovelace"

    activity = op("activities", "activities.create").sync(
        client=client,
        body=model("ActivityCreate")(type_="task", subject="Send the offer", due=datetime.now(UTC) + timedelta(days=1)),
    )
    assert isinstance(activity, model("Activity")), activity
    read = op("activities", "activities.get").sync(activity.id, client=client)
    assert isinstance(read, model("Activity")) and read.subject == "Send the offer"

    template = op("email templates", "email.templates.create").sync(
        client=client, body=model("TemplateCreate")(name="Welcome", subject="Hello", html="<p>Hi</p>")
    )
    assert isinstance(template, model("Template")), template
    read = op("email templates", "email.templates.get").sync(template.id, client=client)
    assert isinstance(read, model("Template")) and read.subject == "Hello"

    # An error is the documented problem, parsed into the client's Problem model.
    missing = op("contacts", "contacts.get").sync("01NOSUCHCONTACT", client=client)
    assert isinstance(missing, model("Problem")) and (missing.status, missing.code) == (404, "not_found")
