"""Turning headers and payloads into frames: prefix, header, payload.

>>> encode_frame(Header.data(1, b"hi"), b"hi").hex(" ")
'f5 46 01 07 00 00 01 02 00 00 00 00 68 69'
"""

from __future__ import annotations

import struct
from typing import Sequence, Tuple

from .crc32c import crc32c
from .errors import DecodeError, EncodeError
from .header import Flags, Header, Kind, emit_header

MAGIC = b"\xf5\x46"
"""The two bytes every frame starts with."""
VERSION = 1
"""The wire-format version this package speaks."""
PREFIX_LEN = 5
"""Size of the fixed prefix: magic (2), version (1), header length (u16 little-endian)."""
MAX_HEADER_LEN = 0xFFFF
"""The largest header the prefix can announce."""
HCHECK_LEN = 4
"""Size of the header check that ends a header with flag HCHECK (spec, section 9)."""
MIN_CHECKED_HEAD = PREFIX_LEN + 7 + HCHECK_LEN
"""The least bytes a head with a valid header check has: prefix, seven one-byte fields, check."""
ERROR_MESSAGE_MAX = 200
"""The longest message an ERROR or ABORT frame carries, in bytes; longer ones are cut."""


def encode_head(header: Header, payload_len: int) -> bytes:
    """Prefix and header for a payload of ``payload_len`` bytes (replacing ``header.len``).

    The payload goes after it: this is how a payload too large for memory is sent. With
    flag HCHECK the header ends with its header check (spec, section 9).
    """
    body = emit_header(header, payload_len)
    checked = bool(header.flags & Flags.HCHECK)
    size = len(body) + (HCHECK_LEN if checked else 0)
    if size > MAX_HEADER_LEN:
        raise EncodeError(f"header is {size} bytes, limit {MAX_HEADER_LEN}")
    head = MAGIC + bytes([VERSION]) + struct.pack("<H", size) + body
    return seal(head) if checked else head


def seal(covered: bytes) -> bytes:
    """``covered`` (a prefix announcing the check in its header length, and the header bytes
    before the check) followed by its header check.
    """
    return covered + struct.pack("<I", crc32c(covered))


def encode_frame(header: Header, payload: bytes) -> bytes:
    """A whole frame: head and ``payload``, with ``header.len`` set from the payload."""
    return encode_head(header, len(payload)) + bytes(payload)


def cut_utf8(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def encode_error_frame(
    id: int, code: str, message: str, numbers: Sequence[Tuple[str, str]] = ()
) -> bytes:
    """An ERROR frame: metadata ``code`` then ``numbers``, payload ``message`` (cut at
    200 bytes on a character boundary).

    >>> encode_error_frame(0, "bad-magic", "not a sockframe stream").hex(" ")[:29]
    'f5 46 01 16 00 01 00 16 00 00'
    """
    header = Header(kind=Kind.ERROR, id=id, meta=(("code", code), *numbers))
    return encode_frame(header, cut_utf8(message, ERROR_MESSAGE_MAX))


def encode_error(error: DecodeError, id: int = 0) -> bytes:
    """The ERROR frame a receiver sends for ``error`` (spec, section 7.3): its code, its
    numbers as metadata (section 7.4), its message.

    >>> from sockframe import HeaderTooLarge
    >>> encode_error(HeaderTooLarge(9000, 512))[-31:]
    b'header is 9000 bytes, limit 512'
    """
    return encode_error_frame(id, error.code, str(error), error.numbers())


def encode_end(id: int) -> bytes:
    """The END trailer of frame ``id``: its payload is complete (spec, section 4.1)."""
    return encode_frame(Header(kind=Kind.END, id=id), b"")


def encode_abort(
    id: int, code: str, message: str, numbers: Sequence[Tuple[str, str]] = ()
) -> bytes:
    """The ABORT trailer of frame ``id``: metadata ``code`` then ``numbers``, the message
    cut at 200 bytes. Send the rest of the announced payload as filler first.
    """
    header = Header(kind=Kind.ABORT, id=id, meta=(("code", code), *numbers))
    return encode_frame(header, cut_utf8(message, ERROR_MESSAGE_MAX))
