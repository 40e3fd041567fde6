"""The subject of a reply and of a change notification (services/scanner/replies.py, notifications.py):
one line the email contract takes, always with the ticket's tag (an answer threads by it)."""

from __future__ import annotations

import pytest

from services.scanner.notifications import fill
from services.scanner.replies import reply_subject
from shared.contracts.messaging import EmailSendRequested
from shared.types import MAIL_SUBJECT_MAX

pytestmark = pytest.mark.disable_socket


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Tulostin ei toimi", "Re: Tulostin ei toimi [#TCK-5]"),
        ("RE: Tulostin [#TCK-5]", "RE: Tulostin [#TCK-5]"),
        ("Lasku\n  77", "Re: Lasku 77 [#TCK-5]"),
        ("", "Re: [#TCK-5]"),
    ],
)
def test_a_reply_answers_the_tickets_subject_with_its_tag(subject: str, expected: str) -> None:
    assert reply_subject({"subject": subject, "number": 5}) == expected


@pytest.mark.parametrize("subject", ["x" * 600, "Re: " + "y" * 498, "z" * 495 + " [#TCK-5]"])
def test_a_long_subject_is_cut_the_tag_kept_and_the_contract_takes_it(subject: str) -> None:
    found = reply_subject({"subject": subject, "number": 5})
    assert len(found) <= MAIL_SUBJECT_MAX and found.endswith("[#TCK-5]")
    EmailSendRequested(request_id="r", requester="scanner", to="a@example.fi", subject=found)


def test_a_template_fills_only_its_own_fields() -> None:
    values = {"number": "7", "subject": "Lasku", "status": "solved", "comment": ""}
    assert fill("{number} {status} {subject.__class__} {other}", values) == "7 solved {subject.__class__} {other}"
