"""The tenant's count of webhook endpoints, and of those on plain http, kept race-free.

The fan-out writes one message per matching endpoint in one transaction with its consumer's marker,
and DynamoDB takes 100 items a transaction: a tenant has at most `MAX_ENDPOINTS` endpoints. The
count is an item `T#<tenant>#WEBHOOK_ENDPOINTS` / `COUNT` that every create and delete updates in
its own transaction, the create on the condition that the count is under the cap: two creates at
once cannot both take the last place (no count-then-write).

`http` counts the endpoints whose URL needs the tenant's `allow_http` (setup.py): turning it off
checks, in the settings' transaction, that none is left.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from pynamodb.attributes import NumberAttribute

from services.webhooks.service import Caller
from shared.errors import Conflict, FieldError
from shared.settings import FunctionSettings, load
from shared.store import ConcurrentUpdate, TableItem, UnitOfWork, tenant_key

MAX_ENDPOINTS = 50
COUNT_KIND = "webhook_endpoint_count"


class EndpointCount(TableItem):
    """`T#<tenant>#WEBHOOK_ENDPOINTS` / `COUNT`: the tenant's endpoints, and those on plain http."""

    endpoints = NumberAttribute(null=True)
    http = NumberAttribute(null=True)


def _item(tenant: str) -> EndpointCount:
    return EndpointCount(pk=tenant_key(tenant, "WEBHOOK_ENDPOINTS"), sk="COUNT", kind=COUNT_KIND)


def is_dev() -> bool:
    """`kontakt dev` runs the stack as stage "dev" (infra/runtime.py); deployed stages never are."""
    return load(FunctionSettings).stage == "dev"


def is_loopback_name(host: str) -> bool:
    """localhost, or a loopback address literal (127.0.0.1, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http(url: str) -> bool:
    """The URL uses http and so needs the tenant's `allow_http` (loopback under `kontakt dev` never does)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a malformed IPv6 literal: refused when saved (urls.py)
        return False
    return parts.scheme == "http" and not (is_dev() and is_loopback_name(host))


def stage_created(caller: Caller, uow: UnitOfWork, url: str) -> None:
    """Count a new endpoint; the commit is refused (`EndpointLimit`) when the tenant has `MAX_ENDPOINTS`."""
    model: Any = EndpointCount
    actions = [model.endpoints.add(1), model.kind.set(COUNT_KIND)]
    if plain_http(url):
        actions.append(model.http.add(1))
    condition = model.endpoints.does_not_exist() | (model.endpoints < MAX_ENDPOINTS)
    uow.update(_item(caller.tenant), actions, condition=condition, on_conflict=EndpointLimit, check_version=False)


def stage_removed(caller: Caller, uow: UnitOfWork, url: str) -> None:
    model: Any = EndpointCount
    actions = [model.endpoints.add(-1), model.kind.set(COUNT_KIND)]
    if plain_http(url):
        actions.append(model.http.add(-1))
    uow.update(_item(caller.tenant), actions, check_version=False)


def stage_url_changed(caller: Caller, uow: UnitOfWork, old: str, new: str) -> None:
    delta = int(plain_http(new)) - int(plain_http(old))
    if delta:
        model: Any = EndpointCount
        uow.update(_item(caller.tenant), [model.http.add(delta), model.kind.set(COUNT_KIND)], check_version=False)


def check_no_http(caller: Caller, uow: UnitOfWork) -> None:
    """`uow` commits only while no endpoint of the tenant is on plain http."""
    model: Any = EndpointCount
    item = _item(caller.tenant)
    condition = model.pk.does_not_exist() | model.http.does_not_exist() | (model.http == 0)
    uow.check(EndpointCount, item.pk, item.sk, condition, lambda: ConcurrentUpdate("An endpoint on http was saved."))


class EndpointLimit(Conflict):
    code = "endpoint_limit"

    def __init__(self) -> None:
        message = f"A tenant has at most {MAX_ENDPOINTS} webhook endpoints: delete one first."
        super().__init__(message, [FieldError(field="url", message=message, code="endpoint_limit")])
