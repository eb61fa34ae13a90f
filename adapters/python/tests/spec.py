"""Reads the golden vectors out of ``docs/wire-format.md`` (never a copy of them).

``SOCKFRAME_SPEC`` names another copy of the spec; by default the repository's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List

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
