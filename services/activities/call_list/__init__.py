"""The call list [000]: a projection of the directory's accounts and contacts with their latest event.

One feature in five modules, each with one job; the rules they apply are pure, in
`services/activities/domain/call_list.py`, the routes in `handlers/routes/call_list.py`:

- `rows.py`: the stored rows and their index keys (the only module that writes a row's keys);
- `index.py`: the rows kept from the directory's events (accounts, contacts, classes, target groups);
- `latest.py`: each row's latest event, kept by hooks on activity changes;
- `listing.py`: one page of the list for one caller (the query);
- `calls.py`: logging a call from the list.

Records (kinds of the activities table):
- `cl_account` / `cl_contact`, one per account / contact: `record` (the directory's fields the
  filters, conditions and the list read) and its `record_version`; a contact row also carries
  its account's fields (`account`, `account_version`), and every row its `latest` event. A row
  the directory has not announced yet (an event was logged first) holds only `latest`; a
  deleted or erased one is a tombstone (`gone`) that later events of that record cannot revive.
- `cl_classes`, one per tenant: class id -> classification type id (from `class.created`).
- `cl_group`, one per target group: its name, conditions and match (from `target_group.*`, the
  kernel's projection `shared/target_groups.py` with this kind).

Index keys of a row (see `store.py`):
- `by_rank` gsi6: `T#<t>#CALL_LIST#ACCOUNT|CONTACT` / `<latest start>#<id>`;
- `by_rank_alt` gsi7: same partition / `<latest type>#<latest start>#<id>`;
- `by_account` gsi3 (contact rows): `T#<t>#ACCOUNT#<account>#CL_CONTACT` / `<id>`, to carry an
  account's change to its contacts.
Only rows that can be listed have rank keys (announced, not gone; contacts active), so passive
contacts cost no reads. A page is one Query on one of the rank indexes, read in key order and
filtered in memory: its cost is the rows read, not the size of the tenant. At most `MAX_READ`
rows are read per request; a page may then hold fewer rows than asked, with a cursor to go on.

Directory events are applied with absolute, version-guarded writes (a record's `version`; the
event time for classes and target groups), so a redelivered or late event changes nothing. They
commit in their own retried transactions (an account's change reaches its contacts in batches
of at most 99); the consumer's dedupe marker is only a shortcut.

The latest event is kept by an `activities.on_change` hook in the transaction of the activity's
change: an event (kind "event") linked to an account/contact that starts later than the row's
latest becomes it; when the latest moves earlier, is unlinked or deleted, the newest other
event is read from the `by_account` / `by_contact` index.

Known limit: a contact row written while its account changes may keep the account's older
fields if DynamoDB's index had not yet shown the new contact row to the account's update (index
replication lag, typically well under a second) until either changes again.
"""
