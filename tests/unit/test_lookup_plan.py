"""The kernel's list filters (shared/lookup.py): which entries a kind's `Terms` write, and which
filter and order a request's parameters make (or the 400 naming the parameter no index serves)."""

from __future__ import annotations

import pytest

from shared.errors import BadRequest
from shared.lookup import SEP, Plan, Terms, entries, flag, plain, plan, text_key, values

pytestmark = pytest.mark.disable_socket

CAMPAIGN = Terms(
    exact={"status": (plain, values("status")), "active": (flag, values("active"))},
    ordered={"name": lambda d: text_key(d.get("name") or ""), "send_time": lambda d: str(d.get("send_at") or "")},
)
RANGES = {"send_time": ("send_from", "send_to")}


def test_a_record_is_listed_under_each_filter_value_and_ordered_field() -> None:
    data = {"name": "Spring  NEWS", "status": "draft", "active": False, "owner": {"id": "U1"}}
    keys = {(partition, sort) for partition, sort, _ in CAMPAIGN.keys("campaign", "C1", data)}
    assert keys == {
        ("CAMPAIGN#status#draft", "C1"),
        ("CAMPAIGN#active#false", "C1"),
        ("CAMPAIGN#name", f"spring news{SEP}C1"),
    }  # no send time: not in the send_time order; not owned: no owner partitions


def test_an_owned_kind_is_also_listed_per_owner_and_entries_without_carry_hold_nothing() -> None:
    terms = Terms(ordered={"name": lambda d: text_key(d["name"])}, owned=True)
    made = entries(
        "t1", "target_group", "G1", terms.keys("target_group", "G1", {"name": "A", "owner": {"id": "U1"}}), 7
    )
    assert {(e.gsi4pk, e.gsi4sk) for e in made} == {
        ("T#t1#TARGET_GROUP#name", f"a{SEP}G1"),
        ("T#t1#TARGET_GROUP#owner#U1#name", f"a{SEP}G1"),
    }
    assert all(e.pk == "T#t1#TARGET_GROUP#G1" and e.sk.startswith("IX#") for e in made)
    assert all(dict(e.fields) == {} and e.version == 0 for e in made)  # a write changing nothing rewrites none


def test_one_filter_makes_the_plan_and_its_order() -> None:
    assert plan({"status": None, "name": None}, None, "asc") == Plan()
    assert plan({}, "name", "desc") == Plan(field="name", desc=True)
    assert plan({"status": "draft"}, None, "asc") == Plan(param="status", value="draft")
    assert plan({"name": " Spring  N"}, None, "asc", prefixes={"name": "name"}) == Plan(field="name", prefix="spring n")
    ranged = plan({"send_from": "2031-01-01", "send_to": "2031-02-01"}, "send_time", "asc", ranges=RANGES)
    assert ranged == Plan(field="send_time", lower="2031-01-01", upper="2031-02-01")
    assert plan({"send_to": "2031-02-01"}, None, "desc", ranges=RANGES) == Plan(
        field="send_time", upper="2031-02-01", desc=True
    )


@pytest.mark.parametrize(
    ("filters", "sort", "named"),
    [
        ({"status": "draft", "template_id": "T1"}, None, "template_id"),
        ({"name": "s", "send_from": "2031"}, None, "send_from"),
        ({"name": "s"}, "id", "sort"),
        ({"status": "draft"}, "name", "sort"),
        ({"send_from": "2031"}, "name", "sort"),
    ],
)
def test_what_no_index_serves_is_a_400_naming_the_parameter(
    filters: dict[str, str], sort: str | None, named: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        plan(filters, sort, "asc", prefixes={"name": "name"}, ranges=RANGES)
    assert [(e.field, e.code) for e in refused.value.errors] == [(f"query.{named}", "unsupported_combination")]
