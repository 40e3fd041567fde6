"""Processes CSV uploads: S3 notification -> SQS -> this function, one file per message."""

import json
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.directory.domain.imports import ImportFileError, decode_csv
from services.directory.imports import MAX_UPLOAD_BYTES, Importer
from services.directory.service import Caller
from services.directory.settings import DirectorySettings
from services.directory.store import DirectoryStore
from shared.auth import AuthContext
from shared.batch import SQSRecord, partial_response
from shared.entry import entry
from shared.observability import logger
from shared.store import UnitOfWork


def _uploads(record: SQSRecord) -> list[tuple[str, str]]:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":
        return []
    # an S3 event notification (read as a dict: Powertools' data classes cost ~16 ms of the cold start)
    return [(r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"])) for r in body.get("Records") or []]


def process_upload(bucket: str, key: str) -> None:
    _, tenant_id, filename = key.split("/", 2)
    import_id = filename.removesuffix(".csv")
    store = DirectoryStore()
    job = store.get(tenant_id, "import", import_id)
    if job is None or job.data["status"] in ("completed", "failed"):
        logger.info("import already done or unknown", extra={"key": key})
        return
    caller = Caller(auth=AuthContext.model_validate(job.data["auth"]), store=store)  # the user who asked for it
    caller.open()
    if job.data["status"] == "awaiting_upload":
        uow = UnitOfWork()
        store.replace(uow, job, dict(job.data) | {"status": "processing"})
        uow.commit()
    s3, importer = boto3.client("s3"), Importer(caller, job)
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])  # before reading a byte of it
    if size > MAX_UPLOAD_BYTES:
        importer.fail(f"the file is too large: {size} bytes; at most {MAX_UPLOAD_BYTES} bytes can be imported")
        return
    try:
        text, encoding = decode_csv(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), job.data.get("encoding"))
    except ImportFileError as exc:
        importer.fail(exc.detail)
        return
    counts = importer.run(text, encoding)
    logger.info("import processed", extra={"import_id": import_id, "rows": counts})


def record_handler(record: SQSRecord) -> None:
    for bucket, key in _uploads(record):
        process_upload(bucket, key)


@entry(DirectorySettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_response(event, record_handler)
