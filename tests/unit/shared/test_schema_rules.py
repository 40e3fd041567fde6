"""The shared field types state in their JSON schema the rules their validators apply."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.activities.domain.contact_orders import ContactOrderUpdate
from services.activities.domain.models import ActivityUpdate
from shared.schedules import ZONES, TimeZone
from shared.types import Code, Country, Email, Id, Name200, Phone, Website


@pytest.mark.parametrize(
    ("field_type", "good", "bad"),
    [
        (Id, "a-Z_09", "a b"),
        (Code, "call_2", "Call"),
        (Email, "anna@example.fi", "anna@example"),
        (Phone, "+358 40 123", "call me"),
        (Website, "https://example.fi", "example"),
        (Country, "FI", "FIN"),
    ],
    ids=["Id", "Code", "Email", "Phone", "Website", "Country"],
)
def test_a_checked_pattern_is_in_the_schema(field_type: object, good: str, bad: str) -> None:
    adapter = TypeAdapter(field_type)
    pattern = adapter.json_schema()["pattern"]
    assert re.search(pattern, good) and adapter.validate_python(good)
    assert not re.search(pattern, bad)
    with pytest.raises(ValidationError):
        adapter.validate_python(bad)


def test_an_email_with_a_control_character_is_outside_the_schema_as_it_is_refused() -> None:
    pattern = TypeAdapter(Email).json_schema()["pattern"]
    assert not re.search(pattern, "an\x03na@example.fi")
    with pytest.raises(ValidationError):
        TypeAdapter(Email).validate_python("an\x03na@example.fi")


def test_a_blank_text_is_outside_the_schema_as_it_is_refused() -> None:
    pattern = TypeAdapter(Name200).json_schema()["pattern"]
    for blank in (" ", "\t\n", "\x85\u3000"):
        assert not re.search(pattern, blank)
        with pytest.raises(ValidationError):
            TypeAdapter(Name200).validate_python(blank)
    assert re.search(pattern, " x ")


@pytest.mark.parametrize(
    ("model", "fields", "clearable"),
    [
        (ActivityUpdate, ["type", "subject", "all_day", "owner_id", "properties", "status"], "due"),
        (ContactOrderUpdate, ["subject", "account_id", "status", "hours_spent", "assignee_ids"], "planned_date"),
    ],
)
def test_a_patch_field_that_refuses_null_has_no_null_in_its_schema(
    model: type[BaseModel], fields: list[str], clearable: str
) -> None:
    properties = model.model_json_schema()["properties"]
    for name in fields:
        assert {"type": "null"} not in properties[name].get("anyOf", []), name
        assert properties[name].get("type") != "null", name
        with pytest.raises(ValidationError):
            model.model_validate({name: None})
    assert {"type": "null"} in properties[clearable]["anyOf"]  # null clears an optional field
    assert model.model_validate({clearable: None}).changes() == {clearable: None}


def test_a_time_zone_is_one_of_the_listed_names_and_only_those() -> None:
    adapter = TypeAdapter(TimeZone)
    pattern = re.compile(adapter.json_schema()["pattern"])
    assert "enum" not in adapter.json_schema()  # GMT0, GMT+0 and GMT-0 would clash in a generated client
    assert "Europe/Helsinki" in ZONES and "UTC" in ZONES
    for name in ZONES:  # every name the server takes is of the documented form
        assert pattern.match(name), name
        adapter.validate_python(name)
    for name in ("localtime", "Mars/Olympus", "posix/Europe/Helsinki"):  # the form, but not in tzdata
        assert pattern.match(name)
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(name)
        assert refused.value.errors()[0]["type"] == "unknown_time_zone"
        assert f"unknown time zone '{name}'" in refused.value.errors()[0]["msg"]  # the name, not a template
