"""The neighbourhood shop's API: one router for the module (its key auth and tag), built
from one router per concept, mirroring ``tenants/shop/services``: shops and catalogue,
pre-order batches, orders, parcels, partner services and bookings, reports.

A key without an acting resident is the district's tool. Acting for a resident, a key
orders, books and collects for that resident; a resident who runs a shop (its operator,
a leader of its estate) also runs its counter, and a member of a partner organisation
answers for that partner's bookings. The rules are in ``tenants.shop.access``.
"""

from __future__ import annotations

from ninja import Router

from api.auth import KeyAuth
from api.shop import batches, orders, parcels, partners, reports, shops
from tenants.shop import access
from tenants.shop.models import Shop

router = Router(auth=KeyAuth("shop"), tags=["shop"])
for concept in (shops, batches, orders, parcels, partners, reports):
    router.add_router("", concept.router)


def _shop(shop_id: int) -> Shop:
    """The shop a path names: every caller sees every shop. ``shops.py`` looks shops up
    through here, where the failure tests of tests/ops replace it to break a request."""
    return access.access_shop(actor=None, shop_id=shop_id)
