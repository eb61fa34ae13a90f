"""asyncio: a client connection and a server (an echo by default).

>>> import asyncio
>>> async def demo() -> bytes:
...     server = await serve("127.0.0.1", 0)
...     host, port = server.sockets[0].getsockname()[:2]
...     async with server:
...         conn = await open_connection((host, port))
...         reply = await conn.request(b"hello")
...         await conn.close()
...     return reply.payload
>>> asyncio.run(demo())
b'hello'
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from asyncio.base_events import Server
from typing import Awaitable, Callable, Dict, Optional

from .connection import Address, parse_address
from .decoder import Chunk, Decoder, Event, Frame, Limits, Start
from .encoder import (
    HCHECK_LEN,
    MIN_CHECKED_HEAD,
    PREFIX_LEN,
    encode_abort,
    encode_error,
    encode_head,
    seal,
)
from .errors import DecodeError, FrameTimeout, IdleTimeout
from .header import Flags, Header, Kind, Meta, parse_header
from .message import Assembler, Message, is_reply, limits_of_pong, limits_request

log = logging.getLogger("sockframe")

DRAIN_SECONDS = 2.0
DRAIN_BYTES = 1 << 20

Handler = Callable[[Message], Awaitable[Optional[Message]]]
"""A service: gets each message (payload reassembled), returns the reply or ``None``."""


class AsyncConnection:
    """Frames over an asyncio stream pair."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        capacity: int = 16 * 1024,
        limits: Optional[Limits] = None,
        timeout: Optional[float] = None,
    ) -> None:
        """Wraps a connected stream pair; frames over ``capacity`` bytes stream; with
        ``timeout``, silence longer than that many seconds is a
        :class:`~sockframe.errors.Silence` fault.
        """
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(capacity, limits)
        self.timeout = timeout
        self._ids = itertools.count(1)

    async def close(self) -> None:
        """Closes the connection."""
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()

    async def send(self, header: Header, payload: bytes = b"") -> None:
        """Sends one frame; ``header.len`` is set from ``payload``."""
        self.writer.write(encode_head(header, len(payload)))
        if payload:
            self.writer.write(payload)
        await self.writer.drain()

    async def fail(self, error: DecodeError) -> None:
        """Ends the connection after ``error`` as the spec says (section 7.6): the ERROR
        frame with the code and numbers, a half-close, then what the peer still sends is
        read and dropped for up to 2 s and 1 MiB, so that closing with unread input does
        not reset the connection before the peer read the ERROR.
        """
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            self.writer.write(encode_error(error))
            await self.writer.drain()
            if self.writer.can_write_eof():
                self.writer.write_eof()
            await asyncio.wait_for(self._drain_input(DRAIN_BYTES), DRAIN_SECONDS)

    async def _drain_input(self, limit: int) -> None:
        while limit > 0:
            data = await self.reader.read(64 * 1024)
            if not data:
                return
            limit -= len(data)

    async def recv_event(self) -> Optional[Event]:
        """The next event; ``None`` when the peer ended the stream cleanly between frames.

        Raises :class:`~sockframe.errors.DecodeError` if the peer broke the format or the
        stream ended inside a frame (the caller decides whether to answer with an ERROR).
        """
        while True:
            event = self.decoder.next_event()
            if event is not None:
                return event
            try:
                data = await asyncio.wait_for(self.reader.read(self.decoder.capacity), self.timeout)
            except asyncio.TimeoutError:
                assert self.timeout is not None
                silence = IdleTimeout if self.decoder.is_idle() else FrameTimeout
                raise silence(self.timeout) from None
            if not data:
                self.decoder.finish()
                return None
            self.decoder.feed(data)

    async def recv(self) -> Optional[Message]:
        """The next frame with its whole payload; ``None`` at a clean end of stream.

        Raises :class:`~sockframe.errors.Aborted` if the frame's sender aborted it (the
        connection stays usable).
        """
        assembler = Assembler()
        while True:
            event = await self.recv_event()
            if event is None:
                return None
            message = assembler.add(event)
            if message is not None:
                return message

    async def request(self, payload: bytes, kind: int = Kind.DATA) -> Message:
        """Sends ``payload`` under a fresh id and returns the reply with that id.

        Writes while reading, so a large echo cannot deadlock. Raises
        :class:`~sockframe.errors.RemoteError` on an ERROR reply, ``ConnectionError`` if
        the peer closes first.
        """
        id = next(self._ids) & 0xFFFF_FFFF
        sending = asyncio.ensure_future(
            self.send(Header(kind=kind, id=id, len=len(payload)), payload)
        )
        try:
            while True:
                reply = await self.recv()
                if reply is None:
                    raise ConnectionError(f"connection closed before the reply to id {id}")
                if is_reply(reply, id):
                    await sending
                    return reply
        finally:
            if not sending.done():
                sending.cancel()

    async def ping(self, payload: bytes = b"") -> Message:
        """Sends a PING and returns the PONG."""
        return await self.request(payload, kind=Kind.PING)

    async def limits(self) -> Dict[str, int]:
        """Asks the peer for its limits, as :meth:`sockframe.Connection.limits`."""
        id = next(self._ids) & 0xFFFF_FFFF
        await self.send(limits_request(id))
        while True:
            reply = await self.recv()
            if reply is None:
                raise ConnectionError(f"connection closed before the reply to id {id}")
            if is_reply(reply, id):
                return limits_of_pong(reply.header)


async def open_connection(
    addr: Address, capacity: int = 16 * 1024, limits: Optional[Limits] = None
) -> AsyncConnection:
    """Connects to a sockframe peer at ``addr`` (``"host:port"`` or a tuple)."""
    host, port = parse_address(addr)
    reader, writer = await asyncio.open_connection(host, port)
    return AsyncConnection(reader, writer, capacity, limits)


def limits_of(decoder: Decoder) -> Meta:
    """A receiver's limits as a limits PONG carries them (spec, section 7.2)."""
    return (
        ("max-header", str(decoder.header_limit)),
        ("max-payload", str(decoder.limits.max_payload)),
        ("max-meta", str(decoder.limits.max_meta)),
        ("trailer", "1"),
    )


def echo_head(header: Header, head: bytes, decoder: Decoder) -> bytes:
    """The head an echo sends back for a frame (spec, section 6.1): the bytes as received,
    except a PING's kind byte (PONG), and a limits request answered with the limits PONG.
    A PING with a header check gets a PONG with the check recomputed (section 9).
    """
    if header.kind != Kind.PING:
        return head
    if header.get("limits") is None:
        same = head[:PREFIX_LEN] + bytes([Kind.PONG]) + head[PREFIX_LEN + 1 :]
        if (
            header.flags & Flags.HCHECK
            and len(head) >= MIN_CHECKED_HEAD
            and _fields_end_before_check(head, decoder)
        ):
            return seal(same[:-HCHECK_LEN])
        return same
    pong = Header(
        kind=Kind.PONG,
        id=header.id,
        flags=header.flags,
        crc=header.crc,
        meta=limits_of(decoder),
    )
    return encode_head(pong, header.len)


def _fields_end_before_check(head: bytes, decoder: Decoder) -> bool:
    """Whether a checked header's fields end before its last 4 bytes (spec, section 9): the
    header without them still decodes. If not, recomputing the check would change fields.
    """
    try:
        parse_header(
            head[PREFIX_LEN:-HCHECK_LEN],
            decoder.limits.max_payload,
            decoder.limits.max_meta,
        )
    except DecodeError:
        return False
    return True


FILLER_PIECE = 64 * 1024


async def echo(conn: AsyncConnection) -> None:
    """The echo service (spec, section 6.1): every frame back byte for byte, a PING as a
    PONG, a limits request with the limits.

    Frames larger than the buffer, and every frame with TRAILER, are echoed cut-through as
    they stream in, never held whole. A fault found after a frame's head went back ends
    that frame as the spec says: a TRAILER frame is completed with filler and aborted;
    a cut frame without TRAILER is left cut (closing says it); a complete one stands.
    """
    streaming: Optional[Header] = None  # the frame whose head was echoed, not yet ended
    sent = 0  # its payload bytes echoed
    write = conn.writer.write
    try:
        while True:
            event = await conn.recv_event()
            if event is None:
                return
            if isinstance(event, Frame):
                write(echo_head(event.header, event.head, conn.decoder) + event.payload)
            elif isinstance(event, Start):
                write(echo_head(event.header, event.head, conn.decoder))
                streaming, sent = event.header, 0
            elif isinstance(event, Chunk):
                write(event.data)
                sent += len(event.data)
            else:  # End or Abort: the trailer as received (none without TRAILER)
                write(event.trailer)
                streaming = None
            await conn.writer.drain()
    except DecodeError as e:
        log.info("closing a connection: %s", e)
        if streaming is not None and streaming.trailer:
            rest = streaming.len - sent
            while rest > 0:
                write(bytes(min(rest, FILLER_PIECE)))
                rest -= min(rest, FILLER_PIECE)
                await conn.writer.drain()
            write(encode_abort(streaming.id, e.code, str(e), e.numbers()))
        elif streaming is not None and sent < streaming.len:
            # An ERROR now would read as payload bytes: the close says the frame was cut.
            return
        await conn.fail(e)


def _message_service(handler: Handler) -> Callable[[AsyncConnection], Awaitable[None]]:
    async def serve_messages(conn: AsyncConnection) -> None:
        try:
            while True:
                message = await conn.recv()
                if message is None:
                    return
                reply = await handler(message)
                if reply is not None:
                    await conn.send(reply.header, reply.payload)
        except DecodeError as e:
            log.info("closing a connection: %s", e)
            await conn.fail(e)

    return serve_messages


async def serve(
    host: str,
    port: int,
    handler: Optional[Handler] = None,
    *,
    capacity: int = 16 * 1024,
    limits: Optional[Limits] = None,
    backlog: int = 100,
    timeout: Optional[float] = 300.0,
) -> Server:
    """Starts a server on ``host:port`` (port 0 picks a free one).

    Without ``handler`` it runs :func:`echo`. A peer that breaks the format gets an ERROR
    frame with the error's code, numbers and message, then the connection closes; other
    connections are not affected. A peer silent for ``timeout`` seconds gets
    ``idle-timeout`` (between frames) or ``frame-timeout`` (inside one); ``None``: never.
    """
    service = echo if handler is None else _message_service(handler)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = AsyncConnection(reader, writer, capacity, limits, timeout)
        try:
            await service(conn)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            log.info("connection lost: %s", e)
        finally:
            await conn.close()

    return await asyncio.start_server(on_connect, host, port, backlog=backlog)
