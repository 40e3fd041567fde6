"""The outbound address guard: where a tenant-chosen host (an SMTP server, a webhook) may be reached.

A tenant names a host; the functions run inside our network. `destination(host, port)` resolves
the name once (or reads a literal in any spelling the resolver would accept: `2852039166`,
`0xa9fea9fe`, `169.254.43518`, `0251.0376.0251.0376`, `0`, `::ffff:169.254.169.254`, `[::1]`),
refuses it when ANY of its addresses is not a public unicast one (loopback, RFC 1918, link-local
and the metadata service, CGNAT, multicast, unspecified, reserved and documentation ranges,
unique-local and site-local IPv6, and the IPv4-mapped/-compatible, 6to4 and NAT64 forms of those),
and returns the address it checked. The caller connects to that address, never to the name
again, so a second DNS answer (rebinding) cannot reach anything the first was not checked for;
it keeps the name for TLS (SNI and the certificate's host name).

Self-hosted setups reach their own networks through an allow-list: `OUTBOUND_ALLOW` (template
parameter `OutboundAllow`), comma-separated CIDRs and host names. An allowed address (or a listed
name's addresses) passes whatever its range and port. `kontakt dev` allows loopback this way
(infra/template.py LOCAL_PARAMETERS), not by a branch in the code.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]

ALLOW_ENV = "OUTBOUND_ALLOW"

# Not reachable from the internet, or not unicast (IANA special-purpose registries, RFC 6890).
_REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0 and 0.0.0.0
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local: the instance metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relays
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID ...)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique-local
        "fec0::/10",  # site-local
        "fe80::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


class OutboundRefused(ValueError):
    """The host may not be reached from here: the message says why, fit for the tenant; `part`: host or port."""

    def __init__(self, message: str, part: str = "host") -> None:
        super().__init__(message)
        self.part = part


class Unresolved(OSError):
    """The name has no address now (a temporary DNS failure, or no such name)."""


@dataclass(frozen=True)
class Destination:
    host: str  # the name as the tenant gave it: TLS verifies the server's certificate against it
    address: str  # the checked address: connect to this one
    port: int


def parse_literal(host: str) -> Address | None:
    """The address a literal host names, in every spelling inet_aton(3) and inet_pton(3) accept; None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    return _inet_aton(text.rstrip(".") if text.count(".") == 4 else text)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """a, a.b, a.b.c and a.b.c.d, each part decimal, 0x hex or 0 octal; the last part fills the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
            values.append(int(part[2:] or "0", 16))
        elif re.fullmatch(r"0[0-7]*", part):
            values.append(int(part, 8))
        elif re.fullmatch(r"[1-9][0-9]*", part):
            values.append(int(part))
        else:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped, IPv4-compatible, NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _COMPATIBLE or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def refused(address: Address) -> bool:
    """Whether an address is not a public unicast one (an IPv6 form of an IPv4 address: that one's answer)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_v4(address)
        if inner is not None:
            return refused(inner)
        if address not in _GLOBAL_UNICAST_V6 or any(address in n for n in _REFUSED_V6):
            return True
    elif any(address in n for n in _REFUSED_V4):
        return True
    return not address.is_global or address.is_multicast  # the standard library's view, as a second opinion


def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for the name (A and AAAA)."""
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"{host} does not resolve: {exc}") from exc
    return [str(info[4][0]) for info in found]


# Tests replace this (monkeypatch) so no test ever asks real DNS.
resolve: Resolver = system_resolver


@dataclass(frozen=True)
class AllowList:
    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """`10.0.0.0/8, 127.0.0.1, ::1/128, mail.internal`: CIDRs or addresses, and host names."""
        networks: list[Network] = []
        names: set[str] = set()
        for entry in (e.strip().lower() for e in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(tuple(networks), frozenset(names))

    @classmethod
    def from_environment(cls) -> AllowList:
        return cls.parse(os.environ.get(ALLOW_ENV, ""))

    def allows(self, host: str, address: Address) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        candidates: list[Address] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a.version == n.version and a in n for a in candidates for n in self.networks)


def destination(
    host: str,
    port: int,
    *,
    ports: Collection[int] | None = None,
    allow: AllowList | None = None,
    resolver: Resolver | None = None,
) -> Destination:
    """The checked address to connect to for host:port.

    Raises OutboundRefused when the port is not one of `ports` or any address of the name is refused
    (an allow-listed address passes both), Unresolved when the name has no address now.
    """
    allow = AllowList.from_environment() if allow is None else allow
    name = host.strip().lower()
    literal = parse_literal(name)
    addresses: list[Address]
    if literal is not None:
        addresses = [literal]
    else:
        found = (resolver or resolve)(name)
        addresses = _unique(ipaddress.ip_address(a.split("%", 1)[0]) for a in found)
        if not addresses:
            raise Unresolved(f"{host} has no address")
    allowed = [allow.allows(name, a) for a in addresses]
    for address, ok in zip(addresses, allowed, strict=True):
        if not ok and refused(address):
            if literal is None:
                raise OutboundRefused(f"{host} resolves to {address}, not a public internet address")
            spelled = "" if str(address) == name.strip("[]") else f"{host} is {address}, "
            raise OutboundRefused(f"{spelled or f'{address} is '}not a public internet address")
    if ports is not None and port not in ports and not all(allowed):
        listed = ", ".join(map(str, sorted(ports)))
        raise OutboundRefused(f"port {port} is not allowed here: use one of {listed}", "port")
    chosen = addresses[0]
    if isinstance(chosen, ipaddress.IPv6Address) and chosen.ipv4_mapped is not None:
        chosen = chosen.ipv4_mapped  # connect over IPv4: the socket needs no dual stack
    return Destination(host=host.strip(), address=str(chosen), port=port)


def _unique(addresses: Iterable[Address]) -> list[Address]:
    seen: list[Address] = []
    for address in addresses:
        if address not in seen:
            seen.append(address)
    return seen
