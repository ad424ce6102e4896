"""The scopes an API key can hold: ``<module>:read`` / ``<module>:write``, plus a few special ones.

``write`` implies ``read``. ``personal_data:read`` lets a key see residents'
names, phones and tags unmasked; ``residents:act`` lets it act for a resident;
``webhooks:manage`` manages webhook endpoints; ``tenant:admin`` lets the district's
tool configure the tenant itself: its modules and their settings, and its API keys.
"""

from __future__ import annotations

MODULES = ("community", "deliberation", "helpteam", "shop", "points")
TENANT_ADMIN = "tenant:admin"
SPECIAL = ("personal_data:read", "residents:act", "webhooks:manage", TENANT_ADMIN)
ALL_SCOPES = tuple(f"{m}:{level}" for m in MODULES for level in ("read", "write")) + SPECIAL


def unknown_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(scopes) - set(ALL_SCOPES))


def grants(held: frozenset[str] | set[str], needed: str) -> bool:
    """Whether ``held`` covers ``needed`` (a write scope covers its read)."""
    if needed in held:
        return True
    module, _sep, level = needed.partition(":")
    return level == "read" and f"{module}:write" in held


def not_held(held: frozenset[str] | set[str], wanted: list[str] | tuple[str, ...]) -> list[str]:
    """The scopes of ``wanted`` that ``held`` does not cover: what a key cannot hand on."""
    return sorted(scope for scope in set(wanted) if not grants(held, scope))
