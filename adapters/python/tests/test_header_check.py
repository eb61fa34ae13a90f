"""The header check (spec, section 9): the encoder writes it, a receiver that ignores it
still decodes the frame, and the echo recomputes it when it turns a PING into a PONG.
"""

from __future__ import annotations

import dataclasses
import struct

from sockframe import Decoder, Flags, Frame, Header, Kind, crc32c, encode_frame
from sockframe.aio import echo_head
from sockframe.encoder import HCHECK_LEN, PREFIX_LEN


def checked(header: Header) -> Header:
    """``header`` with flag HCHECK."""
    return dataclasses.replace(header, flags=header.flags | Flags.HCHECK)


def check_ok(head: bytes) -> bool:
    """Whether the last 4 bytes of ``head`` (prefix and whole header) are its check."""
    covered, carried = head[:-HCHECK_LEN], head[-HCHECK_LEN:]
    value: int = struct.unpack("<I", carried)[0]
    return value == crc32c(covered)


def head_of(frame: bytes) -> bytes:
    return frame[: PREFIX_LEN + struct.unpack("<H", frame[3:5])[0]]


def only_frame(wire: bytes) -> Frame:
    dec = Decoder()
    dec.feed(wire)
    event = dec.next_event()
    assert isinstance(event, Frame)
    assert dec.next_event() is None
    return event


def test_minimal_checked_frame_bytes() -> None:
    # Seven one-byte fields, then the check: the same bytes as the Rust core's golden test.
    wire = encode_frame(checked(Header.data(1, b"hi")), b"hi")
    fields = bytes([0x00, 0x01, 0x02, Flags.HCHECK, 0x00, 0x00, 0x00])
    covered = b"\xf5\x46\x01\x0b\x00" + fields
    assert wire == covered + struct.pack("<I", crc32c(covered)) + b"hi"


def test_checked_frame_decodes_as_before() -> None:
    payload = b"sensor reading"
    header = checked(Header.data(9, payload).with_name("t").with_crc_of(payload))
    wire = encode_frame(header, payload)
    assert check_ok(head_of(wire))
    frame = only_frame(wire)
    assert frame.payload == payload
    assert (frame.header.id, frame.header.name) == (9, "t")


def test_every_bit_flip_of_the_head_breaks_the_check() -> None:
    wire = encode_frame(checked(Header.data(3, b"x")), b"x")
    head = head_of(wire)
    for i in range(len(head)):
        for bit in range(8):
            damaged = bytearray(head)
            damaged[i] ^= 1 << bit
            assert not check_ok(bytes(damaged)), (i, bit)


def test_echo_recomputes_the_check_of_a_pong() -> None:
    payload = b"are you there"
    ping = checked(Header(kind=Kind.PING, id=5).with_crc_of(payload))
    wire = encode_frame(ping, payload)
    frame = only_frame(wire)
    pong = echo_head(frame.header, frame.head, Decoder())
    assert pong[PREFIX_LEN] == Kind.PONG
    assert check_ok(pong)
    assert pong[:PREFIX_LEN] == wire[:PREFIX_LEN]
    assert pong[PREFIX_LEN + 1 : -HCHECK_LEN] == frame.head[PREFIX_LEN + 1 : -HCHECK_LEN]


def test_echo_limits_pong_to_a_checked_ping_is_checked() -> None:
    ping = checked(Header(kind=Kind.PING, id=6, meta=(("limits", ""),)))
    frame = only_frame(encode_frame(ping, b""))
    pong = echo_head(frame.header, frame.head, Decoder())
    assert pong[PREFIX_LEN] == Kind.PONG
    assert check_ok(pong)
    assert only_frame(pong).header.get("max-header") is not None


def test_unchecked_ping_keeps_every_other_byte() -> None:
    wire = encode_frame(Header(kind=Kind.PING, id=7), b"")
    frame = only_frame(wire)
    pong = echo_head(frame.header, frame.head, Decoder())
    assert pong[PREFIX_LEN + 1 :] == wire[PREFIX_LEN + 1 :]


def test_checked_ping_whose_fields_run_into_its_check_keeps_its_fields() -> None:
    # The core's echo test of the same name: a 9-byte metadata key takes header bytes
    # 9..18, the check is 16..20; recomputing it would rewrite the key.
    head = "f5 46 01 14 00 02 c3 03 02 15 00 00 01 09 00 00 01 02 00 00 00 00 00 00 68"
    wire = bytes.fromhex(head) + b"hi"
    frame = only_frame(wire)
    pong = echo_head(frame.header, frame.head, Decoder())
    assert pong[PREFIX_LEN] == Kind.PONG
    assert pong[PREFIX_LEN + 1 :] == frame.head[PREFIX_LEN + 1 :]
    back = only_frame(pong + b"hi")
    assert (back.header.kind, back.header.id, back.payload) == (Kind.PONG, 451, b"hi")
