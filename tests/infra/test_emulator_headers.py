"""The emulator answers header names as moto writes them: its HTTP server (waitress) capitalises
every response header name, and an S3 object's user metadata keys are read from those names."""

from __future__ import annotations

from infra.emulator import Emulator


def test_user_metadata_keys_come_back_in_lower_case_as_s3_answers_them() -> None:
    emulator = Emulator()
    emulator.start()
    try:
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket="metadata-case", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
        metadata = {"recipients": "support@kontakt.test,a@example.fi", "Mixed-Case": "x"}
        s3.put_object(Bucket="metadata-case", Key="inbound/1", Body=b"mail", Metadata=metadata)
        expected = {"recipients": "support@kontakt.test,a@example.fi", "mixed-case": "x"}
        assert s3.head_object(Bucket="metadata-case", Key="inbound/1")["Metadata"] == expected
        answer = s3.get_object(Bucket="metadata-case", Key="inbound/1")
        assert answer["Metadata"] == expected and answer["Body"].read() == b"mail"
    finally:
        emulator.stop()
