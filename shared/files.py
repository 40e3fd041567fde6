"""S3 presigned uploads shared by the services that take files (activities, email campaigns).

The API never carries file bytes: a client asks for an upload (a presigned POST whose policy caps
the size), sends the file to S3, then confirms; the confirmation checks what S3 holds.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

UPLOAD_SECONDS = 900
DOWNLOAD_SECONDS = 300


@cache
def _s3() -> Any:
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


def presign_download(bucket: str, key: str, name: str) -> str:
    """A short-lived link that downloads the object under its original name."""
    url: str = _s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="{name}"'},
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return url


def delete(bucket: str, key: str) -> None:
    _s3().delete_object(Bucket=bucket, Key=key)
