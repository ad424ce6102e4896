"""Browser tests: Debian's Chromium driven by Playwright at a phone's size, against a real
HTTP server on loopback serving committed data; axe-core on every page checked, and a
screenshot of each step kept in ``.artifacts/browser/``.

Without Chromium these tests are not collected, unless ``LINLI_REQUIRE_BROWSER`` is set
(CI sets it: there a missing browser is a failure).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LINLI_ARTIFACTS", ROOT / ".artifacts")) / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_VIEWPORT: Any = {"width": 390, "height": 844}

collect_ignore_glob = (
    ["test_*.py"] if CHROMIUM is None and not os.environ.get("LINLI_REQUIRE_BROWSER") else []
)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _app() -> Any:
    """Django (static files included, as runserver serves them), closing each request
    thread's database connection when it is done."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connections

    handler = StaticFilesHandler(WSGIHandler())

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return handler(environ, start_response)
        finally:
            connections.close_all()

    return app


@contextmanager
def serve() -> Iterator[int]:
    """Django on a loopback port (tenant hosts are ``<slug>.localhost:<port>``)."""
    server = make_server("127.0.0.1", 0, _app(), _Threading, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def close_other_connections() -> None:
    """End the request threads' idle connections (they would block dropping the database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def phone_page(monkeypatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database
    # calls are ordinary blocking ones between its steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(
            viewport=PHONE_VIEWPORT, device_scale_factor=2, locale="zh-CN"
        )
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def check(page: Any, name: str, *, accessibility: bool = True) -> None:
    """Keep a screenshot; fail on any accessibility problem axe finds, whatever its impact."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if not accessibility:
        return
    violations = Axe().run(page).response["violations"]
    found = [(v["id"], v["impact"], len(v["nodes"])) for v in violations]
    assert found == [], f"{name}: {found}"
