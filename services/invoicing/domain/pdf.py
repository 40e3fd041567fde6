"""The invoice PDF (issue 22, item 7): an A4 layout a Finnish customer recognises.

From the top: the seller's block (name, address, business id) and the document's title with its
details (date, number, reference, due date, terms, delivery period); the buyer's block where a
window envelope shows it; the lines (grouped by sales order on a consolidated invoice); the VAT
breakdown per rate and the totals; then the payment details (the seller's IBAN and BIC, the
reference in both forms, the due date and the amount) and the virtual bank barcode as Code 128
bars with its 54 digits printed under them.

Drawn with fpdf2's core Helvetica (WinAnsi: Finnish letters, no euro sign, so amounts say EUR).
The barcode: modules of 0.3 mm (332 modules, about 100 mm), 12 mm tall, with 10 modules of quiet
zone on each side. fpdf2 imports in about a quarter of a second: import this module only where a
PDF is made.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from .barcode import code128c_modules
from .document import DocumentLine, InvoiceDocument, Party
from .money import fi_amount, fi_number

if TYPE_CHECKING:
    from fpdf import FPDF

TITLES = {"invoice": "LASKU", "credit_note": "HYVITYSLASKU"}
MODULE_MM = 0.3
BAR_HEIGHT_MM = 12.0
QUIET_MODULES = 10
LEFT, RIGHT, WIDTH = 15.0, 195.0, 180.0
# the lines' columns: (heading, width mm, alignment)
COLUMNS = (
    ("Kuvaus", 70.0, "L"),
    ("Määrä", 16.0, "R"),
    ("Yks.", 12.0, "L"),
    ("à-hinta", 22.0, "R"),
    ("Ale %", 14.0, "R"),
    ("ALV %", 14.0, "R"),
    ("Yhteensä", 32.0, "R"),
)


def fi_date(day: dt.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def _text(value: str) -> str:
    """Text the core fonts can draw (cp1252): other characters become '?'."""
    return value.encode("cp1252", "replace").decode("cp1252")


def render_pdf(document: InvoiceDocument, *, created: dt.datetime | None = None) -> bytes:
    """The invoice (or credit note) as PDF bytes."""
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(LEFT, 15, 210 - RIGHT)
    pdf.set_title(_text(f"{TITLES[document.kind].capitalize()} {document.number}"))
    pdf.set_author(_text(document.seller.name))
    pdf.set_creation_date(created or dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    pdf.add_page()

    _seller_block(pdf, document.seller)
    _details(pdf, document)
    _buyer_block(pdf, document.buyer)
    pdf.set_y(max(pdf.get_y(), 92.0))
    _lines(pdf, document)
    _vat_and_totals(pdf, document)
    if document.notes:
        pdf.ln(3)
        pdf.set_font("helvetica", "", 9)
        pdf.multi_cell(WIDTH, 4.5, _text(document.notes))
    _payment(pdf, document)
    return bytes(pdf.output())


def _seller_block(pdf: FPDF, seller: Party) -> None:
    pdf.set_xy(LEFT, 15)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(95, 6, _text(seller.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    for row in _party_rows(seller):
        pdf.cell(95, 4.5, _text(row), new_x="LMARGIN", new_y="NEXT")


def _party_rows(party: Party) -> list[str]:
    rows = [party.address.street, f"{party.address.postal_code} {party.address.city}"]
    if party.address.country_code != "FI":
        rows.append(party.address.country_code)
    if party.business_id:
        rows.append(f"Y-tunnus {party.business_id}")
    if party.vat_id:
        rows.append(f"ALV-tunniste {party.vat_id}")
    return rows


def _details(pdf: FPDF, document: InvoiceDocument) -> None:
    x = 115.0
    pdf.set_xy(x, 15)
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(80, 8, TITLES[document.kind], new_x="LEFT", new_y="NEXT")
    payment = document.payment
    rows: list[tuple[str, str]] = [
        ("Päiväys", fi_date(document.issue_date)),
        ("Laskun numero", document.number),
    ]
    if document.kind == "credit_note":
        credited = document.credited_invoice_number or ""
        if document.credited_invoice_date:
            credited += f" ({fi_date(document.credited_invoice_date)})"
        rows.append(("Hyvitettävä lasku", credited))
    rows.append(("Viitenumero", payment.reference_printed))
    rows.append(("Eräpäivä", fi_date(payment.due_date)))
    if payment.terms_days is not None:
        rows.append(("Maksuehto", f"{payment.terms_days} pv netto"))
    if payment.overdue_interest_percent is not None:
        rows.append(("Viivästyskorko", f"{fi_number(payment.overdue_interest_percent)} %"))
    if document.delivery_start and document.delivery_end:
        rows.append(("Toimitusjakso", f"{fi_date(document.delivery_start)} - {fi_date(document.delivery_end)}"))
    if document.buyer_reference:
        rows.append(("Viitteenne", document.buyer_reference))
    if document.order_reference:
        rows.append(("Tilausnumero", document.order_reference))
    if document.buyer.einvoice_address:
        rows.append(("Verkkolaskuosoite", document.buyer.einvoice_address))
    for label, value in rows:
        pdf.set_x(x)
        pdf.set_font("helvetica", "", 9)
        pdf.cell(32, 4.8, _text(label))
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(48, 4.8, _text(value), new_x="LEFT", new_y="NEXT")
        pdf.set_x(x)


def _buyer_block(pdf: FPDF, buyer: Party) -> None:
    pdf.set_xy(LEFT + 5, 50)
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(90, 5, _text(buyer.name), new_x="LEFT", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    if buyer.contact_name:
        pdf.cell(90, 5, _text(buyer.contact_name), new_x="LEFT", new_y="NEXT")
    for row in _party_rows(buyer):
        pdf.cell(90, 5, _text(row), new_x="LEFT", new_y="NEXT")


def _line_cells(line: DocumentLine) -> list[str]:
    description = line.description
    if line.period_start and line.period_end:
        description += f" {fi_date(line.period_start)} - {fi_date(line.period_end)}"
    if line.proration:
        share = Decimal(line.proration[0]) / Decimal(line.proration[1]) * 100
        description += f" ({fi_number(share.quantize(Decimal('0.1')))} %)"
    return [
        description,
        fi_number(line.quantity),
        line.unit,
        fi_amount(line.unit_price)
        if line.unit_price == line.unit_price.quantize(Decimal("0.01"))
        else fi_number(line.unit_price),
        fi_number(line.discount_percent) if line.discount_percent else "",
        fi_number(line.vat_rate),
        fi_amount(line.net),
    ]


def _price(value: Decimal) -> str:
    """A unit price: two decimals, or all of them when it has more (0,0125)."""
    return fi_amount(value) if value == value.quantize(Decimal("0.01")) else fi_number(value)


def _lines(pdf: FPDF, document: InvoiceDocument) -> None:
    pdf.set_font("helvetica", "B", 8.5)
    pdf.set_fill_color(230, 230, 230)
    for heading, width, align in COLUMNS:
        pdf.cell(width, 6, _text(heading), align=align, fill=True)
    pdf.ln(6)
    grouped = document.grouped_lines
    for order, lines in grouped:
        if order is not None and len(grouped) > 1:
            pdf.set_font("helvetica", "B", 8.5)
            pdf.cell(WIDTH, 5.5, _text(f"Tilaus {order}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 8.5)
        for line in lines:
            cells = _line_cells(line)
            # a long description wraps in its column; the other columns stay on its first row
            description, column = _text(cells[0]), COLUMNS[0][1]
            fits = pdf.get_string_width(description) < column - 2 * pdf.c_margin  # cell() is 2x faster
            rows = 1
            if not fits:
                wrapped = pdf.multi_cell(column, 5, description, dry_run=True, output="LINES")
                rows = len(wrapped) if isinstance(wrapped, list) else 1
            if pdf.get_y() + 5 * rows > 297 - 20:
                pdf.add_page()
            y = pdf.get_y()
            if fits:
                pdf.cell(column, 5, description)
            else:
                pdf.multi_cell(column, 5, description, align="L", new_x="RIGHT", new_y="TOP")
            for (_, width, align), value in zip(COLUMNS[1:], cells[1:], strict=True):
                pdf.cell(width, 5, _text(value), align=align)
            pdf.set_xy(LEFT, y + 5 * rows)
    pdf.line(LEFT, pdf.get_y() + 1, RIGHT, pdf.get_y() + 1)
    pdf.ln(3)


def _vat_and_totals(pdf: FPDF, document: InvoiceDocument) -> None:
    if pdf.get_y() > 297 - 20 - 45:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font("helvetica", "B", 8.5)
    for heading, width in (("ALV %", 18.0), ("Veroton", 26.0), ("ALV", 24.0), ("Verollinen", 26.0)):
        pdf.cell(width, 5, heading, align="R")
    pdf.ln(5)
    pdf.set_font("helvetica", "", 8.5)
    for row in document.vat_breakdown:
        pdf.cell(18, 5, fi_number(row.rate), align="R")
        pdf.cell(26, 5, fi_amount(row.net), align="R")
        pdf.cell(24, 5, fi_amount(row.vat), align="R")
        pdf.cell(26, 5, fi_amount(row.gross), align="R", new_x="LMARGIN", new_y="NEXT")
    below = pdf.get_y()
    x = 125.0
    pdf.set_xy(x, top)
    total = document.totals
    for label, value, bold in (
        ("Veroton yhteensä", total.net, False),
        ("ALV yhteensä", total.vat, False),
        (f"Yhteensä {document.currency}", total.gross, True),
    ):
        pdf.set_x(x)
        pdf.set_font("helvetica", "B" if bold else "", 10 if bold else 9)
        pdf.cell(40, 6, _text(label))
        pdf.cell(30, 6, fi_amount(value), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_y(max(below, pdf.get_y()) + 2)


def _payment(pdf: FPDF, document: InvoiceDocument) -> None:
    height = 58.0 if document.payment.barcode else 40.0
    if pdf.get_y() > 297 - 15 - height:
        pdf.add_page()
    top = 297 - 15 - height
    pdf.set_auto_page_break(auto=False)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(LEFT, top, RIGHT, top)
    payment = document.payment
    rows: list[tuple[str, str]] = [
        ("Saaja", document.seller.name),
        ("Saajan tilinumero (IBAN)", payment.iban_printed),
        ("BIC", payment.bic),
        ("Viitenumero", payment.reference_printed),
        ("RF-viite", payment.rf_reference_printed),
        ("Eräpäivä", fi_date(payment.due_date)),
        (
            document.currency if document.kind == "invoice" else f"Hyvitys {document.currency}",
            fi_amount(payment.amount),
        ),
    ]
    pdf.set_xy(LEFT, top + 2)
    for label, value in rows:
        pdf.set_font("helvetica", "", 8.5)
        pdf.cell(45, 5, _text(label))
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(100, 5, _text(value), new_x="LMARGIN", new_y="NEXT")
    if payment.barcode:
        _barcode(pdf, payment.barcode, LEFT, pdf.get_y() + 2)


def _barcode(pdf: FPDF, digits: str, x: float, y: float) -> None:
    """The Code 128 bars (each run of bar modules one filled rectangle) and the digits under them."""
    modules = code128c_modules(digits)
    pdf.set_fill_color(0, 0, 0)
    left = x + QUIET_MODULES * MODULE_MM
    run_start = None
    for index, module in enumerate(modules + "0"):
        if module == "1" and run_start is None:
            run_start = index
        elif module == "0" and run_start is not None:
            pdf.rect(left + run_start * MODULE_MM, y, (index - run_start) * MODULE_MM, BAR_HEIGHT_MM, style="F")
            run_start = None
    pdf.set_xy(x, y + BAR_HEIGHT_MM + 0.5)
    pdf.set_font("courier", "", 8)
    pdf.cell(len(modules) * MODULE_MM + 2 * QUIET_MODULES * MODULE_MM, 4, digits, align="C")
