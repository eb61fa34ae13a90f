"""Whole frames from the decoder's events: what the clients and servers hand out.

>>> from sockframe import Decoder, Header, encode_frame
>>> dec, assembler = Decoder(capacity=16), Assembler()
>>> dec.feed(encode_frame(Header.data(1, b"streamed payload"), b"streamed payload"))
>>> [m.payload for m in map(assembler.add, dec.events()) if m is not None]
[b'streamed payload']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .decoder import Abort, Chunk, End, Event, Frame, Start
from .errors import Aborted, RemoteError
from .header import Flags, Header, Kind


@dataclass(frozen=True)
class Message:
    """One frame with its whole payload (reassembled if it was streamed)."""

    header: Header
    payload: bytes

    @property
    def kind(self) -> int:
        """The frame's kind."""
        return self.header.kind

    @property
    def id(self) -> int:
        """The frame's id."""
        return self.header.id


class Assembler:
    """Folds events into :class:`Message` s: a :class:`Frame` as it is, a streamed one
    once its :class:`End` is in (its payload held in memory).
    """

    def __init__(self) -> None:
        """Nothing started."""
        self._started: Optional[Header] = None
        self._parts: List[bytes] = []

    def add(self, event: Event) -> Optional[Message]:
        """The message ``event`` completes, if it does.

        Raises :class:`~sockframe.errors.Aborted` when the sender aborted the frame.
        """
        if isinstance(event, Frame):
            return Message(event.header, event.payload)
        if isinstance(event, Start):
            self._started, self._parts = event.header, []
        elif isinstance(event, Chunk):
            self._parts.append(event.data)
        elif isinstance(event, End):
            header, self._started = self._started, None
            assert header is not None, "End without Start"
            return Message(header, b"".join(self._parts))
        elif isinstance(event, Abort):
            self._started = None
            raise Aborted(event)
        return None


class Fragments:
    """Joins fragments (flag MORE, spec section 5) into whole messages, by id: frames of
    other ids may come in between. The message's header is its first fragment's, with
    ``len`` the whole length and MORE cleared.
    """

    def __init__(self) -> None:
        """No message in progress."""
        self._open: Dict[int, Tuple[Header, List[bytes]]] = {}

    def add(self, frame: Message) -> Optional[Message]:
        """The message ``frame`` completes, if it does."""
        first, parts = self._open.pop(frame.id, (frame.header, []))
        parts.append(frame.payload)
        if frame.header.more:
            self._open[frame.id] = (first, parts)
            return None
        payload = b"".join(parts)
        whole = dataclasses.replace(first, len=len(payload), flags=first.flags & ~Flags.MORE)
        return Message(whole, payload)

    def discard(self, id: int) -> None:
        """Drops what arrived of message ``id`` (one of its fragments was aborted)."""
        self._open.pop(id, None)

    def open_ids(self) -> List[int]:
        """The ids of messages still waiting for fragments."""
        return sorted(self._open)


def is_reply(message: Message, id: int) -> bool:
    """Whether ``message`` answers request ``id``; raises
    :class:`~sockframe.errors.RemoteError` if it is an ERROR (for ``id`` or the
    connection), which ends the wait for the reply.
    """
    if message.kind == Kind.ERROR and message.id in (0, id):
        text = message.payload.decode("utf-8", "replace")
        raise RemoteError(message.header.get("code") or "?", text)
    return message.id == id


CONTRACT_LIMITS: Dict[str, int] = {
    "max-header": 256,
    "max-payload": 65_536,
    "max-meta": 8,
    "trailer": 0,
}
"""What every receiver accepts (spec, section 7.1), and no trailer support: what a sender
assumes of a peer whose PONG carries no limits."""


def limits_request(id: int) -> Header:
    """A PING asking for the receiver's limits (spec, section 7.2, vector 8.15)."""
    return Header(kind=Kind.PING, id=id, meta=(("limits", ""),))


def limits_of_pong(pong: Header) -> Dict[str, int]:
    """The limits a PONG announces; the contract's minimums for a PONG without them (a peer
    that predates limits requests), and for any entry that is not a decimal number.
    """
    if pong.get("max-header") is None:
        return dict(CONTRACT_LIMITS)
    out = {}
    for key, minimum in CONTRACT_LIMITS.items():
        value = pong.get(key) or ""
        out[key] = int(value) if value.isdigit() else minimum
    return out
