"""The command line: ``python -m sockframe serve|send``, like the Rust ``sockframe`` basics.

Exit codes (as the Rust command): 0 success; 1 the peer answered with an error or broke the
protocol; 2 usage error; 3 could not connect or the connection failed.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import List, Optional

from . import aio
from .connection import connect, parse_address
from .errors import Aborted, DecodeError, RemoteError

EXIT_OK, EXIT_REMOTE, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sockframe",
        description="Messages over TCP that arrive whole: a sockframe server and client.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run an echo server (PING answered with PONG)")
    serve.add_argument(
        "--bind",
        default="127.0.0.1:8080",
        help="HOST:PORT to listen on; port 0 picks a free port (the address is printed)",
    )
    serve.add_argument(
        "--buffer", type=int, default=16 * 1024, help="receive buffer: larger frames stream"
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        help="seconds of silence before a connection is closed (idle-timeout, or "
        "frame-timeout inside a frame); 0: never",
    )
    send = sub.add_parser("send", help="send one message and print the reply's payload")
    send.add_argument("addr", help="server address, HOST:PORT")
    send.add_argument("message", help="the message; `-` reads it from stdin")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply")
    return p


async def _serve(host: str, port: int, buffer: int, timeout: float) -> None:
    server = await aio.serve(host, port, capacity=buffer, timeout=timeout or None)
    where = server.sockets[0].getsockname()
    # The same line the Rust server prints: scripts read the address after "listening on".
    print(f"sockframe: echo listening on {where[0]}:{where[1]}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def _send(addr: str, message: str, timeout: float) -> int:
    payload = sys.stdin.buffer.read() if message == "-" else message.encode("utf-8")
    try:
        conn = connect(addr, timeout=timeout if timeout > 0 else None)
    except OSError as e:
        print(f"sockframe: cannot connect to {addr}: {e}", file=sys.stderr)
        return EXIT_CONNECT
    with conn:
        try:
            reply = conn.request(payload)
        except RemoteError as e:
            print(f"sockframe: the server answered with an error: {e}", file=sys.stderr)
            return EXIT_REMOTE
        except Aborted as e:
            print(f"sockframe: the server aborted its reply: {e}", file=sys.stderr)
            return EXIT_REMOTE
        except DecodeError as e:
            print(f"sockframe: the server broke the protocol: {e}", file=sys.stderr)
            return EXIT_REMOTE
        except socket.timeout:
            print(f"sockframe: no reply from {addr} within {timeout} s", file=sys.stderr)
            return EXIT_CONNECT
        except OSError as e:
            print(f"sockframe: connection to {addr} failed: {e}", file=sys.stderr)
            return EXIT_CONNECT
    out = sys.stdout.buffer
    out.write(reply.payload)
    if sys.stdout.isatty() and not reply.payload.endswith(b"\n"):
        out.write(b"\n")
    out.flush()
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        try:
            host, port = parse_address(args.bind)
        except ValueError as e:
            print(f"sockframe: --bind: {e}", file=sys.stderr)
            return EXIT_USAGE
        try:
            asyncio.run(_serve(host, port, args.buffer, args.idle_timeout))
        except KeyboardInterrupt:
            return EXIT_OK
        except OSError as e:
            print(f"sockframe: cannot listen on {args.bind}: {e}", file=sys.stderr)
            return EXIT_CONNECT
        return EXIT_OK
    try:
        parse_address(args.addr)
    except ValueError as e:
        print(f"sockframe: {e}", file=sys.stderr)
        return EXIT_USAGE
    return _send(args.addr, args.message, args.timeout)
