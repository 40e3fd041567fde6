"""What the invoicing API documents for each operation (applied by `shared.operation_docs`).

Keyed by operationId, by the convention (`products.get`, `salesOrders.activate`);
a new route left out keeps Powertools' summary and tests/unit/test_operation_docs.py names it.
"""

from shared.operation_docs import Doc, ServiceDocs, Tag

ANYONE = "Who: any user of the tenant."
MANAGERS = "Who: any user reads; managers and admins write (403 for a user)."
OWNER = "Who: the order's owner (or a member of its owning group), managers and admins; others get 404."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
AMOUNTS = 'Amounts, quantities and percentages are decimal strings (`"12.50"`), never JSON numbers.'

PRODUCTS = Tag("products", f"The tenant's products: what sales orders sell. {AMOUNTS}", ("/products",))
TAX_CLASSES = Tag(
    "tax classes",
    "VAT classes with dated rates. A new tenant has Finnish VAT with its history: `standard` (24 %, "
    "25.5 % since 2024-09-01), `middle` (food, restaurants: 14 %, 13.5 % since 2026-01-01), `middle_2025` "
    "(books, medicines, passenger transport, accommodation, admissions: 10 %, 14 % since 2025-01-01, "
    "13.5 % since 2026-01-01), `reduced` (newspapers and magazines, 10 %) and `zero` (0 %). An invoice "
    "line uses the rate in force on its delivery date.",
    ("/tax-classes",),
)
PRICE_LISTS = Tag(
    "price lists", f"A customer account's own unit prices, overriding the products'. {AMOUNTS}", ("/price-lists",)
)
CURRENCIES = Tag(
    "currencies",
    "The ISO 4217 currencies the tenant's orders and invoices may use; EUR, the default, always among them.",
    ("/invoicing/currencies",),
)
CUSTOMERS = Tag(
    "customers",
    "The directory's accounts as invoicing bills them (kept from `account.*` events): name, business id, "
    "billing address, e-invoice address and operator, payment terms; and `consolidated`.",
    ("/invoicing/customers",),
)
SALES_ORDERS = Tag(
    "sales orders",
    "Orders billed recurrently in arrears (monthly, quarterly or yearly from `start_date`, until "
    f"`end_date`). Statuses: draft -> active -> ended, draft or active -> cancelled. {AMOUNTS}",
    ("/sales-orders",),
)
INVOICES = Tag(
    "invoices",
    "Invoices made by billing runs (drafts: no number) and credit notes. Issuing takes the tenant's next "
    "number (no gaps), the national reference (7-3-1) and its RF form, the due date from the customer's "
    "payment terms and the virtual bank barcode (v4). Statuses: draft -> issued -> paid or credited. "
    f"{AMOUNTS}",
    ("/invoices",),
)
RUNS = Tag(
    "invoicing runs",
    "Recurring billing in arrears: a run bills every period of the active orders that has ended (after "
    "downtime, every missed one, in order), once per (order, period) whatever runs overlap or crash. A "
    "run is asynchronous: recorded, then billed by the jobs function in chunks (a page of sales orders "
    "each, one queue message), its progress on the run. A daily schedule runs every tenant with an order "
    "due.",
    ("/invoicing/runs",),
)
SETTINGS = Tag(
    "invoicing settings",
    "The seller's details on the tenant's invoices (business id, IBAN and BIC validated), partial periods "
    "(`prorate` by days or `bill_whole`), whether a run issues its invoices at once (`issue_on_run`).",
    ("/invoicing/settings",),
)
INVOICE_WHO = "Who: managers and admins (403 for a user)."
ADMINS = "Who: admins (403 for others)."

LINE = {"product_id": "01J0000000000000000000PROD", "quantity": "2", "discount_percent": "10"}
ORDER = {
    "account_id": "01J00000000000000000000ACC",
    "currency": "EUR",
    "interval": "monthly",
    "start_date": "2026-01-31",
    "lines": [LINE, {"description": "Setup", "quantity": "1", "unit_price": "150.00", "tax_class": "standard"}],
}

DOCS = ServiceDocs(
    tags=(PRODUCTS, TAX_CLASSES, CURRENCIES, PRICE_LISTS, CUSTOMERS, SALES_ORDERS, INVOICES, RUNS, SETTINGS),
    operations={
        "products.list": Doc("List products", f"The tenant's products in id order. {PAGE}\n\n{ANYONE}"),
        "products.create": Doc(
            "Create a product",
            "`code` is unique in the tenant (422 `duplicate`); `tax_class` one of the tenant's active classes."
            f"\n\n{MANAGERS}",
            request={
                "code": "support-m",
                "name": "Support, monthly",
                "unit": "mo",
                "unit_price": "49.90",
                "tax_class": "standard",
            },
        ),
        "products.get": Doc("Get a product", f"One product by id.\n\n{ANYONE}"),
        "products.update": Doc("Change a product", f"A merge patch.\n\n{MANAGERS}"),
        "products.delete": Doc("Delete a product", f"Orders that name it keep their lines as written.\n\n{MANAGERS}"),
        "taxClasses.list": Doc("List tax classes", f"Every class with its dated rates.\n\n{ANYONE}"),
        "taxClasses.create": Doc(
            "Create a tax class",
            f"`code` is unique among the tenant's classes (422 `duplicate`).\n\n{MANAGERS}",
            request={
                "code": "books-2027",
                "name": "Books",
                "rates": [{"rate": "10"}, {"rate": "13.5", "valid_from": "2027-01-01"}],
            },
        ),
        "taxClasses.get": Doc("Get a tax class", f"One class by code, with `rate_today`.\n\n{ANYONE}"),
        "taxClasses.update": Doc(
            "Change a tax class",
            f"A merge patch; `rates` replaces the list (add a new rate by sending the list with it); "
            f"`active: false` refuses the class on new lines.\n\n{MANAGERS}",
        ),
        "invoicing.currencies.get": Doc("Get the tenant's currencies", f"A new tenant has EUR only.\n\n{ANYONE}"),
        "invoicing.currencies.replace": Doc(
            "Replace the tenant's currencies",
            "The whole list; EUR stays in it (422 `required`). Orders keep their currency when it is removed; new "
            f"orders and drafts take only listed ones (422 `not_found` naming `currency`).\n\n{MANAGERS}",
            request={"codes": ["EUR", "SEK", "USD"]},
        ),
        "priceLists.list": Doc("List price lists", f"{PAGE}\n\n{ANYONE}"),
        "priceLists.create": Doc(
            "Create a customer's price list",
            f"One a customer account (409 for a second).\n\n{MANAGERS}",
            request={"account_id": "01J00000000000000000000ACC", "name": "Acme prices", "items": []},
        ),
        "priceLists.get": Doc("Get a price list", f"One price list by id.\n\n{ANYONE}"),
        "priceLists.update": Doc("Change a price list", f"A merge patch; `items` replaces the list.\n\n{MANAGERS}"),
        "priceLists.delete": Doc("Delete a price list", f"The customer's orders keep their prices.\n\n{MANAGERS}"),
        "invoicing.customers.list": Doc("List customers", f"The accounts invoicing has heard of. {PAGE}\n\n{ANYONE}"),
        "invoicing.customers.get": Doc("Get a customer", f"One customer by its account id.\n\n{ANYONE}"),
        "invoicing.customers.update": Doc(
            "Change a customer's invoicing settings",
            f"`consolidated`: every due period of the customer's orders on one invoice.\n\n{MANAGERS}",
        ),
        "salesOrders.list": Doc(
            "List sales orders",
            "The orders the caller sees in id order; `account_id` a customer's (a merged account's id lists the "
            f"survivor's), `status` filters. {PAGE}\n\n{OWNER}",
        ),
        "salesOrders.create": Doc(
            "Create a sales order",
            "A draft order of a known customer (`account_id`: 422 `not_found`; a merged account's id names the "
            "survivor). A line names a product (its "
            "name, unit, tax class and price, the customer's price list first, fill what the line leaves out) "
            "or gives its own description, unit price and tax class; a negative quantity needs `credit: true`. "
            "Publishes `sales_order.created`.\n\nWho: any user; the owner is the creator unless `owner` names "
            "another.",
            request=ORDER,
        ),
        "salesOrders.get": Doc("Get a sales order", f"One order with its lines.\n\n{OWNER}"),
        "salesOrders.update": Doc(
            "Change a sales order",
            "A merge patch of a draft or active order (an ended or cancelled one is 409). An active order's "
            f"`currency` (422 `currency_fixed`) and `account_id` (422 `fixed`) are fixed.\n\n{OWNER}",
        ),
        "salesOrders.activate": Doc(
            "Activate a sales order", f"draft -> active (409 from another status). `sales_order.activated`.\n\n{OWNER}"
        ),
        "salesOrders.end": Doc(
            "End a sales order",
            f"active -> ended on `end_date` (default: the order's, else today). `sales_order.ended`.\n\n{OWNER}",
        ),
        "salesOrders.cancel": Doc(
            "Cancel a sales order",
            "draft or active -> cancelled. `sales_order.cancelled`.\n\nWho: the order's owner, managers and admins.",
        ),
        "invoices.list": Doc(
            "List invoices",
            "Invoices and credit notes in id order; `status` and `account_id` filter (a merged account's id lists "
            f"the survivor's). {PAGE}\n\n{INVOICE_WHO}",
        ),
        "invoices.get": Doc(
            "Get an invoice",
            "With its lines (grouped by `order_reference` on a consolidated invoice), VAT breakdown, totals, "
            f"the (order, period) pairs it bills and, once issued, number, reference, RF reference, barcode, due "
            f"date.\n\n{INVOICE_WHO}",
        ),
        "invoices.issue": Doc(
            "Issue an invoice",
            "draft -> issued: takes the tenant's next number in the issuing transaction, with the reference, "
            "due date and barcode (409 without the seller's details, or from another status). `invoice.issued`."
            f"\n\n{INVOICE_WHO}",
        ),
        "invoices.paid": Doc(
            "Mark an invoice paid", f"issued -> paid (409 from another status). `invoice.paid`.\n\n{INVOICE_WHO}"
        ),
        "invoices.credit.create": Doc(
            "Credit an invoice",
            "A credit note of an issued or paid invoice: issued at once with its own number and the negated "
            "lines, naming the invoice; the invoice becomes `credited` (409 for a draft). Returns the credit note. "
            f"`invoice.credited`.\n\n{INVOICE_WHO}",
        ),
        "invoices.send": Doc(
            "Send an invoice",
            "`email`: the PDF attached, through the email service (`email.send_requested`; `to` defaults to the "
            "customer's billing email, 422 naming `to` without one; the tenant's `email_template_id` renders it). "
            "`einvoice`: the Finvoice message with the operator's SOAP envelope is prepared (`documents."
            "einvoice_url`); both parties' e-invoice addresses and operators are needed (422 naming the first "
            "missing). 409 for a draft, or before its documents are made. Every send is listed in `sent`."
            f"\n\n{INVOICE_WHO}",
            request={"channel": "email", "to": "laskut@asiakas.fi"},
        ),
        "invoicing.runs.list": Doc("List billing runs", f"Newest first. {PAGE}\n\n{INVOICE_WHO}"),
        "invoicing.runs.get": Doc(
            "Get a billing run",
            "State (`queued`, `running` while its chunks bill, `done`; `failed` with `error` when it could "
            "not be queued), chunks done, orders seen, invoices made, periods billed, periods another run "
            "had billed, orders it could not bill (counts of the chunks recorded so far).\n\n"
            f"{INVOICE_WHO}",
        ),
        "invoicing.runs.create": Doc(
            "Run billing now",
            "Bills every period ended before `as_of` (default today; 422 in the future) of the active and "
            "ended orders; `consolidated`: one invoice per customer. Drafts, unless `issue_on_run`. "
            "Answers 202 with the run, `queued`, and its `Location`: the jobs function bills it a chunk "
            f"of sales orders at a time.\n\n{ADMINS}",
            request={"as_of": "2026-12-05"},
        ),
        "invoicing.runs.preview": Doc(
            "Preview a billing run",
            "What a run as of `as_of` would make of a page of the tenant's sales orders (`limit` orders, a"
            " consolidated customer's others with them), page by page with `next_cursor` as a run bills them"
            f" chunk by chunk; nothing is written.\n\n{INVOICE_WHO}",
            request={"consolidated": True},
        ),
        "invoicing.settings.get": Doc("Get the invoicing settings", f"A new tenant has no seller.\n\n{INVOICE_WHO}"),
        "invoicing.settings.update": Doc(
            "Change the invoicing settings",
            f"A merge patch; a wrong IBAN, BIC or business id is a 422 naming the field (`seller.iban`).\n\n{ADMINS}",
            request={
                "seller": {
                    "name": "Myyjä Oy",
                    "business_id": "1234567-1",
                    "address": {"street": "Katu 1", "postal_code": "00100", "city": "Helsinki"},
                    "iban": "FI49 5000 9420 0287 30",
                    "bic": "OKOYFIHH",
                }
            },
        ),
    },
    # POST /invoicing/runs answers 202 (queued): by convention an action named `runs`
    operation_ids={"GET /tax-classes": "taxClasses.list", "POST /invoicing/runs": "invoicing.runs.create"},
)
