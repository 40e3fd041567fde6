"""A function's metrics (shared/entry.py): published when the invocation added some, and no
"No application metrics to publish" warning when it added none (most API calls)."""

import json
import warnings
from typing import Any

import pytest

from shared import entry
from shared.observability import metrics
from tests.unit.shared.test_kernel_entry import Context


def _handler(add: int) -> Any:
    @entry.entry(traced=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if add:
            metrics.add_metric(name="ThingsDone", unit="Count", value=add)
        return {"ok": True}

    return handler


def test_an_invocation_without_metrics_publishes_nothing_and_does_not_warn(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _handler(0)({}, Context()) == {"ok": True}
    assert [str(w.message) for w in caught] == []
    assert '"_aws"' not in capsys.readouterr().out


def test_an_invocation_with_metrics_publishes_them_once(capsys: pytest.CaptureFixture[str]) -> None:
    _handler(3)({}, Context())
    _handler(0)({}, Context())  # the next invocation publishes nothing again
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert len(published) == 1
    assert published[0]["ThingsDone"] == [3.0]
    assert published[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Kontakt"
