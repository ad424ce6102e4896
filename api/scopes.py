"""The scopes an API key can hold: ``<module>:read`` / ``<module>:write``, plus a few special ones.

``write`` implies ``read``. ``personal_data:read`` lets a key see residents'
names, phones and tags unmasked; ``residents:act`` lets it act for a resident.
"""

from __future__ import annotations

MODULES = ("community", "deliberation", "helpteam", "shop", "points")
SPECIAL = ("personal_data:read", "residents:act", "webhooks:manage")
ALL_SCOPES = tuple(f"{m}:{level}" for m in MODULES for level in ("read", "write")) + SPECIAL


def unknown_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    return sorted(set(scopes) - set(ALL_SCOPES))


def grants(held: frozenset[str] | set[str], needed: str) -> bool:
    """Whether ``held`` covers ``needed`` (a write scope covers its read)."""
    if needed in held:
        return True
    module, _sep, level = needed.partition(":")
    return level == "read" and f"{module}:write" in held
