"""Driving the decoder in tests: any split of the input, events folded into messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple

from sockframe import Abort, Chunk, DecodeError, Decoder, End, Frame, Header, Limits, Start


@dataclass
class Outcome:
    """What a decoder made of a byte stream."""

    messages: List[Tuple[Header, bytes]] = field(default_factory=list)
    """Each frame delivered complete, with its whole payload, streamed or not."""
    frames: List[Tuple[Header, bytes]] = field(default_factory=list)
    """Every frame on the wire, trailers and aborted frames included, in order."""
    aborted: List[Tuple[Header, bytes, str]] = field(default_factory=list)
    """Each aborted frame with the payload received (filler included) and the code."""
    streamed: List[bool] = field(default_factory=list)
    """Whether each frame came as Start/Chunk/End (else as one Frame)."""
    error: Optional[DecodeError] = None
    """The error the stream ended with, if any."""
    error_after: Optional[int] = None
    """How many bytes had been fed when the error was raised."""


def pieces(data: bytes, cuts: Iterable[int]) -> List[bytes]:
    """``data`` cut at the given offsets (sorted, deduplicated, clipped)."""
    at = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *at, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def decode(
    chunks: Iterable[bytes], capacity: int = 16 * 1024, limits: Optional[Limits] = None
) -> Outcome:
    """Feeds ``chunks`` one by one, taking every event after each, then finishes."""
    dec = Decoder(capacity, limits)
    out = Outcome()
    started: Optional[Header] = None
    parts: List[bytes] = []
    fed = 0
    try:
        for chunk in [*chunks, None]:
            if chunk is None:
                dec.finish()
                break
            dec.feed(chunk)
            fed += len(chunk)
            for event in dec.events():
                if isinstance(event, Frame):
                    assert started is None, "a whole frame inside a streamed one"
                    assert event.header.len == len(event.payload)
                    out.messages.append((event.header, event.payload))
                    out.frames.append((event.header, event.payload))
                    out.streamed.append(False)
                elif isinstance(event, Start):
                    assert started is None, "Start inside a streamed frame"
                    started, parts = event.header, []
                elif isinstance(event, Chunk):
                    assert started is not None and event.data, "an empty or stray Chunk"
                    parts.append(event.data)
                elif isinstance(event, End):
                    assert started is not None, "End without Start"
                    payload = b"".join(parts)
                    assert started.len == len(payload)
                    assert (event.header is not None) == started.trailer
                    out.messages.append((started, payload))
                    out.frames.append((started, payload))
                    if event.header is not None:
                        out.frames.append((event.header, b""))
                    out.streamed.append(True)
                    started = None
                elif isinstance(event, Abort):
                    assert started is not None and started.trailer, "Abort without Start"
                    payload = b"".join(parts)
                    out.aborted.append((started, payload, event.code))
                    out.frames.append((started, payload))
                    out.frames.append((event.header, event.message))
                    started = None
    except DecodeError as e:
        out.error, out.error_after = e, fed
    return out


def byte_by_byte(data: bytes) -> List[bytes]:
    """``data`` one byte at a time."""
    return [data[i : i + 1] for i in range(len(data))]
