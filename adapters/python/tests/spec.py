"""Reads the golden vectors out of ``docs/wire-format.md`` (never a copy of them).

``SOCKFRAME_SPEC`` names another copy of the spec; by default the repository's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

SPEC = Path(
    os.environ.get(
        "SOCKFRAME_SPEC", Path(__file__).resolve().parents[3] / "docs" / "wire-format.md"
    )
)


def text() -> str:
    """The spec's markdown."""
    return SPEC.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Vector:
    """One ``<!-- vector: NAME -->`` block."""

    name: str
    data: bytes
    heading: str
    """The heading of the section the vector stands in (it says "decode only" if so)."""


def hex_bytes(block: str) -> bytes:
    """The bytes of a hex block: ``#`` starts a comment, whitespace separates."""
    digits = "".join(
        c
        for line in block.splitlines()
        for c in line.split("#", 1)[0]
        if c in "0123456789abcdefABCDEF"
    )
    assert len(digits) % 2 == 0, f"odd number of hex digits in {block!r}"
    return bytes.fromhex(digits)


def vectors() -> List[Vector]:
    """Every vector of the spec, in document order."""
    spec = text()
    out = []
    for m in re.finditer(r"<!-- vector: ([\w.-]+) -->\s*```[^\n]*\n(.*?)```", spec, re.S):
        before = spec[: m.start()]
        headings = re.findall(r"^#{2,} (.+)$", before, re.M)
        out.append(Vector(m.group(1), hex_bytes(m.group(2)), headings[-1] if headings else ""))
    return out


@dataclass(frozen=True)
class Case:
    """One ``<!-- case: NAME -->`` block: bytes a client sends and what the peer answers."""

    name: str
    send: bytes
    end: str
    """``open`` (the client keeps the connection open) or ``eof`` (it half-closes)."""
    reply: bytes
    """What an echo peer sends back before any ERROR frame."""
    error: Optional[str]
    """The ERROR frame's code, if the peer rejects the stream."""
    error_at: Optional[int]
    """After how many bytes of ``send`` (``None``: at the end of the stream)."""
    meta: List[Tuple[str, str]]
    """The ERROR frame's metadata after ``code``."""
    message: str
    """The ERROR frame's message as the reference implementation words it."""


def cases() -> List[Case]:
    """Every conformance case of the spec, in document order."""
    out = []
    for m in re.finditer(r"<!-- case: ([\w.-]+) -->\s*```[^\n]*\n(.*?)```", text(), re.S):
        fields: Dict[str, List[str]] = {}
        for line in m.group(2).splitlines():
            # `message:` is free text that may hold `#`; other values end at a comment.
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key = key.strip()
            value = value.strip() if key == "message" else value.split("#", 1)[0].strip()
            fields.setdefault(key, []).append(value)
        error = fields.get("error", [""])[0].split()
        out.append(
            Case(
                name=m.group(1),
                send=b"".join(hex_bytes(v) for v in fields.get("send", [])),
                end=fields["end"][0],
                reply=b"".join(hex_bytes(v) for v in fields.get("reply", [])),
                error=error[0] if error else None,
                error_at=int(error[1]) if error and error[1] != "eof" else None,
                meta=[
                    (k, v)
                    for k, _, v in (p.partition("=") for p in fields.get("meta", [""])[0].split())
                ],
                message=fields.get("message", [""])[0],
            )
        )
    return out
