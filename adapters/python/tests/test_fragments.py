"""Messages sent as fragments (spec, section 5): joined by id, aborted as a whole."""

from __future__ import annotations

import socket

import pytest
import spec

from sockframe import Aborted, Connection, Flags, Header, encode_frame


def pair() -> tuple[Connection, socket.socket]:
    a, b = socket.socketpair()
    b.settimeout(10)
    return Connection(b), a


def test_fragments_join_and_other_ids_may_come_in_between() -> None:
    conn, peer = pair()
    with conn, peer:
        peer.sendall(
            encode_frame(Header(id=9, flags=Flags.MORE, name="out", meta=(("k", "v"),)), b"hel")
            + encode_frame(Header.data(1, b"other"), b"other")
            + encode_frame(Header(id=9, flags=Flags.MORE), b"lo ")
            + encode_frame(Header(id=9), b"world")
        )
        other = conn.recv_message()
        whole = conn.recv_message()
        assert other is not None and other.payload == b"other"
        assert whole is not None and whole.payload == b"hello world"
        assert whole.header == Header(id=9, len=11, name="out", meta=(("k", "v"),))


def test_the_spec_vector_of_an_aborted_message_drops_the_whole_message() -> None:
    vector = {v.name: v for v in spec.vectors()}["abort-fragments"].data
    conn, peer = pair()
    with conn, peer:
        peer.sendall(vector + encode_frame(Header.data(2, b"next"), b"next"))
        with pytest.raises(Aborted, match="frame 9 aborted: cancelled: cancelled by the sender"):
            conn.recv_message()
        after = conn.recv_message()
        assert after is not None and after.payload == b"next"  # not "hello " + ...


def test_a_stream_ending_inside_a_message_is_reported_cut() -> None:
    conn, peer = pair()
    with conn:
        peer.sendall(encode_frame(Header(id=9, flags=Flags.MORE), b"hello "))
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises(ConnectionError, match=r"inside message\(s\) with id \[9\]"):
            conn.recv_message()
        peer.close()
