"""`kontakt tenant reindex` against a stack (here moto's, with the template's tables): records
written before the `by_update` index, in every service's table, get their update-time keys, SMS's
contacts projection rows written before its number index are placed in it, and the operator reads
how many per service and kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.provision import Provisioner
from infra.template import load_stack
from shared import settings
from shared.store import bind_table, record_key

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "DirectoryTable": "it-directory",
    "ActivitiesTable": "it-activities",
    "EmailTable": "it-email",
    "SmsTable": "it-sms",
    "ScannerTable": "it-scanner",
}
TENANT = "t-reindex"


class _Stack:
    """The CloudFormation calls the provisioner makes, answered for a stack named "kontakt-it"."""

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [("UserPoolId", "eu-north-1_pool"), ("DirectoryTableName", TABLES["DirectoryTable"])]
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs]}]}

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        return {"StackResourceDetail": {"PhysicalResourceId": TABLES[LogicalResourceId]}}


class _Session:
    region_name = "eu-north-1"

    def client(self, name: str) -> Any:
        return _Stack() if name == "cloudformation" else boto3.client(name, region_name=self.region_name)


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.load.cache_clear()
    stack = load_stack(PROJECT_ROOT)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for logical_id, name in TABLES.items():
            table = stack.tables[logical_id]
            dynamodb.create_table(
                TableName=name,
                KeySchema=table.key_schema,
                AttributeDefinitions=table.attribute_definitions,
                GlobalSecondaryIndexes=table.global_secondary_indexes,
                BillingMode="PAY_PER_REQUEST",
            )
        yield
    bind_table(TABLES["DirectoryTable"])  # drop the connections made inside the mock


def _old(table: str, record: Any) -> None:
    """A record as written before the index: saved as it is, with no update-time keys."""
    bind_table(table)
    record.save()


def test_reindex_gives_every_service_s_older_records_their_update_time_keys(tables: None) -> None:
    from services.activities.store import Record as ActivityRecord
    from services.activities.store import new_record as new_activity
    from services.directory import identity
    from services.directory.store import DirectoryStore, Placement
    from services.directory.store import Record as DirectoryRecord
    from services.directory.store import new_record as new_directory_record
    from services.email.store import Record as EmailRecord

    bind_table(TABLES["DirectoryTable"])
    identity.create_tenant(DirectoryStore(), TENANT)
    stamped = "2026-02-01T00:00:00Z"
    owner = {"type": "user", "id": "u1"}
    contact = {"id": "C1", "first_name": "Olga", "owner": owner, "created_at": stamped, "updated_at": stamped}
    _old(TABLES["DirectoryTable"], new_directory_record(TENANT, "contact", "C1", contact, Placement(owner_id="u1")))
    _old(TABLES["ActivitiesTable"], new_activity(TENANT, "activity", "A1", {"id": "A1", "updated_at": stamped}))
    template = EmailRecord(
        pk=record_key(TENANT, "template", "T1"),
        sk="TEMPLATE",
        kind="template",
        gsi1pk=f"T#{TENANT}#TEMPLATE",
        gsi1sk="T1",
        fields={"id": "T1", "created_at": stamped},
    )
    _old(TABLES["EmailTable"], template)

    done = Provisioner("kontakt-it", _Session()).reindex(TENANT)
    lines = done.lines()
    for said in ("directory contact", "activities activity", "email template"):
        assert f"tenant {TENANT}: update-time keys (updated_since) given to 1 {said} records" in lines, lines
    assert not done.skipped

    keys = [
        (TABLES["DirectoryTable"], DirectoryRecord, "contact", "C1"),
        (TABLES["ActivitiesTable"], ActivityRecord, "activity", "A1"),
        (TABLES["EmailTable"], EmailRecord, "template", "T1"),
    ]
    for table, model, kind, record_id in keys:
        bind_table(table)
        record = model.get(record_key(TENANT, kind, record_id), kind.upper())
        assert record.syncsk == f"2026-02-01T00:00:00.000000Z#{record_id}"  # at its updated_at (else created_at)
        assert record.version == 1  # its ETag stays
    bind_table(TABLES["DirectoryTable"])
    again = Provisioner("kontakt-it", _Session()).reindex(TENANT)
    assert all(n == 0 for n in again.synced.values())  # nothing left to do


class _StackWithOutputs(_Stack):
    """A stack that names its email and activities tables in outputs (as the template does now):
    the provisioner reads them there, not from the stack's resources."""

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        stacks = super().describe_stacks(StackName)
        stacks["Stacks"][0]["Outputs"] += [
            {"OutputKey": "EmailTableName", "OutputValue": TABLES["EmailTable"]},
            {"OutputKey": "ActivitiesTableName", "OutputValue": TABLES["ActivitiesTable"]},
        ]
        return stacks

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        if LogicalResourceId in ("SmsTable", "ScannerTable"):  # no output names it: read from the stack's resources
            return super().describe_stack_resource(StackName, LogicalResourceId)
        raise AssertionError(f"{LogicalResourceId} is named in the stack's outputs")


class _SessionWithOutputs(_Session):
    def client(self, name: str) -> Any:
        return _StackWithOutputs() if name == "cloudformation" else super().client(name)


def test_reindex_writes_list_entries_and_update_time_keys_together(tables: None) -> None:
    """One reindex of an older email template: its list filter entries (`IndexedStore.reindex`)
    and its update-time keys (`resync`), the operator told of both."""
    from services.directory import identity
    from services.directory.store import DirectoryStore
    from services.email.store import Record as EmailRecord
    from shared.lookup import Entry

    bind_table(TABLES["DirectoryTable"])
    identity.create_tenant(DirectoryStore(), TENANT)
    stamped = "2026-02-01T00:00:00Z"
    data = {"id": "T2", "name": "Old welcome", "created_by": "u9", "created_at": stamped, "updated_at": stamped}
    pk = record_key(TENANT, "template", "T2")
    template = EmailRecord(
        pk=pk, sk="TEMPLATE", kind="template", gsi1pk=f"T#{TENANT}#TEMPLATE", gsi1sk="T2", fields=data
    )
    _old(TABLES["EmailTable"], template)

    lines = Provisioner("kontakt-it", _SessionWithOutputs()).reindex(TENANT).lines()
    assert f"tenant {TENANT}: index entries written again for 1 email template records" in lines, lines
    assert f"tenant {TENANT}: update-time keys (updated_since) given to 1 email template records" in lines, lines
    bind_table(TABLES["EmailTable"])
    assert len(list(Entry.query(pk, Entry.sk.startswith("IX#")))) == 2  # its name and its creator
    record = EmailRecord.get(pk, "TEMPLATE")
    assert record.syncsk == "2026-02-01T00:00:00.000000Z#T2"
    assert record.version == 1
    bind_table(TABLES["DirectoryTable"])


def test_reindex_places_sms_contacts_written_before_the_number_index(tables: None) -> None:
    """A contacts projection row of the sms table written before the phone number was indexed (its
    mobile number not in the index either): one reindex lists it under both numbers, so an inbound
    reply from either finds the contact; a second writes nothing."""
    from services.directory import identity
    from services.directory.store import DirectoryStore
    from services.sms import recipients
    from services.sms.store import Record as SmsRecord

    bind_table(TABLES["DirectoryTable"])
    identity.create_tenant(DirectoryStore(), TENANT)
    contact = {"id": "C9", "first_name": "Olga", "mobile": "040 123 4567", "phone": "050 765 4321"}
    row = SmsRecord(
        pk=record_key(TENANT, "recipient", "C9"),
        sk="RECIPIENT",
        kind="recipient",
        gsi1pk=f"T#{TENANT}#RECIPIENT",
        gsi1sk="C9",
        fields={"contact": contact, "contact_version": 1},
    )
    _old(TABLES["SmsTable"], row)
    assert SmsRecord.by_contact.count(f"T#{TENANT}#NUMBER#+358401234567#RECIPIENT") == 0

    lines = Provisioner("kontakt-it", _Session()).reindex(TENANT).lines()
    assert f"tenant {TENANT}: index entries written again for 1 sms recipient records" in lines, lines
    bind_table(TABLES["SmsTable"])
    assert recipients.by_number(TENANT, "+358401234567") == "C9"  # the mobile number
    assert recipients.by_number(TENANT, "+358507654321") == "C9"  # the phone number
    bind_table(TABLES["DirectoryTable"])
    again = Provisioner("kontakt-it", _Session()).reindex(TENANT).lines()
    assert f"tenant {TENANT}: index entries written again for 0 sms recipient records" in again, again
    bind_table(TABLES["DirectoryTable"])


def test_reindex_lists_older_tickets_under_their_requester_s_account(tables: None) -> None:
    """A ticket written before tickets were listed under their requester's account: one reindex lists
    it there (an account's merge finds it), a ticket without an account stays unlisted; a second
    writes nothing."""
    from services.directory import identity
    from services.directory.store import DirectoryStore
    from services.scanner.store import Record as ScannerRecord

    bind_table(TABLES["DirectoryTable"])
    identity.create_tenant(DirectoryStore(), TENANT)
    for ticket_id, account in (("K1", "A1"), ("K2", None)):
        data = {"requester_account_id": account, "requester_contact_id": "C1", "owner": {"type": "user", "id": "u1"}}
        ticket = ScannerRecord(
            pk=record_key(TENANT, "ticket", ticket_id),
            sk="TICKET",
            kind="ticket",
            gsi1pk=f"T#{TENANT}#TICKET",
            gsi1sk=ticket_id,
            fields=data,
        )
        _old(TABLES["ScannerTable"], ticket)

    lines = Provisioner("kontakt-it", _Session()).reindex(TENANT).lines()
    assert f"tenant {TENANT}: index entries written again for 1 scanner ticket records" in lines, lines
    bind_table(TABLES["ScannerTable"])
    listed = [r.record_id for r in ScannerRecord.by_parent.query(f"T#{TENANT}#ACCOUNT#A1#TICKET")]
    assert listed == ["K1"]
    bind_table(TABLES["DirectoryTable"])
    again = Provisioner("kontakt-it", _Session()).reindex(TENANT).lines()
    assert f"tenant {TENANT}: index entries written again for 0 scanner ticket records" in again, again
    bind_table(TABLES["DirectoryTable"])
