"""Runs duplicate scans: the scans queue -> this function, one scan per message
(services/directory/duplicate_scans.py)."""

from services.directory.duplicate_scans import run_scan_message
from services.directory.settings import DirectorySettings
from shared.entry import bodies_entry

handler = bodies_entry(DirectorySettings, run_scan_message)
