"""Uploaded files as a browser gets them back, and objects larger than the cap, through the local runtime.

Activities' attachments, contact-order files and campaign attachments share shared/files.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime
from shared.files import content_disposition
from tests.e2e.helpers import assert_problem, created, new_tenant, ok, upload_file

MB = 1024 * 1024
EVIL_NAME = 'ä"; filename="x.exe\r\nX-Injected: 1 report.html'
EVENT = {"type": "meeting", "subject": "Review", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}


def _activity_files(client: Any) -> str:
    activity = created(client.post("/activities", json=EVENT))
    return f"/activities/{activity['id']}/attachments"


def _order_files(client: Any) -> str:
    order = created(client.post("/contact-orders", json={"subject": "Sales", "account_id": "ACC1"}))
    return f"/contact-orders/{order['id']}/files"


def _complete(files_url: str, file_id: str) -> str:
    return f"{files_url}/{file_id}/complete"


@pytest.mark.parametrize("where", [_activity_files, _order_files])
def test_an_html_file_downloads_as_an_attachment_under_an_escaped_name(api: Any, where: Any) -> None:
    client = api.as_(new_tenant(), "u1", "user")
    url = where(client)
    page = b"<script>alert(document.domain)</script>"
    upload = created(client.post(url, json={"name": EVIL_NAME, "content_type": "text/html", "size": len(page)}))
    upload_file(upload, "x.html", page)
    ok(client.post(_complete(url, upload["attachment"]["id"])))
    link = ok(client.get(f"{url}/{upload['attachment']['id']}"))["url"]
    got = requests.get(link, timeout=30)
    assert got.status_code == 200 and got.content == page
    assert "X-Injected" not in got.headers
    assert got.headers["Content-Type"] == "application/octet-stream"  # never rendered as a page
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert disposition == content_disposition(EVIL_NAME)
    assert "filename*=UTF-8''%C3%A4%22%3B%20filename%3D%22x.exe" in disposition  # CR/LF dropped, rest encoded


@pytest.mark.parametrize("where", [_activity_files, _order_files])
def test_an_object_over_25_mb_is_refused_at_completion_and_removed(api: Any, stack: LocalRuntime, where: Any) -> None:
    client = api.as_(new_tenant(), "admin-1", "admin")
    url = where(client)
    upload = created(client.post(url, json={"name": "big.bin", "size": 25 * MB}))
    fields = upload["fields"]
    bucket = upload["url"].rstrip("/").rsplit("/", 1)[-1]
    s3 = stack.client("s3")
    s3.put_object(Bucket=bucket, Key=fields["key"], Body=b"x" * (26 * MB))  # what the signed policy should stop
    problem = assert_problem(client.post(_complete(url, upload["attachment"]["id"])), 422, "size")
    assert problem["errors"][0]["code"] == "too_large"
    assert s3.list_objects_v2(Bucket=bucket, Prefix=fields["key"]).get("KeyCount") == 0
    assert_problem(client.get(f"{url}/{upload['attachment']['id']}"), 409)  # never marked uploaded


def test_a_campaign_attachment_over_what_is_left_is_refused_and_removed(api: Any, stack: LocalRuntime) -> None:
    admin = api.as_(new_tenant(), "admin-1", "admin")
    template = created(admin.post("/email/templates", json={"name": "T", "subject": "S", "html": "<p>x</p>"}))
    campaign = created(
        admin.post("/campaigns", json={"name": "C", "template_id": template["id"], "list_type_id": "marketing"})
    )
    files = f"/campaigns/{campaign['id']}/attachments"
    upload = created(admin.post(files, json={"name": "a.pdf", "content_type": "application/pdf", "size": MB}))
    fields = upload["fields"]
    bucket = upload["url"].rstrip("/").rsplit("/", 1)[-1]
    s3 = stack.client("s3")
    s3.put_object(Bucket=bucket, Key=fields["key"], Body=b"x" * (5 * MB + 1))
    assert_problem(admin.post(f"{files}/{upload['attachment']['id']}/confirm"), 422, "size")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=fields["key"]).get("KeyCount") == 0
    after = ok(admin.get(f"/campaigns/{campaign['id']}"))
    assert [a.get("status") for a in after["attachments"]] != ["uploaded"]


@pytest.mark.parametrize("where", [_activity_files, _order_files])
def test_only_a_passive_type_is_served_as_declared(api: Any, where: Any) -> None:
    """S3 sends no `nosniff`: MHTML and the unknown types a browser sniffs as HTML come as bytes."""
    client = api.as_(new_tenant(), "u1", "user")
    url = where(client)
    page = b"<html><script>alert(document.domain)</script></html>"
    for declared, served in [
        ("message/rfc822", "application/octet-stream"),
        ("application/unknown", "application/octet-stream"),
        ("image/png", "image/png"),
    ]:
        upload = created(client.post(url, json={"name": "f", "content_type": declared, "size": len(page)}))
        upload_file(upload, "f", page)
        ok(client.post(_complete(url, upload["attachment"]["id"])))
        got = requests.get(ok(client.get(f"{url}/{upload['attachment']['id']}"))["url"], timeout=30)
        assert got.status_code == 200 and got.content == page
        assert (got.headers["Content-Type"], got.headers["Content-Disposition"]) == (served, content_disposition("f"))
