"""Blocking frames over a socket: a client, or one side of a server's connection.

>>> import socket
>>> a, b = socket.socketpair()
>>> left, right = Connection(a), Connection(b)
>>> left.send(Header.data(1, b"hello"), b"hello")
>>> right.recv().payload
b'hello'
>>> left.close(); right.close()
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from typing import Dict, Iterable, List, Optional, Tuple, Union

from .decoder import Decoder, Event, Limits
from .encoder import encode_abort, encode_end, encode_error, encode_head
from .errors import Aborted, DecodeError
from .header import Header, Kind
from .message import Assembler, Fragments, Message, is_reply, limits_of_pong, limits_request

Address = Union[str, Tuple[str, int]]
"""``"host:port"`` (``"[::1]:8080"`` for IPv6) or a ``(host, port)`` tuple."""

_THREADED_SEND = 64 * 1024
"""Payloads above this are written from a second thread while the reply is read, so an
echo of a payload larger than all the buffers on the way cannot deadlock."""


def parse_address(addr: Address) -> Tuple[str, int]:
    """``"host:port"`` as ``(host, port)``; raises ``ValueError`` naming what is wrong."""
    if isinstance(addr, tuple):
        return addr
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 0xFFFF:
        raise ValueError(f"expected HOST:PORT, got {addr!r}")
    return host.strip("[]"), int(port)


class Connection:
    """Frames over a connected, blocking socket."""

    def __init__(
        self,
        sock: socket.socket,
        capacity: int = 16 * 1024,
        limits: Optional[Limits] = None,
    ) -> None:
        """Wraps ``sock``; frames up to ``capacity`` bytes arrive whole, larger ones stream."""
        self.sock = sock
        self.decoder = Decoder(capacity, limits)
        self._ids = itertools.count(1)
        self._fragments = Fragments()
        self.reads = 0
        """Socket reads that returned bytes (for the lesson's sticky-packet demonstration)."""

    def __enter__(self) -> Connection:
        """The connection itself; closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Closes the socket."""
        self.close()

    def close(self) -> None:
        """Closes the socket."""
        self.sock.close()

    def send(self, header: Header, payload: bytes = b"") -> None:
        """Sends one frame; ``header.len`` is set from ``payload``."""
        head = encode_head(header, len(payload))
        if len(payload) <= _THREADED_SEND:
            self.sock.sendall(head + payload)  # one segment for a small frame
        else:
            self.sock.sendall(head)
            self.sock.sendall(payload)

    def send_error(self, error: DecodeError) -> None:
        """Tells the peer why its stream was rejected: an ERROR frame with the code and the
        numbers (spec, section 7.4), if it still listens.
        """
        with contextlib.suppress(OSError):
            self.sock.sendall(encode_error(error))

    def recv_event(self) -> Optional[Event]:
        """The next event; ``None`` when the peer ended the stream cleanly between frames.

        A :class:`~sockframe.errors.DecodeError` (the peer broke the format, or the
        stream ended inside a frame) is answered with an ERROR frame, then raised.
        """
        try:
            while True:
                event = self.decoder.next_event()
                if event is not None:
                    return event
                data = self.sock.recv(self.decoder.capacity)
                if not data:
                    self.decoder.finish()
                    return None
                self.reads += 1
                self.decoder.feed(data)
        except DecodeError as e:
            self.send_error(e)
            raise

    def recv(self) -> Optional[Message]:
        """The next frame with its whole payload; ``None`` at a clean end of stream.

        Raises :class:`~sockframe.errors.Aborted` if the frame's sender aborted it (the
        connection stays usable).
        """
        assembler = Assembler()
        while True:
            event = self.recv_event()
            if event is None:
                return None
            message = assembler.add(event)
            if message is not None:
                return message

    def recv_message(self) -> Optional[Message]:
        """The next whole message: fragments (flag MORE) of one id joined, frames of other
        ids that come in between kept until their own message completes. ``None`` at a
        clean end of stream.

        Raises :class:`~sockframe.errors.Aborted` when a fragment is aborted (the message
        is dropped), and ``ConnectionError`` when the stream ends with a message still
        incomplete (the spec: never delivered as complete).
        """
        while True:
            try:
                frame = self.recv()
            except Aborted as e:
                self._fragments.discard(e.abort.header.id)
                raise
            if frame is None:
                cut = self._fragments.open_ids()
                if cut:
                    raise ConnectionError(f"stream ended inside message(s) with id {cut}")
                return None
            message = self._fragments.add(frame)
            if message is not None:
                return message

    def request(
        self, payload: bytes, kind: int = Kind.DATA, header: Optional[Header] = None
    ) -> Message:
        """Sends ``payload`` under a fresh id and returns the reply carrying that id.

        ``header`` (optional) supplies name, crc, flags and metadata; its id and len are
        replaced. Raises :class:`~sockframe.errors.RemoteError` if the peer answers with an
        ERROR frame, ``ConnectionError`` if it closes first.
        """
        id = next(self._ids) & 0xFFFF_FFFF
        base = header if header is not None else Header()
        out = Header(
            kind=kind if header is None else base.kind,
            id=id,
            len=len(payload),
            flags=base.flags,
            name=base.name,
            crc=base.crc,
            meta=base.meta,
        )
        if len(payload) <= _THREADED_SEND:
            self.send(out, payload)
            return self._reply(id)
        failure: List[BaseException] = []

        def write() -> None:
            try:
                self.send(out, payload)
            except BaseException as e:  # handed to the caller below
                failure.append(e)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            return self._reply(id)
        finally:
            writer.join()
            if failure:
                raise failure[0]

    def ping(self, payload: bytes = b"") -> Message:
        """Sends a PING and returns the PONG (same id and payload)."""
        return self.request(payload, kind=Kind.PING)

    def limits(self) -> Dict[str, int]:
        """Asks the peer for its limits (spec, section 7.2): ``max-header``,
        ``max-payload``, ``max-meta`` and ``trailer`` (1: it takes frames with TRAILER).
        A peer that predates limits requests gets the contract's minimums.
        """
        id = next(self._ids) & 0xFFFF_FFFF
        self.send(limits_request(id))
        return limits_of_pong(self._reply(id).header)

    def send_stream(
        self, header: Header, length: int, pieces: Iterable[bytes], trailer: bool = False
    ) -> None:
        """Sends a payload of ``length`` bytes taken from ``pieces`` as they come, never
        held whole (a file, a command's output of known size).

        With ``trailer`` the frame carries flag TRAILER (only for a peer whose
        :meth:`limits` say ``trailer`` 1, or an echo): it ends with an END, or, if taking
        the next piece raises or the pieces hold more or fewer bytes than ``length``, with
        filler for the rest and an ABORT ``input-error``, after which the error is raised
        and the connection stays usable. Without ``trailer`` such an error leaves the
        frame cut: the caller must close the connection.
        """
        if trailer:
            header = header.with_trailer()
        self.sock.sendall(encode_head(header, length))
        sent = 0
        source = iter(pieces)
        while True:
            try:
                piece = next(source, None)
                if piece is not None and sent + len(piece) > length:
                    raise ValueError(f"the pieces hold more than the {length} bytes announced")
                if piece is None and sent < length:
                    raise ValueError(f"the pieces hold {sent} bytes, {length} announced")
            except Exception as e:
                if trailer:
                    self._abort(header.id, length - sent, f"input failed: {e}")
                raise
            if piece is None:
                break
            self.sock.sendall(piece)
            sent += len(piece)
        if trailer:
            self.sock.sendall(encode_end(header.id))

    def _abort(self, id: int, rest: int, message: str) -> None:
        """Completes frame ``id`` with ``rest`` bytes of filler, then aborts it."""
        while rest > 0:
            n = min(rest, 64 * 1024)
            self.sock.sendall(bytes(n))
            rest -= n
        self.sock.sendall(encode_abort(id, "input-error", message))

    def _reply(self, id: int) -> Message:
        while True:
            reply = self.recv()
            if reply is None:
                raise ConnectionError(f"connection closed before the reply to id {id}")
            if is_reply(reply, id):
                return reply


def connect(
    addr: Address,
    timeout: Optional[float] = 30.0,
    capacity: int = 16 * 1024,
    limits: Optional[Limits] = None,
) -> Connection:
    """Connects to a sockframe peer at ``addr``; ``timeout`` bounds connect and each read."""
    sock = socket.create_connection(parse_address(addr), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Connection(sock, capacity, limits)
