"""Who is acting in the current request or job, for the audit log.

Set once by the API's authentication (or the admin's user) and read by
``audit_record``; a context variable, so threads and async tasks each have
their own.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    key_id: int | None = None
    acting_resident_id: int | None = None
    request_id: str = ""


SYSTEM = Actor()
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("linli_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
