"""`shared.batch.partial_response` answers an SQS batch as Powertools' batch processor does.

The functions report partial batch failures without importing Powertools' batch utility (its
parser models and data classes cost ~50 ms of a cold start): Lambda reads the same answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from shared.batch import SQSRecord, each_body, partial_response


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    records = [{"messageId": f"m{i}", "body": json.dumps(b), "receiptHandle": f"r{i}"} for i, b in enumerate(bodies)]
    return {"Records": records}


def fail_odd(record: Any) -> None:
    if json.loads(record.body)["n"] % 2:
        raise ValueError(f"odd {record.message_id}")


def powertools(event: dict[str, Any], handler: Any, **options: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS, **options)
    return dict(process_partial_response(event=event, record_handler=handler, processor=processor, context=None))


@pytest.mark.parametrize("numbers", [[0, 1, 2, 3], [0, 2], [1], [1, 3]])
def test_the_answer_is_powertools_answer(numbers: list[int]) -> None:
    event = sqs_event(*({"n": n} for n in numbers))
    if numbers and all(n % 2 for n in numbers):
        with pytest.raises(BatchProcessingError, match="All records failed processing"):
            powertools(event, fail_odd)
        with pytest.raises(BatchProcessingError, match="All records failed processing"):
            partial_response(event, fail_odd)
        assert partial_response(event, fail_odd, raise_on_entire_batch_failure=False) == powertools(
            event, fail_odd, raise_on_entire_batch_failure=False
        )
    else:
        assert partial_response(event, fail_odd) == powertools(event, fail_odd)


def test_only_the_failed_messages_go_back() -> None:
    event = sqs_event({"n": 0}, {"n": 1}, {"n": 2}, {"n": 3})
    assert partial_response(event, fail_odd) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]
    }


def test_a_record_reads_as_powertools_sqs_record() -> None:
    raw = sqs_event({"n": 5})["Records"][0]
    record = SQSRecord(raw)
    assert (record.message_id, record.body, record.get("receiptHandle"), record.raw_event) == (
        "m0",
        '{"n": 5}',
        "r0",
        raw,
    )


def test_each_body_hands_each_json_body_over() -> None:
    seen: list[dict[str, Any]] = []
    answer = each_body(sqs_event({"n": 1}, {"n": 2}), None, seen.append)  # type: ignore[arg-type]
    assert seen == [{"n": 1}, {"n": 2}] and answer == {"batchItemFailures": []}


def test_an_empty_batch_has_no_failures() -> None:  # Lambda sends none; Powertools refuses it as "unexpected"
    assert partial_response({"Records": []}, fail_odd) == {"batchItemFailures": []}
