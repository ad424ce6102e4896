"""One rule for time, checked in the code: a time of day is built and formatted only through
``linli.clock`` (which reads the tenant's zone), never with a format on a raw datetime or a
midnight made in whatever zone happens to be active."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK = ROOT / "platform" / "linli" / "clock.py"
# A clock time formatted straight off a datetime (f"{moment:%H:%M}", moment.strftime("%H")),
# or a wall-clock moment assembled by hand (make_aware(datetime.combine(...))).
FORMATTED = re.compile(r"\{[^}{]*:[^}{]*%H[^}{]*\}|strftime\([^)]*%H")
ASSEMBLED = re.compile(r"make_aware\(|datetime\.combine\(")


def _code() -> list[Path]:
    files = []
    for top in ("platform", "api", "tenants"):
        for path in (ROOT / top).rglob("*.py"):
            if path != CLOCK and "migrations" not in path.parts:
                files.append(path)
    return files


def test_times_of_day_are_made_and_shown_through_the_clock() -> None:
    found = []
    for path in _code():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ASSEMBLED.search(line) or (FORMATTED.search(line) and "UTC" not in line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == [], "use linli.clock (at, day_bounds, span, stamp):\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for() -> None:
    assert FORMATTED.search('label = f"{slot.starts_at:%H:%M}"')
    assert FORMATTED.search('when.strftime("%Y-%m-%d %H:%M")')
    assert ASSEMBLED.search("timezone.make_aware(datetime.combine(day, time(9)))")
    assert not FORMATTED.search('f"settlement-{month:%Y-%m}"')  # a date has no zone to lose
