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
from typing import Awaitable, Callable, List, Optional

from .connection import Address, Message, parse_address
from .decoder import Chunk, Decoder, End, Event, Frame, Limits, Start
from .encoder import encode_error_frame, encode_head
from .errors import DecodeError, RemoteError
from .header import Header, Kind

log = logging.getLogger("sockframe")

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
    ) -> None:
        """Wraps a connected stream pair; frames over ``capacity`` bytes stream."""
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(capacity, limits)
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

    async def send_error(self, error: DecodeError, id: int = 0) -> None:
        """Tells the peer why its stream was rejected (an ERROR frame), if it still listens."""
        try:
            self.writer.write(encode_error_frame(id, error.code, str(error)))
            await self.writer.drain()
        except OSError:
            pass

    async def recv_event(self) -> Optional[Event]:
        """The next event; ``None`` when the peer ended the stream cleanly between frames.

        Raises :class:`~sockframe.errors.DecodeError` if the peer broke the format or the
        stream ended inside a frame (the caller decides whether to answer with an ERROR).
        """
        while True:
            event = self.decoder.next_event()
            if event is not None:
                return event
            data = await self.reader.read(self.decoder.capacity)
            if not data:
                self.decoder.finish()
                return None
            self.decoder.feed(data)

    async def recv(self) -> Optional[Message]:
        """The next frame with its whole payload; ``None`` at a clean end of stream."""
        started: Optional[Header] = None
        parts: List[bytes] = []
        while True:
            event = await self.recv_event()
            if event is None:
                return None
            if isinstance(event, Frame):
                return Message(event.header, event.payload)
            if isinstance(event, Start):
                started, parts = event.header, []
            elif isinstance(event, Chunk):
                parts.append(event.data)
            elif isinstance(event, End):
                assert started is not None
                return Message(started, b"".join(parts))

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
                if reply.kind == Kind.ERROR:
                    text = reply.payload.decode("utf-8", "replace")
                    raise RemoteError(reply.header.get("code") or "?", text)
                if reply.id == id:
                    await sending
                    return reply
        finally:
            if not sending.done():
                sending.cancel()

    async def ping(self, payload: bytes = b"") -> Message:
        """Sends a PING and returns the PONG."""
        return await self.request(payload, kind=Kind.PING)


async def open_connection(
    addr: Address, capacity: int = 16 * 1024, limits: Optional[Limits] = None
) -> AsyncConnection:
    """Connects to a sockframe peer at ``addr`` (``"host:port"`` or a tuple)."""
    host, port = parse_address(addr)
    reader, writer = await asyncio.open_connection(host, port)
    return AsyncConnection(reader, writer, capacity, limits)


async def echo(conn: AsyncConnection) -> None:
    """The echo service: every frame back unchanged, a PING answered with a PONG.

    Payloads larger than the buffer are echoed as they stream in, never held whole.
    """
    streaming = False
    try:
        while True:
            event = await conn.recv_event()
            if event is None:
                return
            if isinstance(event, Frame):
                await conn.send(event.header.echo_reply(), event.payload)
            elif isinstance(event, Start):
                streaming = True
                conn.writer.write(encode_head(event.header.echo_reply(), event.header.len))
            elif isinstance(event, Chunk):
                conn.writer.write(event.data)
                await conn.writer.drain()
            elif isinstance(event, End):
                streaming = False
    except DecodeError as e:
        log.info("closing a connection: %s", e)
        # In the middle of an echoed stream an ERROR frame would read as payload bytes:
        # the peer learns of the fault from the connection closing early instead.
        if not streaming:
            await conn.send_error(e)


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
            await conn.send_error(e)

    return serve_messages


async def serve(
    host: str,
    port: int,
    handler: Optional[Handler] = None,
    *,
    capacity: int = 16 * 1024,
    limits: Optional[Limits] = None,
    backlog: int = 100,
) -> Server:
    """Starts a server on ``host:port`` (port 0 picks a free one).

    Without ``handler`` it runs :func:`echo`. A peer that breaks the format gets an ERROR
    frame with the error's code and message, then the connection closes; other
    connections are not affected.
    """
    service = echo if handler is None else _message_service(handler)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = AsyncConnection(reader, writer, capacity, limits)
        try:
            await service(conn)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            log.info("connection lost: %s", e)
        finally:
            await conn.close()

    return await asyncio.start_server(on_connect, host, port, backlog=backlog)
