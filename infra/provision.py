"""`kontakt tenant create` and `kontakt user add`: tenants and logins of a deployed stack.

The stack is found by name: its outputs `UserPoolId` and `DirectoryTableName` name the Cognito
user pool and the directory table. A login is a Cognito user made with AdminCreateUser (email
verified, Cognito mails the invitation with a temporary password through SES); the tenant and the
directory user are written by `services.directory.identity`, the code `kontakt dev` runs for its
dev logins, and the user is linked to the login's `sub`. Every step finds what an earlier run made,
so running a command again (after a failure half way, or by mistake) finishes or changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

REQUIRED_OUTPUTS = ("UserPoolId", "DirectoryTableName")
# The other services' tables whose stores keep list filter entries (`shared.lookup.IndexedStore`):
# output -> the store's module and class. A stack without the output (older) is reindexed without it.
INDEXED_TABLES = {
    "EmailTableName": ("services.email.store", "EmailStore"),
    "ActivitiesTableName": ("services.activities.store", "ActivitiesStore"),
}


class ProvisionError(Exception):
    """The command cannot do what was asked; the message says why."""


@dataclass(frozen=True)
class StackTargets:
    user_pool_id: str
    table_name: str
    indexed_tables: tuple[tuple[str, str], ...] = ()  # (output, table name) of INDEXED_TABLES


@dataclass(frozen=True)
class Login:
    subject: str
    created: bool


@dataclass(frozen=True)
class Result:
    tenant_id: str
    tenant_created: bool
    email: str
    login: Login
    user_id: str
    user_created: bool

    def lines(self) -> list[str]:
        return [
            f"tenant {self.tenant_id}: {'created' if self.tenant_created else 'exists'}",
            f"login {self.email}: "
            + ("created, invitation mailed" if self.login.created else "exists (no new invitation)")
            + f" (sub {self.login.subject})",
            f"directory user {self.user_id}: {'created' if self.user_created else 'exists'}, linked to the login",
        ]


@dataclass(frozen=True)
class Reindexed:
    tenant_id: str
    records: dict[str, int]  # by kind
    synced: dict[str, int] = field(default_factory=dict)  # by "<service> <kind>": records given sync keys
    skipped: tuple[str, ...] = ()  # tables not found in the stack

    def lines(self) -> list[str]:
        return (
            [
                f"tenant {self.tenant_id}: index entries written again for {n} {kind} records"
                for kind, n in self.records.items()
            ]
            + [
                f"tenant {self.tenant_id}: update-time keys (updated_since) given to {n} {kind} records"
                for kind, n in self.synced.items()
            ]
            + [f"tenant {self.tenant_id}: no table {name} in the stack, not resynced" for name in self.skipped]
        )


def stack_targets(cloudformation: Any, stack_name: str) -> StackTargets:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise ProvisionError(f"stack {stack_name}: {error.response['Error'].get('Message', error)}") from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise ProvisionError(f"stack {stack_name} has no output {', '.join(missing)}: is it a Kontakt stack?")
    indexed = tuple((name, outputs[name]) for name in INDEXED_TABLES if outputs.get(name))
    return StackTargets(
        user_pool_id=outputs["UserPoolId"], table_name=outputs["DirectoryTableName"], indexed_tables=indexed
    )


def ensure_login(cognito: Any, user_pool_id: str, email: str) -> Login:
    """The Cognito user of this email (AdminCreateUser, email verified); an existing one is kept."""
    try:
        user = cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            DesiredDeliveryMediums=["EMAIL"],
        )["User"]
        attributes, created = user.get("Attributes", []), True
    except cognito.exceptions.UsernameExistsException:
        attributes, created = cognito.admin_get_user(UserPoolId=user_pool_id, Username=email)["UserAttributes"], False
    subject = next((a["Value"] for a in attributes if a["Name"] == "sub"), None)
    if not subject:
        raise ProvisionError(f"Cognito returned no sub for {email}")
    return Login(subject=subject, created=created)


class Provisioner:
    """Tenants and logins of one deployed stack, with the caller's AWS credentials."""

    def __init__(self, stack_name: str, session: Any = None) -> None:
        session = session or boto3.session.Session()
        self.cloudformation = session.client("cloudformation")
        self.stack_name = stack_name
        self.targets = stack_targets(self.cloudformation, stack_name)
        self.cognito = session.client("cognito-idp")
        if session.region_name and not os.environ.get("AWS_DEFAULT_REGION"):
            os.environ["AWS_DEFAULT_REGION"] = session.region_name  # pynamodb's client reads it
        from shared.store import bind_table

        bind_table(self.targets.table_name)

    def create_tenant(self, tenant_id: str, admin_email: str) -> Result:
        """The tenant and its first admin: a Cognito login and a directory admin user, linked."""
        from services.directory import identity
        from services.directory.domain.models import Role
        from services.directory.store import DirectoryStore

        store = DirectoryStore()
        try:
            created = identity.create_tenant(store, tenant_id)
        except ValueError as error:
            raise ProvisionError(f"tenant id {tenant_id!r} is not valid: letters, digits, - and _, 1-64") from error
        return self._link(store, tenant_id, admin_email, Role.ADMIN, created)

    def add_user(self, tenant_id: str, email: str, role: str | None = None) -> Result:
        """A login for a user of an existing tenant: the directory user of that email, or a new one."""
        from services.directory import identity
        from services.directory.domain.models import Role
        from services.directory.store import DirectoryStore

        store = DirectoryStore()
        if not identity.tenant_exists(store, tenant_id):
            raise ProvisionError(f"no tenant {tenant_id} in this stack: `kontakt tenant create` makes one")
        return self._link(store, tenant_id, email, Role(role) if role else None, False)

    def reindex(self, tenant_id: str) -> Reindexed:
        """Write the index entries of every record of the tenant again, e.g. once after the deploy
        that added them: the directory's (list filters, search: `services.directory.lookup.reindex`),
        then those of the email and activities tables' lists (`IndexedStore.reindex`), the sms
        contacts projection's number index (`services.sms.recipients.reindex_numbers`), the scanner's
        tickets under their requester's account (`services.scanner.tickets.reindex_accounts`), and the
        update-time keys of every synced kind (`updated_since`: `_resync`)."""
        import importlib

        from services.directory import identity, lookup
        from services.directory.store import DirectoryStore
        from shared.store import bind_table

        if not identity.tenant_exists(DirectoryStore(), tenant_id):
            raise ProvisionError(f"no tenant {tenant_id} in this stack")
        records = lookup.reindex(tenant_id)
        try:
            for output, table in self.targets.indexed_tables:
                module, name = INDEXED_TABLES[output]
                bind_table(table)
                store = getattr(importlib.import_module(module), name)()
                records |= {f"{table.rsplit('-', 1)[-1]} {kind}": n for kind, n in store.reindex(tenant_id).items()}
            sms = self._table_name("SmsTable")
            if sms is not None:  # the contacts projection's number index (inbound replies find contacts)
                bind_table(sms)
                from services.sms.recipients import reindex_numbers

                records["sms recipient"] = reindex_numbers(tenant_id)
            scanner = self._table_name("ScannerTable")
            if scanner is not None:  # tickets listed under their requester's account (an account merge moves them)
                bind_table(scanner)
                from services.scanner.tickets import reindex_accounts

                records["scanner ticket"] = reindex_accounts(tenant_id)
        finally:
            bind_table(self.targets.table_name)
        synced, skipped = self._resync(tenant_id)
        return Reindexed(tenant_id, records, synced, tuple(skipped))

    def _resync(self, tenant_id: str) -> tuple[dict[str, int], list[str]]:
        """Update-time keys (`updated_since`) for the records of every service's synced kinds
        written before the `by_update` index (`shared.store.resync`), table by table."""
        from services.activities.store import Record as ActivitiesRecord
        from services.directory.store import Record as DirectoryRecord
        from services.email.store import Record as EmailRecord
        from shared.store import bind_table, resync

        synced: dict[str, int] = {}
        skipped: list[str] = []
        tables = (
            ("directory", "DirectoryTable", DirectoryRecord),
            ("activities", "ActivitiesTable", ActivitiesRecord),
            ("email", "EmailTable", EmailRecord),
        )
        try:
            for service, logical_id, model in tables:
                name = self._table_name(logical_id)
                if name is None:
                    skipped.append(logical_id)
                    continue
                bind_table(name)
                synced.update({f"{service} {kind}": n for kind, n in resync(model, tenant_id).items()})
        finally:
            bind_table(self.targets.table_name)
        return synced, skipped

    def _table_name(self, logical_id: str) -> str | None:
        """The table's name: the directory's and the stack's `<logical id>Name` outputs, else the
        stack's resource (a stack older than the outputs)."""
        if logical_id == "DirectoryTable":
            return self.targets.table_name
        outputs = dict(self.targets.indexed_tables)
        if outputs.get(f"{logical_id}Name"):
            return outputs[f"{logical_id}Name"]
        try:
            found = self.cloudformation.describe_stack_resource(StackName=self.stack_name, LogicalResourceId=logical_id)
        except ClientError:
            return None
        return str(found["StackResourceDetail"]["PhysicalResourceId"]) or None

    def _link(self, store: Any, tenant_id: str, email: str, role: Any, tenant_created: bool) -> Result:
        from services.directory import identity
        from shared.errors import Conflict

        email = email.strip().lower()
        login = ensure_login(self.cognito, self.targets.user_pool_id, email)
        existing = identity.find_user_by_email(store, tenant_id, email)
        try:
            provisioned = identity.provision_user(store, tenant_id, login.subject, email, role, user_id=existing)
        except Conflict as error:
            raise ProvisionError(str(error)) from error
        return Result(tenant_id, tenant_created, email, login, provisioned.user_id, provisioned.created)
