"""Files uploaded to activities and contact orders: S3 presigned uploads and downloads.

The API never carries file bytes: a client asks for an upload (a presigned POST whose policy
caps the size), sends the file to S3, then confirms; the confirmation checks what S3 holds.
"""

from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from services.activities.settings import ActivitiesSettings
from shared.settings import load

UPLOAD_SECONDS = 900
DOWNLOAD_SECONDS = 300


@cache
def _s3() -> Any:
    return boto3.client("s3")


def bucket() -> str:
    return load(ActivitiesSettings).files_bucket


def file_key(tenant_id: str, owner_kind: str, owner_id: str, file_id: str) -> str:
    return f"{tenant_id}/{owner_kind}/{owner_id}/{file_id}"


def presign_upload(key: str, max_bytes: int, content_type: str) -> tuple[str, dict[str, str]]:
    post = _s3().generate_presigned_post(
        Bucket=bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
        ExpiresIn=UPLOAD_SECONDS,
    )
    return post["url"], post["fields"]


def stored_size(key: str) -> int | None:
    """The size of the uploaded object, or None when nothing was uploaded."""
    try:
        head = _s3().head_object(Bucket=bucket(), Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return int(head["ContentLength"])


def presign_download(key: str, name: str) -> str:
    url: str = _s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket(), "Key": key, "ResponseContentDisposition": f'attachment; filename="{name}"'},
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return url


def delete(key: str) -> None:
    _s3().delete_object(Bucket=bucket(), Key=key)
