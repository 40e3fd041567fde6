"""Webhook endpoints (issue 20, item 1): admins register, read, change, delete them and rotate their
signing secrets. The URL is checked when saved (urls.py: the tenant's `allow_http`, the outbound
guard); a tenant has at most `limits.MAX_ENDPOINTS`, counted race-free (limits.py).

Records: kind "endpoint", id = a new id, data {url, description, event_types, enabled, rate_limit,
headers, secret, previous_secret?, previous_secret_expires_at?, disabled_reason?, disabled_at?,
created_by, created_at}. Every change an admin makes publishes its `webhook.endpoint_*` event
(events.py) in its transaction, the secret and the headers' values masked. `disabled_reason`
(domain/endpoints.py `DisabledReason`) says why an endpoint is disabled: `manual` (an admin),
`gone` (it answered 410) or `failing` (no success for days); the delivery side writes the last two,
with `enabled` false and `disabled_at`. The secret is `whsec_<base64 of 32 random bytes>`, kept in
the record (the project keeps no per-record secrets in Secrets Manager: shared/secrets.py holds the
stack's own keys only); answers show it whole only on create and rotate, else `secret_prefix`.
"""

import base64
import secrets
from datetime import timedelta
from typing import Any

from services.webhooks import limits
from services.webhooks.domain.endpoints import MANUAL, Endpoint, EndpointCreate, EndpointUpdate, EndpointWithSecret
from services.webhooks.events import WebhookEndpointChanged
from services.webhooks.service import Caller
from services.webhooks.setup import SETTING
from services.webhooks.store import Record
from services.webhooks.urls import check_url
from shared import clock
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.events import Change, changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import kind_page
from shared.store import UnitOfWork, run_with_retries

ENDPOINT = "endpoint"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24-64 random bytes
SHOWN = 10  # characters of the secret a list or get shows
ROTATION_OVERLAP = timedelta(hours=24)
# Shown in an event's changes as `[secret]` only: the signing secrets, and the custom headers (their
# values may be credentials, e.g. an `Authorization` header).
SECRET_FIELDS = ("secret", "previous_secret", "headers")
RETRIES = 6  # tries of a create or delete whose transaction lost a race for the tenant's endpoint count
# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones Kontakt sets itself on every request.
FORBIDDEN_HEADERS = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length", "content-type", "user-agent",
    }
)  # fmt: skip


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _check_headers(headers: dict[str, str]) -> None:
    errors = [
        FieldError(field=f"headers.{name}", message=f"{name} is set by Kontakt or hop-by-hop", code="forbidden_header")
        for name in headers
        if name.lower() in FORBIDDEN_HEADERS or name.lower().startswith("webhook-")
    ]
    if errors:
        raise ValidationFailed(errors[0].message, errors)


def _checked(caller: Caller, values: dict[str, Any], uow: UnitOfWork) -> None:
    if values.get("headers") is not None:
        _check_headers(values["headers"])
    if values.get("url") is not None:
        check_url(caller, values["url"], uow)


def _public(record: Record) -> dict[str, Any]:
    data = {
        k: v for k, v in record.data.items() if k not in ("secret", "previous_secret", "previous_secret_expires_at")
    }
    return {"id": record.record_id, **data, "secret_prefix": record.data["secret"][:SHOWN], "version": record.version}


def _endpoint(record: Record) -> Endpoint:
    return Endpoint.model_validate(_public(record))


def _with_secret(record: Record) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(
        {
            **_public(record),
            "secret": record.data["secret"],
            "previous_secret_expires_at": record.data.get("previous_secret_expires_at"),
        }
    )


def _changed(record: Record) -> WebhookEndpointChanged:
    data = record.data
    return WebhookEndpointChanged(
        id=record.record_id,
        url=data["url"],
        description=data.get("description") or "",
        event_types=data.get("event_types") or [],
        enabled=data.get("enabled", True),
        disabled_reason=data.get("disabled_reason"),
        header_names=sorted(data.get("headers") or {}),
        previous_secret_expires_at=data.get("previous_secret_expires_at"),
    )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    return changes_of(before, after, secret=SECRET_FIELDS)


def _record(caller: Caller, endpoint_id: str) -> Record:
    record = caller.store.get(caller.tenant, ENDPOINT, endpoint_id)
    if record is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return record


def create_endpoint(caller: Caller, body: EndpointCreate) -> EndpointWithSecret:
    """A new endpoint, counted in the same transaction: the tenant's `MAX_ENDPOINTS`th is its last (409).
    A transaction that lost a race for the count (or with a change of the settings) is tried again."""
    caller.require_admin()
    values = body.model_dump()
    endpoint_id = new_id()

    def attempt() -> Record:
        caller.forget_setting(SETTING)
        uow = UnitOfWork()
        _checked(caller, values, uow)
        now = clock.now().isoformat()
        data = {**values, "secret": new_secret(), "created_by": caller.user_id, "created_at": now}
        if not values["enabled"]:
            data.update(disabled_reason=MANUAL, disabled_at=now)
        record = caller.store.new(caller.tenant, ENDPOINT, endpoint_id, data)
        caller.store.add(uow, record)
        limits.stage_created(caller, uow, values["url"])
        uow.publish(caller.event("webhook.endpoint_created", _changed(record)))
        uow.commit()
        return record

    return _with_secret(run_with_retries(attempt, RETRIES))


def get_endpoint(caller: Caller, endpoint_id: str) -> Endpoint:
    caller.require_admin()
    return _endpoint(_record(caller, endpoint_id))


def list_endpoints(caller: Caller, cursor: str | None, limit: int) -> Page[Endpoint]:
    caller.require_admin()
    page = kind_page(caller, ENDPOINT, cursor, limit, _Listed)
    return Page[Endpoint](items=[i.endpoint() for i in page.items], next_cursor=page.next_cursor)


def update_endpoint(caller: Caller, endpoint_id: str, body: EndpointUpdate) -> Endpoint:
    """A merge patch. `enabled: true` clears `disabled_reason`/`disabled_at`; `enabled: false` on an
    enabled endpoint disables it as `manual`."""
    caller.require_admin()
    changes = body.model_dump(exclude_unset=True)
    uow = UnitOfWork()
    _checked(caller, changes, uow)
    record = _record(caller, endpoint_id)
    data = {**record.data, **changes}
    if changes.get("enabled") is True:
        data.pop("disabled_reason", None)
        data.pop("disabled_at", None)
    elif changes.get("enabled") is False and record.data.get("enabled", True):
        data.update(disabled_reason=MANUAL, disabled_at=clock.now().isoformat())
    if data != record.data:
        before = dict(record.data)
        caller.store.replace(uow, record, data)
        if "url" in changes:
            limits.stage_url_changed(caller, uow, before["url"], changes["url"])
        uow.publish(caller.event("webhook.endpoint_updated", _changed(record), changes=_changes(before, record.data)))
        uow.commit()
        record = _record(caller, endpoint_id)
    return _endpoint(record)


def delete_endpoint(caller: Caller, endpoint_id: str) -> None:
    caller.require_admin()

    def attempt() -> None:
        record = _record(caller, endpoint_id)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        limits.stage_removed(caller, uow, record.data["url"])
        uow.publish(caller.event("webhook.endpoint_deleted", _changed(record)))
        uow.commit()

    run_with_retries(attempt, RETRIES)


def rotate_secret(caller: Caller, endpoint_id: str) -> EndpointWithSecret:
    """A new secret; the old one stays valid until `previous_secret_expires_at` (24 h)."""
    caller.require_admin()
    record = _record(caller, endpoint_id)
    expires = (clock.now() + ROTATION_OVERLAP).isoformat()
    data = {**record.data, "secret": new_secret(), "previous_secret": record.data["secret"]}
    data["previous_secret_expires_at"] = expires
    before = dict(record.data)
    uow = UnitOfWork()
    caller.store.replace(uow, record, data)
    event = caller.event("webhook.endpoint_secret_rotated", _changed(record), changes=_changes(before, record.data))
    uow.publish(event)
    uow.commit()
    return _with_secret(_record(caller, endpoint_id))


class _Listed(Endpoint):
    """A stored record read by `kind_page` (`model_of`): the secret is masked at once."""

    secret: str = ""
    previous_secret: str | None = None
    previous_secret_expires_at: str | None = None
    secret_prefix: str = ""

    def endpoint(self) -> Endpoint:
        values = self.model_dump(exclude={"secret", "previous_secret", "previous_secret_expires_at"})
        return Endpoint.model_validate({**values, "secret_prefix": self.secret[:SHOWN]})
