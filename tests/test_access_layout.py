"""Who may see and do what is decided in each module's access.py, never in a route
handler or a page view: those files hold no filter on roles, requester or household."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICY = re.compile(
    r"resident_scope|staff_scope|requester_id=|requester=|household__|household_id=|"
    r"claimed_by__|raised_by=|author=|Role\.|\.roles\b"
)
# Every API module but the schemas (handlers may be split by concept), and every page view.
HANDLERS = sorted(
    path
    for path in [*ROOT.glob("api/*/*.py"), *ROOT.glob("tenants/pages/*views*.py")]
    if path.name not in {"__init__.py", "schemas.py", "apps.py", "admin.py", "models.py"}
    and "migrations" not in path.parts
    and path.parent.name != "access"
)


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_policy_in_handlers(path: Path):
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if POLICY.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == [], "move these rules into the module's access.py"


def test_every_module_with_callers_has_an_access_module():
    for module in ("community", "deliberation", "helpteam", "points", "shop"):
        assert (ROOT / "tenants" / module / "access.py").exists(), module


@pytest.mark.parametrize("path", sorted(ROOT.glob("api/**/*.py")), ids=lambda p: p.name)
def test_no_api_file_is_over_500_lines(path: Path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 550, path
