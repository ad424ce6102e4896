"""Who reads the events feed and manages webhooks: the district's own tool, a key that acts
for no one. The feed and the endpoints span the whole tenant, so a resident acting (a
leader of some places, or a district admin as themself) is refused ``not_for_residents``;
which modules' events and whether personal fields show follow the key's scopes."""

from __future__ import annotations

from tenants.community.access import names_anyone, not_for_residents
from tenants.community.actor import Actor


def may_integrate(actor: Actor) -> None:
    if not names_anyone(actor):
        raise not_for_residents()


def sees_personal_fields(actor: Actor) -> bool:
    return actor.personal_data
