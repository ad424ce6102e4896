"""Community: places, residents and organisations. One router for the module (its key auth
and tag), built from one router per concept: residents (and their tags), places (areas,
estates, buildings, units, households, the tenant's words), organisations.

Who sees which residents, and unmasked, and who sets up which places, is decided in
``tenants.community.access``; personal data is masked by the response schemas.
"""

from __future__ import annotations

from ninja import Router

from api.auth import KeyAuth
from api.community import organisations, places, residents

router = Router(auth=KeyAuth("community"), tags=["community"])
for concept in (residents, places, organisations):
    router.add_router("", concept.router)
