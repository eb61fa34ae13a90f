"""The header ("dict header"): what a frame is and how large its payload is.

Seven fields in this order, postcard encoding, no padding (spec, section 3)::

    kind u8 | id varint u32 | len varint u64 | flags u8 | name option<str>
    | crc option<varint u32> | meta varint count, count x (str, str)

A receiver decodes exactly the bytes the prefix announced; bytes after ``meta`` belong to a
later revision and are skipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

from .crc32c import crc32c
from .errors import BadHeader, EncodeError, PayloadTooLarge, TooMuchMetadata

U32_MAX = 0xFFFF_FFFF
U64_MAX = 0xFFFF_FFFF_FFFF_FFFF

MAX_META = 8
"""The most metadata entries this implementation accepts (the spec's default limit)."""


class Kind:
    """Frame kinds. 0..=63 are reserved for sockframe; applications use 64..=255.

    Kinds are plain integers: a receiver hands kinds it does not know to the application.
    """

    DATA = 0
    """An ordinary message."""
    ERROR = 1
    """An error report: payload a UTF-8 message, metadata ``code`` names the error."""
    PING = 2
    """A liveness probe; the peer answers PONG with the same id and payload."""
    PONG = 3
    """The answer to PING."""
    END = 4
    """Trailer: the frame before it (flag TRAILER) is complete."""
    ABORT = 5
    """Trailer: the frame before it is aborted; meta ``code`` and a message say why."""
    APP_MIN = 64
    """The first kind number free for applications."""


class Flags:
    """Frame flag bits. Bits a receiver does not know are ignored."""

    MORE = 0x01
    """More fragments of this message follow in frames with the same id."""
    TRAILER = 0x02
    """A trailer frame (END or ABORT, same id) follows this frame's payload."""
    HCHECK = 0x04
    """The header ends with its header check (spec, section 9): CRC-32C of the prefix and the
    header bytes before it, 4 bytes little-endian; the encoder writes it."""


Meta = Tuple[Tuple[str, str], ...]
"""Metadata: key/value pairs in wire order (keys need not be unique)."""


@dataclass(frozen=True)
class Header:
    """The header of one frame.

    >>> h = Header.data(42, b"hello").with_name("greeting")
    >>> (h.kind, h.id, h.len, h.name)
    (0, 42, 5, 'greeting')
    """

    kind: int = Kind.DATA
    """What the frame is (:class:`Kind`), 0..=255."""
    id: int = 0
    """Message id, 0..=2**32-1: a reply carries its request's id, fragments share one."""
    len: int = 0
    """This frame's payload length in bytes (encoders set it from the payload)."""
    flags: int = 0
    """Flag bits (:class:`Flags`), 0..=255."""
    name: Optional[str] = None
    """An optional name (a file name, a command)."""
    crc: Optional[int] = None
    """Optional CRC-32C of the payload; a receiver verifies it."""
    meta: Meta = ()
    """The "dict header": key/value string pairs, in order."""

    @classmethod
    def data(cls, id: int, payload: bytes) -> Header:
        """A DATA header for ``payload``, with its length set."""
        return cls(kind=Kind.DATA, id=id, len=len(payload))

    def with_name(self, name: str) -> Header:
        """A copy with the name set."""
        return dataclasses.replace(self, name=name)

    def with_crc_of(self, payload: bytes) -> Header:
        """A copy carrying the CRC-32C of ``payload`` (``len`` is left as it is)."""
        return dataclasses.replace(self, crc=crc32c(payload))

    def with_more(self) -> Header:
        """A copy with flag MORE set: more fragments of this message follow."""
        return dataclasses.replace(self, flags=self.flags | Flags.MORE)

    def with_meta(self, *pairs: Tuple[str, str]) -> Header:
        """A copy with these metadata pairs (replacing any)."""
        return dataclasses.replace(self, meta=tuple(pairs))

    def get(self, key: str) -> Optional[str]:
        """The value of the first metadata entry named ``key`` (the first wins)."""
        for k, v in self.meta:
            if k == key:
                return v
        return None

    def with_trailer(self) -> Header:
        """A copy with flag TRAILER set: an END or ABORT follows the payload."""
        return dataclasses.replace(self, flags=self.flags | Flags.TRAILER)

    @property
    def trailer(self) -> bool:
        """Whether a trailer (END or ABORT) follows this frame's payload."""
        return bool(self.flags & Flags.TRAILER)

    @property
    def more(self) -> bool:
        """Whether more fragments of this message follow."""
        return bool(self.flags & Flags.MORE)

    def echo_reply(self) -> Header:
        """The header an echo sends back: PONG for a PING (same id), else unchanged."""
        if self.kind == Kind.PING:
            return dataclasses.replace(self, kind=Kind.PONG)
        return self


# -- encoding -------------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, shortest form: 7 bits a byte, least significant group first."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_str(text: str) -> bytes:
    raw = text.encode("utf-8")
    return encode_varint(len(raw)) + raw


def _check_range(field: str, value: int, top: int) -> None:
    if not 0 <= value <= top:
        raise EncodeError(f"header field `{field}` is {value}, must be 0..={top}")


def emit_header(header: Header, payload_len: int) -> bytes:
    """The header's bytes (no prefix) for a payload of ``payload_len`` bytes.

    Raises :class:`EncodeError` for a value out of its field's range or more than
    :data:`MAX_META` metadata entries (a v1 receiver would reject them).
    """
    _check_range("kind", header.kind, 0xFF)
    _check_range("id", header.id, U32_MAX)
    _check_range("len", payload_len, U64_MAX)
    _check_range("flags", header.flags, 0xFF)
    if len(header.meta) > MAX_META:
        raise EncodeError(f"header has {len(header.meta)} metadata entries, limit {MAX_META}")
    out = bytearray([header.kind])
    out += encode_varint(header.id)
    out += encode_varint(payload_len)
    out.append(header.flags)
    if header.name is None:
        out.append(0)
    else:
        out.append(1)
        out += _encode_str(header.name)
    if header.crc is None:
        out.append(0)
    else:
        _check_range("crc", header.crc, U32_MAX)
        out.append(1)
        out += encode_varint(header.crc)
    out += encode_varint(len(header.meta))
    for key, value in header.meta:
        out += _encode_str(key)
        out += _encode_str(value)
    return bytes(out)


# -- decoding -------------------------------------------------------------------------------

_ENDED = "header ended before the field"
_BAD_VARINT = "bad varint (too long or overflowing)"
_BAD_TAG = "bad option tag (not 0 or 1)"
_BAD_UTF8 = "not valid UTF-8"


class NeedMore(Exception):
    """The header bytes so far run out before a fault or the end of the header."""


class _Reader:
    """A cursor over the header bytes that have arrived (``data``) of a header of
    ``end`` bytes; it knows which field it is reading, for the error.
    """

    __slots__ = ("at", "data", "end", "field")

    def __init__(self, data: bytes, end: int) -> None:
        self.data = data
        self.end = end
        self.at = 0
        self.field = "kind"

    def fail(self, problem: str) -> BadHeader:
        return BadHeader(self.field, problem)

    def need(self, n: int) -> None:
        # A header cut by the end of the stream ran out of bytes, whatever a string's
        # length says: spec 7.5 lists the faults that beat `truncated`, and a string
        # longer than the header is not one of them (the core reads it so too).
        if n > len(self.data) - self.at and len(self.data) < self.end:
            raise NeedMore
        if n > self.end - self.at:
            raise self.fail(_ENDED)

    def byte(self) -> int:
        self.need(1)
        b = self.data[self.at]
        self.at += 1
        return b

    def varint(self, max_bytes: int, last_max: int) -> int:
        # At most `max_bytes` bytes, the last one small enough for the value to fit the type.
        # Longer (non-shortest) forms within that are accepted, as postcard accepts them.
        value = 0
        for i in range(max_bytes):
            b = self.byte()
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if i == max_bytes - 1 and b > last_max:
                    raise self.fail(_BAD_VARINT)
                return value
        raise self.fail(_BAD_VARINT)

    def u32(self) -> int:
        return self.varint(5, 0x0F)

    def u64(self) -> int:
        return self.varint(10, 0x01)

    def option(self) -> bool:
        tag = self.byte()
        if tag > 1:
            raise self.fail(_BAD_TAG)
        return tag == 1

    def string(self) -> str:
        n = self.u64()
        self.need(n)
        raw = self.data[self.at : self.at + n]
        self.at += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(_BAD_UTF8) from None


FirstFieldsCheck = Callable[[int, int, int], None]
"""Checks run on ``kind``, ``id`` and ``len`` before the rest of the header (the trailer
rules): raises the fault, if any."""


def parse_header(
    data: Union[bytes, bytearray],
    max_payload: int,
    max_meta: int = MAX_META,
    header_len: Optional[int] = None,
    first_fields: Optional[FirstFieldsCheck] = None,
) -> Header:
    """Decodes a v1 header from the bytes the prefix announced.

    Faults are reported in wire order (spec, section 7.5): the first three fields, ``len``
    against ``max_payload``, ``first_fields`` (the trailer rules), then the rest in field
    order. Bytes after ``meta`` are ignored. Raises a
    :class:`~sockframe.errors.DecodeError`; with ``header_len`` larger than ``data`` (a
    header cut by the end of the stream) raises :class:`NeedMore` where the bytes run out
    before any fault.
    """
    r = _Reader(bytes(data), len(data) if header_len is None else header_len)
    kind = r.byte()
    r.field = "id"
    id = r.u32()
    r.field = "len"
    length = r.u64()
    if length > max_payload:
        raise PayloadTooLarge(length, max_payload)
    if first_fields is not None:
        first_fields(kind, id, length)
    r.field = "flags"
    flags = r.byte()
    r.field = "name"
    name = r.string() if r.option() else None
    r.field = "crc"
    crc = r.u32() if r.option() else None
    r.field = "meta"
    count = r.u64()
    if count > max_meta:
        raise TooMuchMetadata(count, max_meta)
    meta = tuple((r.string(), r.string()) for _ in range(count))
    return Header(kind=kind, id=id, len=length, flags=flags, name=name, crc=crc, meta=meta)
