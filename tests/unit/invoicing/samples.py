"""Invoice documents for the invoicing domain's tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from services.invoicing.domain.document import Address, DocumentLine, InvoiceDocument, Party, make_document
from services.invoicing.domain.vat import credit_lines

SELLER = Party(
    name="Kontakt Demo Oy",
    business_id="0737546-2",
    address=Address(street="Mannerheimintie 1 A", postal_code="00100", city="Helsinki"),
    email="laskutus@kontakt.test",
    einvoice_address="003707375462",
    einvoice_operator="003721291126",
)
BUYER = Party(
    name="Asiakas Äänekoski Oy",
    business_id="2617416-4",
    address=Address(street="Keskuskatu 10", postal_code="44100", city="Äänekoski"),
    einvoice_address="003726174164",
    einvoice_operator="003703575029",
    contact_name="Maija Meikäläinen",
)
LINES = [
    DocumentLine(
        description="Tukipalvelu, kuukausimaksu",
        product_code="TUKI-KK",
        quantity=D(1),
        unit="kk",
        unit_price=D("1250.00"),
        vat_rate=D("25.5"),
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        order_reference="SO-1001",
    ),
    DocumentLine(
        description="Lisäkäyttäjät",
        quantity=D(7),
        unit="kpl",
        unit_price=D("12.99"),
        discount_percent=D("12.5"),
        vat_rate=D("25.5"),
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        order_reference="SO-1001",
    ),
    DocumentLine(
        description="Lounasseteli",
        quantity=D(10),
        unit="kpl",
        unit_price=D("11.50"),
        vat_rate=D("13.5"),
        period_start=dt.date(2026, 11, 15),
        period_end=dt.date(2026, 11, 30),
        proration=(16, 30),
        order_reference="SO-1002",
    ),
    DocumentLine(description="Alan lehti", quantity=D(1), unit="kpl", unit_price=D("49.90"), vat_rate=D(10)),
]


def invoice(barcode_version: int = 4, lines: list[DocumentLine] | None = None) -> InvoiceDocument:
    return make_document(
        number="2026-000042",
        issue_date=dt.date(2026, 12, 1),
        due_date=dt.date(2026, 12, 15),
        seller=SELLER,
        buyer=BUYER,
        lines=lines or LINES,
        iban="FI79 4405 2020 0360 82",
        bic="OKOYFIHH",
        reference="20260000422",
        barcode_version=barcode_version,  # type: ignore[arg-type]
        terms_days=14,
        overdue_interest_percent=D("11.5"),
        delivery_start=dt.date(2026, 11, 1),
        delivery_end=dt.date(2026, 11, 30),
        buyer_reference="Projekti 7",
        notes="Kiitos tilauksestanne!",
    )


def credit_note() -> InvoiceDocument:
    return make_document(
        kind="credit_note",
        number="2026-000043",
        issue_date=dt.date(2026, 12, 3),
        due_date=dt.date(2026, 12, 3),
        seller=SELLER,
        buyer=BUYER,
        lines=credit_lines(LINES),  # type: ignore[arg-type]
        iban="FI79 4405 2020 0360 82",
        bic="OKOYFIHH",
        reference="20260000435",
        credited_invoice_number="2026-000042",
        credited_invoice_date=dt.date(2026, 12, 1),
    )
