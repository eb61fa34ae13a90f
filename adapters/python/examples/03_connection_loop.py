"""Lesson 3: the connection loop, with reuse-address and a backlog.

The server binds with SO_REUSEADDR and ``listen(backlog)`` and serves clients one after
another, forever (here: until four have come and gone). Three of them misbehave: one
vanishes in the middle of a frame, one connects and says nothing, one sends and never
reads. Each ends its own connection only; the last client is fully served.

Run: ``python adapters/python/examples/03_connection_loop.py``
"""

from __future__ import annotations

from lesson import dial, in_thread, listen, say, show

from sockframe import Connection, DecodeError, Header, encode_frame

BACKLOG = 5
CLIENTS = 4


def main() -> None:
    listener, addr = listen(BACKLOG)
    say("server", f"listening on {addr[0]}:{addr[1]} (SO_REUSEADDR, backlog {BACKLOG})")

    def server() -> None:
        for n in range(1, CLIENTS + 1):
            sock, _ = listener.accept()
            with Connection(sock) as conn:
                try:
                    while (message := conn.recv()) is not None:
                        conn.send(Header.data(message.id, message.payload), message.payload)
                        say("server", f"client {n}: echoed {show(message.payload)}")
                    say("server", f"client {n}: closed cleanly")
                except DecodeError as e:
                    say("server", f"client {n}: {e.code}: {e}")
                except OSError as e:
                    say("server", f"client {n}: connection lost: {e}")

    join = in_thread(server)

    # 1: vanishes mid-frame: half a frame, then close.
    frame = encode_frame(Header.data(1, b"never finished"), b"never finished")
    with dial(addr) as s:
        s.sendall(frame[: len(frame) // 2])
    say("client 1", "sent half a frame and vanished")
    # 2: connects and says nothing.
    with dial(addr):
        say("client 2", "connected and left without a word")
    # 3: sends, never reads its echo.
    with dial(addr) as s:
        s.sendall(encode_frame(Header.data(1, b"unread"), b"unread"))
        say("client 3", "sent a message and left without reading the echo")
    # 4: a well-behaved client.
    with Connection(dial(addr)) as conn:
        reply = conn.request(b"am I served?")
        say("client 4", f"<- {show(reply.payload)}")
    join()
    listener.close()


if __name__ == "__main__":
    main()
