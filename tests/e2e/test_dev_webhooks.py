"""The webhook receiver `kontakt dev` runs on its gateway (infra/dev_webhooks.py): it records what is
posted to /dev/webhooks/<name>, answers the status asked for, lists it newest first, and the console
page shows it."""

from __future__ import annotations

import json

import requests

from infra.runtime import LocalRuntime


def test_the_receiver_records_answers_and_lists_what_came(stack: LocalRuntime) -> None:
    url = f"{stack.api_url}/dev/webhooks"
    body = json.dumps({"type": "contact.updated", "data": {"id": "c1"}})
    headers = {"content-type": "application/json", "webhook-id": "msg_1", "webhook-signature": "v1,abc", "x-k": "1"}
    assert requests.post(f"{url}/receiver-test", data=body, headers=headers, timeout=10).status_code == 204
    failing = requests.post(f"{url}/receiver-test?status=503", data="{}", timeout=10)
    assert failing.status_code == 503

    listed = requests.get(url, params={"name": "receiver-test"}, timeout=10).json()
    assert [r["status"] for r in listed] == [503, 204]
    first = listed[1]
    assert first["type"] == "contact.updated" and first["body"] == body and first["bytes"] == len(body)
    assert first["headers"]["webhook-id"] == "msg_1" and first["headers"]["webhook-signature"] == "v1,abc"
    assert "x-k" in first["other_headers"]

    panels = {p["name"]: p for p in requests.get(f"{stack.api_url}/dev/api/state", timeout=10).json()["panels"]}
    shown = panels["webhooks-received"]["data"]
    assert any(r["name"] == "receiver-test" and r["headers"].get("webhook-id") == "msg_1" for r in shown)


def test_the_receiver_answers_this_machine_only(stack: LocalRuntime) -> None:
    answer = requests.post(
        f"{stack.api_url}/dev/webhooks/receiver-test", data="{}", headers={"Host": "evil.example"}, timeout=10
    )
    assert answer.status_code == 403
    assert requests.get(f"{stack.api_url}/dev/webhooks/a/b", timeout=10).status_code == 404
