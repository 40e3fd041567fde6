"""Who a login is: tenants, their users and the logins linked to them.

A tenant exists when its tenant record does (`T#<tenant>#TENANT#<tenant>`); only provisioning
(`kontakt tenant create`, or `kontakt dev` for its dev tokens) writes it, never a request or a
token. A login (Cognito's `sub`, a UUID) is linked to exactly one directory user both ways: the
user record keeps `login_subject`, and a login item `LOGIN#<sub>` keeps (tenant, user id) so
that the pre-token-generation trigger finds the user from the subject alone. The trigger turns
that into the token's claims (`tenant_id`, `user_id`, `role`, `groups`); nothing the user can
write in Cognito reaches a claim.

Self sign-up (off unless a tenant's admin turns on `self_sign_up` in the settings): the pre-sign-up
trigger checks the tenant the sign-up names (`check_sign_up`) and records which tenant this Cognito
user (its user name, a UUID Cognito generates) asked to join (`record_sign_up`); once Cognito has
confirmed the email, the post-confirmation trigger checks again and makes the login a directory
user with role `user` (`join`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from services.directory import events as ev
from services.directory.domain.models import Role, TenantSettings
from services.directory.lookup import stage_entries
from services.directory.service import TENANT_KIND, TENANT_SETTINGS, service_caller
from services.directory.store import DirectoryStore, Placement, Record, new_record
from shared import clock
from shared.auth import AuthContext
from shared.errors import Conflict
from shared.events import new_event
from shared.ids import new_id
from shared.service import SETTING
from shared.store import AlreadyApplied, TableItem, UnitOfWork, run_with_retries

LOGIN_KIND = "login"
PROVISIONING = "provisioning"
PROVISIONING_ACTOR = f"service:{PROVISIONING}"


SIGN_UP_RETENTION = timedelta(days=30)  # a sign-up's email may be confirmed later (a code sent again)


class UnknownLogin(Exception):
    """The login is linked to no directory user of an existing tenant: no token for it."""


class SignUpRefused(Exception):
    """The tenant does not let this email sign itself up (the reason is for the log, not the client)."""


class SignUpItem(TableItem):
    """A self sign-up waiting for its email to be confirmed: the tenant its Cognito user asked to join."""

    tenant_id = UnicodeAttribute()
    email = UnicodeAttribute()
    expires_at = TTLAttribute()

    @staticmethod
    def key(user_name: str) -> str:
        return f"SIGNUP#{user_name}"


@dataclass(frozen=True)
class Identity:
    """The directory's answer to "who is this login": what goes into the token."""

    tenant_id: str
    user_id: str
    role: Role
    groups: tuple[str, ...]

    def claims(self) -> dict[str, str]:
        """The claims the trigger adds to the ID token (V1_0 events take string values only)."""
        return {
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "role": self.role.value,
            "groups": " ".join(self.groups),
        }


def login_key(subject: str) -> str:
    return f"LOGIN#{subject}"


def _login_item(subject: str, tenant_id: str, user_id: str) -> Record:
    return Record(
        pk=login_key(subject),
        sk=LOGIN_KIND.upper(),
        kind=LOGIN_KIND,
        fields={"subject": subject, "tenant_id": tenant_id, "user_id": user_id},
    )


def _get(pk: str, sk: str) -> Record | None:
    try:
        return Record.get(pk, sk, consistent_read=True)
    except Record.DoesNotExist:
        return None


def tenant_exists(store: DirectoryStore, tenant_id: str) -> bool:
    return store.get(tenant_id, TENANT_KIND, tenant_id) is not None


# ----------------------------------------------------------------------------- provisioning


def create_tenant(store: DirectoryStore, tenant_id: str, name: str | None = None) -> bool:
    """Record the tenant and install its default settings; False when it existed.

    A run stopped between the two leaves a tenant without its defaults: its first request
    installs them (`Caller.open`), as it installs a default added after the tenant was made.
    """
    AuthContext(tenant_id=tenant_id, user_id=PROVISIONING_ACTOR)  # the same rule as a token's tenant
    if tenant_exists(store, tenant_id):
        return False
    data = {"id": tenant_id, "name": name or tenant_id, "created_at": clock.now().isoformat()}
    uow = UnitOfWork()
    uow.save(
        new_record(tenant_id, TENANT_KIND, tenant_id, data, Placement()),
        condition=Record.pk.does_not_exist(),
        on_conflict=AlreadyApplied,
    )
    try:
        uow.commit()
    except AlreadyApplied:  # made by a concurrent run
        return False
    service_caller(tenant_id, PROVISIONING)  # opening the tenant installs its defaults
    return True


@dataclass(frozen=True)
class Provisioned:
    tenant_id: str
    user_id: str
    subject: str
    created: bool  # the user record was new


def provision_user(
    store: DirectoryStore,
    tenant_id: str,
    subject: str,
    email: str,
    role: Role | None = None,
    groups: tuple[str, ...] | None = None,
    user_id: str | None = None,
    name: str | None = None,
) -> Provisioned:
    """Make `subject`'s login a user of the tenant (idempotent).

    The user keeps the id the login is already linked to; otherwise `user_id` or a new id. A
    login linked to another tenant or user is refused (one login is one user of one tenant).
    `role` and `groups` are set when given (a new user gets `user` and none); the groups are
    written to the user record as given (provisioning makes no group memberships).
    """
    if not tenant_exists(store, tenant_id):
        raise UnknownLogin(f"no tenant {tenant_id}")

    def command() -> Provisioned:
        login = _get(login_key(subject), LOGIN_KIND.upper())
        linked_id = None
        if login is not None:
            if login.data["tenant_id"] != tenant_id or (user_id and login.data["user_id"] != user_id):
                raise Conflict(
                    f"login {subject} already belongs to user {login.data['user_id']} of {login.data['tenant_id']}"
                )
            linked_id = login.data["user_id"]
        the_id = linked_id or user_id or new_id()
        record = store.get(tenant_id, "user", the_id)
        uow = UnitOfWork()
        values: dict[str, Any] = {"login_subject": subject}
        if role is not None or record is None:
            values["role"] = (role or Role.USER).value
        if groups is not None or record is None:
            values["groups"] = list(groups or ())
        if record is None:
            data = {"id": the_id, "email": email, "name": name or email.split("@")[0], **values}
            uow.save(new_record(tenant_id, "user", the_id, data, Placement()), condition=Record.pk.does_not_exist())
            stage_entries(uow, tenant_id, "user", the_id, data, 1, new=True)
            uow.publish(new_event("user.created", tenant_id, ev.UserCreated(id=the_id)))
        else:
            other = record.data.get("login_subject")
            if other and other != subject:
                raise Conflict(f"user {the_id} of {tenant_id} is linked to another login")
            if {k: record.data.get(k) for k in values} != values:
                store.replace(uow, record, record.data | values)
                stage_entries(uow, tenant_id, "user", the_id, record.data, (record.version or 0) + 1, new=False)
        if login is None:
            uow.save(_login_item(subject, tenant_id, the_id), condition=Record.pk.does_not_exist())
        if len(uow):
            uow.commit()
        return Provisioned(tenant_id, the_id, subject, created=record is None)

    result: Provisioned = run_with_retries(command)
    return result


def find_user_by_email(store: DirectoryStore, tenant_id: str, email: str) -> str | None:
    """The id of the tenant's directory user with this email (case-insensitive), if one exists."""
    wanted = email.strip().lower()
    for record in store.all_of_kind(tenant_id, "user"):
        if str(record.data.get("email", "")).lower() == wanted:
            return record.record_id
    return None


# ----------------------------------------------------------------------------- self sign-up


def tenant_settings(tenant_id: str) -> TenantSettings | None:
    """The settings of an existing tenant (one BatchGetItem); None when the tenant does not exist."""
    records = DirectoryStore().get_each(tenant_id, [(TENANT_KIND, tenant_id), (SETTING, TENANT_SETTINGS)])
    if (TENANT_KIND, tenant_id) not in records:
        return None
    settings = records.get((SETTING, TENANT_SETTINGS))
    return TenantSettings.model_validate(settings.data) if settings else TenantSettings()


def check_sign_up(store: DirectoryStore, tenant_id: str | None, email: str) -> None:
    """Refuse unless the tenant exists, its settings allow self sign-up and the email's domain."""
    if not tenant_id:
        raise SignUpRefused("the sign-up names no tenant")
    try:
        AuthContext(tenant_id=tenant_id, user_id=PROVISIONING_ACTOR)  # a well-formed tenant id
    except ValueError as error:
        raise SignUpRefused(f"not a tenant id: {tenant_id!r}") from error
    settings = tenant_settings(tenant_id)
    if settings is None:
        raise SignUpRefused(f"no tenant {tenant_id}")
    if not settings.self_sign_up.enabled:
        raise SignUpRefused(f"tenant {tenant_id} does not allow self sign-up")
    if not settings.self_sign_up.allows(email):
        raise SignUpRefused(f"tenant {tenant_id} does not allow sign-ups from {email.rpartition('@')[2]!r}")
    if find_user_by_email(store, tenant_id, email):
        raise SignUpRefused(f"tenant {tenant_id} already has a user {email}: an operator links it (kontakt user add)")


def record_sign_up(user_name: str, tenant_id: str, email: str) -> None:
    """Remember which tenant this Cognito user's sign-up asked to join, until its email is confirmed."""
    SignUpItem(
        pk=SignUpItem.key(user_name),
        sk="SIGNUP",
        kind="signup",
        tenant_id=tenant_id,
        email=email,
        expires_at=clock.now() + SIGN_UP_RETENTION,
    ).save()


def pending_sign_up(user_name: str) -> str | None:
    """The tenant that this Cognito user's sign-up asked to join, if one is waiting."""
    try:
        return str(SignUpItem.get(SignUpItem.key(user_name), "SIGNUP", consistent_read=True).tenant_id)
    except SignUpItem.DoesNotExist:
        return None


def join(store: DirectoryStore, user_name: str, subject: str, email: str, name: str | None = None) -> Provisioned:
    """Make a confirmed self sign-up a user (role `user`, no groups) of the tenant it asked to join.

    Idempotent: a login already linked is returned as it is (Cognito may deliver the trigger twice).
    The tenant's setting is checked again, on the confirmed email: it may have been turned off since.
    """
    login = _get(login_key(subject), LOGIN_KIND.upper())
    if login is not None:
        return Provisioned(login.data["tenant_id"], login.data["user_id"], subject, created=False)
    tenant_id = pending_sign_up(user_name)
    if tenant_id is None:
        raise SignUpRefused(f"no sign-up of Cognito user {user_name} is waiting")
    check_sign_up(store, tenant_id, email)
    return provision_user(store, tenant_id, subject, email, name=name)


# ----------------------------------------------------------------------------- sign-in


def resolve(store: DirectoryStore, subject: str) -> Identity:
    """The identity of a login, from the directory's records only; UnknownLogin when it has none."""
    login = _get(login_key(subject), LOGIN_KIND.upper())
    if login is None:
        raise UnknownLogin("the login is not a user of any tenant")
    tenant_id, user_id = login.data["tenant_id"], login.data["user_id"]
    records = store.get_each(tenant_id, [(TENANT_KIND, tenant_id), ("user", user_id)])
    if (TENANT_KIND, tenant_id) not in records:
        raise UnknownLogin(f"tenant {tenant_id} does not exist")
    user = records.get(("user", user_id))
    if user is None or user.data.get("login_subject") != subject:
        raise UnknownLogin(f"user {user_id} of {tenant_id} does not exist or is not linked to this login")
    return Identity(
        tenant_id=tenant_id,
        user_id=user_id,
        role=Role(user.data.get("role", Role.USER.value)),
        groups=tuple(user.data.get("groups") or ()),
    )
