"""S3 presigned uploads shared by the services that take files (activities, email campaigns).

The API never carries file bytes: a client asks for an upload (a presigned POST whose policy caps
the size), sends the file to S3, then confirms; the confirmation checks what S3 holds.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from shared.errors import ValidationFailed

UPLOAD_SECONDS = 900
DOWNLOAD_SECONDS = 300


@cache
def _s3() -> Any:
    import boto3  # here: a function that never calls s3 does not load boto3 (~20 ms of a cold start)

    return boto3.client("s3")


def presign_upload(bucket: str, key: str, max_bytes: int, content_type: str) -> tuple[str, dict[str, str]]:
    """A presigned POST for one object whose policy refuses more than `max_bytes` (and another type)."""
    post = _s3().generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
        ExpiresIn=UPLOAD_SECONDS,
    )
    return post["url"], post["fields"]


def stored_size(bucket: str, key: str) -> int | None:
    """The size of the uploaded object, or None when nothing was uploaded."""
    try:
        head = _s3().head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return int(head["ContentLength"])


# Types a download keeps: shown passively by a browser or opened by another program. Every other
# type is served as bytes: HTML, SVG, XML, scripts, MHTML (message/, multipart/) and the unknown
# types a browser would sniff as HTML (S3 cannot send `nosniff`: docs/decisions.md).
_PASSIVE_TYPE = re.compile(
    r"^(image/(png|jpeg|gif|webp|bmp|tiff|avif|heic|heif)|(audio|video)/[\w.-]+|text/(plain|csv)"
    r"|application/(pdf|zip|gzip|rtf|msword|vnd\.ms-(excel|powerpoint)"
    r"|vnd\.openxmlformats-officedocument\.[\w.-]+|vnd\.oasis\.opendocument\.[\w.-]+))$",
    re.IGNORECASE,
)
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\%]')


def content_disposition(name: str) -> str:
    """`attachment` under `name` as RFC 6266 writes it: an ASCII `filename` and the UTF-8 `filename*`.

    Control characters (CR/LF), quotes and backslashes never reach the header: the fallback drops
    accents and replaces what is left outside printable ASCII; `filename*` percent-encodes.
    """
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip() or "file"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = _UNSAFE_IN_QUOTES.sub("_", ascii_name).strip() or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_type(content_type: str) -> str:
    """The Content-Type a download is served with: a passive type as declared, anything else (active
    content: HTML, SVG, XML, scripts, MHTML; types a browser sniffs) as bytes."""
    return content_type if _PASSIVE_TYPE.match(content_type) else "application/octet-stream"


def presign_download(bucket: str, key: str, name: str, content_type: str = "application/octet-stream") -> str:
    """A short-lived link that downloads the object under its original name, never shown inline."""
    url: str = _s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition(name),
            "ResponseContentType": download_type(content_type),
        },
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return url


def checked_size(bucket: str, key: str, max_bytes: int) -> int | None:
    """The size of the uploaded object (None when nothing was uploaded); an object over `max_bytes`
    is removed and refused with a 422 naming `size` (the signed policy should have stopped it)."""
    size = stored_size(bucket, key)
    if size is not None and size > max_bytes:
        delete(bucket, key)
        raise ValidationFailed.on("size", f"The file has {size} bytes; at most {max_bytes} are allowed.", "too_large")
    return size


def put(bucket: str, key: str, body: bytes, content_type: str) -> None:
    """Store a file a service made (an invoice's PDF): a put overwrites, so a repeat stores the same."""
    _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def delete(bucket: str, key: str) -> None:
    _s3().delete_object(Bucket=bucket, Key=key)
