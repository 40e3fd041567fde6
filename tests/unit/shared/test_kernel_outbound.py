"""The outbound address guard (shared/outbound.py): no tenant-chosen host reaches inside our network.

No DNS here: every name is answered by a resolver the test passes; sockets are disabled.
"""

from __future__ import annotations

import pytest

from shared import outbound
from shared.outbound import AllowList, OutboundRefused, Unresolved, destination, parse_literal

pytestmark = pytest.mark.disable_socket

NONE = AllowList()
METADATA = "169.254.169.254"


def _no_dns(host: str) -> list[str]:
    raise AssertionError(f"a literal was sent to DNS: {host}")


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        ("2852039166", METADATA),
        ("0xa9fea9fe", METADATA),
        ("0XA9FEA9FE", METADATA),
        ("169.254.43518", METADATA),
        ("169.16689662", METADATA),
        ("0251.0376.0251.0376", METADATA),
        ("0xa9.0xfe.0xa9.0xfe", METADATA),
        ("169.254.169.254.", METADATA),
        ("0", "0.0.0.0"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("::ffff:169.254.169.254", "::ffff:a9fe:a9fe"),
        ("[::1]", "::1"),
    ],
)
def test_every_spelling_of_an_address_is_read_as_the_resolver_would(host: str, meant: str) -> None:
    assert str(parse_literal(host)) == meant
    with pytest.raises(OutboundRefused):
        destination(host, 25, allow=NONE, resolver=_no_dns)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "169.254.169.254",  # instance metadata
        "169.254.170.2",  # ECS task metadata
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "::",
        "::1",
        "fd00::1",  # unique-local
        "fc00::1",
        "fec0::1",  # site-local
        "fe80::1",
        "ff02::1",  # multicast
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
        "::169.254.169.254",  # IPv4-compatible
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::1",  # local-use NAT64
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
        "2002:7f00:1::",  # 6to4 of loopback
        "2001::1",  # Teredo
        "2001:db8::1",
        "100::1",
        "fd00:ec2::254",  # the IPv6 metadata address
    ],
)
def test_addresses_inside_any_network_are_refused(address: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        destination(address, 587, allow=NONE, resolver=_no_dns)
    assert "not a public internet address" in str(refused.value) and refused.value.part == "host"


@pytest.mark.parametrize(
    ("host", "connect"),
    [
        ("8.8.8.8", "8.8.8.8"),
        ("134744072", "8.8.8.8"),
        ("::ffff:8.8.8.8", "8.8.8.8"),  # connected over IPv4
        ("2606:4700:4700::1111", "2606:4700:4700::1111"),
        ("2002:808:808::1", "2002:808:808::1"),  # 6to4 of a public address
    ],
)
def test_public_addresses_pass_and_are_what_the_caller_connects_to(host: str, connect: str) -> None:
    assert destination(host, 587, allow=NONE, resolver=_no_dns) == outbound.Destination(host, connect, 587)


def test_a_name_is_refused_when_any_of_its_addresses_is() -> None:
    answers = {"mail.acme.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "10.0.0.7"]}
    with pytest.raises(OutboundRefused) as refused:
        destination("mail.acme.example", 587, allow=NONE, resolver=answers.__getitem__)
    assert str(refused.value) == "mail.acme.example resolves to 10.0.0.7, not a public internet address"
    with pytest.raises(OutboundRefused):
        destination("rebind.example", 25, allow=NONE, resolver=lambda _: ["::ffff:169.254.169.254"])


def test_the_name_is_resolved_once_and_its_checked_address_returned() -> None:
    """DNS rebinding: a second answer is never asked for, the caller connects to the first one."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str) -> list[str]:
        asked.append(host)
        return next(answers)

    where = destination("Mail.Acme.Example", 465, allow=NONE, resolver=rebinding)
    assert where == outbound.Destination("Mail.Acme.Example", "93.184.215.14", 465) and asked == ["mail.acme.example"]


def test_a_name_without_addresses_is_unresolved() -> None:
    with pytest.raises(Unresolved):
        destination("gone.example", 25, allow=NONE, resolver=lambda _: [])


def test_only_the_ports_asked_for() -> None:
    assert destination("8.8.8.8", 2525, ports={25, 465, 587, 2525}, allow=NONE).port == 2525
    with pytest.raises(OutboundRefused) as refused:
        destination("8.8.8.8", 6379, ports={25, 465, 587, 2525}, allow=NONE)
    assert refused.value.part == "port" and "6379" in str(refused.value)


def test_the_allow_list_lets_a_self_hosted_stack_reach_its_own_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    allow = AllowList.parse(" 10.20.0.0/16, ::1/128 , relay.internal ,127.0.0.1")
    ports = {25}
    assert destination("10.20.3.4", 1025, ports=ports, allow=allow).address == "10.20.3.4"  # any port there
    assert destination("[::1]", 25, ports=ports, allow=allow).address == "::1"
    assert destination("::ffff:127.0.0.1", 25, allow=allow).address == "127.0.0.1"
    assert destination("relay.internal", 25, allow=allow, resolver=lambda _: ["172.16.9.9"]).address == "172.16.9.9"
    for refused in ("10.21.0.1", "127.0.0.2", "169.254.169.254"):
        with pytest.raises(OutboundRefused):
            destination(refused, 25, allow=allow)
    with pytest.raises(OutboundRefused):
        destination("other.internal", 25, allow=allow, resolver=lambda _: ["172.16.9.9"])

    monkeypatch.setenv(outbound.ALLOW_ENV, "192.168.0.0/16")  # the function's environment (template: OutboundAllow)
    assert destination("192.168.1.1", 25).address == "192.168.1.1"
    monkeypatch.setenv(outbound.ALLOW_ENV, "")
    with pytest.raises(OutboundRefused):
        destination("192.168.1.1", 25)
