"""The frame state machine: bytes in, events out. No I/O.

Feed bytes as they arrive with :meth:`Decoder.feed`; take events with
:meth:`Decoder.next_event` until it returns ``None``. A frame that fits the decoder's
``capacity`` (prefix, header and payload) comes out whole as a :class:`Frame`; a larger one
comes out as :class:`Start`, then :class:`Chunk` pieces as bytes arrive, then :class:`End`,
so a payload larger than memory streams through (spec, section 4). A frame with flag TRAILER
always streams, and ends with :class:`End` once its END trailer is in, or :class:`Abort`
(spec, section 4.1). These are the events of the Rust core's ``Decoder``, with the same
limits and the same errors at the same bytes (spec, section 7.5).

>>> from sockframe import Header, encode_frame
>>> dec = Decoder()
>>> wire = encode_frame(Header.data(7, b"hi"), b"hi")
>>> for byte in wire[:-1]:            # bytes may arrive in any pieces
...     dec.feed(bytes([byte]))
...     assert dec.next_event() is None
>>> dec.feed(wire[-1:])
>>> frame = dec.next_event()
>>> (frame.header.id, frame.payload)
(7, b'hi')
>>> dec.finish()                      # a clean end between frames
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass, field
from typing import Iterator, Optional, Union

from .crc32c import Crc32c, crc32c
from .encoder import ERROR_MESSAGE_MAX, MAGIC, PREFIX_LEN, VERSION
from .errors import (
    BadChecksum,
    BadMagic,
    BadTrailer,
    BadVersion,
    DecodeError,
    HeaderTooLarge,
    Truncated,
)
from .header import MAX_META, Header, Kind, NeedMore, parse_header

DEFAULT_CAPACITY = 16 * 1024
"""The default buffer size: frames up to this size come out whole."""


@dataclass(frozen=True)
class Limits:
    """How much a receiver accepts (spec, section 7)."""

    max_header: int = 512
    """Largest header accepted, in bytes (also capped by the capacity minus the prefix)."""
    max_payload: int = 64 << 20
    """Largest payload accepted, in bytes. Larger-than-capacity payloads stream, so this
    bounds time and disk, not memory."""
    max_meta: int = MAX_META
    """Most metadata entries accepted."""


@dataclass(frozen=True)
class Frame:
    """A whole frame; its checksum, if any, has been verified."""

    header: Header
    payload: bytes
    head: bytes = field(default=b"", compare=False, repr=False)
    """The prefix and header exactly as received, for byte-exact forwarding (spec, 6.1)."""


@dataclass(frozen=True)
class Start:
    """The header of a streamed frame (larger than the buffer, or with flag TRAILER): its
    payload follows as :class:`Chunk` events, then :class:`End` or :class:`Abort`.
    """

    header: Header
    head: bytes = field(default=b"", compare=False, repr=False)
    """The prefix and header exactly as received."""


@dataclass(frozen=True)
class Chunk:
    """The next piece of a streamed payload. Unverified, and possibly aborted, until
    :class:`End`.
    """

    data: bytes


@dataclass(frozen=True)
class End:
    """The streamed payload is complete: its checksum (if any) matched and, for a frame
    with TRAILER, its END arrived.
    """

    header: Optional[Header] = None
    """The END trailer's header, for a frame with TRAILER."""
    trailer: bytes = field(default=b"", compare=False, repr=False)
    """The END frame exactly as received (empty for a frame without TRAILER)."""


@dataclass(frozen=True)
class Abort:
    """The streamed payload was aborted by its sender (an ABORT trailer): discard it (and
    its whole message, if it is a fragment).
    """

    header: Header
    """The ABORT frame's header: ``header.get("code")`` says why, with the numbers after."""
    message: bytes
    """The ABORT's message (UTF-8, at most 200 bytes)."""
    trailer: bytes = field(default=b"", compare=False, repr=False)
    """The ABORT frame exactly as received."""

    @property
    def code(self) -> str:
        """The reason's stable name (meta ``code``), ``""`` if absent."""
        return self.header.get("code") or ""


Event = Union[Frame, Start, Chunk, End, Abort]
"""What the decoder hands out."""

# What the decoder is waiting for.
_HEAD = 0  # a frame's prefix and header (or a trailer's, when one is due)
_BODY = 1  # the rest of a frame that comes out whole
_STREAM = 2  # the rest of a streamed payload
_ABORT = 3  # the message of an ABORT trailer


class Decoder:
    """Incremental decoder of a sockframe byte stream (one direction of a connection).

    After a :class:`~sockframe.errors.DecodeError` the decoder stays failed: the stream
    no longer has known frame boundaries.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, limits: Optional[Limits] = None):
        """A decoder whose buffer holds ``capacity`` bytes (at least the 5-byte prefix).

        ``feed`` accepts any amount; frames up to ``capacity`` bytes come out whole, larger
        ones (and every frame with TRAILER) stream in pieces of at most ``capacity``.
        """
        if capacity < PREFIX_LEN:
            raise ValueError(
                f"receive buffer is {capacity} bytes, smaller than the {PREFIX_LEN} byte prefix"
            )
        self.capacity = capacity
        self.limits = limits if limits is not None else Limits()
        self._buf = bytearray()
        self._pos = 0  # first byte not handed out
        self._state = _HEAD
        self._header: Optional[Header] = None  # the frame in progress
        self._head_len = 0  # its prefix + header, in bytes
        self._remaining = 0  # stream: payload bytes still to come
        self._digest: Optional[Crc32c] = None
        self._due: Optional[Header] = None  # the TRAILER frame whose trailer comes next
        self._failed: Optional[DecodeError] = None

    @property
    def header_limit(self) -> int:
        """The largest header accepted: the limit, capped by the capacity minus the prefix."""
        return min(self.limits.max_header, self.capacity - PREFIX_LEN)

    @property
    def error(self) -> Optional[DecodeError]:
        """The error the decoder failed with, if it did."""
        return self._failed

    def buffered(self) -> int:
        """Bytes received and not handed out yet."""
        return len(self._buf) - self._pos

    def is_idle(self) -> bool:
        """Whether the decoder sits between frames with nothing partial buffered."""
        return self._state == _HEAD and self._due is None and self.buffered() == 0

    def feed(self, data: bytes) -> None:
        """Adds bytes that arrived. Any split of the stream is fine."""
        if self._pos and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_event(self) -> Optional[Event]:
        """The next event, or ``None`` if more bytes are needed.

        Raises :class:`~sockframe.errors.DecodeError` at the first fault in the bytes so
        far, at the byte the spec names (section 7.5), and again on every later call.
        """
        if self._failed is not None:
            raise self._failed
        try:
            if self._state == _HEAD:
                return self._head_step()
            if self._state == _BODY:
                return self._body_step()
            if self._state == _STREAM:
                return self._stream_step()
            return self._abort_step()
        except DecodeError as e:
            self._failed = e
            raise

    def events(self) -> Iterator[Event]:
        """The events available now (until :meth:`next_event` returns ``None``)."""
        while True:
            event = self.next_event()
            if event is None:
                return
            yield event

    def finish(self) -> None:
        """Tells the decoder the stream has ended; raises if it ended inside a frame.

        Take the events first (until :meth:`next_event` returns ``None``). A fault in the
        bytes that arrived (as far as they go) is reported before ``truncated``.
        """
        if self.next_event() is not None:
            raise RuntimeError("finish() called while an event is waiting: take it first")
        try:
            self._check_cut()
        except DecodeError as e:
            self._failed = e
            raise

    # -- steps ------------------------------------------------------------------------------

    def _check_prefix(self) -> None:
        """Checks the prefix bytes present so far: magic byte by byte, then the version."""
        buf, at = self._buf, self._pos
        have = len(buf) - at
        if (have >= 1 and buf[at] != MAGIC[0]) or (have >= 2 and buf[at + 1] != MAGIC[1]):
            raise BadMagic(bytes(buf[at : at + 4]))
        if have >= 3 and buf[at + 2] != VERSION:
            raise BadVersion(buf[at + 2])

    def _header_len(self) -> int:
        """The header length from a whole, checked prefix; checked against the limit."""
        (header_len,) = struct.unpack_from("<H", self._buf, self._pos + 3)
        if header_len > self.header_limit:
            raise HeaderTooLarge(header_len, self.header_limit)
        return int(header_len)

    def _trailer_rules(self, kind: int, id: int, length: int) -> None:
        """Section 4.1's rules, from a frame's first three fields."""
        due = self._due
        if due is None:
            if kind in (Kind.END, Kind.ABORT):
                raise BadTrailer(None, kind, id, length)
        elif (
            kind not in (Kind.END, Kind.ABORT)
            or id != due.id
            or (kind == Kind.END and length != 0)
            or (kind == Kind.ABORT and length > ERROR_MESSAGE_MAX)
        ):
            raise BadTrailer(due.id, kind, id, length)

    def _parse(self, header_len: int) -> Header:
        at = self._pos + PREFIX_LEN
        return parse_header(
            self._buf[at : at + header_len],
            self.limits.max_payload,
            self.limits.max_meta,
            header_len,
            self._trailer_rules,
        )

    def _head_step(self) -> Optional[Event]:
        self._check_prefix()
        have = self.buffered()
        if have < PREFIX_LEN:
            return None
        header_len = self._header_len()
        head = PREFIX_LEN + header_len
        if have < head:
            return None
        header = self._parse(header_len)
        raw = bytes(self._buf[self._pos : self._pos + head])
        self._header, self._head_len = header, head
        if self._due is not None:
            return self._trailer(header, raw)
        if header.trailer or header.len > self.capacity - head:
            self._pos += head
            self._state, self._remaining = _STREAM, header.len
            self._digest = Crc32c() if header.crc is not None else None
            return Start(header, raw)
        self._state = _BODY
        return self._body_step()

    def _trailer(self, trailer: Header, raw: bytes) -> Optional[Event]:
        """The trailer of the streamed frame, whose header just came in."""
        if trailer.kind == Kind.ABORT:
            self._state = _ABORT
            return self._abort_step()
        frame = self._due
        assert frame is not None
        self._verify(frame)
        self._pos += len(raw)
        self._due, self._header = None, None
        return End(trailer, raw)

    def _abort_step(self) -> Optional[Event]:
        abort = self._header
        assert abort is not None
        frame_len = self._head_len + abort.len
        if self.buffered() < frame_len:
            return None
        raw = bytes(self._buf[self._pos : self._pos + frame_len])
        self._pos += frame_len
        self._state, self._due, self._header, self._digest = _HEAD, None, None, None
        return Abort(abort, raw[self._head_len :], raw)

    def _verify(self, frame: Header) -> None:
        if self._digest is not None and frame.crc is not None:
            actual = self._digest.value()
            if actual != frame.crc:
                raise BadChecksum(frame.crc, actual)
        self._digest = None

    def _body_step(self) -> Optional[Event]:
        header = self._header
        assert header is not None
        frame_len = self._head_len + header.len
        if self.buffered() < frame_len:
            return None
        at = self._pos
        payload = bytes(self._buf[at + self._head_len : at + frame_len])
        if header.crc is not None and crc32c(payload) != header.crc:
            raise BadChecksum(header.crc, crc32c(payload))
        head = bytes(self._buf[at : at + self._head_len])
        self._pos += frame_len
        self._state, self._header = _HEAD, None
        return Frame(header, payload, head)

    def _stream_step(self) -> Optional[Event]:
        header = self._header
        assert header is not None
        if self._remaining == 0:
            self._state = _HEAD
            if header.trailer:
                self._due, self._header = header, None
                return self._head_step()
            self._verify(header)
            self._header = None
            return End()
        have = self.buffered()
        if have == 0:
            return None
        n = min(have, self._remaining, self.capacity)
        data = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        self._remaining -= n
        if self._digest is not None:
            self._digest.update(data)
        return Chunk(data)

    def _check_cut(self) -> None:
        """At the end of the stream, with no event waiting: what was cut, if anything."""
        have = self.buffered()
        header = self._header
        if self._state == _BODY:
            assert header is not None
            raise Truncated("payload", have - self._head_len, header.len)
        if self._state == _STREAM:
            assert header is not None
            raise Truncated("payload", header.len - self._remaining, header.len)
        if self._state == _ABORT:
            assert header is not None
            raise Truncated("trailer", have, self._head_len + header.len)
        stage = "trailer" if self._due is not None else None
        if have == 0 and stage is None:
            return
        if have < PREFIX_LEN:
            raise Truncated(stage or "prefix", have, PREFIX_LEN)
        header_len = self._header_len()
        # The header so far, field by field: a fault in a field that arrived beats the cut.
        with contextlib.suppress(NeedMore):
            self._parse(header_len)
        if stage is not None:
            raise Truncated(stage, have, PREFIX_LEN + header_len)
        raise Truncated("header", have - PREFIX_LEN, header_len)
