"""CSV import of accounts and contacts: column mapping, parsing and the per-row report.

The file's bytes are decoded by `decode_csv`: UTF-8 (with or without BOM), else Windows-1252 (Excel's
"CSV" on Western Windows) or Latin-1, or the encoding the job asked for. The delimiter is
sniffed from the header line: `;` (Finnish and Swedish Excel exports), `,` or tab. Each data
row becomes either a validated create model or a rejection with its reasons, named by the CSV
header of the offending column. Rows are numbered from 1 for the first data row (the header is
not counted; blank lines are skipped but keep their number, so numbers match the file).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .errors import FieldError, ValidationFailed, field_errors_from_validation
from .models import AccountCreate, ContactCreate, PicklistItem, PicklistName, check_picklist_values

MAX_IMPORT_ROWS = 10_000
LIST_SEPARATOR = ";"

# The encodings a job may name; without one the file's bytes decide (see `decode_csv`).
Encoding = Literal["utf-8", "cp1252", "latin-1"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ImportKind(StrEnum):
    accounts = "accounts"
    contacts = "contacts"


# csv header -> model field
ColumnMapping = Mapping[str, str]

IMPORTABLE_FIELDS: dict[ImportKind, frozenset[str]] = {
    ImportKind.accounts: frozenset(AccountCreate.model_fields) - {"owner"},
    ImportKind.contacts: frozenset(ContactCreate.model_fields) - {"owner"},
}
_LIST_FIELDS = frozenset({"classes", "groups"})
_BOOL_FIELDS = frozenset({"active"})
_DATE_FIELDS = frozenset({"consent_date"})
_TRUE = frozenset({"yes", "true", "1", "y", "kyllä", "ja"})
_FALSE = frozenset({"no", "false", "0", "n", "ei", "nej"})
_FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class ImportFileError(ValidationFailed):
    """The file as a whole cannot be imported (bad mapping, missing columns, no rows ...)."""

    code = "import_file_invalid"


class RowResult(BaseModel):
    row: int
    record: AccountCreate | ContactCreate | None = None
    errors: list[FieldError] = []
    # Natural key for upsert: contacts by lower-cased email, accounts by business id.
    match_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.record is not None


def validate_mapping(mapping: ColumnMapping, kind: ImportKind) -> list[FieldError]:
    """Errors of a column mapping: unknown target fields and fields mapped twice."""
    errors: list[FieldError] = []
    allowed = IMPORTABLE_FIELDS[kind]
    seen: dict[str, str] = {}
    for header, field in mapping.items():
        if field not in allowed:
            errors.append(
                FieldError(
                    field=f"mapping.{header}",
                    message=f"'{field}' is not an importable {kind} field",
                    code="unknown_field",
                )
            )
        elif field in seen:
            errors.append(
                FieldError(
                    field=f"mapping.{header}",
                    message=f"'{field}' is already mapped from '{seen[field]}'",
                    code="duplicate_field",
                )
            )
        else:
            seen[field] = header
    if not mapping:
        errors.append(FieldError(field="mapping", message="map at least one column", code="empty_mapping"))
    return errors


def decode_csv(data: bytes, encoding: Encoding | None = None) -> tuple[str, Encoding]:
    """The file's text and the encoding it was read with.

    With `encoding` the bytes must be in it. Without, UTF-8 (a BOM is dropped) when the bytes are
    UTF-8; else Windows-1252 (a superset of Latin-1's printable characters), or Latin-1 when the
    bytes use one of the five codes Windows-1252 leaves undefined. Nothing becomes U+FFFD.
    """
    tried: tuple[Encoding, ...] = (encoding,) if encoding else ("utf-8", "cp1252", "latin-1")
    for name in tried:
        try:
            text = data.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError:
            continue
        return text, name
    raise ImportFileError(f"the file is not {encoding} text: import it again with another encoding")


def control_character(cell: str) -> str | None:
    """The first control character of a cell (CR, LF, tab, NUL, ESC, C1 ...), as U+XXXX, or None."""
    found = _CONTROL.search(cell)
    return f"U+{ord(found.group()):04X}" if found else None


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of `;`, `,` and tab in the header line (outside quotes); `,` on a tie."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def parse_bool(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{text}' is not a yes/no value")


def parse_date(text: str) -> date:
    """ISO (2024-03-31) or Finnish d.m.yyyy (31.3.2024)."""
    value = text.strip()
    found = _FINNISH_DATE.match(value)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD or d.m.yyyy)") from None


def _read_rows(text: str) -> tuple[list[str], list[list[str]]]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ImportFileError("the file is empty")
    first_line = text.splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ImportFileError(f"the file is not valid CSV: {exc}") from None
    header = [cell.strip() for cell in rows[0]]
    return header, rows[1:]


def _check_header(header: Sequence[str], mapping: ColumnMapping) -> dict[str, int]:
    missing = [h for h in mapping if h not in header]
    if missing:
        raise ImportFileError(
            f"mapped columns missing from the file: {', '.join(missing)}",
            [
                FieldError(field=f"mapping.{h}", message="column not in the file", code="missing_column")
                for h in missing
            ],
        )
    duplicated = sorted({h for h in mapping if header.count(h) > 1})
    if duplicated:
        raise ImportFileError(f"mapped columns appear twice in the header: {', '.join(duplicated)}")
    return {h: header.index(h) for h in mapping}


def _convert(field: str, cell: str) -> Any:
    if field in _LIST_FIELDS:
        return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]
    if field in _BOOL_FIELDS:
        return parse_bool(cell)
    if field in _DATE_FIELDS:
        return parse_date(cell)
    return cell.strip()


def _row_values(
    cells: Sequence[str], mapping: ColumnMapping, positions: Mapping[str, int]
) -> tuple[dict[str, Any], list[FieldError]]:
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for header, field in mapping.items():
        position = positions[header]
        cell = cells[position] if position < len(cells) else ""
        control = control_character(cell)
        if control:
            errors.append(
                FieldError(field=header, message=f"contains a control character ({control})", code="control_character")
            )
            continue
        if not cell.strip():
            continue  # empty cell = absent
        try:
            values[field] = _convert(field, cell)
        except ValueError as exc:
            errors.append(FieldError(field=header, message=str(exc), code="invalid_value"))
    return values, errors


def _name_error_field(mapping: ColumnMapping) -> str:
    headers = {field: header for header, field in mapping.items()}
    return headers.get("first_name") or headers.get("last_name") or "first_name"


def _validate_row(
    values: dict[str, Any], mapping: ColumnMapping, kind: ImportKind
) -> tuple[AccountCreate | ContactCreate | None, list[FieldError]]:
    model = AccountCreate if kind == ImportKind.accounts else ContactCreate
    headers = {field: header for header, field in mapping.items()}
    try:
        return model.model_validate(values), []
    except ValidationError as exc:
        errors = field_errors_from_validation(exc, rename=headers)
    return None, [
        e.model_copy(update={"field": _name_error_field(mapping)}) if e.code == "name_required" else e for e in errors
    ]


def match_key(record: AccountCreate | ContactCreate) -> str | None:
    """Natural key for upsert: contact email (lower-cased) or account business id."""
    if isinstance(record, ContactCreate):
        return record.email.casefold() if record.email else None
    return record.business_id.upper() if record.business_id else None


def _picklist_errors(
    record: AccountCreate | ContactCreate,
    mapping: ColumnMapping,
    picklists: Mapping[PicklistName, Sequence[PicklistItem]],
) -> list[FieldError]:
    headers = {field: header for header, field in mapping.items()}
    errors = []
    for error in check_picklist_values(record, picklists):
        head, _, tail = error.field.partition(".")
        name = headers.get(head, head)
        errors.append(error.model_copy(update={"field": f"{name}.{tail}" if tail else name}))
    return errors


def _parse_row(
    number: int,
    cells: Sequence[str],
    width: int,
    mapping: ColumnMapping,
    positions: Mapping[str, int],
    kind: ImportKind,
    picklists: Mapping[PicklistName, Sequence[PicklistItem]] | None,
) -> RowResult:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return RowResult(
            row=number,
            errors=[
                FieldError(
                    field="row", message=f"{len(cells)} cells but {width} columns in the header", code="too_many_cells"
                )
            ],
        )
    values, errors = _row_values(cells, mapping, positions)
    record, validation_errors = _validate_row(values, mapping, kind)
    errors += validation_errors
    if record is not None and picklists is not None:
        errors += _picklist_errors(record, mapping, picklists)
    if errors:
        return RowResult(row=number, errors=errors)
    assert record is not None
    return RowResult(row=number, record=record, match_key=match_key(record))


def _mark_duplicates(results: list[RowResult]) -> None:
    """A natural key seen on an earlier row rejects the later row (one record per key)."""
    first_row: dict[str, int] = {}
    for index, result in enumerate(results):
        key = result.match_key
        if key is None:
            continue
        if key in first_row:
            results[index] = RowResult(
                row=result.row,
                errors=[
                    FieldError(field="row", message=f"same key '{key}' as row {first_row[key]}", code="duplicate_key")
                ],
            )
        else:
            first_row[key] = result.row


def parse_csv(
    text: str,
    mapping: ColumnMapping,
    kind: ImportKind,
    picklists: Mapping[PicklistName, Sequence[PicklistItem]] | None = None,
) -> list[RowResult]:
    """One `RowResult` per non-blank data row.

    Raises `ImportFileError` for a bad mapping, a header missing a mapped column, no data rows
    or more than `MAX_IMPORT_ROWS`. With `picklists`, codes that are not active items of their
    list are row errors too.
    """
    kind = ImportKind(kind)
    mapping_errors = validate_mapping(mapping, kind)
    if mapping_errors:
        raise ImportFileError("the column mapping is not valid", mapping_errors)
    header, rows = _read_rows(text)
    positions = _check_header(header, mapping)
    numbered = [(n, cells) for n, cells in enumerate(rows, start=1) if any(c.strip() for c in cells)]
    if not numbered:
        raise ImportFileError("the file has no data rows")
    if len(numbered) > MAX_IMPORT_ROWS:
        raise ImportFileError(f"the file has {len(numbered)} rows; at most {MAX_IMPORT_ROWS} can be imported")
    results = [_parse_row(n, cells, len(header), mapping, positions, kind, picklists) for n, cells in numbered]
    _mark_duplicates(results)
    return results
