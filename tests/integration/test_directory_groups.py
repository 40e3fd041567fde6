"""Group membership events under concurrent writers: each group.updated holds the whole list."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.template import Stack
from services.directory import admin
from services.directory.domain.models import GroupCreate, UserCreate
from services.directory.service import Caller
from services.directory.store import DirectoryStore
from shared.auth import AuthContext, Role
from shared.service import ensure_tenant
from shared.store import ConcurrentUpdate, UnitOfWork
from tests.integration.conftest import new_tenant


def _caller(tenant: str) -> Caller:
    caller = Caller(
        auth=AuthContext(tenant_id=tenant, user_id="u1", role=Role.ADMIN), store=DirectoryStore(), signing_key=b"k"
    )
    ensure_tenant(caller)
    return caller


def _member_lists(aws: Emulator, stack: Stack, tenant: str, group_id: str) -> list[list[str]]:
    items = aws.client("dynamodb").scan(
        TableName=stack.tables["DirectoryTable"].name,
        FilterExpression="kind = :k AND event_type = :t",
        ExpressionAttributeValues={":k": {"S": "outbox"}, ":t": {"S": "group.updated"}},
    )["Items"]
    envelopes = [json.loads(i["envelope"]["S"]) for i in items]
    return [e["data"]["member_ids"] for e in envelopes if e["tenant_id"] == tenant and e["data"]["id"] == group_id]


def test_concurrent_joins_each_publish_the_list_after_the_one_before(
    lambda_env: Any, aws: Emulator, stack: Stack
) -> None:
    """Six admins add a user to one group at once (as six Lambda instances would)."""
    tenant = new_tenant()
    lambda_env("DirectoryApiFunction")
    team = admin.create_group(_caller(tenant), GroupCreate(name="Team")).id

    def join(n: int) -> str:
        return admin.create_user(
            _caller(tenant), UserCreate(email=f"u{n}@x.example.fi", name=f"U{n}", groups=[team])
        ).id

    with ThreadPoolExecutor(max_workers=6) as pool:
        users = set(pool.map(join, range(6)))
    lists = sorted(map(set, _member_lists(aws, stack, tenant, team)), key=len)
    assert [len(members) for members in lists] == [1, 2, 3, 4, 5, 6]
    assert all(smaller < larger for smaller, larger in pairwise(lists))
    assert lists[-1] == users


def test_a_stale_membership_change_does_not_commit(lambda_env: Any, aws: Emulator, stack: Stack) -> None:
    """A change computed before another one committed fails (and the command is run again)."""
    tenant = new_tenant()
    lambda_env("DirectoryApiFunction")
    caller = _caller(tenant)
    team = admin.create_group(caller, GroupCreate(name="Team")).id
    stale = UnitOfWork()
    admin._set_memberships(caller, stale, "late-user", [], [team])  # read the group: no members yet
    first = admin.create_user(caller, UserCreate(email="a@x.example.fi", name="A", groups=[team])).id
    with pytest.raises(ConcurrentUpdate):
        stale.commit()
    assert _member_lists(aws, stack, tenant, team) == [[first]]
