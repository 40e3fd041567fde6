"""The catalogue's rules: products, tax classes with dated rates, currencies, price lists (pure).

Amounts are `Decimal`, written in JSON as strings ("12.50"), never floats: a client's and the
server's arithmetic agree to the cent. A tax class has rates with validity dates; the rate of a
delivery date is `rate_in_force` (each rate holds from its `valid_from` until the next one's; the
first may have no start). Finnish VAT as in force on 2026-12-04 is installed for a new tenant
(`default_tax_classes`; docs/decisions.md "Invoicing: VAT as tax classes with dated rates").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.types import INPUT, NOT_BLANK, OUTPUT, Code, Id, Name200, duplicate, reject_null

# ---------------------------------------------------------------------------------------------
# Amounts: decimal strings
# ---------------------------------------------------------------------------------------------

PRICE_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,4})?$"  # a unit price: not negative, at most 4 decimals
QUANTITY_PATTERN = r"^-?[0-9]{1,9}(\.[0-9]{1,4})?$"  # negative only on a credit line (orders)
PERCENT_PATTERN = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"  # 0 to 100, at most 2 decimals


def _decimal_text(pattern: str, what: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Decimal:
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not compiled.match(value.strip()):
            raise PydanticCustomError("invalid_amount", f'{what}: a decimal number written as a string, e.g. "12.50"')
        return Decimal(value.strip())

    return check


_AS_TEXT = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")


def _schema(pattern: str, description: str) -> tuple[WithJsonSchema, WithJsonSchema]:
    return (
        WithJsonSchema({"type": "string", "pattern": pattern, "description": description}, mode="validation"),
        WithJsonSchema({"type": "string", "description": description}, mode="serialization"),
    )


_PRICE = _schema(PRICE_PATTERN, 'A decimal amount as a string, e.g. "12.50" (at most 4 decimals)')
_QUANTITY = _schema(QUANTITY_PATTERN, 'A decimal quantity as a string, e.g. "1.5" (at most 4 decimals)')
_PERCENT = _schema(PERCENT_PATTERN, 'A percentage 0-100 as a string, e.g. "25.5"')

# An amount the server wrote (a response): any sign, as a decimal string.
Amount = Annotated[
    Decimal,
    BeforeValidator(lambda value: Decimal(str(value))),
    _AS_TEXT,
    WithJsonSchema({"type": "string", "description": "A decimal amount as a string"}),
]
Price = Annotated[Decimal, BeforeValidator(_decimal_text(PRICE_PATTERN, "a price")), _AS_TEXT, *_PRICE]
Quantity = Annotated[Decimal, BeforeValidator(_decimal_text(QUANTITY_PATTERN, "a quantity")), _AS_TEXT, *_QUANTITY]
Percent = Annotated[Decimal, BeforeValidator(_decimal_text(PERCENT_PATTERN, "a percentage")), _AS_TEXT, *_PERCENT]

# ---------------------------------------------------------------------------------------------
# Currencies (ISO 4217)
# ---------------------------------------------------------------------------------------------

DEFAULT_CURRENCY = "EUR"
# The active ISO 4217 alphabetic codes (list one, 2026), funds and precious metals left out.
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905 (one code a word, as the list prints them)
)


def _currency(value: Any) -> str:
    if not isinstance(value, str) or value.strip().upper() not in ISO_4217:
        raise PydanticCustomError("invalid_currency", "not an ISO 4217 currency code (e.g. EUR)")
    return value.strip().upper()


Currency = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema({"type": "string", "enum": sorted(ISO_4217), "description": "An ISO 4217 code"}, mode="validation"),
    WithJsonSchema({"type": "string", "description": "An ISO 4217 code"}, mode="serialization"),
]

# ---------------------------------------------------------------------------------------------
# Tax classes with dated rates
# ---------------------------------------------------------------------------------------------


# The one type of a dated rate: the API's input, the stored tax class's, and what a run bills by
# (vat.rates_from_history, vat.rate_on).
class TaxRate(BaseModel):
    """A rate and the day it holds from; it holds until the next rate's `valid_from`."""

    model_config = INPUT

    rate: Percent
    valid_from: date | None = Field(None, description="The first day the rate is in force (none: since ever)")


def _ordered(rates: list[TaxRate]) -> list[TaxRate]:
    """Rates in date order; only the first may have no start, and no day twice (`duplicate`)."""
    if any(r.valid_from is None for r in rates[1:]):
        raise PydanticCustomError("invalid_range", "only the first rate may have no valid_from")
    days = [r.valid_from for r in rates if r.valid_from is not None]
    if len(set(days)) != len(days):
        raise duplicate("two rates have the same valid_from")
    if days != sorted(days):
        raise PydanticCustomError("invalid_range", "rates are listed by valid_from, earliest first")
    return rates


Rates = Annotated[list[TaxRate], Field(min_length=1, max_length=50), AfterValidator(_ordered)]
RATES_RULE = (
    "Rates in `valid_from` order, earliest first; only the first may have no `valid_from`; no day twice "
    "(422 `invalid_range`, `duplicate`)."
)


class TaxRateOut(BaseModel):
    model_config = OUTPUT

    rate: Amount
    valid_from: date | None = None
    valid_until: date | None = Field(None, description="The last day the rate is in force (none: until further notice)")


class TaxClassCreate(BaseModel):
    model_config = INPUT

    code: Code
    name: Name200
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    rates: Rates = Field(description=RATES_RULE)
    active: bool = True


class TaxClassUpdate(BaseModel):
    """A merge patch: `rates` replaces the whole list (a new rate is added by sending the list with it)."""

    model_config = INPUT

    name: Name200 | None = None
    description: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=2000)] = None
    rates: Rates | None = Field(None, description=RATES_RULE)
    active: bool | None = None

    _not_null = field_validator("name", "rates", "active")(reject_null)


class TaxClass(BaseModel):
    model_config = OUTPUT

    id: str = Field(description="The class's code")
    code: str
    name: str
    description: str = ""
    rates: list[TaxRateOut]
    active: bool = True
    rate_today: str | None = Field(None, description="The rate in force today (none before its first rate)")


def rate_in_force(rates: list[TaxRate] | list[dict[str, Any]], day: date) -> Decimal | None:
    """The rate in force on `day`: the last rate whose `valid_from` is on or before it (a rate
    without one holds since ever); None when `day` is before every rate. Rates in date order."""
    found: Decimal | None = None
    for rate in rates:
        item = rate if isinstance(rate, TaxRate) else TaxRate.model_validate(rate)
        if item.valid_from is None or item.valid_from <= day:
            found = item.rate
        else:
            break
    return found


def tax_class_out(data: dict[str, Any], today: date) -> TaxClass:
    rates = [TaxRate.model_validate(r) for r in data["rates"]]
    out = []
    for i, rate in enumerate(rates):
        until = rates[i + 1].valid_from if i + 1 < len(rates) else None
        last = date.fromordinal(until.toordinal() - 1) if until else None
        out.append(TaxRateOut(rate=rate.rate, valid_from=rate.valid_from, valid_until=last))
    now = rate_in_force(rates, today)
    return TaxClass(
        id=data["code"],
        code=data["code"],
        name=data["name"],
        description=data.get("description", ""),
        rates=out,
        active=data.get("active", True),
        rate_today=format(now, "f") if now is not None else None,
    )


def _rate(rate: str, valid_from: str | None = None) -> dict[str, Any]:
    return {"rate": rate, "valid_from": valid_from}


def default_tax_classes() -> list[dict[str, Any]]:
    """Finnish VAT as in force on 2026-12-04, with its history (issue 22 item 1).

    The 2025-01-01 move of books, medicines, passenger transport, accommodation and admissions
    from 10 % into the middle rate is its own class (`middle_2025`): its goods had their own rate
    before and share the middle rate's since, so every date gives each product its right rate.
    """
    return [
        {
            "code": "standard",
            "name": "Standard rate",
            "description": "Most goods and services.",
            "rates": [_rate("24"), _rate("25.5", "2024-09-01")],
            "active": True,
        },
        {
            "code": "middle",
            "name": "Middle rate: food and restaurants",
            "description": "Food, animal feed, restaurant and catering services.",
            "rates": [_rate("14"), _rate("13.5", "2026-01-01")],
            "active": True,
        },
        {
            "code": "middle_2025",
            "name": "Middle rate since 2025: books, medicines, passenger transport, accommodation, admissions",
            "description": "10 % until 2024-12-31, in the middle rate since 2025-01-01.",
            "rates": [_rate("10"), _rate("14", "2025-01-01"), _rate("13.5", "2026-01-01")],
            "active": True,
        },
        {
            "code": "reduced",
            "name": "Reduced rate: newspapers and magazines",
            "description": "Newspapers and periodicals.",
            "rates": [_rate("10")],
            "active": True,
        },
        {
            "code": "zero",
            "name": "Zero rate",
            "description": "Tax-free sales (e.g. intra-EU supplies, exports).",
            "rates": [_rate("0")],
            "active": True,
        },
    ]


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------

Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), NOT_BLANK]
TAX_CLASS_RULE = "A tax class code of the tenant (`GET /tax-classes`), active (422 `not_found`)."


class ProductCreate(BaseModel):
    model_config = INPUT

    code: Code = Field(description="Unique in the tenant (422 `duplicate`)")
    name: Name200
    unit: Unit = "pcs"
    unit_price: Price
    tax_class: Code = Field("standard", description=TAX_CLASS_RULE)
    active: bool = True


class ProductUpdate(BaseModel):
    model_config = INPUT

    code: Code | None = Field(None, description="Unique in the tenant (422 `duplicate`)")
    name: Name200 | None = None
    unit: Unit | None = None
    unit_price: Price | None = None
    tax_class: Code | None = Field(None, description=TAX_CLASS_RULE)
    active: bool | None = None

    _not_null = field_validator("code", "name", "unit", "unit_price", "tax_class", "active")(reject_null)


class Product(BaseModel):
    model_config = OUTPUT

    id: str
    code: str
    name: str
    unit: str
    unit_price: Amount
    tax_class: str
    active: bool = True
    created_at: datetime
    updated_at: datetime
    version: int = 1


# ---------------------------------------------------------------------------------------------
# Price lists
# ---------------------------------------------------------------------------------------------


class PriceItem(BaseModel):
    model_config = INPUT

    product_id: Id = Field(description="A product of the tenant (422 `not_found`)")
    unit_price: Price


def _one_per_product(items: list[PriceItem]) -> list[PriceItem]:
    ids = [i.product_id for i in items]
    if len(set(ids)) != len(ids):
        raise duplicate("a product is priced twice")
    return items


PriceItems = Annotated[list[PriceItem], Field(max_length=500), AfterValidator(_one_per_product)]
PRICES_RULE = "Each product at most once (422 `duplicate`)."


class PriceListCreate(BaseModel):
    model_config = INPUT

    account_id: Id = Field(description="The customer account (422 `not_found`); one price list an account (409)")
    name: Name200
    active: bool = Field(True, description="An inactive list prices nothing: the products' own prices hold")
    items: PriceItems = Field(default_factory=list, description=PRICES_RULE)


class PriceListUpdate(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    active: bool | None = None
    items: PriceItems | None = Field(None, description=PRICES_RULE)

    _not_null = field_validator("name", "active", "items")(reject_null)


class PriceItemOut(BaseModel):
    model_config = OUTPUT

    product_id: str
    unit_price: Amount


class PriceList(BaseModel):
    model_config = OUTPUT

    id: str
    account_id: str
    name: str
    active: bool = True
    items: list[PriceItemOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @field_validator("items", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return value or []


# ---------------------------------------------------------------------------------------------
# The tenant's currencies
# ---------------------------------------------------------------------------------------------


def _with_default(codes: list[str]) -> list[str]:
    if DEFAULT_CURRENCY not in codes:
        raise PydanticCustomError("required", f"{DEFAULT_CURRENCY} is the default currency: it stays in the list")
    return list(dict.fromkeys(codes))


class CurrenciesUpdate(BaseModel):
    model_config = INPUT

    codes: Annotated[list[Currency], Field(min_length=1, max_length=50), AfterValidator(_with_default)] = Field(
        description=f"The currencies orders and invoices may use; {DEFAULT_CURRENCY}, the default, always among them",
        json_schema_extra={"contains": {"const": DEFAULT_CURRENCY}},
    )


class Currencies(BaseModel):
    model_config = OUTPUT

    default: str = DEFAULT_CURRENCY
    codes: list[str]
