"""The frame state machine: bytes in, events out. No I/O.

Feed bytes as they arrive with :meth:`Decoder.feed`; take events with
:meth:`Decoder.next_event` until it returns ``None``. A frame that fits the decoder's
``capacity`` (prefix, header and payload) comes out whole as a :class:`Frame`; a larger one
comes out as :class:`Start`, then :class:`Chunk` pieces as bytes arrive, then :class:`End`,
so a payload larger than memory streams through (spec, section 4). These are the events of
the Rust core's ``Decoder``, with the same limits and the same errors at the same bytes.

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

import struct
from dataclasses import dataclass
from typing import Iterator, Optional, Union

from .crc32c import Crc32c, crc32c
from .encoder import MAGIC, PREFIX_LEN, VERSION
from .errors import (
    BadChecksum,
    BadMagic,
    BadVersion,
    DecodeError,
    HeaderTooLarge,
    Truncated,
)
from .header import MAX_META, Header, parse_header

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


@dataclass(frozen=True)
class Start:
    """The header of a frame too large for the buffer: its payload follows as chunks."""

    header: Header


@dataclass(frozen=True)
class Chunk:
    """The next piece of a streamed payload. Unverified until :class:`End`."""

    data: bytes


@dataclass(frozen=True)
class End:
    """The streamed payload is complete (and its checksum, if any, matched)."""


Event = Union[Frame, Start, Chunk, End]
"""What the decoder hands out."""

_HEAD, _BODY, _STREAM = range(3)


class Decoder:
    """Incremental decoder of a sockframe byte stream (one direction of a connection).

    After a :class:`~sockframe.errors.DecodeError` the decoder stays failed: the stream
    no longer has known frame boundaries.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, limits: Optional[Limits] = None):
        """A decoder whose buffer holds ``capacity`` bytes (at least the 5-byte prefix)."""
        if capacity < PREFIX_LEN:
            raise ValueError(
                f"receive buffer is {capacity} bytes, smaller than the {PREFIX_LEN} byte prefix"
            )
        self.capacity = capacity
        self.limits = limits if limits is not None else Limits()
        self._buf = bytearray()
        self._pos = 0  # first byte not handed out
        self._state = _HEAD
        self._header: Optional[Header] = None  # the frame in progress (body or stream)
        self._head_len = 0  # its prefix + header, in bytes
        self._remaining = 0  # stream: payload bytes still to come
        self._digest: Optional[Crc32c] = None
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
        return self._state == _HEAD and self.buffered() == 0

    def feed(self, data: bytes) -> None:
        """Adds bytes that arrived. Any split of the stream is fine."""
        if self._pos and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_event(self) -> Optional[Event]:
        """The next event, or ``None`` if more bytes are needed.

        Raises :class:`~sockframe.errors.DecodeError` at the first fault in the bytes so
        far (in wire order), and again on every later call.
        """
        if self._failed is not None:
            raise self._failed
        try:
            if self._state == _HEAD:
                return self._head_step()
            if self._state == _BODY:
                return self._body_step()
            return self._stream_step()
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

        Take the events first (until :meth:`next_event` returns ``None``). A fault in
        bytes that arrived is reported before the truncation.
        """
        if self.next_event() is not None:
            raise RuntimeError("finish() called while an event is waiting: take it first")
        have = self.buffered()
        if self._state == _HEAD:
            if have == 0:
                return
            if have < PREFIX_LEN:
                error = Truncated("prefix", have, PREFIX_LEN)
            else:
                header_len = self._header_len()
                error = Truncated("header", have - PREFIX_LEN, header_len)
        elif self._state == _BODY:
            assert self._header is not None
            error = Truncated("payload", have - self._head_len, self._header.len)
        else:
            assert self._header is not None
            length = self._header.len
            error = Truncated("payload", length - self._remaining, length)
        self._failed = error
        raise error

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

    def _head_step(self) -> Optional[Event]:
        self._check_prefix()
        have = self.buffered()
        if have < PREFIX_LEN:
            return None
        head = PREFIX_LEN + self._header_len()
        if have < head:
            return None
        at = self._pos
        header = parse_header(
            self._buf[at + PREFIX_LEN : at + head],
            self.limits.max_payload,
            self.limits.max_meta,
        )
        self._header, self._head_len = header, head
        if header.len > self.capacity - head:
            self._pos += head
            self._state, self._remaining = _STREAM, header.len
            self._digest = Crc32c() if header.crc is not None else None
            return Start(header)
        self._state = _BODY
        return self._body_step()

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
        self._pos += frame_len
        self._state, self._header = _HEAD, None
        return Frame(header, payload)

    def _stream_step(self) -> Optional[Event]:
        header = self._header
        assert header is not None
        if self._remaining == 0:
            if self._digest is not None and header.crc is not None:
                actual = self._digest.value()
                if actual != header.crc:
                    raise BadChecksum(header.crc, actual)
            self._state, self._header, self._digest = _HEAD, None, None
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
