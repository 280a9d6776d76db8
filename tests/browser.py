"""Open pages in headless Chromium the way a client would, and check what they show and what they fetch.

Chromium (Debian package `chromium`) runs with the flags of a locked-down reader, `--host-resolver-rules`
that make every name but 127.0.0.1 unresolvable, and the DevTools protocol on a loopback port. Over that
protocol each page is loaded, its visible text (`document.body.innerText`, after scripts ran) is polled
until the expected texts appear, a full-page screenshot is saved, and every network request the page made
is recorded, so a test can assert that nothing left the machine.

`check_pages(browser, [(page, ["text", ...]), ...], screenshots)` is the one call a test needs; a page is
a file path or an http://127.0.0.1 URL.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Every host name but the loopback address fails to resolve: a page that reaches out breaks visibly.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
)
# What a self-contained page may request: itself, embedded data, and the local API.
LOCAL_URL_PREFIXES = ("file:", "data:", "blob:", "about:", "http://127.0.0.1:", "http://127.0.0.1/")
PAGE_TIMEOUT = 30.0


def chromium_path() -> str:
    """The Chromium binary; a clear failure (not a skip) when it is missing, as these tests must run."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("Chromium is not installed: `apt-get install -y chromium` (Debian package)")


@dataclass
class PageVisit:
    """What one page showed and did."""

    url: str
    text: str = ""
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    broken_images: int = 0
    screenshot: Path | None = None

    @property
    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL_URL_PREFIXES)]


class Browser:
    """One headless Chromium process and a DevTools connection to it; use as a context manager."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
        self.process: subprocess.Popen | None = None
        self.socket: websocket.WebSocket | None = None
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        command = [chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port, path = self._devtools_address()
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}{path}", timeout=PAGE_TIMEOUT, suppress_origin=True
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.socket is not None:
            self.socket.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _devtools_address(self, timeout: float = 30.0) -> tuple[str, str]:
        """Port and browser endpoint from the DevToolsActivePort file Chromium writes once it listens."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode()[-2000:]
                raise AssertionError(f"Chromium exited at start: {error}")
            lines = marker.read_text().split() if marker.exists() else []
            if len(lines) == 2:
                return lines[0], lines[1]
            time.sleep(0.1)
        raise AssertionError(f"Chromium did not open its DevTools port within {timeout:.0f} s")

    # The protocol: commands with ids, answers matched by id, every other message kept as an event.

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect the events that arrive within `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.socket.settimeout(left)
            try:
                self.events.append(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                break
        self.socket.settimeout(PAGE_TIMEOUT)

    def session_events(self, session: str, method: str) -> list[dict[str, Any]]:
        return [
            event["params"]
            for event in self.events
            if event.get("sessionId") == session and event.get("method") == method
        ]

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result["result"].get("value")

    # A page visit.

    def visit(self, url: str, expected: Sequence[str], screenshot: Path) -> PageVisit:
        """Load `url` in a fresh tab, wait until the expected texts are visible (or time out), screenshot."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session)
        visit = PageVisit(url=url)
        deadline = time.monotonic() + PAGE_TIMEOUT
        while time.monotonic() < deadline:
            self.pump(0.25)
            loaded = self.session_events(session, "Page.loadEventFired")
            visit.text = self.evaluate(session, "document.body ? document.body.innerText : ''") or ""
            if loaded and all(text in visit.text for text in expected):
                break
        self.pump(0.5)  # requests the page makes right after it rendered
        visit.broken_images = self.evaluate(
            session, "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        visit.screenshot = screenshot
        sent = self.session_events(session, "Network.requestWillBeSent")
        visit.requests = [event["request"]["url"] for event in sent]
        failed = self.session_events(session, "Network.loadingFailed")
        visit.failed = [f"{event.get('type')}: {event.get('errorText')}" for event in failed]
        visit.exceptions = [
            e["exceptionDetails"].get("text", "") + " " + str(e["exceptionDetails"].get("exception", {}))
            for e in self.session_events(session, "Runtime.exceptionThrown")
        ]
        self.send("Target.closeTarget", {"targetId": target})
        return visit


def page_url(page: str | Path) -> str:
    """A file path as a file:// URL; URLs as they are."""
    text = str(page)
    return text if "://" in text else Path(text).resolve().as_uri()


def check_pages(
    browser: Browser, pages: Iterable[tuple[str | Path, Sequence[str]]], screenshots: Path
) -> list[PageVisit]:
    """Open each (page, expected visible texts) and assert: the texts are visible, every image rendered,
    no script error, no failed load, a real screenshot, and no request that leaves the machine."""
    visits = []
    for number, (page, expected) in enumerate(pages, start=1):
        name = Path(str(page).rstrip("/")).name.replace(":", "_") or "page"
        visit = browser.visit(page_url(page), expected, screenshots / f"{number:02d}-{name}.png")
        url = f"{visit.url} (screenshot {visit.screenshot})"
        missing = [text for text in expected if text not in visit.text]
        assert not missing, f"{url}: not visible: {missing}; the page shows: {visit.text[:800]!r}"
        assert not visit.external_requests, f"{url} requested outside the machine: {visit.external_requests}"
        assert not visit.failed, f"{url}: failed loads {visit.failed}"
        assert not visit.exceptions, f"{url}: script errors {visit.exceptions}"
        assert visit.broken_images == 0, f"{url}: {visit.broken_images} image(s) did not render"
        png = visit.screenshot.read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, f"{url}: screenshot looks empty"
        visits.append(visit)
    return visits
