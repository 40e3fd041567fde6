"""The mails `kontakt dev` sent, as the gateway's /dev/mail shows them (files written by
infra/ses_emulation.py: `<UTC time>-<SES message id>.eml`, one per mail)."""

from __future__ import annotations

import html
import os
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

_FILE = re.compile(r"^[A-Za-z0-9_.@+-]+\.eml$")
_HEAD_BYTES = 64 * 1024  # headers are read from the file's start only


def listing(folder: Path, limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` mails, newest first: file, time, from, to, subject, Message-ID."""
    if not folder.is_dir():
        return []
    names = sorted((n for n in (e.name for e in _scan(folder)) if _FILE.match(n)), reverse=True)[: max(1, limit)]
    return [_summary(folder / name) for name in names]


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        return [e for e in entries if e.is_file()]


def _summary(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(file.read(_HEAD_BYTES))
    stamp = path.name.split("-", 1)[0]
    return {
        "file": path.name,
        "time": f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:]}Z",
        "from": str(headers.get("From", "")),
        "to": str(headers.get("To", "")),
        "subject": str(headers.get("Subject", "")),
        "message_id": str(headers.get("Message-ID", "")),
        "path": str(path),
    }


def read(folder: Path, name: str) -> bytes | None:
    """One mail's bytes; None for a name that is not a mail file of the folder."""
    if not _FILE.match(name):
        return None
    path = folder / name
    return path.read_bytes() if path.is_file() else None


def html_part(raw: bytes) -> str | None:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    part = mail.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else None


def page(mails: list[dict[str, Any]], folder: str) -> str:
    rows = "\n".join(
        "<tr><td>{time}</td><td>{to}</td><td>{subject}</td><td>"
        '<a href="/dev/mail/{file}">source</a> · <a href="/dev/mail/{file}/html">HTML</a> · '
        '<a href="/dev/mail/{file}?download=1">.eml</a></td></tr>'.format(
            **{k: html.escape(str(v)) for k, v in mail.items()}
        )
        for mail in mails
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Kontakt dev: sent mail</title>
<style>body{{font-family:sans-serif}} td,th{{padding:2px 10px;text-align:left}}</style></head>
<body><h1>Sent mail</h1><p>{len(mails)} newest, from <code>{html.escape(folder)}</code></p>
<table><tr><th>Sent (UTC)</th><th>To</th><th>Subject</th><th></th></tr>
{rows}
</table></body></html>
"""
