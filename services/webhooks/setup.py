"""The tenant's webhook settings (domain/setup.py): anyone in the tenant reads them, admins change them.

The retention of a tenant's delivery log is `retention(caller_or_tenant)`; the consumer reads the
setting itself, with its endpoints' health items in one BatchGetItem (messages.py `_tenant_reads`).
Turning `allow_http` off while endpoints use http is refused with a 409 naming each (docs/decisions.md,
"Webhook settings"): nothing is disabled behind the admin's back. The refusal is race-free: the
settings' save checks the tenant's count of such endpoints (`limits.EndpointCount.http`) in its
transaction, and a create or change to such a URL checks the settings' version in its own.
"""

from __future__ import annotations

from datetime import timedelta

from services.webhooks import limits
from services.webhooks.domain.setup import WebhookSettings, WebhookSettingsUpdate
from services.webhooks.events import WebhookSettingsUpdated
from services.webhooks.service import Caller, register_default, service_caller
from services.webhooks.store import Record
from shared.errors import Conflict, FieldError
from shared.events import changes_of
from shared.service import SETTING as SETTING_KIND
from shared.store import ConcurrentUpdate, UnitOfWork

SETTING = "webhooks"
ENDPOINT = "endpoint"  # the endpoints' kind (endpoints.py)

register_default(SETTING, lambda: WebhookSettings().model_dump(mode="json"))


def settings(caller: Caller) -> WebhookSettings:
    return WebhookSettings.model_validate(caller.setting(SETTING))


def retention(caller_or_tenant: Caller | str) -> timedelta:
    """How long the tenant keeps its message and attempt records (its `retention_days`). A tenant
    named by id is not opened (no defaults installed: an absent setting reads as its default), so
    the consumer's batch reads the one setting, not the tenant's marker as well."""
    caller = (
        service_caller(caller_or_tenant, open_tenant=False) if isinstance(caller_or_tenant, str) else caller_or_tenant
    )
    return timedelta(days=settings(caller).retention_days)


def get_settings(caller: Caller) -> WebhookSettings:
    """The settings as a route shows them: their version is the ETag."""
    caller.address_setting(SETTING)
    return settings(caller)


def update_settings(caller: Caller, body: WebhookSettingsUpdate) -> WebhookSettings:
    """A merge patch; If-Match is evaluated on the settings (412). A change publishes
    `webhook.settings_updated` in its transaction; the values the settings have change nothing."""
    caller.require_admin()
    caller.address_setting(SETTING)
    current = settings(caller)
    merged = body.merged(current)
    uow = UnitOfWork()
    if current.allow_http and not merged.allow_http:
        using = [r for r in caller.store.all_of_kind(caller.tenant, ENDPOINT) if limits.plain_http(r.data["url"])]
        if using:
            raise HttpInUse([(record.record_id, record.data["url"]) for record in using])
        limits.check_no_http(caller, uow)
    changes = changes_of(current, merged)
    if not changes:
        return merged
    caller.stage_setting(uow, SETTING, merged.model_dump(mode="json"), published=True)
    payload = WebhookSettingsUpdated(**merged.model_dump())
    uow.publish(caller.event("webhook.settings_updated", payload, changes=changes))
    uow.commit()
    caller.forget_setting(SETTING)
    return merged


def check_http_allowed(caller: Caller, uow: UnitOfWork) -> bool:
    """Whether the tenant allows http URLs; when it does, `uow` commits only if the setting is unchanged."""
    if not settings(caller).allow_http:
        return False
    record = caller.store.get(caller.tenant, SETTING_KIND, SETTING)
    if record is not None:
        condition = Record.version == record.version
        uow.check(Record, record.pk, record.sk, condition, lambda: ConcurrentUpdate("The webhook settings changed."))
    return True


class HttpInUse(Conflict):
    code = "http_in_use"

    def __init__(self, endpoints: list[tuple[str, str]]) -> None:
        names = ", ".join(endpoint_id for endpoint_id, _ in endpoints)
        super().__init__(
            f"Endpoints use http: change them to https or delete them before turning allow_http off: {names}",
            [
                FieldError(field="allow_http", message=f"endpoint {endpoint_id} uses {url}", code="http_in_use")
                for endpoint_id, url in endpoints
            ],
        )
