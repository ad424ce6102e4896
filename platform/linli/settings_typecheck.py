"""Settings for static type checking: the real settings without starting a database."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck@127.0.0.1:5432/typecheck")

from linli.settings import *  # noqa: F403
