"""CSV import of accounts and contacts: the job, the upload, and processing row by row.

A client creates a job with its column mapping and gets a presigned URL; the upload lands in S3,
whose notification reaches the import function through a queue. Each row is written in one
transaction together with its row report, so a row is either fully imported or not at all, and
a redelivered upload skips the rows already done.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

import boto3
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.directory import accounts
from services.directory import events as ev
from services.directory.domain.errors import FieldError as DomainFieldError
from services.directory.domain.imports import (
    IMPORTABLE_FIELDS,
    Encoding,
    ImportFileError,
    ImportKind,
    RowResult,
    parse_csv,
    validate_mapping,
)
from services.directory.domain.models import (
    Account,
    AccountUpdate,
    Contact,
    ContactCreate,
    ContactUpdate,
    Module,
    Owner,
    new_account,
    new_contact,
)
from services.directory.duplicate_checks import PossibleDuplicate, find_duplicates
from services.directory.service import Caller, id_page, number_for, picklists, readable
from services.directory.store import Placement, Record, new_record
from shared import clock
from shared.errors import FieldError, ValidationFailed
from shared.ids import new_id
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.store import AlreadyApplied, UnitOfWork, tenant_key

UPLOAD_URL_SECONDS = 900
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

Status = Literal["awaiting_upload", "processing", "completed", "failed"]
OnDuplicate = Literal["create", "update", "skip"]
ON_DUPLICATE = (
    "A row that matches no record by its natural key (a contact's email, an account's business id) but "
    "matches records the importer may read by the tenant's duplicate rules: `create` a new record anyway "
    "(default), `update` the best match, or `skip` the row; the row's report lists the matches"
)


def _mapping_of(kind: ImportKind) -> dict[str, Any]:
    """JSON Schema: a mapping onto the importable fields of `kind`."""
    fields = sorted(IMPORTABLE_FIELDS[kind])
    return {"properties": {"kind": {"const": kind.value}, "mapping": {"additionalProperties": {"enum": fields}}}}


# A CSV column's header: not empty (an empty key is no column, and DynamoDB Streams' records of an
# item holding one could not be read back in the local emulator: the stack's outbox stalled).
Header = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ImportRequest(BaseModel):
    """`mapping` names at least one column, each onto an importable field of `kind` (the create
    model's fields but `owner`), no field twice (422 `duplicate_field`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # the rule in allOf: see shared.types.COMBINATORS
            "required": ["kind", "mapping"],
            "allOf": [{"anyOf": [_mapping_of(kind) for kind in ImportKind]}],
        },
    )

    kind: ImportKind
    mapping: dict[Header, str] = Field(
        description="CSV header (1 to 200 characters) -> field name",
        max_length=100,
        json_schema_extra={"minProperties": 1},
    )
    encoding: Encoding | None = Field(
        default=None, description="The file's encoding; without it UTF-8 (with or without BOM), else Windows-1252"
    )
    on_duplicate: OnDuplicate = Field("create", description=ON_DUPLICATE)


class Upload(BaseModel):
    url: str
    method: str = "PUT"
    headers: dict[str, str] = Field(default_factory=dict)
    expires_in: int = UPLOAD_URL_SECONDS


class ImportJob(BaseModel):
    id: str
    kind: ImportKind
    mapping: dict[str, str]
    status: Status
    owner: Owner
    created_at: datetime
    created: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: int = Field(0, description="Rows left out as duplicates (`on_duplicate: skip`)")
    on_duplicate: OnDuplicate = "create"
    error: str | None = None
    encoding: Encoding | None = Field(
        default=None, description="The encoding asked for; once processed, the one the file was read with"
    )
    upload: Upload | None = None


Outcome = Literal["created", "updated", "rejected", "skipped"]


class RowReport(BaseModel):
    row: int
    outcome: Outcome
    record_id: str | None = Field(None, description="The record created or updated; of a skipped row, its best match")
    errors: list[FieldError] = Field(default_factory=list)
    possible_duplicates: list[PossibleDuplicate] = Field(
        default_factory=list,
        description="Records the importer may read that the row matched by the tenant's duplicate rules (checked "
        "when the row matched no record by its natural key)",
    )


def upload_key(tenant_id: str, import_id: str) -> str:
    return f"uploads/{tenant_id}/{import_id}.csv"


def _fields(errors: list[DomainFieldError]) -> list[FieldError]:
    return [FieldError(field=e.field, message=e.message, code=e.code) for e in errors]


def create_job(caller: Caller, body: ImportRequest, bucket: str) -> ImportJob:
    errors = validate_mapping(body.mapping, body.kind)
    if errors:
        raise ValidationFailed("The column mapping is not valid.", _fields(errors))
    job = ImportJob(
        id=new_id(),
        kind=body.kind,
        mapping=body.mapping,
        encoding=body.encoding,
        on_duplicate=body.on_duplicate,
        status="awaiting_upload",
        owner=Owner(type="user", id=caller.auth.user_id),
        created_at=clock.now(),
    )
    data = job.model_dump(mode="json") | {"auth": caller.auth.model_dump(mode="json")}
    uow = UnitOfWork()
    uow.save(new_record(caller.tenant, "import", job.id, data, Placement(owner_id=job.owner.id)))
    uow.commit()
    url = boto3.client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": upload_key(caller.tenant, job.id), "ContentType": "text/csv"},
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return job.model_copy(update={"upload": Upload(url=url, headers={"Content-Type": "text/csv"})})


def get_job(caller: Caller, import_id: str) -> ImportJob:
    return model_of(readable(caller, "import", import_id, "contacts"), ImportJob)


def _outcome_key(tenant: str, import_id: str, outcome: str) -> str:
    return tenant_key(tenant, "IMPORT", import_id, "ROW", outcome)


def list_rows(
    caller: Caller, import_id: str, cursor: str | None, limit: int, outcome: Outcome | None = None
) -> Page[RowReport]:
    """An import's row reports in row order; `outcome`: only the rows of that outcome (the
    `by_term` index, each report listed under its import's outcome when it is written)."""
    readable(caller, "import", import_id, "contacts")
    if outcome is not None:
        key = _outcome_key(caller.tenant, import_id, outcome)
        scope = f"import:{import_id}:rows:{outcome}"
        return partition_page(caller, scope, cursor, limit, Record.by_term, key, Record.gsi4sk, RowReport)
    return id_page(
        caller,
        f"import:{import_id}:rows",
        cursor,
        limit,
        lambda a, n: caller.store.page_by_parent(caller.tenant, "import", import_id, "import_row", a, n),
        RowReport,
    )


# ----------------------------------------------------------------------------- processing


class Importer:
    """Processes one uploaded file for its job, as the user who created the job."""

    def __init__(self, caller: Caller, job: Record) -> None:
        self.caller = caller
        self.job = job
        self.kind = ImportKind(job.data["kind"])
        self.mapping: dict[str, str] = job.data["mapping"]
        self.existing: dict[str, str] = {}
        self.encoding: Encoding | None = job.data.get("encoding")
        self.on_duplicate: OnDuplicate = job.data.get("on_duplicate") or "create"

    def fail(self, detail: str) -> None:
        """The file as a whole cannot be imported: the job fails with this reason."""
        self._finish("failed", {"created": 0, "updated": 0, "rejected": 0, "skipped": 0}, error=detail)

    def run(self, text: str, encoding: Encoding | None = None) -> dict[str, int]:
        """Import the file's rows; `encoding`: what it was read with, shown on the job."""
        self.encoding = encoding or self.encoding
        try:
            results = parse_csv(text, self.mapping, self.kind, picklists(self.caller))
        except ImportFileError as exc:
            self.fail(exc.detail)
            return {}
        self.existing = self._natural_keys()
        for result in results:
            self._import_row(result)
        counts = self._tally()
        self._finish("completed", counts)
        return counts

    def _natural_keys(self) -> dict[str, str]:
        """Natural key -> id of the records the importer may see (contacts by email, accounts by
        business id). A record out of their sight is not matched: the row is a new record to them,
        as if the hidden one did not exist, so the report tells nothing of it."""
        caller = self.caller
        if self.kind == ImportKind.contacts:
            return {
                r.data["email"].casefold(): r.data["id"]
                for r in caller.store.all_of_kind(caller.tenant, "contact")
                if r.data.get("email") and not r.data.get("erased") and self._sees("contacts", r)
            }
        return {
            r.data["business_id"].upper(): r.data["id"]
            for r in caller.store.all_of_kind(caller.tenant, "account")
            if r.data.get("business_id") and self._sees("accounts", r)
        }

    def _sees(self, module: Module, record: Record) -> bool:
        return self.caller.can_read(module, Owner.model_validate(record.data["owner"]))

    def _import_row(self, result: RowResult) -> None:
        uow = UnitOfWork()
        if not result.ok or result.record is None:
            report = RowReport(row=result.row, outcome="rejected", errors=_fields(result.errors))
        else:
            try:
                report = self._write(uow, result)
            except ValidationFailed as exc:
                uow = UnitOfWork()
                report = RowReport(row=result.row, outcome="rejected", errors=exc.errors)
        uow.save(self._report_record(report), condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
        try:
            uow.commit()
        except AlreadyApplied:
            return  # done by an earlier delivery
        except ValidationFailed as exc:  # a reference (account, user, class) did not exist
            self._reject(RowReport(row=result.row, outcome="rejected", errors=exc.errors))

    def _reject(self, report: RowReport) -> None:
        uow = UnitOfWork()
        uow.save(self._report_record(report), condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
        try:
            uow.commit()
        except AlreadyApplied:
            return

    def _write(self, uow: UnitOfWork, result: RowResult) -> RowReport:
        """Update the record with the row's natural key; else, by `on_duplicate`, create one, or
        update or skip the best of the records the row matches by the duplicate rules."""
        caller, record_id = self.caller, self.existing.get(result.match_key or "")
        contacts = self.kind == ImportKind.contacts
        kind = "contact" if contacts else "account"
        module: Module = "contacts" if contacts else "accounts"
        existing = caller.store.get(caller.tenant, kind, record_id) if record_id else None
        data = result.record
        assert data is not None
        if existing is not None:
            return self._update(uow, result, existing, "email" if contacts else "business_id")
        found = find_duplicates(caller, kind, data)
        if found and self.on_duplicate == "skip":
            return RowReport(row=result.row, outcome="skipped", record_id=found[0].id, possible_duplicates=found)
        if found and self.on_duplicate == "update":
            best = caller.store.get(caller.tenant, kind, found[0].id)
            if best is not None:
                report = self._update(uow, result, best, "on_duplicate")
                return report.model_copy(update={"possible_duplicates": found})
        number, user, now = number_for(caller, uow, module), caller.auth.user_id, clock.now()
        accounts.check_references(caller, uow, data.model_dump())
        created: Contact | Account
        if isinstance(data, ContactCreate):
            created = new_contact(data, contact_id=new_id(), number=number, caller_user_id=user, now=now)
            accounts.add_contact(caller, uow, created)
        else:
            created = new_account(data, account_id=new_id(), number=number, caller_user_id=user, now=now)
            accounts.add_account(caller, uow, created)
        if result.match_key:
            self.existing[result.match_key] = created.id
        return RowReport(row=result.row, outcome="created", record_id=created.id, possible_duplicates=found)

    def _update(self, uow: UnitOfWork, result: RowResult, existing: Record, field: str) -> RowReport:
        """The row's values written over `existing` (found by `field`), if the importer may change it."""
        contacts = self.kind == ImportKind.contacts
        if not self.caller.can_write(Owner.model_validate(existing.data["owner"])):
            what = "contact" if contacts else "account"
            raise ValidationFailed.on(field, f"You may see this {what} but not change it.", "not_allowed")
        assert result.record is not None
        changes = result.record.model_dump(exclude_unset=True)
        if contacts:
            accounts.change_contact(self.caller, uow, existing, ContactUpdate.model_validate(changes))
        else:
            accounts.change_account(self.caller, uow, existing, AccountUpdate.model_validate(changes))
        return RowReport(row=result.row, outcome="updated", record_id=existing.record_id)

    def _report_record(self, report: RowReport) -> Record:
        job_id = self.job.data["id"]
        item = new_record(
            self.caller.tenant,
            "import_row",
            f"{job_id}.{report.row:06d}",
            report.model_dump(mode="json"),
            Placement(parent=("import", job_id)),
        )
        item.gsi1pk = item.gsi1sk = None  # listed only under its import, in row order
        # and under its import's rows of its outcome (the `outcome` filter), in row order
        item.gsi4pk, item.gsi4sk = _outcome_key(self.caller.tenant, job_id, report.outcome), item.record_id
        return item

    def _tally(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "rejected": 0, "skipped": 0}
        job_id = self.job.data["id"]
        for row in self.caller.store.children(self.caller.tenant, "import", job_id, "import_row"):
            counts[row.data["outcome"]] += 1
        return counts

    def _finish(self, status: Status, counts: dict[str, int], error: str | None = None) -> None:
        job = self.caller.store.get(self.caller.tenant, "import", self.job.data["id"]) or self.job
        uow = UnitOfWork()
        done = {"status": status, "error": error, "encoding": self.encoding}
        self.caller.store.replace(uow, job, dict(job.data) | counts | done)
        if status == "completed":
            payload = ev.ImportCompleted(id=job.data["id"], kind=self.kind.value, **counts)
            uow.publish(self.caller.event("import.completed", payload, event_id=f"import-{job.data['id']}"))
        uow.commit()
