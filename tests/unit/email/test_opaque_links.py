"""Opaque public links (issue 15 part 3): a link names its mail, signed for its tenant, and nothing
about its recipient; a link of the claims format (mail sent before) is honoured until its date."""

import uuid
from datetime import timedelta

import pytest

from services.email.domain.tokens import LEGACY_LINKS_UNTIL, BadToken, LinkRef, peek_kind, seal, unseal
from services.email.domain.tracking import legacy_tracking_token, read_token, tracking_token
from services.email.unsubscribe import legacy_unsubscribe_token, resolve, unsubscribe_token
from shared.ids import new_id
from tests.mail_wire import assert_opaque

KEY, OLD = b"current-link-key", b"previous-link-key"
TENANTS = [new_id(), str(uuid.uuid4()), "t" + uuid.uuid4().hex[:16]]  # a ULID, a UUID, the e2e tests' form


# fixed ids per form: pytest-xdist workers must collect the same test names
@pytest.mark.parametrize("tenant", TENANTS, ids=["ulid", "uuid", "short"])
@pytest.mark.parametrize("message_id", [new_id(), str(uuid.uuid4())], ids=["ulid", "uuid"])
def test_a_link_is_short_and_names_its_mail_and_no_one(tenant: str, message_id: str) -> None:
    for ref in (
        LinkRef("unsubscribe", tenant, message_id),
        LinkRef("open", tenant, message_id),
        LinkRef("click", tenant, message_id, 499),
    ):
        token = seal(ref, [KEY])
        assert_opaque(token, "anna.virtanen@example.com")
        assert len(token) <= 80 and token.isascii() and "." not in token
        assert unseal(token, [KEY]) == ref and peek_kind(token) == ref.kind


def test_the_claims_format_showed_the_address() -> None:
    """What opaque links replace: the address was one base64 decoding away (the check above sees it)."""
    with pytest.raises(AssertionError):
        assert_opaque(legacy_unsubscribe_token("t1", "anna.virtanen@example.com", "marketing", key=KEY), "anna@x.fi")


def test_any_altered_character_or_another_key_is_refused() -> None:
    token = unsubscribe_token(TENANTS[0], new_id(), keys=[KEY])
    for index in range(len(token)):
        altered = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        with pytest.raises(BadToken):
            unseal(altered, [KEY])
    for cut in (token[:-1], token[1:], token + "A", ""):
        with pytest.raises(BadToken):
            unseal(cut, [KEY])
    with pytest.raises(BadToken):
        unseal(token, [b"another key"])


def test_a_link_signed_for_one_tenant_does_not_name_another() -> None:
    message_id = new_id()
    mine = seal(LinkRef("unsubscribe", "t-a", message_id), [KEY])
    theirs = seal(LinkRef("unsubscribe", "t-b", message_id), [KEY])
    assert mine[-22:] != theirs[-22:]  # the MAC is the tenant's: each tenant has its own key
    with pytest.raises(BadToken):  # B's body with A's MAC
        unseal(theirs[:-22] + mine[-22:], [KEY])


def test_the_previous_key_still_verifies_during_the_overlap() -> None:
    token = tracking_token("t1", "m1", "click", 3, [OLD])
    assert read_token(token, [KEY, OLD]).link == 3  # signed before the rotation
    assert (
        read_token(tracking_token("t1", "m1", "open", None, [KEY, OLD]), [KEY]).kind == "open"
    )  # signs with the first
    with pytest.raises(BadToken):
        read_token(token, [KEY, b"the key after"])  # two rotations later: gone


def test_a_link_of_one_kind_is_not_a_link_of_another() -> None:
    with pytest.raises(BadToken):
        read_token(unsubscribe_token("t1", "m1", keys=[KEY]), [KEY])
    with pytest.raises(BadToken):  # refused before any read of a message
        resolve(tracking_token("t1", "m1", "open", None, [KEY]), keys=[KEY])


def test_legacy_links_are_honoured_until_their_removal_date() -> None:
    before, after = LEGACY_LINKS_UNTIL - timedelta(days=1), LEGACY_LINKS_UNTIL
    legacy = legacy_unsubscribe_token("t1", "a@b.fi", "marketing", key=OLD, expires=after + timedelta(days=9))
    assert resolve(legacy, now=before, legacy_key=OLD).address == "a@b.fi"
    with pytest.raises(BadToken):
        resolve(legacy, now=after, legacy_key=OLD)
    click = legacy_tracking_token("t1", "m1", "click", 0, OLD)
    assert read_token(click, [KEY], legacy_key=OLD, now=before).link == 0
    with pytest.raises(BadToken):
        read_token(click, [KEY], legacy_key=OLD, now=after)
