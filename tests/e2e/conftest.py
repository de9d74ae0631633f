"""End-to-end fixtures: the app served on loopback with a real worker, and Debian's Chromium
driven by Playwright. SQLite only (these tests are slow); a screenshot of every failing test
goes to ``test-artifacts/``."""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from publisher.app import create_app
from publisher.runtime import Runtime
from publisher.scheduler import Worker

from ..conftest import make_settings, missing_service
from ..factories import Factory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run."""
    executable = shutil.which("chromium")
    if executable is None:
        missing_service("Chromium not installed: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("Playwright not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Live:
    """The served app: its base URL, runtime and a factory for rows."""

    url: str
    runtime: Runtime
    make: Factory

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture()
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[Live]:
    """The whole service on 127.0.0.1 (random port): web app plus scheduler worker."""
    db_file = tmp_path / "publisher.db"
    shutil.copy(sqlite_template, db_file)
    holder: dict[str, Any] = {}

    def wsgi(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(tmp_path, f"sqlite:///{db_file}", public_base_url=base)
    runtime = Runtime(settings)
    holder["app"] = create_app(runtime=runtime)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    worker = Worker(runtime, "e2e-worker")
    worker.start()
    try:
        yield Live(base, runtime, Factory(runtime))
    finally:
        worker.stop(5)
        server.shutdown()
        server.server_close()
        runtime.db.dispose()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _context(browser: Any, request: Any, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, locale="id-ID")
    context.set_default_timeout(10_000)
    pages: list[Any] = []
    context.on("page", lambda page: pages.append(page))
    yield context
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, page in enumerate(pages):
            with contextlib.suppress(Exception):  # a closed page has nothing to show
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"),
                                full_page=True)
    context.close()


@pytest.fixture()
def desktop(browser: Any, request: Any) -> Iterator[Any]:
    """A browser context 1280 px wide."""
    yield from _context(browser, request, DESKTOP)


@pytest.fixture()
def phone(browser: Any, request: Any) -> Iterator[Any]:
    """A browser context 360 px wide."""
    yield from _context(browser, request, PHONE)


def sign_in(page: Any, live: Live, username: str) -> None:
    """Sign in with the keyboard only (labels, tab order and Enter must work)."""
    from ..factories import PASSWORD

    page.goto(live("/admin/masuk"))
    page.get_by_label("Nama pengguna").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live("/admin/"))
