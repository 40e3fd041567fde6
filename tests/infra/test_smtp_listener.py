"""`kontakt dev`'s inbound mail (infra/smtp_listener.py): the listener stores what it accepts where
template.yaml's SES receipt rules would, and the banner names its port."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from infra import cli, demo, smtp_listener
from infra.template import build_stack, translate

ROOT = Path(__file__).resolve().parents[2]


class RecordingS3:
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []

    def put_object(self, **params: Any) -> None:
        self.objects.append(params)


def test_the_receipt_rules_s3_action_is_where_mail_goes() -> None:
    template = translate(ROOT)
    stack = build_stack(template)
    assert smtp_listener.targets(template, stack) == [
        smtp_listener.Target(bucket=stack.buckets["ScannerMailBucket"].name, prefix="inbound/ses/")
    ]


@pytest.mark.enable_socket
def test_a_message_is_stored_with_its_envelope_recipients() -> None:
    s3 = RecordingS3()
    listener = smtp_listener.SmtpListener(s3, [smtp_listener.Target("mail-bucket", "inbound/ses/")]).start()
    try:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "maija@example.fi", "tuki@example.fi", "Hei"
        mail.set_content("Tulostin ei toimi.")
        with smtplib.SMTP(smtp_listener.HOST, listener.port, timeout=10) as client:
            refused = client.send_message(mail, to_addrs=["tuki@example.fi", "piilo@example.fi"])
    finally:
        listener.stop()
    assert refused == {}
    [stored] = s3.objects
    assert stored["Bucket"] == "mail-bucket" and stored["Key"].startswith("inbound/ses/")
    assert stored["Metadata"] == {"recipients": "tuki@example.fi,piilo@example.fi"}
    assert b"Subject: Hei" in stored["Body"] and b"Tulostin ei toimi." in stored["Body"]


def test_the_banner_names_the_smtp_port(capsys: pytest.CaptureFixture[str]) -> None:
    class Runtime:
        api_url = "http://127.0.0.1:8080"
        aws_endpoint = "http://127.0.0.1:5000"
        mail_dir = None
        state_file = None
        smtp_address = ("127.0.0.1", 2525)
        stack = SimpleNamespace(parameters={"SendingDomain": "mail.example.com"})

        def token(self, *args: Any) -> str:
            return "token"

    cli._print_banner(Runtime())
    out = capsys.readouterr().out
    assert "Inbound mail smtp://127.0.0.1:2525" in out
    assert f"the demo's is {demo.SUPPORT_MAILBOX}@mail.example.com" in out  # where to send mail to the demo


@pytest.mark.enable_socket
def test_a_port_in_use_gives_way_to_a_free_one() -> None:
    first = smtp_listener.SmtpListener(RecordingS3(), []).start()
    try:
        second = smtp_listener.SmtpListener(RecordingS3(), [], port=first.port).start()
        try:
            assert second.port != first.port
            with smtplib.SMTP(smtp_listener.HOST, second.port, timeout=10) as client:
                assert client.noop()[0] == 250
        finally:
            second.stop()
    finally:
        first.stop()
