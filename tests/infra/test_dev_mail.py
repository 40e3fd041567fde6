"""The gateway's /dev/mail: the mails SES sent in the runtime, listed newest first, each readable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.gateway import Gateway
from infra.runtime import LocalRuntime
from tests.infra.conftest import FIXTURES


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURES, stage="test", mail_dir=tmp_path_factory.mktemp("mail"), preload=True) as started:
        started.client("sesv2").create_email_identity(EmailIdentity="kontakt.dev")
        yield started


def _send(runtime: LocalRuntime, subject: str, html: str = "") -> str:
    body = f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}" if html else "\r\nplain text\r\n"
    raw = f"From: a@kontakt.dev\r\nTo: b@example.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@kontakt>\r\n{body}"
    response = runtime.client("sesv2").send_email(
        FromEmailAddress="a@kontakt.dev",
        Destination={"ToAddresses": ["b@example.com"]},
        Content={"Raw": {"Data": raw.encode()}},
    )
    return str(response["MessageId"])


def test_sent_mails_are_listed_newest_first_and_readable(runtime: LocalRuntime) -> None:
    first = _send(runtime, "first")
    second = _send(runtime, "second", html="<p>Hello <b>there</b></p>")
    listed = requests.get(runtime.api_url + "/dev/mail", timeout=30).json()
    assert [m["subject"] for m in listed[:2]] == ["second", "first"]
    assert second in listed[0]["file"] and first in listed[1]["file"]
    assert listed[0]["to"] == "b@example.com" and listed[0]["message_id"] == "<second@kontakt>"
    assert Path(listed[0]["path"]).parent == runtime.mail_dir

    source = requests.get(runtime.api_url + f"/dev/mail/{listed[1]['file']}", timeout=30)
    assert source.status_code == 200 and "Subject: first" in source.text
    html = requests.get(runtime.api_url + f"/dev/mail/{listed[0]['file']}/html", timeout=30)
    assert html.headers["Content-Type"].startswith("text/html") and "<b>there</b>" in html.text
    download = requests.get(runtime.api_url + f"/dev/mail/{listed[0]['file']}?download=1", timeout=30)
    assert download.headers["Content-Type"] == "message/rfc822"

    page = requests.get(runtime.api_url + "/dev/mail", headers={"Accept": "text/html"}, timeout=30)
    assert page.headers["Content-Type"].startswith("text/html")
    assert f'href="/dev/mail/{listed[0]["file"]}"' in page.text and "second" in page.text


def test_only_mail_files_of_the_folder_are_served(runtime: LocalRuntime) -> None:
    for path in ("/dev/mail/..%2Fsecret.eml", "/dev/mail/nothing.eml", "/dev/mail/x.txt", "/dev/mail/a.eml/other"):
        assert requests.get(runtime.api_url + path, timeout=30).status_code == 404, path


def test_a_runtime_without_a_mail_folder_says_so(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    gateway = Gateway(runtime.stack, runtime.issuer, runtime.invoke, runtime.events)  # mail_dir None
    response = gateway.handle(Request(EnvironBuilder(path="/dev/mail").get_environ()))
    assert response.status_code == 404 and "mail folder" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/dev/events", "/dev/mail", "/dev/health", "/dev/mail/x.eml/html"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil"])
def test_dev_paths_refuse_a_host_header_that_is_not_loopback(runtime: LocalRuntime, path: str, host: str) -> None:
    response = requests.get(runtime.api_url + path, headers={"Host": host}, timeout=30)
    assert response.status_code == 403, response.text
    token = requests.post(
        runtime.api_url + "/dev/token", json={"tenant": "t1", "user": "u1"}, headers={"Host": host}, timeout=30
    )
    assert token.status_code == 403 and "token" not in token.json()


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:{port}", "127.0.0.1:{port}", "[::1]:{port}", "[::1]"])
def test_dev_paths_answer_loopback_host_headers(runtime: LocalRuntime, host: str) -> None:
    port = runtime.api_url.rsplit(":", 1)[-1]
    response = requests.get(runtime.api_url + "/dev/health", headers={"Host": host.format(port=port)}, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_mails_html_is_shown_sandboxed(runtime: LocalRuntime) -> None:
    _send(runtime, "scripted", html="<p>Hi</p><script>fetch('/dev/events')</script>")
    listed = requests.get(runtime.api_url + "/dev/mail", timeout=30).json()
    html = requests.get(runtime.api_url + f"/dev/mail/{listed[0]['file']}/html", timeout=30)
    assert html.status_code == 200 and "<script>" in html.text  # shown as sent ...
    assert html.headers["Content-Security-Policy"] == "sandbox"  # ... but no script runs, on an origin of its own
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    source = requests.get(runtime.api_url + f"/dev/mail/{listed[0]['file']}", timeout=30)
    assert source.headers["X-Content-Type-Options"] == "nosniff"
    page = requests.get(runtime.api_url + "/dev/mail", headers={"Accept": "text/html"}, timeout=30)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_template_mounts_no_dev_route_and_no_dev_function() -> None:
    """/dev exists only in `kontakt dev`'s gateway: AWS gets no route or function of it."""
    from infra.template import find_project_root, load_stack

    stack = load_stack(find_project_root(Path(__file__)))
    assert stack.routes, "the template's routes were read"
    assert [r.route_key for r in stack.routes if r.path.strip("/").split("/")[0] == "dev"] == []
    assert [r.route_key for r in stack.routes if r.path.startswith("/{") or r.path == "/$default"] == []
    handlers = {name: f.handler for name, f in stack.functions.items()}
    assert [name for name, handler in handlers.items() if handler.startswith("infra.")] == []


def test_a_dev_token_is_made_for_json_only(runtime: LocalRuntime) -> None:
    """A page of another site can POST a form or text/plain to 127.0.0.1 without a preflight."""
    body = '{"tenant": "t1", "user": "u1"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = requests.post(
            runtime.api_url + "/dev/token", data=body, headers={"Content-Type": content_type}, timeout=30
        )
        assert answer.status_code == 415 and "token" not in answer.json(), content_type
