"""Run the job worker on its own PostgreSQL pool (procrastinate's async connector).

Deferring uses Django's connection; the worker needs an async connector that
listens for new jobs, so it swaps one in for the worker's lifetime. Several
workers on several machines share the queue safely: jobs are taken with
``FOR UPDATE SKIP LOCKED`` inside PostgreSQL.
"""

from __future__ import annotations

from typing import Any, cast

from procrastinate.contrib.django import app


def run_worker(**options: Any) -> None:
    connector = cast(Any, app.connector).get_worker_connector()
    with app.replace_connector(connector):
        app.run_worker(**options)
