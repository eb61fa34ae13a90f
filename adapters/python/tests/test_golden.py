"""The spec's golden vectors, read from docs/wire-format.md, in both directions."""

from __future__ import annotations

from typing import Dict, List, Tuple

import pytest
import spec
from helpers import byte_by_byte, decode, pieces

from sockframe import (
    Flags,
    Header,
    Kind,
    crc32c,
    encode_abort,
    encode_end,
    encode_frame,
    encode_head,
)

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
    "trailer-end": [(Header(id=6, len=3, flags=Flags.TRAILER), b"abc")],
    "trailer-abort": [],  # aborted: nothing is delivered (checked below)
    "abort-fragments": [(Header(id=9, len=6, flags=Flags.MORE), b"hello ")],
    "limits-request": [(Header(kind=Kind.PING, id=8, meta=(("limits", ""),)), b"")],
    "limits-reply": [
        (
            Header(
                kind=Kind.PONG,
                id=8,
                meta=(
                    ("max-header", "512"),
                    ("max-payload", "67108864"),
                    ("max-meta", "8"),
                    ("trailer", "1"),
                ),
            ),
            b"",
        )
    ],
    "error-numbers": [
        (
            Header(
                kind=Kind.ERROR,
                len=31,
                meta=(("code", "header-too-large"), ("size", "9000"), ("limit", "512")),
            ),
            b"header is 9000 bytes, limit 512",
        )
    ],
    "forward-ping": [(Header(kind=Kind.PING, id=7, len=2, flags=0x80), b"hi")],
    "header-check": [(Header(id=1, len=2, flags=Flags.HCHECK, crc=0xF59DD9C2), b"hi")],
}

# The aborts the vectors hold: (frame header, payload received with filler, code).
ABORTED = {
    "trailer-abort": [(Header(id=6, len=5, flags=Flags.TRAILER), b"ab\0\0\0", "truncated")],
    "abort-fragments": [(Header(id=9, len=0, flags=Flags.MORE | Flags.TRAILER), b"", "cancelled")],
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
    assert out.aborted == ABORTED.get(name, [])


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not decode_only(BY_NAME[n])))
def test_encodes_byte_exact(name: str) -> None:
    wire = b"".join(encode_frame(h, p) for h, p in EXPECTED[name])
    if name == "trailer-end":
        wire += encode_end(6)
    if name == "trailer-abort":
        meta = [("stage", "payload"), ("have", "2"), ("need", "5")]
        wire = encode_head(Header(id=6, flags=Flags.TRAILER), 5) + b"ab" + bytes(3)
        wire += encode_abort(6, "truncated", "stream ended mid-payload: got 2 of 5 bytes", meta)
    if name == "abort-fragments":
        wire += encode_head(Header(id=9, flags=Flags.MORE | Flags.TRAILER), 0)
        wire += encode_abort(9, "cancelled", "cancelled by the sender")
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
    assert whole.frames, f"{v.name}: no frame"
    for other in (decode(byte_by_byte(v.data)), decode(pieces(v.data, range(3, len(v.data), 7)))):
        assert (other.messages, other.frames) == (whole.messages, whole.frames)
    # A buffer as small as the largest head: the same frames, most of them streamed.
    head = max(heads(v.data, [p for _, p in whole.frames]))
    small = decode(byte_by_byte(v.data), capacity=head)
    assert (small.messages, small.frames) == (whole.messages, whole.frames)


@pytest.mark.parametrize("v", VECTORS, ids=[v.name for v in VECTORS])
def test_every_vector_reencodes_byte_exact_unless_decode_only(v: spec.Vector) -> None:
    out = decode([v.data])
    for header, payload in out.messages:
        if header.crc is not None:
            assert header.crc == crc32c(payload)
    if decode_only(v):
        pytest.skip(f"{v.name} is decode-only in the spec ({v.heading})")
    assert b"".join(encode_frame(h, p) for h, p in out.frames) == v.data


CASES = spec.cases()


def test_the_spec_has_conformance_cases_for_every_error_code() -> None:
    codes = {c.error for c in CASES}
    assert {
        "bad-magic",
        "bad-version",
        "header-too-large",
        "payload-too-large",
        "bad-header",
        "too-much-metadata",
        "bad-trailer",
        "bad-checksum",
        "truncated",
    } <= codes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case_through_the_decoder(case: spec.Case) -> None:
    """The error, its byte, its numbers and its message, byte by byte as in the spec."""
    out = decode(byte_by_byte(case.send))
    if case.error is None:
        assert out.error is None, out.error
        return
    assert out.error is not None, f"{case.name}: no error"
    assert out.error.code == case.error
    # `error_after` counts the bytes fed when the error came; at the end of the stream
    # that is all of them.
    assert out.error_after == (case.error_at if case.error_at is not None else len(case.send))
    assert out.error.numbers() == case.meta
    assert str(out.error) == case.message
