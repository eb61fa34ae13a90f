"""The Python decoder against the Rust core's, on the same bytes cut the same way.

``SOCKFRAME_DECODE_BIN`` names ``decode_events`` (tests/src/bin/decode_events.rs, built by
`cargo xtask python`): the core's decoder as a filter. 10,000 random streams of valid frames
(some with END or ABORT trailers),
cut anywhere and fed through buffers of random sizes, must give the same events; and 3,000
damaged ones (bytes overwritten, the stream cut short) the same events and the same error,
with the same numbers.
"""

from __future__ import annotations

import random
import struct
import subprocess
from typing import List, Optional, Tuple

from helpers import pieces
from test_interop import live

from sockframe import (
    Abort,
    Chunk,
    DecodeError,
    Decoder,
    End,
    Frame,
    Header,
    Start,
    encode_abort,
    encode_end,
    encode_frame,
)

Case = Tuple[int, List[bytes]]  # buffer capacity, the pieces of the stream


def text_hex(s: Optional[str], tag: str = "") -> str:
    return "-" if s is None else tag + (s.encode().hex() or "-")


def describe(h: Header) -> str:
    meta = ",".join(f"{k.encode().hex() or '-'}={v.encode().hex() or '-'}" for k, v in h.meta)
    crc = "-" if h.crc is None else str(h.crc)
    return f"{h.kind} {h.id} {h.len} {h.flags} {text_hex(h.name, 'n')} {crc} {meta or '-'}"


def python_lines(capacity: int, chunks: List[bytes]) -> List[str]:
    """The Python decoder's events in decode_events' line format."""
    dec = Decoder(capacity)
    out: List[str] = []
    try:
        for chunk in chunks:
            dec.feed(chunk)
            for e in dec.events():
                if isinstance(e, Frame):
                    out.append(f"F {describe(e.header)} {e.payload.hex() or '-'}")
                elif isinstance(e, Start):
                    out.append(f"S {describe(e.header)}")
                elif isinstance(e, Chunk):
                    out.append(f"C {e.data.hex()}")
                elif isinstance(e, End):
                    out.append("E")
                elif isinstance(e, Abort):
                    out.append(f"A {describe(e.header)} {e.message.hex() or '-'}")
        dec.finish()
        out.append("OK")
    except DecodeError as e:
        out.append(f"X {e.code} {e}")
    return merge_chunks(out)


def merge_chunks(lines: List[str]) -> List[str]:
    """Consecutive chunks as one: where a payload is cut depends on the buffer's layout."""
    out: List[str] = []
    for line in lines:
        if line.startswith("C ") and out and out[-1].startswith("C "):
            out[-1] += line[2:]
        else:
            out.append(line)
    return out


def rust_lines(cases: List[Case]) -> List[List[str]]:
    data = bytearray()
    for capacity, chunks in cases:
        data += struct.pack("<II", capacity, len(chunks))
        for c in chunks:
            data += struct.pack("<I", len(c)) + c
    out = subprocess.run(
        [live("SOCKFRAME_DECODE_BIN")],
        input=bytes(data),
        capture_output=True,
        timeout=300,
        check=True,
    ).stdout.decode()
    per_case = out.split("\n.\n")
    assert per_case[-1] == "", per_case[-1][:200]
    return [merge_chunks(c.split("\n")) for c in per_case[:-1]]


def random_header(rng: random.Random, payload: bytes) -> Header:
    def text(n: int) -> str:
        return "".join(rng.choice("ab\u00e9\u4e2d\U0001f600 =,") for _ in range(rng.randint(0, n)))

    h = Header(
        kind=rng.choice(
            [0, 1, 2, 3, 64, 200, 255]
        ),  # no END/ABORT: trailers are not in the core yet
        id=rng.choice([0, 1, 127, 128, 300, 2**32 - 1, rng.randint(0, 2**32 - 1)]),
        len=len(payload),
        flags=rng.randint(0, 255) & ~0x02,  # nor the TRAILER flag
        name=text(12) if rng.random() < 0.3 else None,
        meta=tuple((text(6), text(6)) for _ in range(rng.choice([0, 0, 1, 3, 8]))),
    )
    return h.with_crc_of(payload) if rng.random() < 0.3 else h


def random_case(rng: random.Random) -> Case:
    frames = []
    for _ in range(rng.randint(1, 5)):
        payload = rng.randbytes(rng.choice([0, 1, 10, 100, 600, 3000]))
        header = random_header(rng, payload)
        ending = rng.choice([None, None, "end", "abort"])
        if ending is not None:
            header = header.with_trailer()
        frames.append(encode_frame(header, payload))
        if ending == "end":
            frames.append(encode_end(header.id))
        elif ending == "abort":
            frames.append(encode_abort(header.id, "cancelled", "given up", [("at", "1")]))
    wire = b"".join(frames)
    room = 5 + 512  # every header fits: the buffer's size then decides whole or streamed
    capacity = rng.choice([room, room + 100, 1024, 4096, 70_000])
    cuts = [rng.randint(0, len(wire)) for _ in range(rng.randint(0, 20))]
    return capacity, pieces(wire, cuts)


def test_python_and_rust_decoders_agree_on_10000_split_and_merged_streams() -> None:
    rng = random.Random(14)
    cases = [random_case(rng) for _ in range(10_000)]
    rust = rust_lines(cases)
    assert len(rust) == len(cases)
    for i, ((capacity, chunks), expected) in enumerate(zip(cases, rust)):
        assert python_lines(capacity, chunks) == expected, f"case {i} (capacity {capacity})"
        assert expected[-1] == "OK"


def damaged_case(rng: random.Random) -> Case:
    capacity, chunks = random_case(rng)
    wire = bytearray(b"".join(chunks))
    for _ in range(rng.randint(1, 3)):
        wire[rng.randrange(len(wire))] = rng.randrange(256)
    if rng.random() < 0.5:
        wire = wire[: rng.randint(0, len(wire))]
    cuts = [rng.randint(0, len(wire)) for _ in range(rng.randint(0, 10))]
    return capacity, pieces(bytes(wire), cuts)


def test_python_and_rust_decoders_agree_on_3000_damaged_streams() -> None:
    rng = random.Random(7)
    cases = [damaged_case(rng) for _ in range(3000)]
    rust = rust_lines(cases)
    assert len(rust) == len(cases)
    failed = 0
    for i, ((capacity, chunks), expected) in enumerate(zip(cases, rust)):
        assert python_lines(capacity, chunks) == expected, f"case {i} (capacity {capacity})"
        failed += expected[-1].startswith("X ")
    assert failed > 1000  # the damage is real: most streams end with an error
