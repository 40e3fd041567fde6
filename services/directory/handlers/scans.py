"""Runs the directory's duplicate jobs: the scans queue -> this function, one job per message: a
duplicate scan (services/directory/duplicate_scans.py) or some pages of a re-key of phone keys
after a change of the rules' default country (services/directory/duplicate_rekeys.py)."""

from typing import Any

from services.directory.duplicate_scans import SCAN_JOB, run_scan_message
from services.directory.settings import DirectorySettings
from shared.entry import bodies_entry


def run_job(message: dict[str, Any]) -> None:
    if message.get("job") == SCAN_JOB:
        run_scan_message(message)
        return
    # here: a re-key follows a rare change of the rules' country; a scan's cold start does not load it
    from services.directory.duplicate_rekeys import REKEY_JOB, run_rekey_message

    if message.get("job") != REKEY_JOB:
        raise ValueError(f"unknown job {message.get('job')}")
    run_rekey_message(message)


handler = bodies_entry(DirectorySettings, run_job)
