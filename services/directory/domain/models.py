"""API input/output models of the directory and the pure rules that build records from them.

Input models (`*Create`, `*Update`) reject unknown fields. Output models (`Account`, `Contact`
...) are what the API returns and what the store reads back; they ignore unknown keys so that a
stored attribute added later does not break reading.

Blank strings in optional text fields are read as "absent" (None): a form that sends "" for an
empty input and a client that leaves the field out get the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.auth import Role
from shared.business_ids import RULE as BUSINESS_ID_RULE
from shared.types import (  # noqa: F401  (re-exported: the directory's modules import them from here)
    CODE_PATTERN,
    EMAIL_PATTERN,
    INPUT,
    OUTPUT,
    BusinessId,
    Code,
    CodeList,
    Country,
    Email,
    Id,
    IdList,
    Name200,
    OptBusinessId,
    OptCode,
    OptCountry,
    OptEmail,
    OptHeaderText100,
    OptId,
    OptPhone,
    OptPostalCode,
    OptText100,
    OptText200,
    OptWebsite,
    Owner,
    Phone,
    PostalCode,
    Text100,
    Text200,
    Website,
    blank_to_none,
    duplicate,
    input_config,
    reject_null,
)

from .errors import Conflict, FieldError, ValidationFailed

# ---------------------------------------------------------------------------------------------
# Shared field types
# ---------------------------------------------------------------------------------------------

Module = Literal["accounts", "contacts", "target_groups"]
MODULES: tuple[Module, ...] = ("accounts", "contacts", "target_groups")
# An account's or contact's classes: each is a `class_id` filter entry written with the record in
# its transaction (services/directory/lookup.py), so their number is bounded by the 100 items of one.
MAX_CLASSES = 20
ClassIds = Annotated[IdList, Field(max_length=MAX_CLASSES)]


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------

CEASED_STATUS = "ceased"


# Billing (issue 22: what invoicing's customer projection reads from `account.*`): the customer's
# e-invoice address (an OVT code or an IBAN) and operator (its OVT code or BIC), and payment terms.
EInvoiceCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=35, pattern=r"^[0-9A-Za-z]+$")
]
OptEInvoiceCode = Annotated[EInvoiceCode | None, BeforeValidator(blank_to_none)]
PaymentTerms = Annotated[int | None, Field(ge=0, le=365, description="Days from the invoice date to its due date")]


# A picklist field takes a code of the tenant's list (stored data, so described, not an enum).
_PICK = {
    name: f"An active code of the tenant's `{name}` picklist (GET /picklists/{name}); 422 `unknown_code` "
    "or `inactive_code` otherwise"
    for name in (
        "account_status",
        "job_title",
        "contact_category",
        "region",
        "contact_group",
        "benefit_status",
        "sales_status",
    )
}


class AccountCreate(BaseModel):
    model_config = INPUT

    name: Name200
    status: Code = Field("active", description=_PICK["account_status"])
    business_id: OptBusinessId = Field(None, description=BUSINESS_ID_RULE)
    email: OptEmail = None
    phone: OptPhone = None
    website: OptWebsite = None
    street: OptText200 = None
    postal_code: OptPostalCode = None
    city: OptText100 = None
    country: OptCountry = None
    e_invoice_address: OptEInvoiceCode = Field(None, description="The customer's e-invoice address (OVT or IBAN)")
    e_invoice_operator: OptEInvoiceCode = Field(None, description="The e-invoice operator's OVT code or BIC")
    payment_terms_days: PaymentTerms = None
    account_manager_id: OptId = None
    owner: Owner | None = None
    classes: ClassIds = Field(default_factory=list)


class AccountUpdate(BaseModel):
    """PATCH: only the fields sent (`model_fields_set`) change; null clears an optional field."""

    model_config = INPUT

    name: Name200 | None = None
    status: Code | None = Field(None, description=_PICK["account_status"])
    business_id: OptBusinessId = Field(None, description=BUSINESS_ID_RULE)
    email: OptEmail = None
    phone: OptPhone = None
    website: OptWebsite = None
    street: OptText200 = None
    postal_code: OptPostalCode = None
    city: OptText100 = None
    country: OptCountry = None
    e_invoice_address: OptEInvoiceCode = Field(None, description="The customer's e-invoice address (OVT or IBAN)")
    e_invoice_operator: OptEInvoiceCode = Field(None, description="The e-invoice operator's OVT code or BIC")
    payment_terms_days: PaymentTerms = None
    account_manager_id: OptId = None
    owner: Owner | None = None
    classes: ClassIds | None = None

    _not_null = field_validator("name", "status", "owner", "classes")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Account(BaseModel):
    model_config = OUTPUT

    id: str
    number: str
    name: str
    status: str
    business_id: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    e_invoice_address: str | None = None
    e_invoice_operator: str | None = None
    payment_terms_days: int | None = None
    account_manager_id: str | None = None
    owner: Owner
    classes: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 1


# ---------------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------------


def _name_required(first_name: str | None, last_name: str | None) -> None:
    if not (first_name or last_name):
        raise PydanticCustomError("name_required", "first_name or last_name is required")


def _one_of_named(*fields: str) -> dict[str, Any]:
    """JSON Schema: at least one of `fields` is sent as a text (blank reads as absent; the fields'
    own pattern asks for a character other than whitespace)."""
    return {"anyOf": [{"required": [f], "properties": {f: {"type": "string"}}} for f in fields]}


class ContactCreate(BaseModel):
    """A contact has a name: `first_name` or `last_name` (or both)."""

    model_config = input_config(**_one_of_named("first_name", "last_name"))

    first_name: OptHeaderText100 = None  # a mail's To name: one line
    last_name: OptHeaderText100 = None
    email: OptEmail = None
    phone: OptPhone = None
    mobile: OptPhone = None
    account_id: OptId = None
    active: bool = True
    consent_date: date | None = None
    department: OptText100 = None
    job_title: OptCode = Field(None, description=_PICK["job_title"])
    category: OptCode = Field(None, description=_PICK["contact_category"])
    region: OptCode = Field(None, description=_PICK["region"])
    groups: CodeList = Field(default_factory=list, description=_PICK["contact_group"])
    benefit_status: OptCode = Field(None, description=_PICK["benefit_status"])
    account_manager_id: OptId = None
    sales_status: OptCode = Field(None, description=_PICK["sales_status"])
    owner: Owner | None = None
    classes: ClassIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_name(self) -> ContactCreate:
        _name_required(self.first_name, self.last_name)
        return self


class ContactUpdate(BaseModel):
    """PATCH: only the fields sent change. The contact keeps a name: a change that leaves it
    neither `first_name` nor `last_name` is refused (422 `name_required`)."""

    model_config = INPUT

    first_name: OptHeaderText100 = None  # a mail's To name: one line
    last_name: OptHeaderText100 = None
    email: OptEmail = None
    phone: OptPhone = None
    mobile: OptPhone = None
    account_id: OptId = None
    active: bool | None = None
    consent_date: date | None = None
    department: OptText100 = None
    job_title: OptCode = Field(None, description=_PICK["job_title"])
    category: OptCode = Field(None, description=_PICK["contact_category"])
    region: OptCode = Field(None, description=_PICK["region"])
    groups: CodeList | None = Field(None, description=_PICK["contact_group"])
    benefit_status: OptCode = Field(None, description=_PICK["benefit_status"])
    account_manager_id: OptId = None
    sales_status: OptCode = Field(None, description=_PICK["sales_status"])
    owner: Owner | None = None
    classes: ClassIds | None = None

    _not_null = field_validator("active", "groups", "owner", "classes")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Contact(BaseModel):
    model_config = OUTPUT

    id: str
    number: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    account_id: str | None = None
    active: bool = True
    consent_date: date | None = None
    department: str | None = None
    job_title: str | None = None
    category: str | None = None
    region: str | None = None
    groups: list[str] = Field(default_factory=list)
    benefit_status: str | None = None
    account_manager_id: str | None = None
    sales_status: str | None = None
    owner: Owner
    classes: list[str] = Field(default_factory=list)
    erased: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = 1


# ---------------------------------------------------------------------------------------------
# Users and groups
# ---------------------------------------------------------------------------------------------


# A user joins or leaves at most this many groups in one request: one transaction holds the user
# and, per group joined or left, its membership, the group record and the group's event (at most
# 100 items).
MAX_GROUP_CHANGES = 32


class UserCreate(BaseModel):
    model_config = INPUT

    email: Email
    name: Name200
    role: Role = Role.USER
    groups: Annotated[IdList, Field(max_length=MAX_GROUP_CHANGES)] = Field(default_factory=list)


class UserUpdate(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    role: Role | None = None
    groups: IdList | None = Field(
        None,
        description=f"The user's groups; joining and leaving at most {MAX_GROUP_CHANGES} of them in one change "
        "(422 `too_many`)",
    )

    _not_null = field_validator("name", "role", "groups")(reject_null)


class User(BaseModel):
    model_config = OUTPUT

    id: str
    email: str
    name: str
    role: Role
    groups: list[str] = Field(default_factory=list)


class Me(User):
    """The caller: their user record, and the role and groups their token carries (a change of
    role or groups reaches the token at its next sign-in)."""

    tenant_id: str
    token_role: Role = Field(description="The role this request acts with (the token's)")
    token_groups: list[str] = Field(default_factory=list, description="The groups this request acts with (the token's)")


class GroupCreate(BaseModel):
    model_config = INPUT

    name: Name200


class Group(BaseModel):
    model_config = OUTPUT

    id: str
    name: str


# ---------------------------------------------------------------------------------------------
# Classes and classification types
# ---------------------------------------------------------------------------------------------


class ClassificationTypeCreate(BaseModel):
    model_config = INPUT

    name: Name200


class ClassificationType(BaseModel):
    model_config = OUTPUT

    id: str
    name: str


class ClassCreate(BaseModel):
    model_config = INPUT

    name: Name200
    classification_type_id: OptId = None


class Class(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    classification_type_id: str | None = None


def class_type_map(classes: Sequence[Class]) -> dict[str, str]:
    """class id -> classification type id, for the classes that have a type."""
    return {c.id: c.classification_type_id for c in classes if c.classification_type_id}


# ---------------------------------------------------------------------------------------------
# Picklists (tenant-editable admin lists)
# ---------------------------------------------------------------------------------------------


class PicklistName(StrEnum):
    account_status = "account_status"
    job_title = "job_title"
    contact_category = "contact_category"
    region = "region"
    contact_group = "contact_group"
    benefit_status = "benefit_status"
    sales_status = "sales_status"


class PicklistItem(BaseModel):
    """An inactive item stays valid on records that have it but cannot be chosen anew."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: Text100
    active: bool = True


class PicklistReplace(BaseModel):
    """Admin input: the whole new list, in display order. Codes are unique."""

    model_config = INPUT

    items: Annotated[
        list[PicklistItem],
        Field(max_length=500, description="In display order; no two items have the same `code` (422 `duplicate`)"),
    ]

    @field_validator("items")
    @classmethod
    def _unique_codes(cls, items: list[PicklistItem]) -> list[PicklistItem]:
        codes = [item.code for item in items]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise duplicate(f"duplicate codes: {', '.join(duplicates)}")
        return items


def _items(*pairs: tuple[str, str]) -> list[PicklistItem]:
    return [PicklistItem(code=code, label=label) for code, label in pairs]


DEFAULT_PICKLISTS: dict[PicklistName, list[PicklistItem]] = {
    PicklistName.account_status: _items(
        ("prospect", "Prospect"), ("active", "Active"), ("passive", "Passive"), (CEASED_STATUS, "Ceased")
    ),
    PicklistName.job_title: _items(
        ("ceo", "CEO"),
        ("cfo", "CFO"),
        ("manager", "Manager"),
        ("sales", "Sales"),
        ("marketing", "Marketing"),
        ("purchasing", "Purchasing"),
        ("specialist", "Specialist"),
        ("other", "Other"),
    ),
    PicklistName.contact_category: _items(
        ("customer", "Customer"),
        ("prospect", "Prospect"),
        ("partner", "Partner"),
        ("supplier", "Supplier"),
        ("other", "Other"),
    ),
    PicklistName.region: _items(
        ("north", "North"), ("south", "South"), ("east", "East"), ("west", "West"), ("abroad", "Abroad")
    ),
    PicklistName.contact_group: _items(
        ("newsletter", "Newsletter"),
        ("events", "Events"),
        ("decision_makers", "Decision makers"),
        ("vip", "VIP"),
    ),
    PicklistName.benefit_status: _items(("none", "None"), ("member", "Member"), ("silver", "Silver"), ("gold", "Gold")),
    PicklistName.sales_status: _items(
        ("lead", "Lead"),
        ("qualified", "Qualified"),
        ("proposal", "Proposal"),
        ("won", "Won"),
        ("lost", "Lost"),
    ),
}


def default_picklists() -> dict[PicklistName, list[PicklistItem]]:
    """A fresh copy of the lists installed for a new tenant."""
    return {name: list(items) for name, items in DEFAULT_PICKLISTS.items()}


ACCOUNT_PICKLIST_FIELDS: dict[str, PicklistName] = {"status": PicklistName.account_status}
CONTACT_PICKLIST_FIELDS: dict[str, PicklistName] = {
    "job_title": PicklistName.job_title,
    "category": PicklistName.contact_category,
    "region": PicklistName.region,
    "groups": PicklistName.contact_group,
    "benefit_status": PicklistName.benefit_status,
    "sales_status": PicklistName.sales_status,
}
# Account and contact picklist fields do not share names, so one map serves both.
PICKLIST_FIELDS: dict[str, PicklistName] = {**ACCOUNT_PICKLIST_FIELDS, **CONTACT_PICKLIST_FIELDS}


def _code_error(field: str, code: str, items: Sequence[PicklistItem], picklist: PicklistName) -> FieldError | None:
    item = next((i for i in items if i.code == code), None)
    if item is None:
        return FieldError(field=field, message=f"'{code}' is not in the {picklist} list", code="unknown_code")
    if not item.active:
        message = f"'{code}' is no longer active in the {picklist} list"
        return FieldError(field=field, message=message, code="inactive_code")
    return None


def check_picklist_values(
    entity_fields: Mapping[str, Any] | BaseModel,
    picklists: Mapping[PicklistName, Sequence[PicklistItem]],
) -> list[FieldError]:
    """Every picklist field whose code is not an active item of its list.

    Absent (None) fields are skipped, so for a PATCH pass the update model (or
    `update.changes()`): only the values being set are checked, and a record keeps an item
    that an admin has since deactivated until someone changes that field.
    """
    values = entity_fields.model_dump() if isinstance(entity_fields, BaseModel) else entity_fields
    errors: list[FieldError] = []
    for field, picklist in PICKLIST_FIELDS.items():
        value = values.get(field)
        if value is None:
            continue
        items = picklists.get(picklist, [])
        if isinstance(value, list):
            for index, code in enumerate(value):
                error = _code_error(f"{field}.{index}", code, items, picklist)
                if error:
                    errors.append(error)
        else:
            error = _code_error(field, value, items, picklist)
            if error:
                errors.append(error)
    return errors


# ---------------------------------------------------------------------------------------------
# Tenant settings
# ---------------------------------------------------------------------------------------------

DEFAULT_NUMBER_PREFIXES: dict[Module, str] = {"accounts": "ACC-", "contacts": "CON-", "target_groups": "TG-"}
Prefix = Annotated[str, StringConstraints(max_length=10, pattern=r"^[A-Za-z0-9_/#-]*$")]


# An email domain: `example.com`, kept in lower case (no `@`, no wildcards; subdomains are listed one by one).
EmailDomain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=253,
        pattern=r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$",
    ),
]


class SelfSignUp(BaseModel):
    """Whether people may sign themselves up as users of the tenant (off unless an admin turns it on).

    A sign-up names the tenant; it is accepted only while `enabled` and when the email's domain is
    exactly one of `allowed_domains`. The new login becomes a directory user with role `user` and
    no groups once its email is confirmed.
    """

    model_config = input_config(
        anyOf=[
            # "not enabled", as `not`: a `const: false` branch made openapi-python-client write broken code
            {"not": {"required": ["enabled"], "properties": {"enabled": {"const": True}}}},
            {"required": ["allowed_domains"], "properties": {"allowed_domains": {"minItems": 1}}},
        ]
    )

    enabled: bool = False
    allowed_domains: list[EmailDomain] = Field(
        default_factory=list, max_length=50, description="At least one while `enabled`"
    )

    @model_validator(mode="after")
    def _domains_when_enabled(self) -> SelfSignUp:
        if self.enabled and not self.allowed_domains:
            raise PydanticCustomError("self_sign_up", "self sign-up needs at least one allowed email domain")
        self.allowed_domains = list(dict.fromkeys(d.lower() for d in self.allowed_domains))
        return self

    def allows(self, email: str) -> bool:
        """Whether an email address may sign up under this setting."""
        local, at, domain = email.strip().lower().rpartition("@")
        return self.enabled and bool(local and at) and domain in self.allowed_domains


class TenantSettings(BaseModel):
    model_config = INPUT

    # Modules whose records every user of the tenant may see (not change).
    open_modules: list[Module] = Field(default_factory=list)
    number_prefixes: dict[Module, Prefix] = Field(default_factory=lambda: dict(DEFAULT_NUMBER_PREFIXES))
    number_start: Annotated[int, Field(ge=0, le=10**12)] = 1001
    self_sign_up: SelfSignUp = Field(default_factory=SelfSignUp)


def format_number(settings: TenantSettings, module: Module, sequence: int) -> str:
    """Human number of the `sequence`-th record of a module (1 = the first one).

    The store keeps one counter per tenant and module, atomically incremented from 0 in the
    same transaction as the item; the value after the increment is `sequence`.
    """
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    prefix = settings.number_prefixes.get(module, "")
    return f"{prefix}{settings.number_start + sequence - 1}"


# ---------------------------------------------------------------------------------------------
# Building and changing records
# ---------------------------------------------------------------------------------------------


class ErasedContactUnchangeable(Conflict):
    """An erased contact cannot be changed (409 `contact_erased`); not the `contact.erased` event."""

    code = "contact_erased"


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def resolve_owner(owner: Owner | None, caller_user_id: str) -> Owner:
    """The owner given, or the calling user."""
    return owner if owner is not None else Owner(type="user", id=caller_user_id)


def new_account(data: AccountCreate, *, account_id: str, number: str, caller_user_id: str, now: datetime) -> Account:
    _require_aware(now)
    fields = data.model_dump(exclude={"owner"})
    return Account(
        id=account_id,
        number=number,
        owner=resolve_owner(data.owner, caller_user_id),
        created_at=now,
        updated_at=now,
        version=1,
        **fields,
    )


def new_contact(data: ContactCreate, *, contact_id: str, number: str, caller_user_id: str, now: datetime) -> Contact:
    _require_aware(now)
    fields = data.model_dump(exclude={"owner"})
    return Contact(
        id=contact_id,
        number=number,
        owner=resolve_owner(data.owner, caller_user_id),
        erased=False,
        created_at=now,
        updated_at=now,
        version=1,
        **fields,
    )


def apply_account_update(account: Account, update: AccountUpdate, now: datetime) -> Account:
    """The account with the sent fields changed, `version` + 1 and `updated_at` = now."""
    _require_aware(now)
    changes = update.model_dump(exclude_unset=True)
    merged = account.model_dump() | changes | {"updated_at": now, "version": account.version + 1}
    return Account.model_validate(merged)


def apply_contact_update(contact: Contact, update: ContactUpdate, now: datetime) -> Contact:
    """The contact with the sent fields changed; an erased contact cannot be changed."""
    _require_aware(now)
    if contact.erased:
        raise ErasedContactUnchangeable("the contact has been erased")
    changes = update.model_dump(exclude_unset=True)
    merged = contact.model_dump() | changes | {"updated_at": now, "version": contact.version + 1}
    if not (merged.get("first_name") or merged.get("last_name")):
        raise ValidationFailed(
            "first_name or last_name is required",
            [FieldError(field="first_name", message="first_name or last_name is required", code="name_required")],
        )
    return Contact.model_validate(merged)


# Kept on erasure: identifiers and bookkeeping the system needs to keep the record's links
# (activities, target group membership) consistent without any personal data.
_ERASURE_KEPT = frozenset({"id", "number", "owner", "account_id", "created_at"})


def erase_contact(contact: Contact, now: datetime) -> Contact:
    """GDPR erasure: every personal field cleared, passive, `erased` set; irreversible."""
    _require_aware(now)
    kept = {k: v for k, v in contact.model_dump().items() if k in _ERASURE_KEPT}
    return Contact.model_validate(
        kept | {"active": False, "erased": True, "updated_at": now, "version": contact.version + 1}
    )
