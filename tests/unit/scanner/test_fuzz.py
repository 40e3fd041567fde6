"""`parse` never raises, whatever happens to a real message on its way: corpus messages cut short,
with bytes flipped, with their MIME boundaries dropped or duplicated, with lines joined. Each
variant must still parse into a message that crosses the boundary as JSON."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scanner.domain.mime import parse

from .samples import corpus_files

SMALL = [p.read_bytes() for p in corpus_files() if p.stat().st_size < 64 * 1024]
BOUNDARY = re.compile(rb"^--[^\r\n]*", re.MULTILINE)


def truncate(raw: bytes, at: int) -> bytes:
    return raw[: at % (len(raw) + 1)]


def flip(raw: bytes, positions: list[int], values: list[int]) -> bytes:
    data = bytearray(raw)
    for position, value in zip(positions, values, strict=False):
        if data:
            data[position % len(data)] = value
    return bytes(data)


def drop_boundaries(raw: bytes, keep_every: int) -> bytes:
    lines = BOUNDARY.findall(raw)
    for n, line in enumerate(lines):
        if n % keep_every:
            raw = raw.replace(line + b"\n", b"", 1)
    return raw


def duplicate_boundary_params(raw: bytes) -> bytes:
    return raw.replace(b"boundary=", b'boundary="" boundary=', 1)


def join_lines(raw: bytes, every: int) -> bytes:
    lines = raw.split(b"\n")
    return b"\n".join(line if n % every else line + b" " for n, line in enumerate(lines)).replace(b" \n", b" ")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SMALL))
    kind = draw(st.sampled_from(["truncate", "flip", "boundaries", "params", "join", "all"]))
    if kind in ("truncate", "all"):
        raw = truncate(raw, draw(st.integers(min_value=0)))
    if kind in ("flip", "all"):
        positions = draw(st.lists(st.integers(min_value=0), min_size=1, max_size=20))
        values = draw(st.lists(st.sampled_from(b"\x00\n\r-=?\"';:<>\\\x1b\xff\xc3\x80 "), min_size=1, max_size=20))
        raw = flip(raw, positions, list(values))
    if kind in ("boundaries", "all"):
        raw = drop_boundaries(raw, draw(st.integers(min_value=1, max_value=4)))
    if kind == "params":
        raw = duplicate_boundary_params(raw)
    if kind == "join":
        raw = join_lines(raw, draw(st.integers(min_value=2, max_value=5)))
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_a_mutated_real_message_never_makes_parse_raise(raw: bytes) -> None:
    message = parse(raw)
    assert message.unparsable or message.size == len(raw)
    message.model_dump_json()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_make_parse_raise(raw: bytes) -> None:
    parse(raw).model_dump_json()


def test_the_mutations_change_the_messages() -> None:
    raw = next(r for r in SMALL if r.count(b"\n--") >= 3)
    assert drop_boundaries(raw, 2) != raw and truncate(raw, 10) == raw[:10]
    assert flip(raw, [0], [0]) != raw and join_lines(raw, 2) != raw
