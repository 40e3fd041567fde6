"""The invoice PDF (issue 22, item 7): what a Finnish customer reads on it, extracted back with pypdf."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pypdf
import pytest
from pydantic import ValidationError

from services.invoicing.domain.barcode import code128c_modules
from services.invoicing.domain.document import DocumentLine, InvoiceDocument
from services.invoicing.domain.pdf import render_pdf

from .samples import LINES, credit_note, invoice

pytestmark = pytest.mark.disable_socket


def text_of(pdf: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_an_invoice_shows_parties_lines_vat_breakdown_totals_and_payment_details() -> None:
    document = invoice()
    pages, text = text_of(render_pdf(document))
    assert pages == 1 and text.startswith("Kontakt Demo Oy")
    for expected in (
        "LASKU",
        "Y-tunnus 0737546-2",  # the seller's business id
        "Asiakas Äänekoski Oy",
        "Y-tunnus 2617416-4",  # the buyer's
        "Laskun numero 2026-000042",
        "Päiväys 1.12.2026",
        "Eräpäivä 15.12.2026",
        "Viitenumero 2 02600 00422",  # groups of five from the right
        "RF-viite RF27 2026 0000 422",
        "Saajan tilinumero (IBAN) FI79 4405 2020 0360 82",
        "BIC OKOYFIHH",
        "Toimitusjakso 1.11.2026 - 30.11.2026",
        "Tilaus SO-1001",  # lines grouped by sales order
        "Tilaus SO-1002",
        "7 kpl 12,99 12,5 25,5 79,56",  # 7 x 12,99 less 12,5 % = 79,56375
        "10 kpl 11,50 13,5 61,33",  # 16 of 30 days of 115,00 = 61,333...
        # the VAT breakdown per rate: net, VAT, gross
        "25,5 1 329,56 339,04 1 668,60",
        "13,5 61,33 8,28 69,61",
        "10 49,90 4,99 54,89",
        "Veroton yhteensä 1 440,79",
        "ALV yhteensä 352,31",
        "Yhteensä EUR 1 793,10",
        document.payment.barcode,  # the barcode's digits under its bars
    ):
        assert expected in text, expected
    assert document.payment.barcode == "479440520200360820017931000000000000020260000422261215"


def test_the_barcode_bars_are_drawn_module_for_module() -> None:
    pdf = render_pdf(invoice(barcode_version=5))
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    content = page.get_contents().get_data().decode("latin-1")  # type: ignore[union-attr]
    bars = [line for line in content.splitlines() if line.endswith(" re f")]
    modules = code128c_modules(invoice(barcode_version=5).payment.barcode or "")
    runs = [run for run in modules.split("0") if run]
    assert len(bars) == len(runs)
    widths = [round(float(bar.split()[2]) / 72 * 25.4 / 0.3) for bar in bars]  # points -> modules of 0.3 mm
    assert widths == [len(run) for run in runs]


def test_a_credit_note_names_the_invoice_it_credits_and_has_no_barcode() -> None:
    pages, text = text_of(render_pdf(credit_note()))
    assert pages == 1
    assert "HYVITYSLASKU" in text
    assert "Hyvitettävä lasku 2026-000042 (1.12.2026)" in text
    assert "Yhteensä EUR -1 793,10" in text
    assert "25,5 -1 329,56 -339,04 -1 668,60" in text
    assert credit_note().payment.barcode is None


def test_many_lines_flow_onto_more_pages_with_the_payment_details_last() -> None:
    lines = [
        DocumentLine(
            description=f"Rivi {n} " + "pitkä kuvaus " * (n % 4),
            quantity=D(1),
            unit_price=D("1.00"),
            vat_rate=D("25.5"),
        )
        for n in range(90)
    ]
    pages, text = text_of(render_pdf(invoice(lines=lines)))
    assert pages >= 3
    assert "Rivi 89" in text and text.index("Rivi 89") < text.index("Saajan tilinumero")
    assert "Yhteensä EUR 112,95" in text  # 90,00 + 25,5 %


def test_a_document_whose_totals_are_not_its_lines_is_refused() -> None:
    data = invoice().model_dump(mode="json")
    assert InvoiceDocument.model_validate(data) == invoice()
    data["lines"] = data["lines"][:1]
    with pytest.raises(ValidationError, match="vat_breakdown"):
        InvoiceDocument.model_validate(data)
    assert len(LINES) == 4
