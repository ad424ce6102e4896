"""The help team's policy world: two estates, every kind of caller, one request.

Estate E has building B1 (units U1, U1b) and building B2 (unit U2); estate F has building
B3 (unit U3). The request is the requester's, at home in U1.

    district          a key acting for nobody (the district's tool)
    secretary         estate secretary of E, lives in U2
    leader            building leader of B1 (the request's building), lives in U1b
    volunteer_leader  a volunteer and unit leader of U1 (the request's unit), lives in U1b
    other_leader      building leader of B2 (same estate, another building), lives in U2
    far_leader        building leader of B3 (estate F), lives in U3
    requester         asks for help, lives in U1
    claimer           a volunteer, lives in U2: claims the request in every state past open
    volunteer         a volunteer, lives in U2
    neighbour         lives in U1, no roles, not a volunteer
    outsider          a volunteer of estate F, lives in U3

The request's window opened an hour ago, except in ``open_later`` and ``claimed_later``
(open, or claimed by the claimer, booked for tomorrow). States of the request: ``open``;
``claimed`` (by the claimer); ``done`` (by the claimer);
``done_by_leader`` (claimed and done by the volunteer leader); ``confirmed`` (by the
requester); ``auto`` (confirmed without an answer); ``disputed`` (by the requester).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tenants.community.actor import actor_for_resident
from tenants.community.models import Building, Resident, Unit
from tenants.community.roles import role_assign
from tenants.helpteam.access import the_district
from tenants.helpteam.models import Activity, HelpRequest, Volunteer
from tenants.helpteam.services import (
    activity_signup,
    request_claim,
    request_confirm,
    request_create,
    request_dispute,
    request_done,
)
from tenants.pages.signin import code_request, code_verify
from tests.conftest import host_of, key_client
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UnitFactory

PEOPLE = (
    "secretary",
    "leader",
    "volunteer_leader",
    "other_leader",
    "far_leader",
    "requester",
    "claimer",
    "volunteer",
    "neighbour",
    "outsider",
)
CALLERS = ("district", *PEOPLE)
STATES = (
    "open",
    "open_later",
    "claimed",
    "claimed_later",
    "done",
    "done_by_leader",
    "confirmed",
    "auto",
    "disputed",
)


@dataclass
class World:
    tenant: Tenant
    people: dict[str, Resident]
    request: HelpRequest
    activity: Activity
    token: str
    ids: dict[str, int] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # ids, the request's code, times

    def api(self, caller: str) -> Client:
        if caller == "district":
            return key_client(self.tenant, self.token)
        return key_client(
            self.tenant, self.token, HTTP_LINLI_ACTING_RESIDENT=str(self.people[caller].pk)
        )

    def page(self, caller: str) -> Client:
        """The resident pages, signed in as ``caller``."""
        resident = self.people[caller]
        phone = str(resident.phone)
        with tenant_context(self.tenant):
            code = code_request(phone=phone)
            assert code is not None
            _resident, token = code_verify(phone=phone, code=code)
        client = Client(HTTP_HOST=host_of(self.tenant), HTTP_ACCEPT_LANGUAGE="en")
        client.cookies["linli_r"] = token
        return client


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def build_world(tenant: Tenant, make_key: Any, state: str = "open") -> World:
    """The people and places above, the request in ``state``, and an activity in E that the
    volunteer has signed up for (run inside the tenant)."""
    for module in ("helpteam", "points"):
        module_set_enabled(slug=tenant.schema_name, module=module, enabled=True)
    b1 = cast(Building, BuildingFactory())
    e = b1.estate
    u1, u1b = _unit(b1), _unit(b1)
    b2 = cast(Building, BuildingFactory(estate=e))
    u2 = _unit(b2)
    b3 = cast(Building, BuildingFactory())
    u3 = _unit(b3)
    homes = {
        "secretary": u2,
        "leader": u1b,
        "volunteer_leader": u1b,
        "other_leader": u2,
        "far_leader": u3,
        "requester": u1,
        "claimer": u2,
        "volunteer": u2,
        "neighbour": u1,
        "outsider": u3,
    }
    people = {
        name: cast(Resident, ResidentFactory(household=HouseholdFactory(unit=home)))
        for name, home in homes.items()
    }
    for name in ("volunteer_leader", "claimer", "volunteer", "outsider"):
        Volunteer.objects.create(resident=people[name])
    for name, role, scope, place in [
        ("secretary", "estate_secretary", "estate", e),
        ("leader", "building_leader", "building", b1),
        ("volunteer_leader", "unit_leader", "unit", u1),
        ("other_leader", "building_leader", "building", b2),
        ("far_leader", "building_leader", "building", b3),
    ]:
        role_assign(resident_id=people[name].pk, role=role, scope=scope, place_id=place.pk)
    # The request's window opened an hour ago: its work may be marked done (the "_later"
    # states book it for tomorrow instead, for the rule that work is not done early).
    start = timezone.now() - timedelta(hours=1)
    if state.endswith("_later"):
        start = timezone.now() + timedelta(days=1)
    request = request_create(
        requester_id=people["requester"].pk,
        category="plumbing",
        description="漏水",
        window_start=start,
        window_end=start + timedelta(hours=2),
    )
    _bring(request, state, people)
    activity = Activity.objects.create(
        title="小事我幫您",
        estate=e,
        starts_at=start + timedelta(days=1),
        ends_at=start + timedelta(days=1, hours=2),
        capacity=20,
    )
    activity_signup(activity_id=activity.pk, resident_id=people["volunteer"].pk)
    token = make_key("helpteam:write", "residents:act")
    world = World(tenant, people, HelpRequest.objects.get(pk=request.pk), activity, token)
    world.ids = {
        "request": request.pk,
        "activity": activity.pk,
        "estate": e.pk,
        **{name: person.pk for name, person in people.items()},
    }
    world.values = {
        **world.ids,
        "token": world.request.qr_token,
        "start": (start + timedelta(days=2)).isoformat(),
        "end": (start + timedelta(days=2, hours=1)).isoformat(),
    }
    return world


def _unit(building: Building) -> Unit:
    return cast(Unit, UnitFactory(building=building))


def _bring(request: HelpRequest, state: str, people: dict[str, Resident]) -> None:
    if state in ("open", "open_later"):
        return
    worker = people["volunteer_leader" if state == "done_by_leader" else "claimer"]
    request_claim(request_id=request.pk, volunteer_resident_id=worker.pk)
    if state in ("claimed", "claimed_later"):
        return
    request_done(request_id=request.pk, volunteer_resident_id=worker.pk)
    if state in ("done", "done_by_leader"):
        return
    if state == "confirmed":
        requester = actor_for_resident(people["requester"])
        request_confirm(request_id=request.pk, hours=Decimal(1), actor=requester)
        return
    request_confirm(request_id=request.pk, hours=Decimal(1), actor=the_district())
    HelpRequest.objects.filter(pk=request.pk).update(auto_confirmed=True)
    if state == "disputed":
        request_dispute(
            request_id=request.pk, actor=actor_for_resident(people["requester"]), reason="x"
        )
