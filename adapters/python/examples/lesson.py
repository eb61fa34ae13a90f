"""What the lesson's examples share: a loopback listener, a log of what goes each way.

Every socket gets a 5 s timeout, so no example can hang; each binds 127.0.0.1 port 0,
runs its server in a thread and its client in the main thread, and exits on its own.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Callable, Tuple

TIMEOUT = 5.0


_PRINTING = threading.Lock()


def say(who: str, text: str) -> None:
    """One line of the transcript: ``[server] <- id=1 'hello'`` (whole, whichever thread)."""
    with _PRINTING:
        sys.stdout.write(f"[{who}] {text}\n")
        sys.stdout.flush()


def show(data: bytes, limit: int = 40) -> str:
    """Bytes as text for the transcript, cut when long."""
    text = repr(data[:limit])[1:]
    return text if len(data) <= limit else f"{text}... ({len(data)} bytes)"


def listen(backlog: int = 5) -> Tuple[socket.socket, Tuple[str, int]]:
    """A listening socket on a free loopback port, with SO_REUSEADDR (so a restarted server
    can take its port back while old connections sit in TIME_WAIT) and ``backlog``.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(backlog)
    server.settimeout(TIMEOUT)
    return server, server.getsockname()


def dial(addr: Tuple[str, int]) -> socket.socket:
    """A client socket connected to ``addr``, Nagle off (each send its own segment)."""
    client = socket.create_connection(addr, timeout=TIMEOUT)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def in_thread(target: Callable[[], None]) -> Callable[[], None]:
    """Runs ``target`` in a thread; returns a join that re-raises what it raised."""
    failure = []

    def run() -> None:
        try:
            target()
        except BaseException as e:  # handed to the main thread by join
            failure.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(TIMEOUT * 4)
        if thread.is_alive():
            raise TimeoutError("the server thread did not finish")
        if failure:
            raise failure[0]

    return join
