"""Helpers of the template tests that start a generated project's API: a free loopback port, JSON over HTTP,
and waiting for `/ready`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    """Status and JSON answer of one request (error statuses included), with the API key when given."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_ready(url: str, server: subprocess.Popen, timeout: float = 120) -> float:
    """Seconds until GET /ready answers 200; fails if the server exits first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert server.poll() is None, f"the server exited with {server.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"/ready did not answer 200 within {timeout} s")
