"""Real races over real connections: every attempt starts at once, each on its own
connection inside the tenant, and the outcomes are counted by problem code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context

from linli.errors import LinliError


def race(tenant: Any, attempts: list[Callable[[], Any]]) -> Counter[str]:
    """Run ``attempts`` together; ``ok`` for each that succeeded, else its problem code."""
    barrier = Barrier(len(attempts))

    def run(attempt: Callable[[], Any]) -> str:
        try:
            barrier.wait()
            with tenant_context(tenant):
                attempt()
            return "ok"
        except LinliError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return Counter(pool.map(run, attempts))
