"""Turning headers and payloads into frames: prefix, header, payload.

>>> encode_frame(Header.data(1, b"hi"), b"hi").hex(" ")
'f5 46 01 07 00 00 01 02 00 00 00 00 68 69'
"""

from __future__ import annotations

import struct

from .errors import EncodeError
from .header import Header, Kind, emit_header

MAGIC = b"\xf5\x46"
"""The two bytes every frame starts with."""
VERSION = 1
"""The wire-format version this package speaks."""
PREFIX_LEN = 5
"""Size of the fixed prefix: magic (2), version (1), header length (u16 little-endian)."""
MAX_HEADER_LEN = 0xFFFF
"""The largest header the prefix can announce."""
ERROR_MESSAGE_MAX = 200
"""The longest message an ERROR frame carries, in bytes; longer ones are cut."""


def encode_head(header: Header, payload_len: int) -> bytes:
    """Prefix and header for a payload of ``payload_len`` bytes (replacing ``header.len``).

    The payload goes after it: this is how a payload too large for memory is sent.
    """
    body = emit_header(header, payload_len)
    if len(body) > MAX_HEADER_LEN:
        raise EncodeError(f"header is {len(body)} bytes, limit {MAX_HEADER_LEN}")
    return MAGIC + bytes([VERSION]) + struct.pack("<H", len(body)) + body


def encode_frame(header: Header, payload: bytes) -> bytes:
    """A whole frame: head and ``payload``, with ``header.len`` set from the payload."""
    return encode_head(header, len(payload)) + bytes(payload)


def cut_utf8(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def encode_error_frame(id: int, code: str, message: str) -> bytes:
    """An ERROR frame: metadata ``code``, payload ``message`` (cut at 200 bytes).

    >>> encode_error_frame(0, "bad-magic", "not a sockframe stream").hex(" ")[:29]
    'f5 46 01 16 00 01 00 16 00 00'
    """
    header = Header(kind=Kind.ERROR, id=id, meta=(("code", code),))
    return encode_frame(header, cut_utf8(message, ERROR_MESSAGE_MAX))
