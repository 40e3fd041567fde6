"""The e2e runtime's DNS (infra/local_dns.py): the only names its functions resolve; any other does
not resolve, and no test asks real DNS.

`PUBLIC` is a public internet address that no test connects to (the tests deliver to loopback
only). `REFUSED` names one address of each range the outbound guard refuses (shared/outbound.py,
issue 20 item 7), by the name that resolves to it.
"""

PUBLIC = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

REFUSED = {
    "loopback.ssrf.test": ["127.0.0.2"],  # 127.0.0.1 and ::1 are allowed locally (OutboundAllow)
    "private10.ssrf.test": ["10.0.0.1"],
    "private172.ssrf.test": ["172.16.5.4"],
    "private192.ssrf.test": ["192.168.1.1"],
    "metadata.ssrf.test": ["169.254.169.254"],
    "linklocal.ssrf.test": ["169.254.10.20"],
    "metadata6.ssrf.test": ["fd00:ec2::254"],
    "linklocal6.ssrf.test": ["fe80::1"],
    "cgnat.ssrf.test": ["100.64.0.1"],
    "multicast.ssrf.test": ["224.0.0.251"],
    "multicast6.ssrf.test": ["ff02::1"],
    "unspecified.ssrf.test": ["0.0.0.0"],
    "unspecified6.ssrf.test": ["::"],
    "mapped.ssrf.test": ["::ffff:169.254.169.254"],
    "mapped-private.ssrf.test": ["::ffff:10.0.0.1"],
    "unique-local.ssrf.test": ["fc00::1"],
    "mixed.ssrf.test": [PUBLIC, "10.1.2.3"],  # any refused address refuses the name
}

HOSTS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC],
    "sweep.example.com": [PUBLIC],
    "dual.example.com": [PUBLIC, PUBLIC_V6],
    "own-loopback.example.com": ["127.0.0.1"],  # allowed locally, as its address is
    **REFUSED,
}
