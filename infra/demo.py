"""Demo data for `kontakt dev`: a small CRM for tenant "demo", created through the HTTP API only.

`load(runtime)` is called by `kontakt dev` once the runtime is up. It goes through the gateway
like any client (dev token of the tenant's admin), so the data passes the same validation,
access rules, numbering and outbox events as real data. If the tenant already has accounts it
does nothing. It returns a summary (counts and the target group ids) for the CLI to print.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import requests

from shared.business_ids import check_digit

log = logging.getLogger("kontakt.demo")

TENANT = "demo"
ADMIN = "demo-admin"

SUPPORT_MAILBOX = "tuki"  # the demo's support mailbox: tuki@<SendingDomain> (kontakt.test under `kontakt dev`)
WEBHOOK_NAME = "demo"  # the demo endpoint's receiver: POST /dev/webhooks/demo (infra/dev_webhooks.py)
GROUPS = ["Sales team", "Support team"]
# (email, name, role, groups by index into GROUPS)
USERS: list[tuple[str, str, str, list[int]]] = [
    ("anna.virtanen@demo.example", "Anna Virtanen", "manager", [0]),
    ("mikko.korhonen@demo.example", "Mikko Korhonen", "user", [0]),
    ("liisa.nieminen@demo.example", "Liisa Nieminen", "user", [1]),
]
CLASSIFICATION_TYPES = ["Industry", "Size"]
# (name, classification type by index)
CLASSES: list[tuple[str, int]] = [("Manufacturing", 0), ("Software", 0), ("Enterprise", 1)]
# (name, status, city, classes by index, account manager by user index, owning group by index)
ACCOUNTS: list[tuple[str, str, str, list[int], int | None, int | None]] = [
    ("Acme Oy", "active", "Helsinki", [0, 2], 0, 0),
    ("Nordic Software Ab", "active", "Helsinki", [1], 1, 0),
    ("Pohjola Tools Oy", "prospect", "Oulu", [0], 1, 0),
    ("Savo Logistics Oy", "active", "Kuopio", [], 0, None),
    ("Turku Marine Oy", "passive", "Turku", [0], None, 1),
    ("Lakeside Cloud Oy", "prospect", "Tampere", [1], 2, 1),
    ("Old Mill Oy", "ceased", "Lahti", [0], None, None),
    ("Arctic Data Oy", "active", "Helsinki", [1, 2], 2, None),
]
FIRST_NAMES = [
    "Aino",
    "Eero",
    "Helmi",
    "Juho",
    "Kaisa",
    "Lauri",
    "Maija",
    "Niko",
    "Oona",
    "Pekka",
    "Riikka",
    "Sami",
    "Tiina",
    "Ville",
    "Elina",
    "Antti",
    "Sanna",
    "Jari",
    "Noora",
    "Timo",
]
LAST_NAMES = [
    "Mäkinen",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Laine",
    "Salonen",
    "Lindholm",
    "Rantanen",
    "Hämäläinen",
]
JOB_TITLES = ["ceo", "cfo", "manager", "sales", "marketing", "purchasing", "specialist"]
CATEGORIES = ["customer", "customer", "prospect", "partner", "supplier"]
REGION_OF_CITY = {
    "Helsinki": "south",
    "Oulu": "north",
    "Kuopio": "east",
    "Turku": "west",
    "Tampere": "west",
    "Lahti": "south",
}
GROUP_SETS = [["newsletter"], ["newsletter", "events"], ["decision_makers"], [], ["vip", "newsletter"]]
SALES_STATUSES = ["lead", "qualified", "proposal", "won", "lost"]
ASCII = str.maketrans("äöå", "aoa")
CONTACT_COUNT = 20
# Invoicing (issue 22): the demo tenant bills as this company (identifiers valid by
# shared/business_ids.py and services/invoicing/domain/references.py: Y-tunnus check digit, IBAN
# mod 97, BIC shape) ...
SELLER = {
    "name": "Kontakt Demo Oy",
    "business_id": "2345678-0",
    "address": {"street": "Mannerheimintie 12 B", "postal_code": "00100", "city": "Helsinki", "country_code": "FI"},
    "iban": "FI49 5000 9420 0287 30",
    "bic": "OKOYFIHH",
    "email": "laskutus@kontakt-demo.example",
    "phone": "+358 9 555 0100",
    "einvoice_address": "003723456780",
    "einvoice_operator": "OKOYFIHH",
}
# ... and Acme Oy (ACCOUNTS[0]) is its customer: its business id (the first of `business_ids`), a
# billing address and an e-invoice address (its OVT code).
BILLED_ACCOUNT = {
    "business_id": "1234560-4",
    "street": "Teollisuuskatu 21",
    "postal_code": "00510",
    "e_invoice_address": "003712345604",
    "e_invoice_operator": "NDEAFIHH",
    "payment_terms_days": 14,
}
PRODUCTS = [  # code, name, unit, unit price (EUR without VAT: the standard tax class)
    ("crm-user", "Kontakt CRM user licence", "pcs", "29.00"),
    ("support", "Support and maintenance", "month", "150.00"),
    ("hosting", "Hosting, quarterly", "pcs", "240.00"),
]
MONTHLY_MONTHS_AGO = 4  # the monthly order started 4 months ago: 4 periods to bill
QUARTERLY_MONTHS_AGO = 6  # the quarterly one 6 months ago: 2 quarters
PASSIVE_EVERY = 6  # contacts 0, 6, 12, 18 are passive
# Duplicates (issue 24): the same people entered again, as people do: (index of the contact it
# duplicates, its body's changes). Contacts away from Helsinki (the campaign's dynamic group) and
# not the scanner's or the workflow's contact (1, 2), so the other demos see what they did.
DUPLICATE_CONTACTS: list[tuple[int, dict[str, str]]] = [
    (
        3,
        {"first_name": "Jussi", "mobile": "040 700 0411", "phone": "017 555 2100"},
    ),  # a nickname, the number as dialled
    (4, {"first_name": "Lehtonen", "last_name": "Kaisa", "email": " KAISA.Lehtonen4@turku.example"}),  # swapped names
    (5, {"email": "Lauri.Laine5@Lakeside.example", "mobile": "+358407000685"}),  # email and phone formats
]
MERGED_DUPLICATE = 0  # DUPLICATE_CONTACTS[0] is merged into its original: its id answers 301
DUPLICATE_ACCOUNT = (3, {"name": "Savo Logistics", "email": "INFO@savo.example", "phone": "09 5551003"})


def _at(days: int, hour: int, minutes: int = 0) -> str:
    """A time `days` from today at `hour` UTC, as the API takes it."""
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return (moment + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class DemoError(RuntimeError):
    """A demo request failed: the API answered with an unexpected status."""


class _Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.requests = 0

    def call(self, method: str, path: str, body: Any = None, expect: int = 201) -> Any:
        self.requests += 1
        response = self.session.request(method, self.base_url + path, json=body, timeout=60)
        if response.status_code != expect:
            raise DemoError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None


def business_ids(count: int) -> list[str]:
    """`count` valid business ids from 1234560-4 on (the directory refuses a wrong check digit; the
    digits of some have none, so they are skipped)."""
    found: list[str] = []
    digits = 1234560
    while len(found) < count:
        check = check_digit(str(digits))
        if check is not None:
            found.append(f"{digits}-{check}")
        digits += 1
    return found


def load(runtime: Any) -> dict[str, Any]:
    """Create the demo tenant's data through the HTTP API, unless it already has accounts."""
    started = time.monotonic()
    api = _Api(runtime.api_url, runtime.token(TENANT, ADMIN, "admin"))
    if api.call("GET", "/accounts?limit=1", expect=200)["items"]:
        log.info("demo data already loaded: skipped")
        return {"tenant": TENANT, "skipped": True}

    groups = [api.call("POST", "/groups", {"name": name})["id"] for name in GROUPS]
    users = [
        api.call(
            "POST",
            "/users",
            {"email": email, "name": name, "role": role, "groups": [groups[i] for i in group_indexes]},
        )["id"]
        for email, name, role, group_indexes in USERS
    ]
    types = [api.call("POST", "/classification-types", {"name": name})["id"] for name in CLASSIFICATION_TYPES]
    classes = [
        api.call("POST", "/classes", {"name": name, "classification_type_id": types[t]})["id"] for name, t in CLASSES
    ]
    accounts: list[dict[str, Any]] = []
    for index, (name, status, city, class_indexes, manager, group) in enumerate(ACCOUNTS):
        body: dict[str, Any] = {
            "name": name,
            "status": status,
            "business_id": business_ids(len(ACCOUNTS))[index],
            "email": f"info@{name.split()[0].lower()}.example",
            "phone": f"+358 9 555 {1000 + index}",
            "city": city,
            "country": "FI",
            "classes": [classes[c] for c in class_indexes],
        }
        if index == 0:  # the invoicing demo's customer (_load_invoicing): its billing address and e-invoice address
            body.update(BILLED_ACCOUNT)
        if manager is not None:
            body["account_manager_id"] = users[manager]
        if group is not None:  # otherwise the admin who creates it owns it
            body["owner"] = {"type": "group", "id": groups[group]}
        accounts.append(api.call("POST", "/accounts", body))

    contacts = []
    for index in range(CONTACT_COUNT):
        account = accounts[index % len(accounts)]
        first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
        local = f"{first}.{last}{index}".lower().translate(ASCII)
        body = {
            "first_name": first,
            "last_name": last,
            "email": f"{local}@{account['email'].split('@')[1]}",
            "mobile": f"+358 40 {7000000 + index * 137}",
            "account_id": account["id"],
            "active": index % PASSIVE_EVERY != 0,
            "job_title": JOB_TITLES[index % len(JOB_TITLES)],
            "category": CATEGORIES[index % len(CATEGORIES)],
            "region": REGION_OF_CITY[account["city"]],
            "groups": GROUP_SETS[index % len(GROUP_SETS)],
            "sales_status": SALES_STATUSES[index % len(SALES_STATUSES)],
            "owner": account["owner"],
        }
        if index % 3 != 2:
            body["consent_date"] = f"2024-{1 + index % 12:02d}-{1 + index:02d}"
        contacts.append(api.call("POST", "/contacts", body))

    helsinki = api.call(
        "POST",
        "/target-groups",
        {
            "name": "Contacts in Helsinki",
            "category": "Events",
            "description": "Everyone at an account in Helsinki that is not ceased (dynamic).",
            "conditions": [
                {"field": "account.city", "op": "equals", "value": "Helsinki"},
                {"field": "account.status", "op": "not_equals", "value": "ceased"},
            ],
            "match": "all",
        },
    )
    vip = api.call(
        "POST",
        "/target-groups",
        {
            "name": "Christmas card list",
            "category": "Marketing",
            "description": "Picked by hand (static).",
            "contact_ids": [c["id"] for c in contacts[1:20:3]],
        },
    )
    runtime.drain()  # the call list shows what the directory's events have reached
    activities = _load_activities(api, users, accounts, contacts)
    email = _load_email(api, helsinki["id"])
    sms = _load_sms(api, vip["id"])
    scanner = _load_scanner(api, runtime, groups[1], contacts[1])
    invoicing = _load_invoicing(api, runtime, accounts[0])
    duplicates = _load_duplicates(api, accounts, contacts)
    webhooks = _load_webhooks(api, runtime.api_url)
    workflows = _load_workflows(api, contacts[2], webhooks["webhook_endpoint"])
    access = _load_access(api)
    summary = {
        "tenant": TENANT,
        "skipped": False,
        "groups": len(groups),
        "users": len(users),
        "classification_types": len(types),
        "classes": len(classes),
        "accounts": len(accounts),
        "contacts": len(contacts),
        "passive_contacts": sum(1 for c in contacts if not c["active"]),
        "target_groups": {"dynamic": helsinki["id"], "static": vip["id"]},
        **activities,
        **email,
        **sms,
        **scanner,
        **invoicing,
        **duplicates,
        **webhooks,
        **workflows,
        **access,
        "requests": api.requests,
        "seconds": round(time.monotonic() - started, 1),
    }
    log.info("demo data loaded: %s", summary)
    return summary


def _load_activities(
    api: _Api, users: list[str], accounts: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> dict[str, Any]:
    """Meetings, tasks, logged calls and a contact order with a booking: a calendar, a call list and a to-do list."""
    meetings = 0
    for index, account in enumerate(accounts[:5]):
        owner = users[index % len(users)]
        body = {
            "type": "customer_visit" if index % 2 else "meeting",
            "subject": f"{'Visit' if index % 2 else 'Meeting'}: {account['name']}",
            "start": _at(index - 2, 9 + index),
            "end": _at(index - 2, 10 + index),
            "account_id": account["id"],
            "owner_id": owner,
            "category": "customer_visit" if index % 2 else "crm_event",
        }
        created = api.call("POST", "/activities", body)
        if index < 2:  # the past ones were done: points and goals have something to show
            api.call("POST", f"/activities/{created['id']}/complete", expect=200)
        meetings += 1
    for index, contact in enumerate(c for c in contacts if c["active"]):
        if index >= 3:
            break
        call = {
            "mode": "contacts",
            "contact_id": contact["id"],
            "subject": f"Call with {contact['first_name']}",
            "start": _at(-1, 13, 15 * index),
        }
        api.call("POST", "/call-list/calls", call)
    tasks = [
        api.call(
            "POST",
            "/activities",
            {
                "type": "task",
                "subject": subject,
                "due": _at(days, 12),
                "account_id": accounts[i]["id"],
                "owner_id": users[0],
            },
        )
        for i, (subject, days) in enumerate([("Send the offer", 1), ("Prepare the renewal", 3)])
    ]
    order = api.call(
        "POST",
        "/contact-orders",
        {
            "subject": "Annual maintenance",
            "account_id": accounts[0]["id"],
            "facility_name": "Main plant",
            "service_object": "Boiler 7",
            "planned_date": _at(5, 8)[:10],
            "assignee_ids": [users[1]],
        },
    )
    api.call("POST", f"/contact-orders/{order['id']}/notes", {"text": "Customer asked for a morning visit."})
    api.call(
        "POST",
        f"/contact-orders/{order['id']}/bookings",
        {"channel": "phone", "start": _at(2, 10), "user_id": users[1]},
    )
    return {"activities": meetings + 3 + len(tasks), "contact_orders": 1}


def _load_email(api: _Api, target_group_id: str) -> dict[str, Any]:
    """A newsletter template and a campaign sent to the Helsinki group: mails to open in `.kontakt/mail/`."""
    template = api.call(
        "POST",
        "/email/templates",
        {
            "name": "Newsletter",
            "subject": "News for {{ contact.first_name }} at {{ account.name }}",
            "html": (
                "<html><body><p>Hello {{ contact.first_name }},</p>"
                '<p>Our winter service week starts soon: <a href="https://kontakt.dev/winter">book a visit</a>.</p>'
                "</body></html>"
            ),
            "text": "Hello {{ contact.first_name }},\nOur winter service week starts soon: https://kontakt.dev/winter",
        },
    )
    campaign = api.call(
        "POST",
        "/campaigns",
        {
            "name": "Winter service week",
            "template_id": template["id"],
            "list_type_id": "marketing",
            "target_group_id": target_group_id,
        },
    )
    api.call("POST", f"/campaigns/{campaign['id']}/send", expect=200)
    return {"campaign": campaign["id"]}


def _load_sms(api: _Api, target_group_id: str) -> dict[str, Any]:
    """SMS activated with credits to spend, and a send to a target group (its messages go out as
    the stack runs: /sms/sends shows its stats, /dev/sms the messages)."""
    api.call("PATCH", "/sms/settings", {"active": True, "sender_id": "Kontakt"}, expect=200)
    api.call("POST", "/sms/credits", {"credits": 500, "note": "Demo credits"})
    credits = api.call("GET", "/sms/balance", expect=200)["available"]
    text = "Hei {{ contact.first_name }}! Joulukortit ovat matkalla."
    send = api.call("POST", "/sms/sends", {"target_group_id": target_group_id, "text": text}, expect=202)
    return {"sms_credits": credits, "sms_send": send["id"]}


def _mail(to: str, sender: str, subject: str, body: str, answering: str | None = None) -> tuple[str, str]:
    """A raw inbound mail (base64, as POST /scanner/mailboxes/{id}/raw takes it) and its Message-ID."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Message-ID"] = f"<demo-{time.time_ns()}@{sender.rsplit('@', 1)[1].rstrip('>')}>"
    if answering:
        mail["In-Reply-To"] = mail["References"] = answering
    mail.set_content(body)
    return base64.b64encode(mail.as_bytes()).decode(), mail["Message-ID"]


def _load_scanner(api: _Api, runtime: Any, support_group: str, contact: dict[str, Any]) -> dict[str, Any]:
    """A support mailbox on the stack's sending domain (its acknowledgements go out: loops.py sends
    automatic mail From the mailbox, which the email service allows on that domain), a rule that
    files invoices ("lasku") as high-priority billing, and mail through the path real mail takes
    (the raw POST stores it in the mail bucket the SMTP listener and SES write to): a contact's
    mail, its threaded answer and a stranger's mail, so the ticket views have something at once."""
    address = f"{SUPPORT_MAILBOX}@{runtime.stack.parameters['SendingDomain']}"
    body = {
        "address": address,
        "name": "Asiakastuki",
        "owner": {"type": "group", "id": support_group},
        "auto_reply": {"enabled": True},
    }
    mailbox = api.call("POST", "/scanner/mailboxes", body)
    rule = {
        "name": "Invoices to billing",
        "conditions": [{"field": "subject", "operator": "contains", "value": "lasku"}],
        "actions": {"category": "billing", "priority": "high", "tags": ["invoice"]},
    }
    rule_id = api.call("POST", f"/scanner/mailboxes/{mailbox['id']}/rules", rule)["id"]
    raw = f"/scanner/mailboxes/{mailbox['id']}/raw"
    sender = f"{contact['first_name']} {contact['last_name']} <{contact['email']}>"
    invoice, invoice_id = _mail(address, sender, "Lasku 4711 on väärin", "Hei, laskulla on väärä summa.\n")
    api.call("POST", raw, {"raw": invoice}, expect=202)
    printer, _ = _mail(address, "Pekka Outsider <pekka@customer.example>", "Printer offline", "It prints nothing.\n")
    api.call("POST", raw, {"raw": printer}, expect=202)
    runtime.drain()  # the answer threads by the first mail's Message-ID: that ticket must exist first
    answer, _ = _mail(address, sender, "Re: Lasku 4711 on väärin", "Liitteenä oikea summa.\n", invoice_id)
    api.call("POST", raw, {"raw": answer}, expect=202)
    return {"support_mailbox": mailbox["id"], "support_address": address, "scanner_rule": rule_id}


def _duplicate(record: dict[str, Any], changes: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """A record entered again: some of its fields, some of them written differently."""
    return {name: record[name] for name in fields if record.get(name) is not None} | changes


def _load_duplicates(api: _Api, accounts: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    """Contacts and an account entered twice as people do (see DUPLICATE_CONTACTS), the first
    contact merged into its original at once (the survivor keeps its id and takes the landline the
    copy had; the copy's id answers 301), then a scan of each entity: once the scan function has
    run, `GET /duplicates?entity=contacts` lists the other two pairs, `?entity=accounts` the one.
    Before the webhook endpoint is made: the receiver stays quiet."""
    person = ("first_name", "last_name", "email", "mobile", "account_id", "owner")
    copies = [api.call("POST", "/contacts", _duplicate(contacts[i], c, person)) for i, c in DUPLICATE_CONTACTS]
    index, changes = DUPLICATE_ACCOUNT
    company = ("name", "business_id", "city", "country", "owner")
    account = api.call("POST", "/accounts", _duplicate(accounts[index], changes, company))
    survivor = contacts[DUPLICATE_CONTACTS[MERGED_DUPLICATE][0]]["id"]
    merged = copies[MERGED_DUPLICATE]["id"]
    body = {"entity": "contacts", "survivor_id": survivor, "merged_ids": [merged]}
    merge = api.call("POST", "/duplicates/merge", body, expect=200)
    scans = {
        entity: api.call("POST", "/duplicates/scans", {"entity": entity}, expect=202)["id"]
        for entity in ("contacts", "accounts")
    }
    return {
        "duplicate_scans": scans,
        "duplicate_contacts": [c["id"] for c in copies if c["id"] != merged],
        "duplicate_account": account["id"],
        "merge": {"id": merge["merge_id"], "survivor": survivor, "merged": merged, "fields": merge["fields"]},
    }


def next_steps(summary: dict[str, Any], api_url: str) -> list[str]:
    """What to try with the demo's duplicates, for the banner `kontakt dev` prints (none when the
    demo data was there already)."""
    if "merge" not in summary:
        return []
    merge, auth = summary["merge"], '-H "Authorization: Bearer $TOKEN"'
    example = {"entity": "contacts", "survivor_id": "<records[0]>", "merged_ids": ["<records[1]>"]}
    return [
        f'curl {auth} "{api_url}/duplicates?entity=contacts"   (the groups the demo\'s scan found; '
        "also ?entity=accounts; the console page's Duplicates panel)",
        f'curl -X POST {auth} -H "content-type: application/json" \\',
        f"     -d '{json.dumps(example)}' {api_url}/duplicates/merge   (merge a group)",
        f"curl -i {auth} {api_url}/contacts/{merge['merged']}   (merged by the demo: 301 to its survivor)",
    ]


def _load_webhooks(api: _Api, api_url: str) -> dict[str, Any]:
    """A webhook endpoint for contact and account events, at the receiver `kontakt dev` runs on its
    own gateway (infra/dev_webhooks.py: the console page's "Webhooks received"). Made last, so the
    demo data's own events are not all delivered at start: change a contact to see one arrive."""
    url = f"{api_url}/dev/webhooks/{WEBHOOK_NAME}"
    body = {"url": url, "description": "The dev receiver (kontakt dev)", "event_types": ["contact.*", "account.*"]}
    endpoint = api.call("POST", "/webhooks/endpoints", body)
    return {"webhook_endpoint": endpoint["id"], "webhook_receiver": url}


def _load_workflows(api: _Api, contact: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    """A workflow that welcomes a contact whose sales status becomes "won" (the welcome mail, a task
    for the contact's owner to call them, a call to the demo's webhook endpoint), and one contact won
    after it, so that its run (GET /workflows/{id}/runs), its mail (`.kontakt/mail/`), the task (the
    owner's to-do) and the call (the console's "Webhooks received") are there."""
    template = api.call(
        "POST",
        "/email/templates",
        {
            "name": "Welcome aboard",
            "subject": "Welcome aboard, {{ contact.first_name }}",
            "html": "<html><body><p>Hello {{ contact.first_name }}, thank you for choosing us.</p></body></html>",
            "text": "Hello {{ contact.first_name }}, thank you for choosing us.",
        },
    )
    workflow = api.call(
        "POST",
        "/workflows",
        {
            "name": "Welcome a won customer",
            "description": "When a contact's sales status becomes won, send the welcome mail, ask the owner "
            "to call them and tell the webhook receiver.",
            "status": "active",
            "trigger": {"entity": "contact", "on": "field_changed", "field": "sales_status", "to": "won"},
            "actions": [
                {"type": "send_email", "template_id": template["id"]},
                {"type": "create_task", "subject": "Call to welcome the new customer", "due_in_minutes": 24 * 60},
                {"type": "call_webhook", "endpoint_id": endpoint_id},
            ],
        },
    )
    api.call("PATCH", f"/contacts/{contact['id']}", {"sales_status": "won"}, expect=200)
    return {"workflow": workflow["id"], "workflow_contact": contact["id"]}


def _load_access(api: _Api) -> dict[str, Any]:
    """A read-only API key for an integration's first steps: `curl -H "Authorization: Bearer $KEY"
    $API/contacts` lists contacts, a POST is refused naming `contacts:write` (its secret is in the
    summary the log prints: the one time it is shown)."""
    body = {"name": "Demo integration (read-only)", "permissions": ["contacts:read", "accounts:read"]}
    key = api.call("POST", "/api-keys", body)
    return {"api_key": key["id"], "api_key_secret": key["secret"]}


def _months_ago(months: int) -> date:
    """The first day of the month `months` before this one."""
    today = date.today()
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _load_invoicing(api: _Api, runtime: Any, account: dict[str, Any]) -> dict[str, Any]:
    """Seller settings (issuing on a run), products, a monthly and a quarterly sales order for Acme Oy
    that started months ago, activated; then a billing run as of today bills their ended periods and
    issues the invoices, so the invoice views have numbered invoices, and (once the consumer has
    rendered them) their PDF and Finvoice links, at once."""
    api.call("PATCH", "/invoicing/settings", {"seller": SELLER, "issue_on_run": True}, expect=200)
    products = {
        code: api.call("POST", "/products", {"code": code, "name": name, "unit": unit, "unit_price": price})["id"]
        for code, name, unit, price in PRODUCTS
    }
    monthly = {
        "account_id": account["id"],
        "interval": "monthly",
        "start_date": _months_ago(MONTHLY_MONTHS_AGO).isoformat(),
        "lines": [
            {"product_id": products["crm-user"], "quantity": "5"},
            {"product_id": products["support"], "quantity": "1", "discount_percent": "10"},
        ],
        "notes": "Kontakt CRM, 5 users",
    }
    quarterly = {
        "account_id": account["id"],
        "interval": "quarterly",
        "start_date": _months_ago(QUARTERLY_MONTHS_AGO).isoformat(),
        "lines": [{"product_id": products["hosting"], "quantity": "1"}],
        "notes": "Hosting",
    }
    orders = []
    for body in (monthly, quarterly):
        order = api.call("POST", "/sales-orders", body)
        orders.append(api.call("POST", f"/sales-orders/{order['id']}/activate", expect=200)["id"])
    run = api.call("POST", "/invoicing/runs", {"as_of": date.today().isoformat()}, expect=202)
    runtime.drain()  # the jobs function bills the run; the consumer renders the PDF and Finvoice files
    invoices = api.call("GET", f"/invoices?account_id={account['id']}&limit=100", expect=200)["items"]
    return {
        "products": len(products),
        "sales_orders": orders,
        "invoicing_run": run["id"],
        "invoices": sorted(str(i["number"]) for i in invoices if i["number"]),
    }
