"""Deliberation: topics (``topics``), council meetings (``meetings``) and leader outreach
(``outreach``), one router with the module's key auth and tag."""

from __future__ import annotations

from ninja import Router

from api.auth import KeyAuth
from api.deliberation import meetings, outreach, topics

router = Router(auth=KeyAuth("deliberation"), tags=["deliberation"])
router.add_router("", topics.router)
router.add_router("", meetings.router)
router.add_router("", outreach.router)
