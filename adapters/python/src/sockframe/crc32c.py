"""CRC-32C (Castagnoli), the optional payload checksum of a frame.

Polynomial ``0x1EDC6F41`` reflected (``0x82F63B78``), initial value and final XOR
``0xFFFFFFFF``: the check value of ASCII ``123456789`` is ``0xE3069283`` (spec, section 3).
"""

from __future__ import annotations

from typing import List

_REFLECTED_POLY = 0x82F63B78


def _table() -> List[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _REFLECTED_POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


class Crc32c:
    """A CRC-32C computed over data that arrives in pieces.

    >>> c = Crc32c()
    >>> c.update(b"1234")
    >>> c.update(b"56789")
    >>> hex(c.value())
    '0xe3069283'
    """

    __slots__ = ("_state",)

    def __init__(self) -> None:
        """Start a fresh checksum."""
        self._state = 0xFFFFFFFF

    def update(self, data: bytes) -> None:
        """Add the next piece of the data."""
        state, table = self._state, _TABLE
        for byte in data:
            state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
        self._state = state

    def value(self) -> int:
        """The checksum of everything added so far."""
        return self._state ^ 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` in one go.

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    c = Crc32c()
    c.update(data)
    return c.value()
