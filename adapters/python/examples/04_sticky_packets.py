"""Lesson 4: "sticky packets": TCP is a byte stream, not a message stream.

The client sends three short messages with three ``send`` calls (Nagle off, so each goes
out as its own segment). The server is slow: it reads only after all three have arrived.
On raw TCP its first ``recv`` returns all three glued together, and nothing says where one
ends. Over sockframe the same three sends, read the same late way, come out as exactly
three messages, however many socket reads it took.

Run: ``python adapters/python/examples/04_sticky_packets.py``
"""

from __future__ import annotations

import threading
import time
from typing import List

from lesson import TIMEOUT, dial, in_thread, listen, say, show

from sockframe import Connection, Header

MESSAGES = [b"one", b"two", b"three"]
SETTLE = 0.05  # the slow server waits this long after the client says it sent everything


def main() -> None:
    listener, addr = listen()
    sent = threading.Semaphore(0)
    raw_reads: List[bytes] = []
    frames: List[bytes] = []
    framed_reads = [0]

    def server() -> None:
        # Part 1: raw TCP.
        sock, _ = listener.accept()
        with sock:
            assert sent.acquire(timeout=TIMEOUT)
            time.sleep(SETTLE)
            total = sum(len(m) for m in MESSAGES)
            while sum(len(r) for r in raw_reads) < total:
                data = sock.recv(1024)
                if not data:
                    break
                raw_reads.append(data)
                say("server", f"raw recv #{len(raw_reads)} -> {show(data)}")
        # Part 2: the same over sockframe.
        sock, _ = listener.accept()
        with Connection(sock, capacity=1024) as conn:
            assert sent.acquire(timeout=TIMEOUT)
            time.sleep(SETTLE)
            while (message := conn.recv()) is not None:
                say("server", f"sockframe: message id={message.id} {show(message.payload)}")
                frames.append(message.payload)
            framed_reads[0] = conn.reads

    join = in_thread(server)
    with dial(addr) as s:
        for m in MESSAGES:
            s.sendall(m)
            say("client", f"raw send {show(m)}")
        sent.release()
    with Connection(dial(addr)) as conn:
        for id, m in enumerate(MESSAGES, 1):
            conn.send(Header.data(id, m), m)
            say("client", f"sockframe send id={id} {show(m)}")
        sent.release()
    join()
    listener.close()
    print(f"\nraw TCP:   {len(MESSAGES)} sends -> {len(raw_reads)} read(s): {raw_reads}")
    print(
        f"sockframe: {len(MESSAGES)} sends -> {framed_reads[0]} read(s) -> "
        f"{len(frames)} messages: {frames}"
    )
    assert frames == MESSAGES


if __name__ == "__main__":
    main()
