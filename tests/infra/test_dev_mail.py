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
    with LocalRuntime(FIXTURES, stage="test", mail_dir=tmp_path_factory.mktemp("mail")) as started:
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
