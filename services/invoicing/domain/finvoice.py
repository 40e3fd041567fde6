"""Finvoice 3.0 XML from the invoice document (issue 22, items 7 and 8).

Finance Finland's Finvoice 3.0: the root `Finvoice Version="3.0"` and its parts in the order of the
schema (Finvoice3.0.xsd) and of the implementation guidelines: MessageTransmissionDetails (when
both parties have an e-invoice address and operator), SellerPartyDetails,
SellerOrganisationUnitNumber, SellerInformationDetails (the seller's account and BIC),
BuyerPartyDetails, BuyerOrganisationUnitNumber, BuyerContactPersonName, InvoiceDetails (type,
number, date, period, totals, the VAT breakdown as VatSpecificationDetails, payment terms),
VirtualBankBarcode, InvoiceRow per line, EpiDetails (the payment: EpiIdentificationDetails,
EpiPartyDetails with the BIC, business id and IBAN, EpiPaymentInstructionDetails with the
reference, SPY for a national one or ISO for an RF one, the amount, the charge option and the due
date). Amounts and percentages take a decimal comma, dates the CCYYMMDD form.

`soap_envelope` is the ebXML SOAP-ENV frame an operator takes in front of the Finvoice message
(From the seller and its operator, To the buyer and its operator, Service Routing, Action
ProcessInvoice, the manifest naming the invoice). The transmission itself is the operator
integration's (out of scope).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lxml import etree

from .document import DocumentLine, InvoiceDocument, Party
from .money import fi_amount, fi_number

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
EB = "http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd"
XLINK = "http://www.w3.org/1999/xlink"
TYPES = {"invoice": ("INV01", "380", "LASKU"), "credit_note": ("INV02", "381", "HYVITYSLASKU")}


def _amount(value: Decimal) -> str:
    return fi_amount(value, grouped=False)


def _unit_price(value: Decimal) -> str:
    """A unit price: two to five decimals (the schema's unitAmount)."""
    exponent = value.as_tuple().exponent
    places = min(max(-exponent if isinstance(exponent, int) else 2, 2), 5)
    return f"{value:.{places}f}".replace(".", ",")


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _sub(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, dict(attributes))
    if text is not None:
        element.text = text
    return element


def _names(parent: Any, tag: str, name: str, size: int = 70) -> None:
    """A name longer than an element takes (70 characters) in as many elements as it needs."""
    for start in range(0, max(len(name), 1), size):
        _sub(parent, tag, name[start : start + size])


def _party(root: Any, role: str, party: Party) -> None:
    details = _sub(root, f"{role}PartyDetails")
    if party.business_id:
        _sub(details, f"{role}PartyIdentifier", party.business_id)
    _names(details, f"{role}OrganisationName", party.name)
    if party.vat_id:
        _sub(details, f"{role}OrganisationTaxCode", party.vat_id)
    address = _sub(details, f"{role}PostalAddressDetails")
    _sub(address, f"{role}StreetName", party.address.street[:35])
    _sub(address, f"{role}TownName", party.address.city[:35])
    _sub(address, f"{role}PostCodeIdentifier", party.address.postal_code)
    _sub(address, "CountryCode", party.address.country_code)
    if party.einvoice_address:
        _sub(root, f"{role}OrganisationUnitNumber", party.einvoice_address)


def _date_element(parent: Any, tag: str, day: dt.date) -> None:
    _sub(parent, tag, _date(day), Format="CCYYMMDD")


def finvoice_tree(document: InvoiceDocument, *, message_id: str, sent: dt.datetime) -> Any:
    """The Finvoice 3.0 element tree (lxml) for `document`."""
    currency = document.currency
    seller, buyer, payment = document.seller, document.buyer, document.payment
    root = etree.Element("Finvoice", Version="3.0")
    if seller.einvoice_address and seller.einvoice_operator and buyer.einvoice_address and buyer.einvoice_operator:
        transmission = _sub(root, "MessageTransmissionDetails")
        sender = _sub(transmission, "MessageSenderDetails")
        _sub(sender, "FromIdentifier", seller.einvoice_address)
        _sub(sender, "FromIntermediator", seller.einvoice_operator)
        receiver = _sub(transmission, "MessageReceiverDetails")
        _sub(receiver, "ToIdentifier", buyer.einvoice_address)
        _sub(receiver, "ToIntermediator", buyer.einvoice_operator)
        message = _sub(transmission, "MessageDetails")
        _sub(message, "MessageIdentifier", message_id)
        _sub(message, "MessageTimeStamp", sent.isoformat(timespec="seconds"))

    _party(root, "Seller", seller)
    information = _sub(root, "SellerInformationDetails")
    if seller.email:
        _sub(information, "SellerCommonEmailaddressIdentifier", seller.email)
    account = _sub(information, "SellerAccountDetails")
    _sub(account, "SellerAccountID", payment.iban, IdentificationSchemeName="IBAN")
    _sub(account, "SellerBic", payment.bic, IdentificationSchemeName="BIC")

    _party(root, "Buyer", buyer)
    if buyer.contact_name:
        _sub(root, "BuyerContactPersonName", buyer.contact_name)

    code, code_un, text = TYPES[document.kind]
    details = _sub(root, "InvoiceDetails")
    _sub(details, "InvoiceTypeCode", code, CodeListAgencyIdentifier="SPY")
    _sub(details, "InvoiceTypeCodeUN", code_un)
    _sub(details, "InvoiceTypeText", text)
    _sub(details, "OriginCode", "Original")
    _sub(details, "InvoiceNumber", document.number)
    _date_element(details, "InvoiceDate", document.issue_date)
    if document.credited_invoice_number:
        _sub(details, "OriginalInvoiceNumber", document.credited_invoice_number)
        if document.credited_invoice_date:
            _date_element(details, "OriginalInvoiceDate", document.credited_invoice_date)
    if document.delivery_start and document.delivery_end:
        _date_element(details, "InvoicingPeriodStartDate", document.delivery_start)
        _date_element(details, "InvoicingPeriodEndDate", document.delivery_end)
    if document.order_reference:
        _sub(details, "OrderIdentifier", document.order_reference)
    if document.buyer_reference:
        _sub(details, "BuyerReferenceIdentifier", document.buyer_reference)
    totals = document.totals
    _sub(details, "InvoiceTotalVatExcludedAmount", _amount(totals.net), AmountCurrencyIdentifier=currency)
    _sub(details, "InvoiceTotalVatAmount", _amount(totals.vat), AmountCurrencyIdentifier=currency)
    _sub(details, "InvoiceTotalVatIncludedAmount", _amount(totals.gross), AmountCurrencyIdentifier=currency)
    for row in document.vat_breakdown:
        vat = _sub(details, "VatSpecificationDetails")
        _sub(vat, "VatBaseAmount", _amount(row.net), AmountCurrencyIdentifier=currency)
        _sub(vat, "VatRatePercent", fi_number(row.rate))
        _sub(vat, "VatCode", "S" if row.rate else "Z")
        _sub(vat, "VatRateAmount", _amount(row.vat), AmountCurrencyIdentifier=currency)
    if document.notes:
        _sub(details, "InvoiceFreeText", document.notes[:512])
    terms = _sub(details, "PaymentTermsDetails")
    if payment.terms_days is not None:
        _sub(terms, "PaymentTermsFreeText", f"{payment.terms_days} pv netto")
    _date_element(terms, "InvoiceDueDate", payment.due_date)
    if payment.overdue_interest_percent is not None:
        fine = _sub(terms, "PaymentOverDueFineDetails")
        _sub(fine, "PaymentOverDueFineFreeText", "Viivästyskorko")
        _sub(fine, "PaymentOverDueFinePercent", fi_number(payment.overdue_interest_percent))

    if payment.barcode:
        _sub(root, "VirtualBankBarcode", payment.barcode)
    for line in document.lines:
        _row(root, line, currency)

    epi = _sub(root, "EpiDetails")
    identification = _sub(epi, "EpiIdentificationDetails")
    _date_element(identification, "EpiDate", document.issue_date)
    _sub(identification, "EpiReference", document.number)
    parties = _sub(epi, "EpiPartyDetails")
    bank = _sub(parties, "EpiBfiPartyDetails")
    _sub(bank, "EpiBfiIdentifier", payment.bic, IdentificationSchemeName="BIC")
    beneficiary = _sub(parties, "EpiBeneficiaryPartyDetails")
    _sub(beneficiary, "EpiNameAddressDetails", seller.name[:35])
    if seller.business_id:
        _sub(beneficiary, "EpiBei", seller.business_id)
    _sub(beneficiary, "EpiAccountID", payment.iban, IdentificationSchemeName="IBAN")
    instruction = _sub(epi, "EpiPaymentInstructionDetails")
    if payment.barcode_version == 5:
        _sub(instruction, "EpiRemittanceInfoIdentifier", payment.rf_reference, IdentificationSchemeName="ISO")
    else:
        _sub(instruction, "EpiRemittanceInfoIdentifier", payment.reference, IdentificationSchemeName="SPY")
    _sub(instruction, "EpiInstructedAmount", _amount(payment.amount), AmountCurrencyIdentifier=currency)
    _sub(instruction, "EpiCharge", None, ChargeOption="SLEV")
    _date_element(instruction, "EpiDateOptionDate", payment.due_date)
    return root


def _row(root: Any, line: DocumentLine, currency: str) -> None:
    row = _sub(root, "InvoiceRow")
    if line.product_code:
        _sub(row, "ArticleIdentifier", line.product_code)
    _sub(row, "ArticleName", line.description[:100])
    quantity = {"QuantityUnitCode": line.unit} if line.unit else {}
    _sub(row, "InvoicedQuantity", fi_number(line.quantity), **quantity)
    if line.period_start and line.period_end:
        _date_element(row, "StartDate", line.period_start)
        _date_element(row, "EndDate", line.period_end)
    _sub(row, "UnitPriceAmount", _unit_price(line.unit_price), AmountCurrencyIdentifier=currency)
    if line.order_reference:
        _sub(row, "RowIdentifier", line.order_reference)
    if line.proration:
        _sub(row, "RowFreeText", f"Osajakso {line.proration[0]}/{line.proration[1]}")
    if line.discount_percent:
        _sub(row, "RowDiscountPercent", fi_number(line.discount_percent))
    _sub(row, "RowVatRatePercent", fi_number(line.vat_rate))
    _sub(row, "RowVatCode", "S" if line.vat_rate else "Z")
    _sub(row, "RowVatAmount", _amount(line.vat), AmountCurrencyIdentifier=currency)
    _sub(row, "RowVatExcludedAmount", _amount(line.net), AmountCurrencyIdentifier=currency)
    _sub(row, "RowAmount", _amount(line.net + line.vat), AmountCurrencyIdentifier=currency)


def render_finvoice(document: InvoiceDocument, *, message_id: str, sent: dt.datetime) -> bytes:
    """The Finvoice 3.0 XML document, UTF-8, with its XML declaration."""
    tree = finvoice_tree(document, message_id=message_id, sent=sent)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def soap_envelope(document: InvoiceDocument, *, message_id: str, sent: dt.datetime) -> bytes:
    """The SOAP-ENV frame the operator takes in front of the Finvoice message (its MessageId is the
    Finvoice's MessageIdentifier). Needs both parties' e-invoice addresses and operators."""
    seller, buyer = document.seller, document.buyer
    missing = [
        name
        for name, value in (
            ("seller.einvoice_address", seller.einvoice_address),
            ("seller.einvoice_operator", seller.einvoice_operator),
            ("buyer.einvoice_address", buyer.einvoice_address),
            ("buyer.einvoice_operator", buyer.einvoice_operator),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"{missing[0]}: e-invoicing needs both parties' e-invoice addresses and operators")
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV, "eb": EB, "xlink": XLINK})
    header = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    message = etree.SubElement(
        header, f"{{{EB}}}MessageHeader", {f"{{{SOAP_ENV}}}mustUnderstand": "1", f"{{{EB}}}version": "2.0"}
    )
    for side, party_id, role in (
        ("From", seller.einvoice_address, "Sender"),
        ("From", seller.einvoice_operator, "Intermediator"),
        ("To", buyer.einvoice_address, "Receiver"),
        ("To", buyer.einvoice_operator, "Intermediator"),
    ):
        party = etree.SubElement(message, f"{{{EB}}}{side}")
        etree.SubElement(party, f"{{{EB}}}PartyId").text = party_id
        etree.SubElement(party, f"{{{EB}}}Role").text = role
    etree.SubElement(message, f"{{{EB}}}CPAId").text = "yoursandmycpa"
    etree.SubElement(message, f"{{{EB}}}ConversationId").text = f"{seller.einvoice_address}-{document.number}"
    etree.SubElement(message, f"{{{EB}}}Service").text = "Routing"
    etree.SubElement(message, f"{{{EB}}}Action").text = "ProcessInvoice"
    data = etree.SubElement(message, f"{{{EB}}}MessageData")
    etree.SubElement(data, f"{{{EB}}}MessageId").text = message_id
    etree.SubElement(data, f"{{{EB}}}Timestamp").text = sent.isoformat(timespec="seconds")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    manifest = etree.SubElement(body, f"{{{EB}}}Manifest", {f"{{{EB}}}id": "Manifest", f"{{{EB}}}version": "2.0"})
    reference = etree.SubElement(
        manifest, f"{{{EB}}}Reference", {f"{{{EB}}}id": "Finvoice", f"{{{XLINK}}}href": document.number}
    )
    etree.SubElement(
        reference,
        f"{{{EB}}}Schema",
        {f"{{{EB}}}location": "http://www.finvoice.info/finvoice.xsd", f"{{{EB}}}version": "2.0"},
    )
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def einvoice_file(document: InvoiceDocument, *, message_id: str, sent: dt.datetime) -> bytes:
    """What goes to the operator: the SOAP envelope followed by the Finvoice message, in one file."""
    envelope = soap_envelope(document, message_id=message_id, sent=sent)
    return envelope + render_finvoice(document, message_id=message_id, sent=sent)
