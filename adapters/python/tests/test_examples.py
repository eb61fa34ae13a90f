"""The lesson's examples run, and say what the lesson is about."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# What each example must print (regular expressions), beyond exiting with 0.
EXPECTED = {
    "01_one_message.py": [r"\[client\] <- id=1 'hello, client: got your 13 bytes'"],
    "02_communication_loop.py": [
        r"<- id=4 'LAST LINE'",
        r"client closed the connection cleanly: loop ends",
    ],
    "03_connection_loop.py": [
        r"client 1: truncated: stream ended mid-payload: got \d+ of 14 bytes",
        r"client 2: closed cleanly",
        r"\[client 4\] <- 'am I served\?'",
        r"client 4: closed cleanly",
    ],
    "04_sticky_packets.py": [
        r"raw TCP:   3 sends -> [12] read\(s\)",
        r"sockframe: 3 sends -> \d+ read\(s\) -> 3 messages: \[b'one', b'two', b'three'\]",
    ],
    "05_dict_header.py": [
        r"<- header: name='report.bin' len=20480 crc=36570da5",
        r"<- 20480 bytes in \d+ chunks, crc ok",
    ],
    "06_remote_command.py": [
        r"-> 27 fragments, a last empty one; exit status 0",
        r"count: 108890 bytes in one message, \d+ socket reads; last line '19999'",
        r"version: \d+ bytes in one message",
    ],
}


def test_every_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("0*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for pattern in EXPECTED[name]:
        assert re.search(pattern, out.stdout), f"{name}: no {pattern!r} in:\n{out.stdout}"
