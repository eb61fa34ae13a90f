"""The spec's conformance cases (sections 8.11 and 8.19) over real sockets: what an echo peer
sends back for each, byte for byte, and the ERROR frame with its code and numbers.

Run against the Python echo server, the board and the Rust desktop server (their addresses
as in test_interop.py): an implementation written from the spec, checked against both peers.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Iterator

import pytest
import servers
import spec
from test_interop import live

from sockframe import Decoder, Frame, Kind, parse_address

CASES = spec.cases()
PEERS = ["python", "board", "desktop"]


@contextmanager
def peer(name: str) -> Iterator[servers.Addr]:
    if name == "python":
        with servers.in_thread() as addr:
            yield addr
    else:
        yield parse_address(live(f"SOCKFRAME_{name.upper()}_ADDR"))


def exchange(addr: servers.Addr, case: spec.Case) -> bytes:
    """Sends the case's bytes on a served connection; reads what comes back: until the
    peer closes if an error is due, else the reply's length.
    """
    conn = servers.connect_served(addr)
    with conn:
        s = conn.sock
        s.settimeout(30)
        s.sendall(case.send)
        if case.end == "eof":
            s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while case.error is not None or len(got) < len(case.reply):
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
        return bytes(got)


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_echo_peer_answers_the_case(name: str, case: spec.Case) -> None:
    if name != "python" and not os.environ.get(f"SOCKFRAME_{name.upper()}_ADDR"):
        live(f"SOCKFRAME_{name.upper()}_ADDR")  # skips (or fails in CI), saying why
    with peer(name) as addr:
        got = exchange(addr, case)
    assert got[: len(case.reply)].hex(" ") == case.reply.hex(" ")
    rest = got[len(case.reply) :]
    if case.error is None:
        assert rest == b""
        return
    dec = Decoder()
    dec.feed(rest)
    events = list(dec.events())
    dec.finish()  # exactly one whole frame, then the close
    assert len(events) == 1 and isinstance(events[0], Frame), events
    error = events[0]
    assert (error.header.kind, error.header.id, error.header.flags) == (Kind.ERROR, 0, 0)
    assert (error.header.name, error.header.crc) == (None, None)
    assert list(error.header.meta) == [("code", case.error), *case.meta]
    if case.error != "bad-magic":  # its message shows the bytes that arrived together
        assert error.payload.decode() == case.message
