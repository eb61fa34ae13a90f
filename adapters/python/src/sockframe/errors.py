"""The errors a receiver or a sender can meet, each carrying the numbers that explain it.

Every :class:`DecodeError` is fatal for the connection (spec, section 7): after it the
receiver no longer knows where the next frame starts. Its :attr:`~DecodeError.code` is the
short stable name a receiver sends back in an ERROR frame's ``code`` metadata.
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Optional, Tuple

Meta = List[Tuple[str, str]]


class DecodeError(Exception):
    """Received bytes that are not a valid sockframe stream."""

    code: ClassVar[str] = "decode-error"
    """The stable error name of the spec's section 7.3 (``bad-magic``, ``truncated``...)."""

    def numbers(self) -> Meta:
        """The error's numbers as the metadata an ERROR or ABORT carries after ``code``
        (spec, section 7.4), in order, values in decimal.
        """
        return []


def _guess_protocol(seen: bytes) -> str:
    """A guess at what a foreign peer speaks, from its first bytes."""

    def printable(b: int) -> bool:
        return 0x21 <= b <= 0x7E or b == 0x20

    def whitespace(b: int) -> bool:
        return b in b" \t\n\x0c\r"

    if seen[:2] == b"\x16\x03":
        return "looks like a TLS handshake"
    if seen[:1] == b"\x00":
        return "looks like a bare big-endian length prefix"
    if seen and 0x41 <= seen[0] <= 0x5A and all(printable(b) for b in seen):
        return "looks like an HTTP request or a text command"
    if seen and all(printable(b) or whitespace(b) for b in seen):
        return "looks like a line of text (telnet?)"
    return "unknown protocol"


class BadMagic(DecodeError):
    """The first bytes are not the magic ``F5 46``: the peer speaks another protocol."""

    code = "bad-magic"

    def __init__(self, seen: bytes) -> None:
        """``seen``: up to four bytes from the start of the frame, as they arrived."""
        self.seen = bytes(seen[:4])
        self.at = 0 if self.seen[:1] != b"\xf5" else 1
        """Offset of the first byte that differs from ``F5 46``."""
        hex_bytes = " ".join(f"{b:02x}" for b in self.seen)
        text = "".join(chr(b) if 0x20 <= b <= 0x7E else "." for b in self.seen)
        super().__init__(
            f"not a sockframe stream: expected magic f5 46, got {hex_bytes} ({text}), "
            f"{_guess_protocol(self.seen)}"
        )

    def numbers(self) -> Meta:
        """``at`` (0 or 1) and ``got``: the first differing byte."""
        return [("at", str(self.at)), ("got", str(self.seen[self.at]))]


class BadVersion(DecodeError):
    """The prefix names a wire-format version this receiver does not speak."""

    code = "bad-version"

    def __init__(self, version: int) -> None:
        """``version``: the version byte received."""
        self.version = version
        super().__init__(f"unsupported wire-format version {version}, this peer speaks 1")

    def numbers(self) -> Meta:
        """``version`` received and ``supported``."""
        return [("version", str(self.version)), ("supported", "1")]


class HeaderTooLarge(DecodeError):
    """The prefix announces a header larger than this receiver accepts."""

    code = "header-too-large"

    def __init__(self, length: int, limit: int) -> None:
        """``length``: announced header bytes; ``limit``: the receiver's limit."""
        self.length = length
        self.limit = limit
        super().__init__(f"header is {length} bytes, limit {limit}")

    def numbers(self) -> Meta:
        """``size`` and ``limit``."""
        return [("size", str(self.length)), ("limit", str(self.limit))]


class PayloadTooLarge(DecodeError):
    """The header announces a payload larger than this receiver accepts."""

    code = "payload-too-large"

    def __init__(self, length: int, limit: int) -> None:
        """``length``: announced payload bytes; ``limit``: the receiver's limit."""
        self.length = length
        self.limit = limit
        super().__init__(f"payload is {length} bytes, limit {limit}")

    def numbers(self) -> Meta:
        """``size`` and ``limit``."""
        return [("size", str(self.length)), ("limit", str(self.limit))]


class BadHeader(DecodeError):
    """A header field cannot be decoded inside the announced header length."""

    code = "bad-header"

    def __init__(self, field: str, problem: str) -> None:
        """``field``: the field's name in the spec; ``problem``: what was wrong with it."""
        self.field = field
        self.problem = problem
        super().__init__(f"bad header: field `{field}`: {problem}")

    def numbers(self) -> Meta:
        """``field``: the field that failed."""
        return [("field", self.field)]


class TooMuchMetadata(DecodeError):
    """The header announces more metadata entries than this receiver accepts."""

    code = "too-much-metadata"

    def __init__(self, count: int, limit: int) -> None:
        """``count``: announced entries; ``limit``: the receiver's limit."""
        self.count = count
        self.limit = limit
        super().__init__(f"header has {count} metadata entries, limit {limit}")

    def numbers(self) -> Meta:
        """``size`` (the count) and ``limit``."""
        return [("size", str(self.count)), ("limit", str(self.limit))]


class BadTrailer(DecodeError):
    """A trailer rule is broken (spec, section 4.1): a frame other than END/ABORT for the
    right id where a trailer is due, an END/ABORT where none is, an END with a payload, an
    ABORT message over 200 bytes.
    """

    code = "bad-trailer"

    def __init__(self, expected_id: Optional[int], kind: int, id: int, size: int) -> None:
        """``expected_id``: the id whose trailer was due (``None``: none was); ``kind``,
        ``id``, ``size``: the offending frame's kind, id and ``len``.
        """
        self.expected_id = expected_id
        self.kind = kind
        self.id = id
        self.size = size
        if expected_id is None:
            text = f"trailer (kind {kind}) for frame {id}, but no frame announced one"
        elif kind not in (4, 5) or id != expected_id:
            text = f"frame {expected_id} announced a trailer, got kind {kind} for frame {id}"
        elif kind == 4:
            text = f"END of frame {id} has a {size}-byte payload, must be empty"
        else:
            text = f"ABORT of frame {id} has a {size}-byte message, limit 200"
        super().__init__(text)

    def numbers(self) -> Meta:
        """``expected-id`` (if a trailer was due), then ``kind``, ``id``, ``size``."""
        due = [] if self.expected_id is None else [("expected-id", str(self.expected_id))]
        return [*due, ("kind", str(self.kind)), ("id", str(self.id)), ("size", str(self.size))]


class BadChecksum(DecodeError):
    """The payload's CRC-32C differs from the one in the header."""

    code = "bad-checksum"

    def __init__(self, expected: int, actual: int) -> None:
        """``expected``: the header's checksum; ``actual``: the payload's."""
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"payload checksum mismatch: header says crc32c {expected:08x}, "
            f"payload has {actual:08x}"
        )

    def numbers(self) -> Meta:
        """``expected`` (the header's crc) and ``actual``."""
        return [("expected", str(self.expected)), ("actual", str(self.actual))]


class Truncated(DecodeError):
    """The stream ended inside a frame."""

    code = "truncated"

    def __init__(self, stage: str, have: int, need: int) -> None:
        """``stage``: ``prefix``, ``header``, ``payload`` or ``trailer``; ``have`` of
        ``need`` bytes of that part.
        """
        self.stage = stage
        self.have = have
        self.need = need
        super().__init__(f"stream ended mid-{stage}: got {have} of {need} bytes")

    def numbers(self) -> Meta:
        """``stage``, ``have`` and ``need``."""
        return [("stage", self.stage), ("have", str(self.have)), ("need", str(self.need))]


class Silence(DecodeError):
    """Nothing arrived for too long (spec, section 7.3: service codes, sent the same way as
    framing faults): :class:`IdleTimeout` between frames, :class:`FrameTimeout` inside one.
    """

    where = "the connection"

    def __init__(self, seconds: float) -> None:
        """``seconds``: the limit."""
        self.limit_ms = round(seconds * 1000)
        super().__init__(f"nothing arrived on {self.where} for {self.limit_ms} ms (the limit)")

    def numbers(self) -> Meta:
        """``limit``, in milliseconds."""
        return [("limit", str(self.limit_ms))]


class IdleTimeout(Silence):
    """Nothing arrived between frames for too long."""

    code = "idle-timeout"


class FrameTimeout(Silence):
    """A frame in progress stopped arriving for too long."""

    code = "frame-timeout"
    where = "a frame in progress"


class EncodeError(ValueError):
    """A header or payload that cannot be put on the wire (a value out of range, too many
    metadata entries, a header longer than the prefix can announce).
    """


class RemoteError(Exception):
    """The peer answered with an ERROR frame (kind 1)."""

    def __init__(self, code: str, message: str) -> None:
        """``code``: the frame's ``code`` metadata; ``message``: its payload as text."""
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class Aborted(Exception):
    """The peer aborted a frame it had started (an ABORT trailer, spec section 4.1): its
    payload, and its whole message if it is a fragment, must be discarded. The connection
    stays usable.
    """

    def __init__(self, abort: Any) -> None:
        """``abort``: the decoder's :class:`~sockframe.decoder.Abort` event."""
        self.abort = abort
        self.code: str = abort.code
        self.message: str = abort.message.decode("utf-8", "replace")
        super().__init__(f"frame {abort.header.id} aborted: {self.code}: {self.message}")
