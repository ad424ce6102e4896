"""Who configures the tenant itself (its modules, their settings, its API keys): the
district's own tool, a key with ``tenant:admin`` that acts for no one. A resident acting
through a key, even one whose roles cover the whole tenant, is refused
``not_for_residents``: configuring the district is not a person's act."""

from __future__ import annotations

from tenants.community.access import names_anyone, not_for_residents
from tenants.community.actor import Actor


def may_administer(actor: Actor) -> None:
    if not names_anyone(actor):
        raise not_for_residents()
