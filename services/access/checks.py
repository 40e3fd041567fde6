"""The authorizer's checks of the access service's records: an API key (`authenticate`) and the
tenant's IP rules (`tenant_permits`). Imports only the store and the pure domain: the authorizer's
cold start pays for neither the API's resolver nor the service's caller.
"""

from __future__ import annotations

import hmac
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from services.access.domain.ip_rules import permitted
from services.access.domain.keys import KeyStatus, ip_allowed, parse, secret_hash
from services.access.store import AccessStore, Record
from shared.auth import AuthContext, Refused, Role, Unauthenticated
from shared.observability import logger
from shared.refusals import note_refusal
from shared.types import in_utc

KIND = "apikey"  # an API key's record kind (keys.py)
SETTING = "ip_rules"  # the tenant's IP rules, a tenant setting (ip_rules.py)
SETTING_KIND = "setting"  # shared.service.SETTING, not imported here (see above)
# A key's last use is written at most this often per key (and when its caller's IP changes): the
# authorizer runs once per key and IP per cache period, and a busy key costs no write per request.
USE_WRITE_INTERVAL = timedelta(minutes=1)
# The authorizer keeps a tenant's rules this long per instance: with API Gateway's cache (5 s per
# token and IP), a change of rules takes effect within about 10 s, and a busy tenant costs one
# read per instance per period, not one per sign-in.
RULES_SECONDS = 5.0


def authenticate(store: AccessStore, secret: str, ip: str, now: datetime) -> AuthContext:
    """The principal an API key stands for; Unauthenticated (401) for an unknown, locked, revoked
    or expired key, Refused (403) for a caller outside the key's IP allow-list. Notes the use."""
    tenant_id, key_id = parse(secret) or ("", "")
    record = store.get(tenant_id, KIND, key_id) if key_id else None
    if record is None or not hmac.compare_digest(record.data.get("secret_hash", ""), secret_hash(secret)):
        raise Unauthenticated("unknown API key", "The API key is not valid.")
    data: dict[str, Any] = record.data
    try:
        if data["status"] != KeyStatus.ACTIVE:
            raise Unauthenticated(f"API key {data['status']}", f"The API key is {data['status']}.")
        if data.get("expires_at") and in_utc(datetime.fromisoformat(data["expires_at"])) <= now:
            raise Unauthenticated("API key expired", "The API key has expired.")
        if not ip_allowed(ip, data.get("allowed_ips") or []):
            raise Refused(403, "The API key may not be used from this IP address.")
    except (Unauthenticated, Refused) as refused:
        status = refused.status if isinstance(refused, Refused) else 401
        note_refusal(tenant_id, record.record_id, ip, status, refused.detail, now)
        raise
    _note_use(store, tenant_id, record, ip, now)
    return AuthContext(
        tenant_id=tenant_id,
        user_id=record.record_id,
        role=Role(data["role"]),
        key_id=record.record_id,
        permissions=tuple(data["permissions"]),
    )


def _note_use(store: AccessStore, tenant_id: str, record: Record, ip: str, now: datetime) -> None:
    last = datetime.fromisoformat(record.last_used_at) if record.last_used_at else None
    if last is None or now - last >= USE_WRITE_INTERVAL or record.last_used_ip != ip:
        try:
            store.record_use(tenant_id, KIND, record.record_id, now, ip)
        except Exception:
            logger.warning("an API key's last use was not noted", extra={"key_id": record.record_id}, exc_info=True)


_rules: dict[str, tuple[float, dict[str, Any]]] = {}  # tenant -> (read at, rules), per instance
_rules_lock = threading.Lock()


def tenant_permits(store: AccessStore, tenant_id: str, ip: str) -> bool:
    """Whether the tenant's rules let `ip` in (the authorizer's check, for users and keys alike)."""
    now = time.monotonic()
    with _rules_lock:
        found = _rules.get(tenant_id)
    if found is None or now - found[0] > RULES_SECONDS:
        record = store.get(tenant_id, SETTING_KIND, SETTING)
        found = (now, record.data if record is not None else {})
        with _rules_lock:
            _rules[tenant_id] = found
    rules = found[1]
    return permitted(ip, rules.get("allow") or [], rules.get("deny") or [])
