#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/{decoder,header,smoltcp_echo,desktop_conn}/.

The frames follow docs/wire-format.md (prefix F5 46 01 + u16 LE header length, postcard
header, payload); each decoder seed starts with the 7 configuration bytes the `decoder`
target reads (buffer size, limits, four read sizes: see fuzz_targets/decoder.rs); each
smoltcp_echo seed starts with the 4 write-size bytes that target reads; each desktop_conn
seed is the smoltcp_echo seed of the same name with one option byte after the write sizes
(server receive buffer and pipe capacity: see fuzz_targets/desktop_conn.rs).
Run from anywhere: python3 fuzz/seeds/gen.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pstr(s: str) -> bytes:
    b = s.encode()
    return varint(len(b)) + b


def header(kind=0, id=0, length=0, flags=0, name=None, crc=None, meta=()):
    h = bytes([kind]) + varint(id) + varint(length) + bytes([flags])
    h += b"\x00" if name is None else b"\x01" + pstr(name)
    h += b"\x00" if crc is None else b"\x01" + varint(crc)
    h += varint(len(meta))
    for k, v in meta:
        h += pstr(k) + pstr(v)
    return h


def frame(payload: bytes, **kw) -> bytes:
    h = header(length=len(payload), **kw)
    return b"\xf5\x46\x01" + struct.pack("<H", len(h)) + h + payload


def config(cap: int, reads=(255, 255, 255, 255), limits: int = 0) -> bytes:
    """cap = buffer size (5..=2052); reads = bytes per read (1..=256); limits byte."""
    assert 5 <= cap <= 2052
    return struct.pack("<H", cap - 5) + bytes([limits]) + bytes(r - 1 for r in reads)


def writes(*sizes: int) -> bytes:
    """The smoltcp_echo target's 4 write sizes: 1..=128 bytes, or a multiple of 64 up to 8192."""
    out = bytearray()
    for n in sizes:
        if 1 <= n <= 128:
            out.append(n - 1)
        else:
            assert n % 64 == 0 and 64 <= n <= 8192
            out.append(127 + n // 64)
    return bytes(out)


def write(target: str, name: str, data: bytes) -> None:
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def main() -> None:
    hello = b"hello, sockframe"
    rich = dict(
        name="report.txt",
        crc=crc32c(hello),
        meta=[("type", "text/plain"), ("enc", "utf-8"), ("code", "ok")],
    )
    big = bytes((i * 31 + 7) & 0xFF for i in range(3000))

    dec = {
        # Header::data(1, b"hi") in a 256-byte buffer, one read.
        "minimal": config(256) + frame(b"hi", id=1),
        # Name, CRC-32C and three metadata entries, delivered whole.
        "name_crc_meta": config(512) + frame(hello, id=7, **rich),
        # 3000-byte payload with CRC through a 64-byte buffer: Start, Chunks, End;
        # uneven reads of 3, 17, 64 and 200 bytes.
        "streamed_large": config(64, (3, 17, 64, 200))
        + frame(big, id=9, name="big.bin", crc=crc32c(big)),
        # Three frames back to back (PING, PONG, DATA with MORE), one byte per read.
        "three_frames_bytewise": config(128, (1, 1, 1, 1))
        + frame(b"", kind=2, id=3)
        + frame(b"", kind=3, id=3)
        + frame(b"part", id=4, flags=1),
        # A valid frame cut inside its payload: finish() reports UnexpectedEof.
        "truncated": config(256) + frame(hello, id=2, **rich)[:-5],
        # Not sockframe at all: rejected on the first byte (BadMagic).
        "wrong_magic": config(256) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        # Right magic, version 2: UnsupportedVersion.
        "bad_version": config(256) + b"\xf5\x46\x02" + frame(b"x")[3:],
        # The CRC does not match the payload: BadChecksum.
        "bad_crc": config(256) + frame(hello, id=5, crc=crc32c(hello) ^ 1),
        # Small limits (max_header 8, max_payload 128): a 300-byte payload is refused.
        "over_limit": config(512, limits=0x82) + frame(bytes(300), id=6),
    }
    hdr = {
        "minimal": header(id=1, length=2),
        "name_crc_meta": header(id=7, length=len(hello), **rich),
        "ping_more": header(kind=2, id=0xFFFFFFFF, length=0, flags=1),
        "large_len": header(id=300, length=(64 << 20) + 1, name="big.bin"),
        # Unknown trailing bytes after meta: a later version's fields, ignored.
        "future_fields": header(id=1, length=5) + b"\x2a\x01\x02",
        "max_meta": header(meta=[(f"k{i}", f"v{i}") for i in range(8)]),
    }
    # A deterministic pseudo-random stream (xorshift32), so the garbage seed never changes.
    x = 2463534242
    noise = bytearray()
    for _ in range(600):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        noise.append(x & 0xFF)
    good = frame(b"hello", id=5)
    echo = {
        # Valid: DATA, rich header, PING, PONG, MORE fragment; everything in one write.
        "mixed_valid": writes(8192, 8192, 8192, 8192)
        + frame(b"hi", id=1)
        + frame(hello, id=7, **rich)
        + frame(b"", kind=2, id=3)
        + frame(b"ping payload", kind=2, id=4)
        + frame(b"", kind=3, id=3)
        + frame(b"part", id=4, flags=1),
        # Valid: PING then DATA, written one byte at a time.
        "ping_bytewise": writes(1, 1, 1, 1) + frame(b"", kind=2, id=9) + frame(b"x", id=10),
        # Valid: a 3000-byte frame with CRC, larger than the service's 1 KiB decoder
        # buffer (echoed cut-through), in uneven writes.
        "streamed_large": writes(2, 16, 100, 1088)
        + frame(big, id=9, name="big.bin", crc=crc32c(big)),
        # Valid: 40 small frames in 64-byte writes.
        "many_small": writes(64, 64, 64, 64)
        + b"".join(frame(bytes([i]) * i, id=i) for i in range(40)),
        # Bad: a good frame, then an HTTP request (bad-magic).
        "garbage_after_frame": writes(128, 128, 128, 128)
        + good
        + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        # Bad: 600 pseudo-random bytes.
        "random": writes(7, 64, 1, 128) + bytes(noise),
        # Bad: a streamed frame whose CRC is wrong: echoed, then bad-checksum.
        "bad_crc_streamed": writes(1088, 1088, 1088, 1088)
        + good
        + frame(big, id=11, crc=crc32c(big) ^ 1),
        # Bad: a frame cut inside its payload by the client's FIN (truncated).
        "truncated": writes(128, 128, 128, 128) + good + frame(hello, id=2, **rich)[:-5],
        # Bad: a prefix announcing a 9000-byte header (header-too-large).
        "oversize_header": writes(16, 16, 16, 16) + b"\xf5\x46\x01" + struct.pack("<H", 9000) + bytes(64),
    }
    # desktop_conn: the same streams; option byte = buffer index | pipe index << 2, where
    # buffers are 64/256/1024/16384 and pipes 64/512/4096/65536 bytes. Small buffers make
    # frames stream cut-through; small pipes make the handler wait on the client.
    options = {
        "mixed_valid": 3 | 3 << 2,  # 16 KiB buffer, 64 KiB pipe: all whole frames
        "ping_bytewise": 0 | 0 << 2,  # 64-byte buffer, 64-byte pipe
        "streamed_large": 1 | 1 << 2,  # 3000 bytes through 256: cut-through
        "many_small": 2 | 2 << 2,
        "garbage_after_frame": 2 | 3 << 2,
        "random": 1 | 2 << 2,
        "bad_crc_streamed": 0 | 2 << 2,  # bad CRC found at the end of a streamed frame
        "truncated": 1 | 0 << 2,
        "oversize_header": 3 | 1 << 2,  # 9000 > 512: refused even with a 16 KiB buffer
    }
    desktop = {name: data[:4] + bytes([options[name]]) + data[4:] for name, data in echo.items()}
    for target, seeds in (
        ("decoder", dec),
        ("header", hdr),
        ("smoltcp_echo", echo),
        ("desktop_conn", desktop),
    ):
        os.makedirs(os.path.join(HERE, target), exist_ok=True)
        for name, data in seeds.items():
            write(target, name, data)


if __name__ == "__main__":
    main()
