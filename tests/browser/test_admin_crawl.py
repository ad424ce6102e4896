"""Every admin page a district office opens, in a desktop browser, in both Chinese scripts,
as a district admin and as a building leader, on the demo city's data.

A page fails on a server error, on English text the catalogue translates (the page shows
the msgid instead of its translation), on a raw choice code where its label belongs, on a
form input without a visible border (an unthemed page), and on a console error. The pages
are found by following the admin's own links from the dashboard and each list: one page
of each kind (a list, an add form, one change form per model, each custom page).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.db import connection

from tests.browser.conftest import ARTIFACTS, CHROMIUM, close_other_connections, serve

SLUG = "crawl"
DESKTOP: Any = {"width": 1440, "height": 900}
LEADER = ("leader-crawl", "leader-crawl-password-1")
OPS = ("ops-crawl", "ops-crawl-password-1")
# The whole crawl (two roles, two scripts) stays within a CI step's patience.
BUDGET_SECONDS = 170
# Pages whose links lead off the admin or change state on a GET.
SKIPPED = re.compile(
    r"/(logout|delete|password|history|export|print|csv|pdf|record|packing|passes|"
    r"autocomplete|jsi18n|r)(/|$)|/static/|/media/|\?"
)
# Findings on pages whose code others own, kept out of the verdict until they fix them
# (each is still written to admin-crawl.json): the page's path and the problem's start.
ELSEWHERE = [
    # api/access: the scopes are a bare checkbox list.
    (re.compile(r"^/admin/api_access/apikey/"), "inputs without a border"),
    # tenants/community/admin_import.py: the dry-run box is a bare checkbox.
    (re.compile(r"^/admin/community/household/import/"), "inputs without a border"),
    # tenants/deliberation: the report and a topic's history show status codes.
    (re.compile(r"^/admin/deliberation/topic/"), "raw codes"),
]
# Custom pages reached from elsewhere than the admin's menus and lists.
UNLINKED = ["/admin/billing/"]
# Django's own msgids that read the same in Chinese (names, abbreviations).
SAME_IN_CHINESE = {"ID", "API", "URL", "Linli", "OK", "Email", "QR"}


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    english: dict[str, set[str]] = field(default_factory=dict)

    elsewhere: list[str] = field(default_factory=list)

    def add(self, url: str, problem: str) -> None:
        known = any(page.search(url) and problem.startswith(kind) for page, kind in ELSEWHERE)
        (self.elsewhere if known else self.problems).append(f"{url}: {problem}")


def _translated_msgids() -> set[str]:
    """English strings that have a Chinese translation: on a Chinese page, shown untranslated."""
    catalogues = [Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"]
    import django

    django_root = Path(django.__file__).parent
    catalogues += [
        django_root / "contrib" / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
        for app in ("admin", "auth", "contenttypes")
    ]
    msgids: set[str] = set()
    for path in catalogues:
        if not path.exists():
            continue
        with path.open("rb") as po:
            for message in read_po(po):
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                for msgid in ids:
                    if msgid and message.string and "%" not in msgid and "{" not in msgid:
                        msgids.add(str(msgid).strip())
    # Short words collide with names and codes; only phrases and capitalised words count.
    return {m for m in msgids if len(m) > 2 and m not in SAME_IN_CHINESE and m[0].isupper()}


def _choice_codes() -> set[str]:
    """Stored codes of every model choice whose label differs (``child_pickup``, ``raised``)."""
    from django.apps import apps

    codes: set[str] = set()
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            for value, label in getattr(model_field, "flatchoices", None) or []:
                if (
                    isinstance(value, str)
                    and value != str(label)
                    and re.fullmatch(r"[a-z_]+", value)
                ):
                    codes.add(value)
    # Plain words are too often ordinary text; codes with an underscore never are.
    return {code for code in codes if "_" in code} | {"raised", "in_progress"}


@pytest.fixture(scope="module")
def city(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:
    """The small demo city, committed, with a building leader and a platform operator."""
    from django.contrib.auth import get_user_model

    from linli.registry.context import within
    from linli.registry.demo import demo_build
    from linli.registry.services import tenant_delete

    with django_db_blocker.unblock():
        tenant, _counts = demo_build(scale="small", slug=SLUG)
        try:
            with within(tenant):
                _leader_create()
            get_user_model().objects.create_user(
                username=OPS[0], password=OPS[1], is_staff=True, is_superuser=True
            )
            with serve() as port:
                yield {
                    "tenant": f"http://{SLUG}.localhost:{port}",
                    "platform": f"http://localhost:{port}",
                }
        finally:
            connection.close()
            # The platform's users have no tenant tables to cascade to (a raw delete).
            operators = get_user_model().objects.filter(username=OPS[0])
            operators._raw_delete(operators.db)
            tenant_delete(slug=SLUG)
            close_other_connections()


def _leader_create() -> None:
    from django.contrib.auth import get_user_model

    from tenants.community.models import Building, Resident
    from tenants.community.roles import role_assign

    building = Building.objects.filter(units__households__residents__isnull=False).first()
    assert building is not None
    resident = Resident.objects.filter(household__unit__building=building, user=None).first()
    assert resident is not None
    resident.user = get_user_model().objects.create_user(
        username=LEADER[0], password=LEADER[1], is_staff=True
    )
    resident.save(update_fields=["user"])
    role_assign(
        resident_id=resident.pk, role="building_leader", scope="building", place_id=building.pk
    )


@pytest.fixture
def browser(monkeypatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


# The visible text of a page, one entry per text node, with the placeholders and the
# captions of buttons; the cells of tables and definition lists; inputs without a border.
PAGE_SCAN = """() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !parent || !visible(parent)) continue;
    const skipped = 'script,style,noscript,textarea,pre,code,.material-symbols-outlined';
    if (parent.closest(skipped)) continue;
    texts.push(text);
  }
  const captioned = '[placeholder],input[type=submit],input[type=button]';
  for (const el of document.querySelectorAll(captioned)) {
    if (!visible(el)) continue;
    texts.push((el.getAttribute('placeholder') || el.value || '').trim());
  }
  const cells = [...document.querySelectorAll('td,th,dd,.readonly')]
    .filter(visible).map((el) => el.innerText.trim());
  const bordered = (el) => {
    // A themed checkbox or switch draws itself (appearance: none); a bare one does not.
    const box = el.type === 'checkbox' || el.type === 'radio';
    if (box && getComputedStyle(el).appearance === 'none') return true;
    for (let node = el, depth = 0; node && depth < 3; node = node.parentElement, depth++) {
      const style = getComputedStyle(node);
      if (parseFloat(style.borderTopWidth) > 0 && style.borderTopStyle !== 'none'
          && style.borderTopColor !== 'rgba(0, 0, 0, 0)') return true;
    }
    return false;
  };
  const inputs = [...document.querySelectorAll(
      'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=file]),select,textarea')]
    .filter((el) => visible(el) && !bordered(el))
    .map((el) => el.name || el.id || el.outerHTML.slice(0, 80));
  return {texts, cells, inputs};
}"""


class Crawler:
    def __init__(self, context: Any, base: str, findings: Findings, deadline: float) -> None:
        self.page = context.new_page()
        self.base = base
        self.findings = findings
        self.deadline = deadline
        self.console: list[str] = []
        self.page.on(
            "console", lambda m: self.console.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.console.append(str(e)))
        self.msgids = _translated_msgids()
        self.codes = _choice_codes()

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(f"{self.base}/admin/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.locator("button[type=submit], input[type=submit]").first.click()
        self.page.wait_for_url(f"{self.base}/admin/")

    def visit(self, path: str) -> list[str]:
        """Open a page, check it, and answer the admin links it shows."""
        self.console.clear()
        try:
            response = self.page.goto(f"{self.base}{path}", wait_until="load")
        except Exception as exc:  # a download (a CSV, a PDF): not a page to read
            if "Download is starting" in str(exc):
                return []
            raise
        status = response.status if response else 0
        if status >= 500:
            self.findings.add(path, f"status {status}")
            return []
        if status >= 400 or urlsplit(self.page.url).path.startswith("/admin/login"):
            return []
        if "text/html" not in (response.headers.get("content-type", "") if response else ""):
            return []
        scan = self.page.evaluate(PAGE_SCAN)
        english = sorted({t for t in scan["texts"] if t.rstrip(":\uff1a") in self.msgids})
        if english:
            self.findings.add(path, f"untranslated {english}")
        raw = sorted(
            {c for c in scan["cells"] + scan["texts"] if c in self.codes}
            | {m for c in scan["cells"] for m in re.findall(r"\b[a-z_]+:\d+\b", c)}
        )
        if raw:
            self.findings.add(path, f"raw codes {raw}")
        if scan["inputs"]:
            self.findings.add(path, f"inputs without a border {scan['inputs']}")
        if self.console:
            self.findings.add(path, f"console errors {self.console[:3]}")
        for text in scan["texts"]:
            if re.search(r"[A-Za-z]{3,}", text) and not re.search(r"[\u4e00-\u9fff]", text):
                self.findings.english.setdefault(text, set()).add(path)
        links = self.page.eval_on_selector_all(
            "a[href^='/admin/']", "els => els.map((a) => a.getAttribute('href'))"
        )
        return [link for link in links if not SKIPPED.search(link)]

    def crawl(self, start: str = "/admin/") -> list[str]:
        """Breadth first from the dashboard, one page per kind (ids replaced by N), and the
        pages no menu links to."""
        seen_kinds: set[str] = set()
        queue, visited = [start, *UNLINKED], []
        while queue and time.monotonic() < self.deadline:
            path = queue.pop(0)
            kind = re.sub(r"/\d+/", "/N/", path)
            if kind in seen_kinds:
                continue
            seen_kinds.add(kind)
            visited.append(path)
            queue.extend(self.visit(path))
        assert time.monotonic() < self.deadline, f"crawl out of time after {len(visited)} pages"
        return visited

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


ROLES = [
    ("admin", ("admin", "linli-demo")),
    ("leader", LEADER),
]
LOCALES = [("zh-hans", "zh-CN"), ("zh-hant", "zh-TW")]


def test_every_admin_page_is_chinese_themed_and_answers(city, browser) -> None:
    findings = Findings()
    deadline = time.monotonic() + BUDGET_SECONDS
    visited: dict[str, list[str]] = {}
    for role, (username, password) in ROLES:
        for language, browser_locale in LOCALES:
            context = browser.new_context(viewport=DESKTOP, locale=browser_locale)
            try:
                crawler = Crawler(context, city["tenant"], findings, deadline)
                crawler.sign_in(username, password)
                visited[f"{role} {language}"] = crawler.crawl()
                if role == "admin" and language == "zh-hans":
                    _main_screenshots(crawler, visited[f"{role} {language}"])
            finally:
                context.close()
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        ops = Crawler(context, city["platform"], findings, deadline)
        ops.sign_in(*OPS)
        ops.visit(f"/admin/ops/tenants/{SLUG}/")
        ops.screenshot("ops-tenant")
    finally:
        context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "admin-crawl.json").write_text(
        json.dumps(
            {
                "visited": visited,
                "problems": findings.problems,
                "elsewhere": sorted(set(findings.elsewhere)),
                "english": {
                    text: sorted(paths)[:3] for text, paths in sorted(findings.english.items())
                },
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    assert all(len(pages) > 10 for pages in visited.values()), visited
    assert findings.problems == []


def _main_screenshots(crawler: Crawler, visited: list[str]) -> None:
    crawler.visit("/admin/")
    crawler.screenshot("dashboard")
    lists = [p for p in visited if re.fullmatch(r"/admin/community/resident/", p)]
    crawler.visit(lists[0] if lists else "/admin/community/household/")
    crawler.screenshot("list")
    changes = [p for p in visited if re.fullmatch(r"/admin/shop/order/\d+/change/", p)]
    if changes:
        crawler.visit(changes[0])
        crawler.screenshot("change-form")
    crawler.visit("/admin/modules/")
    crawler.screenshot("module-settings")
    crawler.visit("/admin/staff/")
    crawler.screenshot("staff")
    crawler.visit("/admin/shop/parcel/report/")
    crawler.screenshot("shop-report")
