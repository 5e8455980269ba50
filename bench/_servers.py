"""Peer and project servers for the benchmarks: free ports, start-and-wait, and a CGI host
for MapServer. `python bench/_servers.py --cgi-server PORT FOLDER` runs the CGI host."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlparse


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll `url` until it answers below 500, or fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"el servidor terminó: {url}")
        try:
            parsed = urlparse(url)
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            conn.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""))
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"el servidor no respondió: {url}")


@contextlib.contextmanager
def serve(cmd: list[str], env: dict, probe: str, cwd: str | None = None) -> Iterator[None]:
    """Run a server in its own process group until the block ends."""
    process = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(probe, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def cgi_server(port: int, folder: str) -> None:
    """A threaded HTTP server running CGI scripts of folder/cgi-bin (for MapServer)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from http.server import CGIHTTPRequestHandler, ThreadingHTTPServer

    os.chdir(folder)

    class Quiet(CGIHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Quiet).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cgi-server", nargs=2, metavar=("PORT", "FOLDER"), required=True)
    args = parser.parse_args()
    cgi_server(int(args.cgi_server[0]), args.cgi_server[1])
