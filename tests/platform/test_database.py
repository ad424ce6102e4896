"""Zero setup: an embedded PostgreSQL unless DATABASE_URL names a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings

from linli import embedded


def test_the_suite_runs_where_the_environment_says(django_db_setup):
    database = settings.DATABASES["default"]
    url = os.environ.get("DATABASE_URL")
    if url:
        assert database["HOST"] == urlparse(url).hostname
        assert database["NAME"] == "test_" + urlparse(url).path.lstrip("/")
    else:
        assert Path(database["HOST"]).is_dir()  # the embedded server's socket folder
        assert (embedded.data_dir() / "pgdata" / "PG_VERSION").exists()
        assert database["NAME"] == "test_linli"


def test_a_fresh_data_folder_gets_a_server_that_stops_cleanly(tmp_path):
    # given: no DATABASE_URL and an empty data folder
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LINLI_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "linli", "manage", "showmigrations", "registry"]
    # when: a command runs twice
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    # then: the server was initialised once, reused, and stopped after each command
    pgdata = tmp_path / "data" / "pgdata"
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "[ ] 0001_initial" in second.stdout
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists()
