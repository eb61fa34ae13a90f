#!/usr/bin/env python3
"""Hand check of the firmware's plain echo under QEMU (loopback only).

Starts qemu-system-arm on a free 127.0.0.1 port forwarded to the guest's port 7, checks
1 B, 1 KiB, 1 MiB byte-exact echo, 4 concurrent clients and 50 sequential connections,
then stops QEMU. Usage: python3 echo_check.py [ELF]
"""

import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ELF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "target/thumbv7m-none-eabi/release/sockframe-qemu")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo(port, data, timeout=30.0):
    """Sends `data` while reading the echo concurrently; returns what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        got = bytearray()

        def reader():
            while len(got) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        t.join(timeout)
        return bytes(got)


def wait_ready(port, deadline=20.0):
    """connect() succeeds before the guest is up (slirp accepts): wait for a real echo."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if echo(port, b"r", timeout=1.0) == b"r":
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("guest never echoed")


def main():
    port = free_port()
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", "lm3s6965evb", "-display", "none", "-monitor", "none",
         "-serial", "none", "-semihosting-config", "enable=on,target=native",
         "-nic", f"user,model=stellaris,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:7",
         "-kernel", ELF],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    passed = failed = 0

    def check(name, ok, extra=""):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name} {extra}", flush=True)

    try:
        print(f"ready after {wait_ready(port) * 1000:.0f} ms (port {port})")
        for n in (1, 1024, 1 << 20):
            data = os.urandom(n)
            t = time.monotonic()
            got = echo(port, data)
            dt = time.monotonic() - t
            check(f"echo {n} B", got == data, f"({n / dt / 1e6:.2f} MB/s)")

        results = [None] * 4

        def client(i):
            data = os.urandom(256 * 1024)
            try:
                results[i] = echo(port, data) == data
            except OSError:
                results[i] = False

        ts = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check("4 concurrent clients x 256 KiB", all(results), str(results))

        ok = 0
        for i in range(50):
            data = f"connection {i}\n".encode() * 10
            try:
                ok += echo(port, data, timeout=5.0) == data
            except OSError:
                pass
        check("50 sequential connections", ok == 50, f"({ok}/50)")

        # Half-close: the guest must echo everything, then close its side (EOF here).
        data = os.urandom(100_000)
        with socket.create_connection(("127.0.0.1", port), timeout=10.0) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = bytearray()
            while chunk := s.recv(65536):
                got.extend(chunk)
        check("half-close echoes all then EOF", bytes(got) == data)

        # More clients than the pool (4): extras are refused or reset, the pool recovers.
        held = []
        for _ in range(6):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2.0))
            except OSError:
                pass
        for c in held:
            c.close()
        time.sleep(0.5)
        ok = 0
        for _ in range(8):
            try:
                ok += echo(port, b"again", timeout=5.0) == b"again"
            except OSError:
                pass
        check("pool recovers after 6 clients at once", ok == 8, f"({ok}/8)")

        # A client that aborts (RST) mid-stream must not wedge its socket.
        for _ in range(5):
            c = socket.create_connection(("127.0.0.1", port), timeout=5.0)
            c.sendall(os.urandom(64 * 1024))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
        time.sleep(0.5)
        data = os.urandom(10_000)
        check("echo after aborted clients", echo(port, data) == data)

        samples = []
        with socket.create_connection(("127.0.0.1", port), timeout=5.0) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(200):
                t = time.monotonic()
                s.sendall(b"x" * 64)
                got = b""
                while len(got) < 64:
                    got += s.recv(64 - len(got))
                samples.append(time.monotonic() - t)
        samples.sort()
        print(f"64 B round trip median {samples[len(samples) // 2] * 1e6:.0f} us")
        time.sleep(10.5)  # let the 10 s stats line come out
    finally:
        qemu.kill()
        out, _ = qemu.communicate()
        print("--- qemu output ---")
        print(out.decode(errors="replace").rstrip())
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
