"""Lesson 2: the communication loop.

The client sends several lines, one message each, and reads each answer; the server loops
on ``recv()`` until the client closes. A clean close between two messages is the end of
the loop (``recv()`` returns ``None``), not an error.

Run: ``python adapters/python/examples/02_communication_loop.py``
"""

from __future__ import annotations

from lesson import dial, in_thread, listen, say, show

from sockframe import Connection, Header

LINES = [b"first line", b"second, longer line", b"", b"last line"]


def main() -> None:
    listener, addr = listen()
    say("server", f"listening on {addr[0]}:{addr[1]}")

    def server() -> None:
        sock, _ = listener.accept()
        with Connection(sock) as conn:
            while True:
                message = conn.recv()
                if message is None:
                    say("server", "client closed the connection cleanly: loop ends")
                    return
                say("server", f"<- id={message.id} {show(message.payload)}")
                answer = message.payload.upper()
                conn.send(Header.data(message.id, answer), answer)

    join = in_thread(server)
    with Connection(dial(addr)) as conn:
        for line in LINES:
            reply = conn.request(line)  # a fresh id; the reply carries it back
            say("client", f"-> {show(line)}  <- id={reply.id} {show(reply.payload)}")
            assert reply.payload == line.upper()
    join()
    listener.close()


if __name__ == "__main__":
    main()
