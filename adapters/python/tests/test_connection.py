"""The blocking client and the asyncio client and server, against each other."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from typing import Dict, Iterator, List, Optional

import pytest
import servers

from sockframe import (
    Aborted,
    BadMagic,
    Connection,
    Header,
    Kind,
    Message,
    RemoteError,
    Truncated,
    connect,
    encode_frame,
)
from sockframe.aio import open_connection


def pattern(n: int, seed: int) -> bytes:
    """Pseudo-random bytes, so a shifted or mixed-up echo does not compare equal."""
    return random.Random(seed).randbytes(n)


SIZES = [0, 1, 100, 16 * 1024 - 20, 16 * 1024, 200_000, 3 << 20]


def test_blocking_client_gets_byte_exact_echoes_of_every_size() -> None:
    with servers.in_thread() as addr, connect(addr) as conn:
        for i, n in enumerate(SIZES):
            payload = pattern(n, i)
            reply = conn.request(payload)
            assert (reply.kind, reply.id, reply.payload) == (Kind.DATA, i + 1, payload)


def test_echo_is_byte_exact_on_the_wire_and_streams_large_frames() -> None:
    # Raw bytes in, raw bytes out: name, crc, metadata and flags all come back unchanged,
    # including a frame larger than the server's buffer (echoed as it streams through).
    payload = pattern(100_000, 7)
    header = Header(kind=70, id=9, flags=0x01, name="n").with_crc_of(payload).with_meta(("k", "v"))
    wire = encode_frame(header, payload) + encode_frame(Header(kind=Kind.DATA, id=10), b"x")
    with servers.in_thread(capacity=4096) as addr, socket.create_connection(addr) as s:
        s.settimeout(30)
        threading.Thread(target=s.sendall, args=(wire,), daemon=True).start()
        got = b""
        while len(got) < len(wire):
            data = s.recv(65536)
            assert data, f"closed after {len(got)} of {len(wire)} bytes"
            got += data
        assert got == wire


def test_ping_gets_a_pong_with_the_same_id_and_payload() -> None:
    with servers.in_thread() as addr, connect(addr) as conn:
        conn.send(Header(kind=Kind.PING, id=77), b"are you there")
        pong = conn.recv()
        assert pong is not None
        assert (pong.kind, pong.id, pong.payload) == (Kind.PONG, 77, b"are you there")


def test_a_foreign_peer_gets_an_error_frame_then_the_connection_closes() -> None:
    with servers.in_thread() as addr, socket.create_connection(addr) as s:
        s.settimeout(10)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        conn = Connection(s)
        error = conn.recv()
        assert error is not None and error.kind == Kind.ERROR
        assert error.header.get("code") == "bad-magic"
        assert error.payload.startswith(b"not a sockframe stream: expected magic f5 46, got 47")
        assert conn.recv() is None  # then the server closed


def test_the_server_serves_others_while_one_peer_misbehaves() -> None:
    with servers.in_thread() as addr, connect(addr) as good, socket.create_connection(addr) as bad:
        bad.sendall(b"\xf5\x46\x02")
        assert good.request(b"still here").payload == b"still here"


def test_client_rejects_a_server_that_speaks_something_else() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        seen: List[bytes] = []

        def fake_server() -> None:
            peer, _ = listener.accept()
            with peer:
                servers.read_request(peer)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                seen.append(peer.recv(1024))  # what the client says about it

        t = threading.Thread(target=fake_server, daemon=True)
        t.start()
        with connect(listener.getsockname(), timeout=10) as conn, pytest.raises(BadMagic):
            conn.request(b"hello")
        t.join(10)
    assert b"bad-magic" in seen[0], seen


def test_client_reports_a_reply_cut_short() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def fake_server() -> None:
            peer, _ = listener.accept()
            with peer:
                servers.read_request(peer)
                peer.sendall(encode_frame(Header.data(1, b"hello"), b"hello")[:-2])

        threading.Thread(target=fake_server, daemon=True).start()
        with (
            connect(listener.getsockname(), timeout=10) as conn,
            pytest.raises(Truncated, match="got 3 of 5 bytes"),
        ):
            conn.request(b"hello")


def test_error_replies_raise_remote_error() -> None:
    async def refuse(message: Message) -> Optional[Message]:
        return Message(
            Header(kind=Kind.ERROR, id=message.id, meta=(("code", "busy"),)), b"try later"
        )

    with (
        servers.in_thread(handler=refuse) as addr,
        connect(addr) as conn,
        pytest.raises(RemoteError, match="busy: try later"),
    ):
        conn.request(b"hello")


def test_asyncio_client_and_a_message_handler() -> None:
    async def upper(message: Message) -> Optional[Message]:
        return Message(message.header, message.payload.upper())

    async def talk(addr: servers.Addr) -> List[bytes]:
        conn = await open_connection(addr, capacity=1024)
        try:
            replies = [(await conn.request(p)).payload for p in (b"abc", b"x" * 5000)]
            pong = await conn.ping(b"p")
            assert (pong.kind, pong.payload) == (Kind.PING, b"P")  # the handler answers all
            return replies
        finally:
            await conn.close()

    with servers.in_thread(handler=upper, capacity=1024) as addr:
        assert asyncio.run(talk(addr)) == [b"ABC", b"X" * 5000]


def test_asyncio_client_gets_large_echoes() -> None:
    async def talk(addr: servers.Addr) -> None:
        conn = await open_connection(addr)
        try:
            for i, n in enumerate(SIZES):
                payload = pattern(n, i)
                assert (await conn.request(payload)).payload == payload
        finally:
            await conn.close()

    with servers.in_thread() as addr:
        asyncio.run(talk(addr))


def test_limits_request_gets_the_servers_limits() -> None:
    with servers.in_thread(capacity=1024) as addr, connect(addr) as conn:
        assert conn.limits() == {
            "max-header": 512,
            "max-payload": 64 << 20,
            "max-meta": 8,
            "trailer": 1,
        }
        assert conn.request(b"after").payload == b"after"  # the stream is still in step

    async def ask(addr: servers.Addr) -> Dict[str, int]:
        conn = await open_connection(addr)
        try:
            return await conn.limits()
        finally:
            await conn.close()

    with servers.in_thread(capacity=100) as addr:
        assert asyncio.run(ask(addr))["max-header"] == 95  # capped by the buffer


def test_a_peer_without_limits_is_assumed_to_have_the_contracts_minimums() -> None:
    async def plain_pong(message: Message) -> Optional[Message]:
        return Message(Header(kind=Kind.PONG, id=message.id), b"")

    with servers.in_thread(handler=plain_pong) as addr, connect(addr) as conn:
        assert conn.limits() == {
            "max-header": 256,
            "max-payload": 65536,
            "max-meta": 8,
            "trailer": 0,
        }


def test_a_streamed_send_with_a_trailer_comes_back_whole() -> None:
    data = pattern(300_000, 5)
    pieces = [data[i : i + 7000] for i in range(0, len(data), 7000)]
    with servers.in_thread() as addr, connect(addr) as conn:
        header = Header(id=3, name="file").with_crc_of(data)
        sender = threading.Thread(
            target=conn.send_stream, args=(header, len(data), pieces, True), daemon=True
        )
        sender.start()
        reply = conn.recv()
        sender.join(30)
        assert reply is not None and reply.payload == data
        assert reply.header.trailer and reply.header.name == "file"


def test_input_failing_mid_stream_aborts_the_frame_and_the_connection_goes_on() -> None:
    def failing() -> Iterator[bytes]:
        yield b"first part "
        raise OSError("disk read failed")

    with servers.in_thread() as addr, connect(addr) as conn:
        with pytest.raises(OSError, match="disk read failed"):
            conn.send_stream(Header(id=4), 1000, failing(), trailer=True)
        with pytest.raises(Aborted, match="input-error: input failed: disk read failed"):
            conn.recv()
        assert conn.request(b"still usable").payload == b"still usable"
        # Fewer bytes than announced is an input failure too.
        with pytest.raises(ValueError, match="the pieces hold 3 bytes, 10 announced"):
            conn.send_stream(Header(id=5), 10, [b"abc"], trailer=True)
        with pytest.raises(Aborted):
            conn.recv()


@pytest.mark.parametrize(
    "sent, code",
    [
        (b"", "idle-timeout"),
        (encode_frame(Header.data(1, b"hello"), b"hello")[:8], "frame-timeout"),
    ],
)
def test_a_silent_peer_gets_a_timeout_error_with_the_limit(sent: bytes, code: str) -> None:
    with servers.in_thread(timeout=0.3) as addr, socket.create_connection(addr) as s:
        s.settimeout(10)
        s.sendall(sent)
        conn = Connection(s)
        error = conn.recv()  # after 0.3 s of silence
        assert error is not None and error.kind == Kind.ERROR
        assert error.header.meta == (("code", code), ("limit", "300"))
        assert conn.recv() is None
