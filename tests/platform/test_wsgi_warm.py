"""Loading the WSGI application imports the URL configurations (before a server forks)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_api_routes_are_imported_with_the_application() -> None:
    probe = (
        "import sys\n"
        "import linli.wsgi\n"
        "print('api.v1' in sys.modules, 'linli.urls_public' in sys.modules)\n"
    )
    done = subprocess.run(  # our own interpreter, a fresh process
        [sys.executable, "-c", probe],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True True"
