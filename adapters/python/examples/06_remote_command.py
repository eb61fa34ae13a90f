"""Lesson 6: a remote command whose output is larger than one ``recv``.

The lesson's remote shell sends the output's length first, because the client cannot know
when ``recv`` has everything. Here the server runs the command and sends its output as it
comes, in fragments: frames with the request's id, flag MORE on all but the last (the total
size is never needed up front). The client reassembles them, however many reads it takes.

The command list is fixed (no shell): a server that runs whatever it is sent is an open door.

Run: ``python adapters/python/examples/06_remote_command.py``
"""

from __future__ import annotations

import subprocess
import sys
from typing import Dict, List

from lesson import dial, in_thread, listen, say

from sockframe import Connection, Header, Kind

COMMANDS: Dict[str, List[str]] = {
    "count": [sys.executable, "-c", "for i in range(20000): print(i)"],
    "version": [sys.executable, "--version"],
}
PIECE = 4096  # bytes of output per fragment


def main() -> None:
    listener, addr = listen()

    def server() -> None:
        sock, _ = listener.accept()
        with Connection(sock) as conn:
            while (request := conn.recv()) is not None:
                name = request.payload.decode()
                if name not in COMMANDS:
                    error = f"unknown command {name!r}, known: {sorted(COMMANDS)}".encode()
                    meta = (("code", "unknown-command"),)
                    conn.send(Header(kind=Kind.ERROR, id=request.id, meta=meta), error)
                    continue
                say("server", f"<- run {name!r}")
                proc = subprocess.Popen(COMMANDS[name], stdout=subprocess.PIPE)
                assert proc.stdout is not None
                pieces = 0
                while piece := proc.stdout.read(PIECE):
                    conn.send(Header(id=request.id).with_more(), piece)
                    pieces += 1
                conn.send(Header(id=request.id), b"")
                say("server", f"-> {pieces} fragments, a last empty one; exit status {proc.wait()}")

    join = in_thread(server)
    with Connection(dial(addr)) as conn:
        for name in ["count", "version"]:
            conn.send(Header.data(1, name.encode()), name.encode())
            reads = conn.reads
            message = conn.recv_message()  # the fragments, joined
            assert message is not None and message.id == 1
            lines = message.payload.decode().splitlines()
            say(
                "client",
                f"{name}: {len(message.payload)} bytes in one message, "
                f"{conn.reads - reads} socket reads; last line {lines[-1]!r}",
            )
    join()
    listener.close()


if __name__ == "__main__":
    main()
