"""Lesson 1: one message each way.

The client sends one message; the server receives it whole, answers, and both close.
Over bare TCP the server's ``recv(1024)`` could return part of the message, or more; over
sockframe ``recv()`` returns exactly one message, whatever the stream did to the bytes.

Run: ``python adapters/python/examples/01_one_message.py``
"""

from __future__ import annotations

from lesson import dial, in_thread, listen, say, show

from sockframe import Connection, Header


def main() -> None:
    listener, addr = listen()
    say("server", f"listening on {addr[0]}:{addr[1]}")

    def server() -> None:
        sock, peer = listener.accept()
        with Connection(sock) as conn:
            request = conn.recv()
            assert request is not None
            say("server", f"<- id={request.id} {show(request.payload)} from {peer[0]}")
            reply = b"hello, client: got your " + str(len(request.payload)).encode() + b" bytes"
            conn.send(Header.data(request.id, reply), reply)
            say("server", f"-> id={request.id} {show(reply)}")

    join = in_thread(server)
    with Connection(dial(addr)) as conn:
        message = b"hello, server"
        conn.send(Header.data(1, message), message)
        say("client", f"-> id=1 {show(message)}")
        reply = conn.recv()
        assert reply is not None
        say("client", f"<- id={reply.id} {show(reply.payload)}")
    join()
    listener.close()


if __name__ == "__main__":
    main()
