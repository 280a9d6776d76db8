"""The pages a person reads, opened in headless Chromium with no way out of the machine: the audit report,
the drift report, the weekly summary and the API's interactive docs (from a real server) show their key
content, render their images, and request nothing but themselves. Screenshots are kept under the test's
temp folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from browser import Browser, check_pages
from conftest import PROJECT_ENV, check, run
from serving import free_port

# One worker runs them all: the reported project and the browser are built once.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]

API_KEY = "browser-test-key-0123456789"


@pytest.fixture(scope="module")
def browser():
    with Browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def reported_project(default_project: Path) -> Path:
    """The default project after audit, train, a drift check and report (audit and train only when their
    output is missing). The drift check compares shifted traffic (a file) with the training data."""
    cli = default_project / ".venv" / "bin" / "acme-churn"
    if not (default_project / "reports/audit/audit.json").exists():
        check(run([cli, "audit"], cwd=default_project))
    if not (default_project / "models/metadata.json").exists():
        check(run([cli, "train"], cwd=default_project))
    sample = pd.read_csv(default_project / "data/sample/customer_churn.csv").sample(600, random_state=0)
    numbers = sample.select_dtypes("number").columns.drop(["churned"])
    shifted = default_project / "reports/shifted_traffic.csv"
    sample.assign(**{name: sample[name] * 3 + 10 for name in numbers}).to_csv(shifted, index=False)
    drift = run([cli, "drift", "--current", shifted], cwd=default_project)
    assert drift.returncode == 1, drift.stdout + drift.stderr  # every number tripled: drift
    check(run([cli, "report"], cwd=default_project))
    return default_project


def test_the_offline_check_catches_a_page_that_reaches_out(browser: Browser, tmp_path: Path) -> None:
    """The check itself: a page with a CDN script and a remote image is caught, and nothing got through."""
    page = tmp_path / "leaky.html"
    page.write_text(
        '<html><body><h1>Leaky</h1><img src="https://cdn.example.com/logo.png">'
        '<script src="https://cdn.example.com/lib.js"></script></body></html>'
    )
    visit = browser.visit(page.as_uri(), ["Leaky"], tmp_path / "leaky.png")
    remote = ["https://cdn.example.com/lib.js", "https://cdn.example.com/logo.png"]
    assert sorted(visit.external_requests) == remote
    assert len(visit.failed) == 2 and all("NAME_NOT_RESOLVED" in failure for failure in visit.failed)
    assert visit.broken_images == 1
    with pytest.raises(AssertionError, match="requested outside the machine"):
        check_pages(browser, [(page, ["Leaky"])], tmp_path)


def test_reports_open_offline(browser: Browser, reported_project: Path, screenshots: Path) -> None:
    day = datetime.now(UTC).date().isoformat()
    reports = reported_project / "reports"
    pages = [
        (reports / "audit/audit.html", ["Acme Churn", "cancellation_reason", "contact_email"]),
        (reports / f"weekly/{day}.html", ["Weekly summary: Acme Churn", "Done:", "Blockers:"]),
        (reports / "drift/drift.html", ["Count of Drifted Columns", "Drift in column 'monthly_charges'"]),
    ]
    visits = check_pages(browser, pages, screenshots)
    assert "Business impact:" in visits[1].text and "ROC AUC over experiments" in visits[1].text
    assert "Live data has drifted" in visits[1].text  # the weekly summary read the drift check


def _status(url: str) -> int | None:
    """HTTP status of a GET, or None while the server does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.fixture
def api_url(reported_project: Path, tmp_path: Path):
    """`serve` of the default project (API key on) on a free loopback port; stopped afterwards."""
    port = free_port()
    env = {**PROJECT_ENV, "API_KEY": API_KEY}
    command = [reported_project / ".venv/bin/acme-churn", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    server = subprocess.Popen(list(map(str, command)), cwd=reported_project, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            if _status(f"{url}/ready") == 200:
                break
            time.sleep(0.3)
        assert server.poll() is None, log_path.read_text()[-2000:]
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_api_docs_open_offline_with_the_api_key_on(browser: Browser, api_url: str, screenshots: Path) -> None:
    assert _status(f"{api_url}/v1/model") == 401  # the key guards the API, not its docs
    pages = [(f"{api_url}/docs", ["Acme Churn API", "/v1/predict", "/v1/explain", "/health"])]
    visits = check_pages(browser, pages, screenshots)
    # The page did load its assets and the schema from the server itself.
    assert any(url.endswith("/openapi.json") for url in visits[0].requests)
    assert any("/static-offline-docs/swagger-ui-bundle.js" in url for url in visits[0].requests)
