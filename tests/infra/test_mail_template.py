"""Mail in template.yaml [issue 12 section 4]: a sending domain the deployer must name, its DKIM
records as outputs, the unsubscribe mailbox, and an SES feedback rule that takes exactly this
stage's configuration set's events of every type the set enables."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from infra.template import LOCAL_PARAMETERS, TemplateError, build_stack, translate

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def raw() -> dict[str, Any]:
    """template.yaml as written: parsed when a test asks, not at collection (every test worker
    collects every file; the parse cost each of them ~0.7 s of CPU)."""
    parsed: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
    return parsed


TEMPLATE = translate(ROOT)

# SES v2 MatchingEventTypes -> the EventBridge detail-type SES publishes them as (EventBridge's
# "Amazon Simple Email Service events" reference).
DETAIL_TYPES = {
    "send": "Email Sent",
    "reject": "Email Rejected",
    "bounce": "Email Bounced",
    "complaint": "Email Complaint Received",
    "delivery": "Email Delivered",
    "open": "Email Opened",
    "click": "Email Clicked",
    "renderingFailure": "Email Rendering Failed",
    "deliveryDelay": "Email Delivery Delayed",
    "subscription": "Email Subscribed",
}


def test_the_sending_domain_is_a_required_parameter_with_a_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = raw()["Parameters"]["SendingDomain"]
    assert "Default" not in spec  # the deployer names a domain they own
    with monkeypatch.context() as patch:
        patch.delitem(LOCAL_PARAMETERS, "SendingDomain")
        with pytest.raises(TemplateError, match="parameter SendingDomain has no default and no value"):
            build_stack(TEMPLATE, {"Stage": "qa"})
    with pytest.raises(TemplateError, match="SendingDomain"):
        build_stack(TEMPLATE, {"Stage": "qa", "SendingDomain": ""})
    for bad in (
        "kontakt",
        "Mail.Example.com",
        "mail example.com",
        "-a.example.com",
        "a..example.com",
        "x" * 250 + ".com",
    ):
        with pytest.raises(TemplateError, match="SendingDomain"):
            build_stack(TEMPLATE, {"SendingDomain": bad})
    stack = build_stack(TEMPLATE, {"Stage": "qa", "SendingDomain": "mail.example.com"})
    assert stack.email_identities["EmailSendingIdentity"] == "mail.example.com"
    assert stack.functions["EmailSenderFunction"].environment["SENDING_DOMAIN"] == "mail.example.com"
    assert stack.functions["EmailApiFunction"].environment["SENDING_DOMAIN"] == "mail.example.com"


def test_the_functions_check_the_domain_as_the_template_does() -> None:
    from services.email.settings import DOMAIN_PATTERN

    assert raw()["Parameters"]["SendingDomain"]["AllowedPattern"] == DOMAIN_PATTERN


def test_the_local_runtime_passes_its_own_sending_domain_from_one_place() -> None:
    stack = build_stack(TEMPLATE, {"Stage": "qa"})
    assert stack.email_identities["EmailSendingIdentity"] == LOCAL_PARAMETERS["SendingDomain"]
    assert LOCAL_PARAMETERS["SendingDomain"].endswith(".test")  # RFC 2606: nothing sent locally can leave


def test_the_dkim_cnames_are_outputs() -> None:
    outputs = raw()["Outputs"]
    found = {}
    for n in (1, 2, 3):
        for part in ("Name", "Value"):
            value = outputs[f"SendingDomainDkim{n}{part}"]["Value"]
            found[(n, part)] = value["Fn::GetAtt"]
    assert found == {
        (n, p): ["EmailSendingIdentity", f"DkimDNSToken{p}{n}"] for n in (1, 2, 3) for p in ("Name", "Value")
    }
    assert raw()["Resources"]["EmailSendingIdentity"]["Type"] == "AWS::SES::EmailIdentity"


def test_the_unsubscribe_mailbox_is_a_parameter_empty_by_default() -> None:
    spec = raw()["Parameters"]["UnsubscribeMailbox"]
    assert spec["Default"] == ""
    sender = build_stack(TEMPLATE, {}).functions["EmailSenderFunction"]
    assert sender.environment["UNSUBSCRIBE_MAILBOX"] == ""
    chosen = build_stack(TEMPLATE, {"UnsubscribeMailbox": "unsubscribe@mail.example.com"})
    assert chosen.functions["EmailSenderFunction"].environment["UNSUBSCRIBE_MAILBOX"] == "unsubscribe@mail.example.com"
    with pytest.raises(TemplateError, match="UnsubscribeMailbox"):
        build_stack(TEMPLATE, {"UnsubscribeMailbox": "not a mailbox"})


def _ses_event(detail_type: str, configuration_set: str) -> dict[str, Any]:
    return {
        "source": "aws.ses",
        "detail-type": detail_type,
        "detail": {"eventType": "x", "mail": {"tags": {"ses:configuration-set": [configuration_set], "tenant": ["t"]}}},
    }


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_feedback_rule_takes_every_enabled_type_of_this_stages_configuration_set_only(stage: str) -> None:
    stack = build_stack(TEMPLATE, {"Stage": stage})
    configuration_set = stack.configuration_sets["EmailConfigurationSet"]
    [destination] = configuration_set.event_destinations
    enabled = [
        t
        for t in raw()["Resources"]["EmailConfigurationSetEvents"]["Properties"]["EventDestination"][
            "MatchingEventTypes"
        ]
    ]
    pattern = stack.rules["EmailSesFeedbackRule"].event_pattern
    assert pattern is not None
    assert sorted(pattern["detail-type"]) == sorted(DETAIL_TYPES[t] for t in enabled)  # none dropped, none extra
    for kind, detail_type in DETAIL_TYPES.items():
        assert _matches(pattern, _ses_event(detail_type, configuration_set.name)) == (kind in enabled), kind
    other_stage = "kontakt-other-email"
    assert not _matches(pattern, _ses_event("Email Bounced", other_stage))  # another stage's (or app's) mail
    assert not _matches(pattern, {**_ses_event("Email Bounced", configuration_set.name), "detail": {"mail": {}}})
    assert destination.definition["Enabled"]
