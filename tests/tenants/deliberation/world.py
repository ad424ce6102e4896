"""Two estates with every kind of caller deliberation knows, for its policy table.

    estate E                                              estate F
      building B1 (led by ``leader``)                       building B3 (led by ``far_leader``)
        flat 101: author   (raised the topics)                flat 301: far_leader
        flat 102: neighbour                                   flat 302: outsider
      building B2 (led by ``other_leader``)
        flat 201: estate_resident (same estate, other building)
        flat 202: volunteer (volunteer role over E: leads nothing)
        flat 203: other_leader
        flat 204: leader (lives next door to the building they lead)

The district's tool is a key acting for no one; every person calls through a key acting
for them (API) or signed in (resident pages). Things, all about B1:

- ``topic``: accepted, building-scope, raised by the author;
- ``held``: raised by the author, held for review (a blocked word);
- ``duplicate``: raised by the neighbour, to merge into ``topic``;
- ``agenda_topic``: accepted, free for a new meeting's agenda;
- ``meeting``: a council meeting of B1 whose item (``item``) is open for votes; the author
  checked in;
- ``bare_meeting``: another council of B1, convened by ``leader`` too, that nobody attended:
  its item (``bare_item``) has no quorum, so only its convener may decide it (without
  quorum, with a reason);
- ``household``: flat 102, for contacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tenants.community.models import Organisation, Resident
from tenants.community.roles import role_assign
from tenants.deliberation.council import meeting_check_in, meeting_schedule, voting_open
from tenants.deliberation.models import AgendaItem, BlockedWord, Meeting, Topic
from tenants.deliberation.services import topic_raise, topic_transition
from tenants.pages import signin
from tests.conftest import host_of, key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

PEOPLE = (
    "author",
    "neighbour",
    "leader",
    "other_leader",
    "far_leader",
    "estate_resident",
    "volunteer",
    "outsider",
)
CALLERS = ("district", *PEOPLE)
WHERE = {
    "author": "101",
    "neighbour": "102",
    "estate_resident": "201",
    "volunteer": "202",
    "other_leader": "203",
    "leader": "204",
    "far_leader": "301",
    "outsider": "302",
}


@dataclass
class World:
    tenant: Tenant
    people: dict[str, Resident]
    things: dict[str, Any]
    token: str

    def id(self, who: str) -> int:
        return int(self.people[who].pk)

    def api(self, caller: str) -> Client:
        if caller == "district":
            return key_client(self.tenant, self.token)
        return key_client(self.tenant, self.token, HTTP_LINLI_ACTING_RESIDENT=str(self.id(caller)))

    def page(self, who: str) -> Client:
        """A browser signed in on the resident pages as ``who``."""
        with tenant_context(self.tenant):
            phone = str(self.people[who].phone)
            code = signin.code_request(phone=phone)
            assert code is not None
            _resident, token = signin.code_verify(phone=phone, code=code)
        client = Client(HTTP_HOST=host_of(self.tenant), HTTP_ACCEPT_LANGUAGE="en")
        client.cookies["linli_r"] = token
        return client


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def _topic(author: Resident, building_id: int, title: str, status: str = "raised") -> Topic:
    topic = topic_raise(
        raised_by_id=author.pk,
        title=title,
        description="三樓",
        category="facilities",
        scope="building",
        place_id=building_id,
    )
    if status == "accepted":
        topic = topic_transition(topic_id=topic.pk, to="accepted", actor_id=None)
    return topic


def build_world(tenant: Tenant, make_key: Any) -> World:
    module_set_enabled(slug=tenant.schema_name, module="deliberation", enabled=True)
    with tenant_context(tenant):
        # factories are typed as themselves; what they make is a model
        e: Any = EstateFactory()
        f: Any = EstateFactory()
        b1: Any = UnitFactory(building__estate=e)
        b2: Any = UnitFactory(building__estate=e)
        b3: Any = UnitFactory(building__estate=f)
        units = {"1": b1, "2": b2, "3": b3}
        flats: dict[str, Any] = {}
        people: dict[str, Any] = {}
        for who, flat in WHERE.items():
            flats[flat] = HouseholdFactory(unit=units[flat[0]], flat_number=flat)
            people[who] = ResidentFactory(household=flats[flat])
        for who, unit in [("leader", b1), ("other_leader", b2), ("far_leader", b3)]:
            role_assign(
                resident_id=people[who].pk,
                role="building_leader",
                scope="building",
                place_id=unit.building_id,
            )
        role_assign(
            resident_id=people["volunteer"].pk, role="volunteer", scope="estate", place_id=e.pk
        )
        author, building = people["author"], b1.building_id
        topic = _topic(author, building, "樓道燈不亮", "accepted")
        duplicate = _topic(people["neighbour"], building, "燈壞了")
        agenda_topic = _topic(author, building, "亂停車", "accepted")
        BlockedWord.objects.create(word="廣告")
        held = _topic(author, building, "廣告 held")
        assert held.held_for_review
        on_agenda = _topic(author, building, "垃圾桶", "accepted")
        meeting = meeting_schedule(
            title="B1 council",
            estate_id=e.pk,
            building_id=building,
            starts_at=timezone.now(),
            convener_id=people["leader"].pk,
            topic_ids=[on_agenda.pk],
        )
        meeting_check_in(meeting_id=meeting.pk, resident_id=author.pk)
        item = AgendaItem.objects.get(meeting=meeting)
        voting_open(item_id=item.pk)
        bare_topic = _topic(author, building, "電梯異響", "accepted")
        bare_meeting = meeting_schedule(
            title="B1 council, nobody came",
            estate_id=e.pk,
            building_id=building,
            starts_at=timezone.now(),
            convener_id=people["leader"].pk,
            topic_ids=[bare_topic.pk],
        )
        things = {
            "estate": e.pk,
            "building": building,
            "other_building": b2.building_id,
            "topic": topic.pk,
            "held": held.pk,
            "duplicate": duplicate.pk,
            "agenda_topic": agenda_topic.pk,
            "meeting": meeting.pk,
            "item": item.pk,
            "bare_meeting": bare_meeting.pk,
            "bare_item": AgendaItem.objects.get(meeting=bare_meeting).pk,
            "household": flats["102"].pk,
            "organisation": Organisation.objects.create(name="物業公司", kind="company").pk,
        }
        token = make_key("deliberation:read", "deliberation:write", "residents:act")
    return World(tenant=tenant, people=people, things=things, token=token)


def topic_of(world: World, key: str) -> Topic:
    with tenant_context(world.tenant):
        return Topic.objects.get(pk=world.things[key])


def meeting_of(world: World) -> Meeting:
    with tenant_context(world.tenant):
        return Meeting.objects.get(pk=world.things["meeting"])
