"""The directory functions' settings, read once at cold start."""

from shared.settings import TableSettings


class DirectorySettings(TableSettings):
    imports_bucket: str = ""
    scans_queue_url: str = ""  # the duplicate scans' queue (services/directory/duplicate_scans.py)
    scan_page_records: int = 1000  # records read per page of a scan (its progress is updated after each)
    scan_groups_per_transaction: int = 90  # groups written per transaction, with the scan's update
    rekey_pages_per_message: int = 20  # pages a duplicate re-key does before queuing its continuation
