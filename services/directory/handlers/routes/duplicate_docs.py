"""What the directory's API documents for its duplicate routes (merged into `docs.DOCS`)."""

from shared.operation_docs import Doc, ServiceDocs, Tag

ADMIN = "Who: admins only (403 for managers and users)."
PAGE = "A page of at most `limit` items (default 50, at most 200); pass `next_cursor` back as `cursor`."
SEEN = (
    "Who: any user, each group as they may see it: only records they may read (the owners' rules of "
    "`GET /contacts`, `GET /accounts`), and only pairs of two such records; a group with fewer than two "
    "such records is not listed, and a hidden record never lends the group its fields or score."
)

DUPLICATE_DOCS = ServiceDocs(
    tags=(
        Tag(
            "duplicates",
            "Possible duplicate contacts and accounts: the tenant's matching rules, scans, groups found, dismissals.",
            ("/duplicates",),
        ),
    ),
    operations={
        "duplicates.scans.create": Doc(
            "Scan for duplicates",
            "Starts a scan of the tenant's `contacts` or `accounts` with the tenant's matching rules "
            "(candidate pairs from blocking keys: normalised email, phone, business id and name keys). "
            "Answers 202 with the scan, `queued`, and its `Location`; the scan function reads the records "
            "page by page (`records_read` grows), matches them and writes the groups; `state` becomes "
            "`completed` (or `failed` with `error`). Pairs dismissed before are not offered again. "
            "Publishes `duplicate_scan.requested`, then `duplicate_scan.completed` or `.failed`.\n\n"
            f"{ADMIN}",
            request={"entity": "contacts"},
        ),
        "duplicates.scans.get": Doc(
            "Get a duplicate scan",
            "Its `state` (`queued`, `running`, `completed`, `failed`), `records_read` so far, "
            f"`groups_found` once completed, and when it was requested, started and finished.\n\n{ADMIN}",
        ),
        "duplicates.list": Doc(
            "List possible duplicates",
            "The groups the latest completed scan of `entity` found, largest first: each with the ids of "
            "its `records`, the `fields` that matched and its `score` (the weakest pair's, 0-1). A group "
            "dismissed is not listed. Empty before a scan completes; a cursor is for one scan's list. "
            f"{PAGE}\n\n{SEEN}",
        ),
        "duplicates.merge": Doc(
            "Merge duplicates into one record",
            "Merges up to three `merged_ids` into `survivor_id`, which keeps its id and number. Each field "
            "takes the value of the record `fields` names for it; a field left out follows the tenant's "
            "`merge_values` (`PUT /duplicates/rules/{entity}`): by default the survivor's value, or when the "
            "survivor has none the newest merged record's that has one. The survivor is "
            "changed like a PATCH (`contact.updated` / `account.updated` with the changes), the merged "
            "records are removed, and `contact.merged` / `account.merged` tells every service to move its "
            "references (activities, call lists, contact orders, marketing, campaign and target-group "
            "memberships, mails and SMS with their opt-outs and suppressions, tickets, sales orders and "
            "invoices, workflow runs) to the survivor: an opt-out or suppression of any merged record "
            "holds for the survivor. A merged id answers 301 (GET, `Location` on the survivor) or 410 "
            "naming `survivor_id`. A merged account's contacts move to the survivor.\n\n"
            "Who: a user who may change every one of the records (403 otherwise); a record they may not "
            "see, or one merged already, is a 422 naming its field.",
            request={
                "entity": "contacts",
                "survivor_id": "01HZX3K8Q6W5V9T2R7N4M1P0AB",
                "merged_ids": ["01HZX3K8Q6W5V9T2R7N4M1P0CD"],
                "fields": {"email": "01HZX3K8Q6W5V9T2R7N4M1P0CD"},
            },
        ),
        "duplicates.dismiss": Doc(
            "Dismiss a group as not duplicates",
            'Every pair of the group\'s records you see is marked "not duplicates": the group leaves the '
            "list, and later scans never pair these records again (a dismissal is of pairs, not of the "
            "group's id, so it holds when the group's membership changes; a new record that matches "
            "them is offered). Repeating it changes nothing. Publishes `duplicate_group.dismissed`.\n\n"
            "Who: a user who may change every record of the group they see (403 otherwise); a group "
            "with fewer than two records you may read is a 404.",
        ),
    },
    # POST /duplicates/scans answers 202 (queued): by convention an action named `scans`
    operation_ids={"POST /duplicates/scans": "duplicates.scans.create"},
)
