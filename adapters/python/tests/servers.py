"""Servers for tests: the asyncio server in a thread, or ``python -m sockframe serve``.

Both listen on 127.0.0.1 port 0, are ready only once they answered a real PING, and are
stopped even when the test fails.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, List, Tuple

from sockframe import Connection, Decoder, Header, Kind, connect, parse_address
from sockframe.aio import serve

Addr = Tuple[str, int]


def assert_answers(addr: Addr) -> None:
    """A PING gets an answer (a PONG from the echo; a handler may answer otherwise)."""
    with connect(addr, timeout=10) as conn:
        conn.send(Header(kind=Kind.PING, id=1), b"ready?")
        assert conn.recv() is not None, f"{addr} closed without answering"


@contextmanager
def in_thread(**kwargs: Any) -> Iterator[Addr]:
    """The asyncio server (``sockframe.aio.serve``) on its own event loop thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    where: List[Addr] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve("127.0.0.1", 0, **kwargs))
        where.append(server.sockets[0].getsockname()[:2])
        ready.set()
        loop.run_forever()
        # Connections still open when the test ends: cancel them, so none is left pending.
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the asyncio server did not start"
    try:
        assert_answers(where[0])
        yield where[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def cli_server(*args: str) -> Iterator[Addr]:
    """``python -m sockframe serve --bind 127.0.0.1:0 ARGS``, its address read from stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sockframe", "serve", "--bind", "127.0.0.1:0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on " in line, f"no address in {line!r}"
        addr = parse_address(line.rsplit(" ", 1)[1].strip())
        assert_answers(addr)
        yield addr
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def connect_served(addr: Addr) -> Connection:
    """A connection that has had a first echo. The board's sockets re-listen only after the
    previous connection closed (smoltcp has no accept backlog): a client arriving in that
    moment is reset, so the first exchange is retried for a few seconds.
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            conn = connect(addr, timeout=60)
            conn.request(b"first")
            return conn
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_request(sock: socket.socket) -> None:
    """Reads one whole frame from ``sock`` (a fake server's request), so that closing the
    socket afterwards does not reset the connection over unread bytes.
    """
    dec = Decoder()
    while True:
        data = sock.recv(4096)
        assert data, "the client closed before its request was in"
        dec.feed(data)
        if list(dec.events()):
            return
