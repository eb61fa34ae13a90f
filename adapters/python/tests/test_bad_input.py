"""Bad input: every error code of the spec's section 7, with its numbers and its byte."""

from __future__ import annotations

import struct

import pytest
from helpers import byte_by_byte, decode

from sockframe import (
    Abort,
    BadChecksum,
    BadHeader,
    BadMagic,
    BadVersion,
    Decoder,
    EncodeError,
    End,
    Flags,
    Header,
    HeaderTooLarge,
    Limits,
    PayloadTooLarge,
    TooMuchMetadata,
    Truncated,
    encode_abort,
    encode_end,
    encode_error,
    encode_error_frame,
    encode_frame,
    encode_head,
)


def prefix(header: bytes) -> bytes:
    """The prefix announcing ``header``, then the header."""
    return b"\xf5\x46\x01" + struct.pack("<H", len(header)) + header


MINIMAL = encode_frame(Header.data(1, b"hi"), b"hi")


@pytest.mark.parametrize(
    "data, message",
    [
        (
            b"GET / HTTP/1.1\r\n",
            "not a sockframe stream: expected magic f5 46, got 47 45 54 20 (GET ), "
            "looks like an HTTP request or a text command",
        ),
        (b"hello\r\n", "got 68 65 6c 6c (hell), looks like a line of text (telnet?)"),
        (b"\x00\x00\x00\x05", "got 00 00 00 05 (....), looks like a bare big-endian length prefix"),
        (b"\x16\x03\x01\x02", "got 16 03 01 02 (....), looks like a TLS handshake"),
    ],
)
def test_bad_magic_names_what_it_saw(data: bytes, message: str) -> None:
    out = decode([data])
    assert isinstance(out.error, BadMagic)
    assert out.error.code == "bad-magic"
    assert message in str(out.error)


def test_bad_magic_at_the_first_byte_that_differs() -> None:
    assert decode(byte_by_byte(b"G")).error_after == 1
    out = decode(byte_by_byte(b"\xf5\x00\x01"))
    assert isinstance(out.error, BadMagic) and out.error_after == 2


def test_bad_magic_after_a_good_frame_keeps_the_good_frame() -> None:
    out = decode([MINIMAL + b"GET "])
    assert [p for _, p in out.messages] == [b"hi"]
    assert isinstance(out.error, BadMagic)


def test_bad_version_at_byte_three() -> None:
    out = decode(byte_by_byte(b"\xf5\x46\x02\x07\x00"))
    assert isinstance(out.error, BadVersion) and out.error_after == 3
    assert str(out.error) == "unsupported wire-format version 2, this peer speaks 1"
    assert out.error.code == "bad-version"


def test_header_too_large_at_byte_five_with_the_numbers() -> None:
    out = decode(byte_by_byte(b"\xf5\x46\x01\x28\x23"))
    assert isinstance(out.error, HeaderTooLarge) and out.error_after == 5
    assert str(out.error) == "header is 9000 bytes, limit 512"
    assert out.error.code == "header-too-large"


def test_header_limit_is_capped_by_the_buffer() -> None:
    out = decode([prefix(bytes(100))], capacity=64)
    assert str(out.error) == "header is 100 bytes, limit 59"
    assert str(decode([prefix(bytes(20))], limits=Limits(max_header=16)).error) == (
        "header is 20 bytes, limit 16"
    )


def test_payload_too_large_as_soon_as_the_header_is_in() -> None:
    head = encode_head(Header.data(1, b""), 100_000_000)
    out = decode(byte_by_byte(head))  # no payload byte sent
    assert isinstance(out.error, PayloadTooLarge) and out.error_after == len(head)
    assert str(out.error) == "payload is 100000000 bytes, limit 67108864"
    assert out.error.code == "payload-too-large"
    assert str(decode([encode_frame(Header(), b"abc")], limits=Limits(max_payload=2)).error) == (
        "payload is 3 bytes, limit 2"
    )


@pytest.mark.parametrize(
    "header, field, problem",
    [
        (b"\x00", "id", "header ended before the field"),
        (b"\x00\x01", "len", "header ended before the field"),
        (b"\x00\x80\x80\x80\x80\x80", "id", "bad varint (too long or overflowing)"),
        (
            b"\x00\xff\xff\xff\xff\x10\x00\x00\x00\x00\x00",
            "id",
            "bad varint (too long or overflowing)",
        ),
        (b"\x00\x01" + b"\x80" * 10 + b"\x00", "len", "bad varint (too long or overflowing)"),
        (
            b"\x00\x01" + b"\xff" * 9 + b"\x02\x00\x00\x00\x00",
            "len",
            "bad varint (too long or overflowing)",
        ),
        (b"\x00\x01\x00", "flags", "header ended before the field"),
        (b"\x00\x01\x00\x00\x02\x00\x00", "name", "bad option tag (not 0 or 1)"),
        (b"\x00\x01\x00\x00\x01\x05ab", "name", "header ended before the field"),
        (b"\x00\x01\x00\x00\x01\x02\xc3\x28\x00\x00", "name", "not valid UTF-8"),
        (b"\x00\x01\x00\x00\x00\x07\x00", "crc", "bad option tag (not 0 or 1)"),
        (
            b"\x00\x01\x00\x00\x00\x01\xff\xff\xff\xff\x1f\x00",
            "crc",
            "bad varint (too long or overflowing)",
        ),
        (b"\x00\x01\x00\x00\x00\x00", "meta", "header ended before the field"),
        (b"\x00\x01\x00\x00\x00\x00\x01\x01k", "meta", "header ended before the field"),
        (b"\x00\x01\x00\x00\x00\x00\x01\x01k\x01\xff", "meta", "not valid UTF-8"),
    ],
)
def test_bad_header_names_the_field_and_the_problem(
    header: bytes, field: str, problem: str
) -> None:
    out = decode(byte_by_byte(prefix(header)))
    assert isinstance(out.error, BadHeader), out.error
    assert (out.error.field, out.error.problem) == (field, problem)
    assert str(out.error) == f"bad header: field `{field}`: {problem}"
    assert out.error.code == "bad-header"
    assert out.error_after == 5 + len(header)


def test_too_much_metadata_with_the_numbers() -> None:
    out = decode([prefix(b"\x00\x01\x00\x00\x00\x00\x0c")])
    assert isinstance(out.error, TooMuchMetadata)
    assert str(out.error) == "header has 12 metadata entries, limit 8"
    assert out.error.code == "too-much-metadata"


def test_eight_metadata_entries_are_fine() -> None:
    h = Header().with_meta(*[(str(i), "v") for i in range(8)])
    assert decode([encode_frame(h, b"")]).messages == [(h, b"")]


def test_faults_in_wire_order_payload_limit_before_a_later_field() -> None:
    # len 100 over a limit of 10, and a bad name tag after it: the length wins.
    out = decode([prefix(b"\x00\x01\x64\x00\x09\x00\x00")], limits=Limits(max_payload=10))
    assert isinstance(out.error, PayloadTooLarge)
    # A bad id comes before the length.
    out = decode([prefix(b"\x00\x80\x80\x80\x80\x80\x64")], limits=Limits(max_payload=10))
    assert isinstance(out.error, BadHeader) and out.error.field == "id"


def test_bad_checksum_whole_and_streamed() -> None:
    bad = Header.data(3, b"123456789").with_crc_of(b"123456789")
    wire = encode_frame(bad, b"123456780")
    out = decode([wire])
    assert isinstance(out.error, BadChecksum)
    assert str(out.error) == (
        "payload checksum mismatch: header says crc32c e3069283, payload has "
        f"{out.error.actual:08x}"
    )
    assert out.error.code == "bad-checksum"
    # Streamed: every chunk is handed out (unverified), then End fails.
    dec = Decoder(capacity=24)
    dec.feed(wire)
    events = []
    with pytest.raises(BadChecksum):
        while True:
            event = dec.next_event()
            assert event is not None
            events.append(type(event).__name__)
    assert events[0] == "Start" and set(events[1:]) == {"Chunk"}


@pytest.mark.parametrize(
    "cut, message",
    [
        (3, "stream ended mid-prefix: got 3 of 5 bytes"),
        (8, "stream ended mid-header: got 3 of 7 bytes"),
        (13, "stream ended mid-payload: got 1 of 2 bytes"),
    ],
)
def test_truncated_says_where(cut: int, message: str) -> None:
    out = decode(byte_by_byte(MINIMAL[:cut]))
    assert isinstance(out.error, Truncated) and out.error.code == "truncated"
    assert str(out.error) == message


def test_truncated_mid_streamed_payload() -> None:
    wire = encode_frame(Header.data(1, bytes(2000)), bytes(2000))
    out = decode([wire[: len(wire) - 1900]], capacity=512)
    assert str(out.error) == "stream ended mid-payload: got 100 of 2000 bytes"


def test_a_fault_in_bytes_that_arrived_beats_the_truncation() -> None:
    header = b"\x00\x01\x05\x00\x02\x00\x00"  # bad name tag; payload of 5 never comes
    out = decode([prefix(header) + b"ab"])
    assert isinstance(out.error, BadHeader)


def test_a_failed_decoder_stays_failed() -> None:
    dec = Decoder()
    dec.feed(b"GET ")
    for _ in range(2):
        with pytest.raises(BadMagic):
            dec.next_event()
    dec.feed(MINIMAL)
    with pytest.raises(BadMagic):
        dec.finish()


def test_unknown_kinds_flags_and_later_header_fields_pass() -> None:
    h = Header(kind=200, id=1, flags=0xFC)  # every reserved flag bit
    out = decode([prefix(encode_head(h, 0)[5:] + b"\xff\x07")])
    assert out.messages == [(h, b"")]


def test_non_shortest_varints_are_accepted_as_postcard_does() -> None:
    out = decode([prefix(b"\x00\x81\x00\x02\x00\x00\x00\x00") + b"hi"])
    assert out.messages == [(Header.data(1, b"hi"), b"hi")]


def test_buffer_smaller_than_the_prefix_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="receive buffer is 4 bytes, smaller than the 5 byte"):
        Decoder(4)


@pytest.mark.parametrize(
    "header, message",
    [
        (Header(kind=256), "header field `kind` is 256, must be 0..=255"),
        (Header(id=2**32), "header field `id` is 4294967296, must be 0..=4294967295"),
        (Header(id=-1), "header field `id` is -1"),
        (Header(flags=300), "header field `flags` is 300"),
        (Header(crc=2**32), "header field `crc` is 4294967296"),
        (Header().with_meta(*[("k", "v")] * 9), "header has 9 metadata entries, limit 8"),
        (Header(name="x" * 70_000), "header is 70010 bytes, limit 65535"),
    ],
)
def test_encoder_rejects_what_no_receiver_accepts(header: Header, message: str) -> None:
    with pytest.raises(EncodeError, match=message.replace("(", r"\(")):
        encode_frame(header, b"")


def test_error_frames_are_cut_at_200_bytes_on_a_character_boundary() -> None:
    out = decode([encode_error_frame(0, "bad-magic", "é" * 150)])
    ((header, payload),) = out.messages
    assert header.get("code") == "bad-magic"
    assert len(payload) == 200 and payload.decode("utf-8") == "é" * 100


def test_a_trailer_frame_is_complete_only_once_its_end_is_in() -> None:
    frame = encode_frame(Header(id=6, flags=Flags.TRAILER), b"abc")
    dec = Decoder()
    dec.feed(frame)
    assert [type(e).__name__ for e in dec.events()] == ["Start", "Chunk"]
    end = encode_end(6)
    dec.feed(end[:-1])
    assert list(dec.events()) == []
    dec.feed(end[-1:])
    (event,) = dec.events()
    assert isinstance(event, End) and event.trailer == end
    dec.finish()


def test_an_abort_says_why_and_the_payload_is_not_delivered() -> None:
    wire = encode_frame(Header(id=6, flags=Flags.TRAILER), b"ab\0\0\0")
    wire += encode_abort(6, "input-error", "disk read failed at byte 2", [("at", "2")])
    wire += encode_frame(Header.data(7, b"next"), b"next")  # the stream stays usable
    out = decode(byte_by_byte(wire))
    assert out.error is None
    assert out.aborted == [(Header(id=6, len=5, flags=Flags.TRAILER), b"ab\0\0\0", "input-error")]
    assert out.messages == [(Header.data(7, b"next"), b"next")]
    dec = Decoder()
    dec.feed(wire)
    abort = next(e for e in dec.events() if isinstance(e, Abort))
    assert abort.message == b"disk read failed at byte 2"
    assert abort.header.meta == (("code", "input-error"), ("at", "2"))


def test_the_checksum_of_an_aborted_payload_is_not_verified() -> None:
    header = Header(id=6, flags=Flags.TRAILER).with_crc_of(b"abc")
    wire = encode_frame(header, b"a\0\0") + encode_abort(6, "cancelled", "no")
    out = decode([wire])
    assert out.error is None and len(out.aborted) == 1


def test_a_trailer_cut_short_is_truncated_in_the_trailer() -> None:
    frame = encode_frame(Header(id=6, flags=Flags.TRAILER), b"abc")
    abort = encode_abort(6, "cancelled", "no")
    assert str(decode([frame]).error) == "stream ended mid-trailer: got 0 of 5 bytes"
    assert str(decode([frame + abort[:8]]).error) == (
        f"stream ended mid-trailer: got 8 of {len(abort) - 2} bytes"
    )
    assert str(decode([frame + abort[:-1]]).error) == (
        f"stream ended mid-trailer: got {len(abort) - 1} of {len(abort)} bytes"
    )


def test_error_frames_carry_the_numbers_as_metadata() -> None:
    out = decode([encode_error(PayloadTooLarge(100_000_000, 67_108_864))])
    ((header, payload),) = out.messages
    assert header.meta == (
        ("code", "payload-too-large"),
        ("size", "100000000"),
        ("limit", "67108864"),
    )
    assert payload == b"payload is 100000000 bytes, limit 67108864"


def test_at_the_end_of_the_stream_a_string_longer_than_the_header_is_a_cut_not_a_fault() -> None:
    # header_len 20; `name` announces 30 bytes and the stream ends: the bytes ran out
    # (with the whole header in, the same string is a bad header).
    cut = b"\xf5\x46\x01\x14\x00" + b"\x00\x01\x00\x00\x01\x1e" + b"ab"
    assert str(decode([cut]).error) == "stream ended mid-header: got 8 of 20 bytes"
    whole = b"\xf5\x46\x01\x08\x00" + b"\x00\x01\x00\x00\x01\x1e" + b"ab"
    assert str(decode([whole]).error) == "bad header: field `name`: header ended before the field"
