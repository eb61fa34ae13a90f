"""sockframe: whole messages over a byte stream, in pure Python.

The wire format of ``docs/wire-format.md``: a 5-byte prefix (magic ``F5 46``, version,
header length), a postcard-encoded header (kind, id, payload length, flags, optional name
and CRC-32C, key/value metadata), then the payload. It solves TCP's "sticky packet"
problem: however the stream splits or merges the bytes, each message comes out whole.

- :class:`Decoder` (sans-IO) turns received bytes into events: :class:`Frame`, or
  :class:`Start` / :class:`Chunk` / :class:`End` for payloads larger than its buffer.
- :func:`encode_frame` / :func:`encode_head` turn headers and payloads into bytes.
- :class:`Connection` (blocking sockets), :mod:`sockframe.aio` (asyncio client and
  server), and ``python -m sockframe serve|send`` on top.

>>> from sockframe import Decoder, Header, encode_frame
>>> dec = Decoder()
>>> dec.feed(encode_frame(Header.data(42, b"hello").with_name("greeting"), b"hello"))
>>> frame = dec.next_event()
>>> frame.header.name, frame.payload
('greeting', b'hello')
"""

from .connection import Address, Connection, connect, parse_address
from .crc32c import Crc32c, crc32c
from .decoder import DEFAULT_CAPACITY, Abort, Chunk, Decoder, End, Event, Frame, Limits, Start
from .encoder import (
    ERROR_MESSAGE_MAX,
    MAGIC,
    PREFIX_LEN,
    VERSION,
    encode_abort,
    encode_end,
    encode_error,
    encode_error_frame,
    encode_frame,
    encode_head,
)
from .errors import (
    Aborted,
    BadChecksum,
    BadHeader,
    BadMagic,
    BadTrailer,
    BadVersion,
    DecodeError,
    EncodeError,
    FrameTimeout,
    HeaderTooLarge,
    IdleTimeout,
    PayloadTooLarge,
    RemoteError,
    Silence,
    TooMuchMetadata,
    Truncated,
)
from .header import MAX_META, Flags, Header, Kind
from .message import Assembler, Fragments, Message

__all__ = [
    "DEFAULT_CAPACITY",
    "ERROR_MESSAGE_MAX",
    "MAGIC",
    "MAX_META",
    "PREFIX_LEN",
    "VERSION",
    "Abort",
    "Aborted",
    "Address",
    "Assembler",
    "BadChecksum",
    "BadHeader",
    "BadMagic",
    "BadTrailer",
    "BadVersion",
    "Chunk",
    "Connection",
    "Crc32c",
    "DecodeError",
    "Decoder",
    "EncodeError",
    "End",
    "Event",
    "Flags",
    "Fragments",
    "Frame",
    "FrameTimeout",
    "Header",
    "HeaderTooLarge",
    "IdleTimeout",
    "Kind",
    "Limits",
    "Message",
    "PayloadTooLarge",
    "RemoteError",
    "Silence",
    "Start",
    "TooMuchMetadata",
    "Truncated",
    "connect",
    "crc32c",
    "encode_abort",
    "encode_end",
    "encode_error",
    "encode_error_frame",
    "encode_frame",
    "encode_head",
    "parse_address",
]
