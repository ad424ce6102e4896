from __future__ import annotations

from typing import Any

from django.db import models

from tenants.audit.context import Actor, current_actor
from tenants.audit.models import AuditEntry


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Append one entry; call it inside the service's transaction."""
    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEntry.objects.create(
        actor_user_id=actor.user_id,
        actor_key_id=actor.key_id,
        acting_resident_id=actor.acting_resident_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes or {},
        request_id=actor.request_id,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as ``{field: [before, after]}``."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
