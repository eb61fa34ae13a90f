"""``python -m sockframe serve`` and ``send``, as a user runs them."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Tuple

import servers

from sockframe import Flags, Header, encode_abort, encode_frame


def send(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sockframe", "send", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_send_prints_the_reply_of_the_python_server() -> None:
    with servers.cli_server() as (host, port):
        out = send(f"{host}:{port}", "hello from the command line")
        assert (out.returncode, out.stdout) == (0, b"hello from the command line")
        big = bytes(range(256)) * 4096  # 1 MiB from stdin, streamed both ways
        out = send(f"{host}:{port}", "-", stdin=big)
        assert out.returncode == 0 and out.stdout == big


def test_usage_errors_exit_2() -> None:
    out = send("no-port-here", "x")
    assert out.returncode == 2
    assert b"expected HOST:PORT, got 'no-port-here'" in out.stderr
    bad_bind = subprocess.run(
        [sys.executable, "-m", "sockframe", "serve", "--bind", "nowhere"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad_bind.returncode == 2


def test_connection_refused_exits_3() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    out = send(f"127.0.0.1:{port}", "x")
    assert out.returncode == 3
    assert f"cannot connect to 127.0.0.1:{port}".encode() in out.stderr


def send_to_fake_server(answer: bytes) -> Tuple[int, bytes, bytes]:
    """``send`` against a server that reads the request and answers ``answer``: the exit
    code, stdout and stderr.
    """
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "sockframe", "send", f"127.0.0.1:{port}", "x"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        peer, _ = s.accept()
        with peer:
            servers.read_request(peer)
            peer.sendall(answer)
            out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_a_server_that_breaks_the_protocol_exits_1() -> None:
    code, _, err = send_to_fake_server(b"SSH-2.0-OpenSSH\r\n")
    assert code == 1
    assert b"the server broke the protocol: not a sockframe stream" in err


def test_an_aborted_reply_exits_1() -> None:
    reply = encode_frame(Header(id=1, flags=Flags.TRAILER), b"\0\0")
    code, out, err = send_to_fake_server(reply + encode_abort(1, "input-error", "the disk failed"))
    assert code == 1 and out == b""
    assert b"the server aborted its reply: frame 1 aborted: input-error: the disk failed" in err
