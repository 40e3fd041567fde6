"""shared.files: how a download names its file and which type it is served as."""

import re
from pathlib import Path

import pytest

from shared.files import content_disposition, download_type

pytestmark = pytest.mark.disable_socket


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("offer.pdf", "attachment; filename=\"offer.pdf\"; filename*=UTF-8''offer.pdf"),
        ("Tarjous ä.pdf", "attachment; filename=\"Tarjous a.pdf\"; filename*=UTF-8''Tarjous%20%C3%A4.pdf"),
        ('a"b\\c.txt', "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"),
        (
            "x\r\nSet-Cookie: a=b.txt",
            "attachment; filename=\"xSet-Cookie: a=b.txt\"; filename*=UTF-8''xSet-Cookie%3A%20a%3Db.txt",
        ),
        ("日本.txt", "attachment; filename=\".txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"),
        ("\r\n", "attachment; filename=\"file\"; filename*=UTF-8''file"),
    ],
)
def test_the_name_is_rfc_6266_with_no_control_characters_or_quotes(name: str, expected: str) -> None:
    assert content_disposition(name) == expected


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/javascript", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("application/pdf", "application/pdf"),
        ("image/png", "image/png"),
        ("text/plain", "text/plain"),
        ("text/csv", "text/csv"),
        ("message/rfc822", "application/octet-stream"),  # MHTML
        ("multipart/related", "application/octet-stream"),
        ("application/unknown", "application/octet-stream"),  # sniffed by a browser
        ("unknown/unknown", "application/octet-stream"),
        ("application/json", "application/octet-stream"),
        ("application/x-shockwave-flash", "application/octet-stream"),
        ("video/vnd.x+xml", "application/octet-stream"),
        ("image/jpeg", "image/jpeg"),
        ("video/mp4", "video/mp4"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", None),
    ],
)
def test_active_content_is_served_as_bytes(declared: str, served: str) -> None:
    assert download_type(declared) == (served or declared)


def test_every_download_link_is_made_by_presign_download() -> None:
    """A presigned GET made anywhere else could leave out the attachment disposition and safe type."""
    root = Path(__file__).resolve().parents[3]
    get = re.compile(r"generate_presigned_url\(\s*[\"']get_object")
    sources = [*root.joinpath("services").rglob("*.py"), *root.joinpath("shared").rglob("*.py")]
    elsewhere = [p for p in sources if p.name != "files.py" and get.search(p.read_text())]
    assert elsewhere == []
    assert len(get.findall(root.joinpath("shared", "files.py").read_text())) == 1
