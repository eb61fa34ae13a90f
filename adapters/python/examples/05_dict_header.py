"""Lesson 5: the dict header: say what the payload is before sending it.

The lesson sends a JSON dict (file name, size, checksum) ahead of a file. sockframe's header
is that dict, built in: a name, a CRC-32C and key/value metadata travel with every frame.
Here a 20 KiB "file" goes through a receiver with a 1 KiB buffer: the header comes first
(``Start``), the payload in pieces as it arrives (``Chunk``), then ``End`` once the checksum
matched. A receiver never needs memory for the whole file.

Run: ``python adapters/python/examples/05_dict_header.py``
"""

from __future__ import annotations

import hashlib
from typing import List

from lesson import dial, in_thread, listen, say

from sockframe import Chunk, Connection, End, Frame, Header, Start

FILE = bytes(range(256)) * 80  # 20 KiB


def main() -> None:
    listener, addr = listen()
    chunks: List[int] = []

    def server() -> None:
        sock, _ = listener.accept()
        with Connection(sock, capacity=1024) as conn:
            digest = hashlib.sha256()
            while (event := conn.recv_event()) is not None:
                if isinstance(event, Start):
                    h = event.header
                    say("server", f"<- header: name={h.name!r} len={h.len} crc={h.crc:08x}")
                    say("server", f"   metadata: {dict(h.meta)}")
                elif isinstance(event, Chunk):
                    chunks.append(len(event.data))
                    digest.update(event.data)
                elif isinstance(event, End):
                    say("server", f"<- {sum(chunks)} bytes in {len(chunks)} chunks, crc ok")
                    say("server", f"   sha256 {digest.hexdigest()[:16]}...")
                elif isinstance(event, Frame):
                    raise AssertionError("20 KiB cannot fit a 1 KiB buffer whole")

    join = in_thread(server)
    header = (
        Header(id=1, name="report.bin")
        .with_crc_of(FILE)
        .with_meta(
            ("type", "application/octet-stream"), ("sha256", hashlib.sha256(FILE).hexdigest())
        )
    )
    with Connection(dial(addr)) as conn:
        conn.send(header, FILE)
        say("client", f"-> report.bin, {len(FILE)} bytes with name, crc and metadata")
    join()
    listener.close()
    assert sum(chunks) == len(FILE) and len(chunks) > 1


if __name__ == "__main__":
    main()
