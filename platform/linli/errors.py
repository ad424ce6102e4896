"""Domain errors shared by every module.

Services raise these; the API and the command line turn them into problem
responses and one-line messages in one place each. ``code`` is stable and
machine-readable; ``message`` is for people and is translated.
"""

from __future__ import annotations


class LinliError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(LinliError):
    code = "invalid"
    status = 422


class NotAllowed(LinliError):
    """The caller sees the thing but may not do this to it: 403 with a specific code
    (each module's access rules raise it; not visible is ``NotFound``)."""

    code = "not_allowed"
    status = 403


class NotFound(LinliError):
    code = "not_found"
    status = 404


class Conflict(LinliError):
    code = "conflict"
    status = 409


class NoTenant(LinliError):
    """Tenant data was touched with no tenant resolved: fail closed."""

    code = "no_tenant"
    status = 500
