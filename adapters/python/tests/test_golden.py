"""The spec's golden vectors, read from docs/wire-format.md, in both directions."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

import pytest
import spec
from helpers import byte_by_byte, decode, pieces

from sockframe import Flags, Header, Kind, crc32c, encode_frame

VECTORS = spec.vectors()
BY_NAME = {v.name: v for v in VECTORS}

# What the spec's prose says each vector holds: a check of the decoded values that does not
# come from the decoder itself. (The hex is read from the spec; only the meaning is here.)
EXPECTED: Dict[str, List[Tuple[Header, bytes]]] = {
    "minimal": [(Header.data(1, b"hi"), b"hi")],
    "empty-payload": [(Header(kind=Kind.PING, id=7), b"")],
    "name": [(Header.data(2, b"abc").with_name("a.txt"), b"abc")],
    "checksum": [(Header.data(3, b"123456789").with_crc_of(b"123456789"), b"123456789")],
    "metadata": [(Header.data(4, b"xyz").with_meta(("size", "3"), ("type", "text")), b"xyz")],
    "multi-byte-varints": [(Header(id=300, len=200), b"\xab" * 200)],
    "error-frame": [
        (
            Header(kind=Kind.ERROR, id=0, len=22, meta=(("code", "bad-magic"),)),
            b"not a sockframe stream",
        )
    ],
    "fragments": [
        (Header(id=9, len=6, flags=Flags.MORE), b"hello "),
        (Header(id=9, len=5), b"world"),
    ],
    "all-fields": [
        (
            Header(
                kind=64,
                id=5,
                len=4,
                flags=Flags.MORE,
                name="log",
                crc=0xAED87DD1,
                meta=(("k", "v"),),
            ),
            b"data",
        )
    ],
    "future-fields": [(Header.data(1, b"hi"), b"hi")],
}


def decode_only(v: spec.Vector) -> bool:
    return "decode only" in v.heading.lower()


def test_the_spec_has_the_vectors_this_file_knows() -> None:
    assert set(EXPECTED) <= set(BY_NAME), f"missing: {set(EXPECTED) - set(BY_NAME)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_decodes_to_what_the_spec_says(name: str) -> None:
    out = decode([BY_NAME[name].data])
    assert out.error is None, out.error
    assert out.messages == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not decode_only(BY_NAME[n])))
def test_encodes_byte_exact(name: str) -> None:
    wire = b"".join(encode_frame(h, p) for h, p in EXPECTED[name])
    assert wire.hex(" ") == BY_NAME[name].data.hex(" ")


def heads(wire: bytes, payloads: List[bytes]) -> List[int]:
    """Prefix plus header length of each frame in ``wire``, from its prefix."""
    out, at = [], 0
    for payload in payloads:
        head = 5 + int.from_bytes(wire[at + 3 : at + 5], "little")
        out.append(head)
        at += head + len(payload)
    return out


@pytest.mark.parametrize("v", VECTORS, ids=[v.name for v in VECTORS])
def test_every_vector_decodes_the_same_however_it_arrives(v: spec.Vector) -> None:
    whole = decode([v.data])
    assert whole.error is None, f"{v.name}: {whole.error}"
    assert whole.messages, f"{v.name}: no frame"
    assert decode(byte_by_byte(v.data)).messages == whole.messages
    assert decode(pieces(v.data, range(3, len(v.data), 7))).messages == whole.messages
    # A buffer too small for the payloads: the same messages, streamed.
    head = max(heads(v.data, [p for _, p in whole.messages]))
    small = decode(byte_by_byte(v.data), capacity=head)
    assert small.messages == whole.messages
    assert small.streamed == [len(p) > 0 for _, p in whole.messages]


@pytest.mark.parametrize("v", VECTORS, ids=[v.name for v in VECTORS])
def test_every_vector_reencodes_byte_exact_unless_decode_only(v: spec.Vector) -> None:
    messages = decode([v.data]).messages
    for header, payload in messages:
        if header.crc is not None:
            assert header.crc == crc32c(payload)
    if decode_only(v):
        pytest.skip(f"{v.name} is decode-only in the spec ({v.heading})")
    assert b"".join(encode_frame(h, p) for h, p in messages) == v.data


# Section 8.11: streams a receiver must reject, with the byte the error comes at.
REJECT_ROW = re.compile(
    r"^\|[^|]*\|\s*`([0-9a-fA-F ]+)[^`]*`[^|]*\|\s*`([a-z-]+)` after (\d+) byte", re.M
)


def rejections() -> List[Tuple[bytes, str, int]]:
    rows = [(bytes.fromhex(h), code, int(n)) for h, code, n in REJECT_ROW.findall(spec.text())]
    assert len(rows) >= 5, "the spec's table of streams to reject is missing"
    return rows


@pytest.mark.parametrize("first, code, after", rejections())
def test_rejects_confused_peers_at_the_byte_the_spec_says(
    first: bytes, code: str, after: int
) -> None:
    out = decode(byte_by_byte(first))
    assert out.error is not None and out.error.code == code
    assert out.error_after == after
