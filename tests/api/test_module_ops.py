"""Operations integrators found missing: the council's meetings and a decision's action
items, the help categories, one shop product, and adjusting a resident who has no points
account yet. Each is tried by the district, by the people the rules name, by another
tenant's key (its ids do not exist here: 404) and with bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tests.conftest import key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

MISSING = 2**62


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def patch(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def answer(response) -> tuple[int, str]:
    return response.status_code, response.json().get("code", "")


@pytest.fixture
def modules(tenant, other_tenant):
    for slug in ("alpha", "beta"):
        for module in ("deliberation", "helpteam", "shop", "points"):
            module_set_enabled(slug=slug, module=module, enabled=True)


def acting(tenant, make_key, resident, *scopes):
    token = make_key(*scopes, "residents:act")
    return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))


# --- deliberation: meetings and action items --------------------------------------------------


@pytest.fixture
def council(tenant, modules):
    """An estate of one flat whose resident raised a topic that a meeting decided, and a
    second estate with its own secretary (a leader elsewhere) and resident."""
    from tenants.community.roles import role_assign
    from tenants.deliberation import council as meetings
    from tenants.deliberation.services import topic_raise, topic_transition

    with tenant_context(tenant):
        estate = EstateFactory()
        unit = UnitFactory(building__estate=estate)
        resident = ResidentFactory(household=HouseholdFactory(unit=unit))
        secretary = ResidentFactory(household=None)
        role_assign(
            resident_id=secretary.pk, role="estate_secretary", scope="estate", place_id=estate.pk
        )
        unit_leader = ResidentFactory(household=HouseholdFactory(unit=unit))
        role_assign(resident_id=unit_leader.pk, role="unit_leader", scope="unit", place_id=unit.pk)
        elsewhere = EstateFactory()
        outsider = ResidentFactory(household=HouseholdFactory(unit__building__estate=elsewhere))
        other_secretary = ResidentFactory(household=None)
        role_assign(
            resident_id=other_secretary.pk,
            role="estate_secretary",
            scope="estate",
            place_id=elsewhere.pk,
        )
        topics = []
        for title in ("亂停車", "樓道燈"):
            topic = topic_raise(
                raised_by_id=resident.pk,
                title=title,
                description="d",
                category="c",
                scope="estate",
                place_id=estate.pk,
            )
            topic_transition(topic_id=topic.pk, to="accepted", actor_id=None)
            topics.append(topic)
        meeting = meetings.meeting_schedule(
            title="議事會",
            estate_id=estate.pk,
            starts_at=timezone.now() + timedelta(days=3),
            convener_id=secretary.pk,
            topic_ids=[t.pk for t in topics],
        )
        decided, pending = list(meeting.agenda.order_by("position"))
        meetings.meeting_check_in(meeting_id=meeting.pk, resident_id=resident.pk)
        meetings.voting_open(item_id=decided.pk)
        meetings.vote_cast(item_id=decided.pk, resident_id=resident.pk, choice="for")
        meetings.item_decide(item_id=decided.pk, outcome="劃線")
    base = f"/api/v1/deliberation/meetings/{meeting.pk}/items"
    return {
        "estate": estate,
        "resident": resident,
        "secretary": secretary,
        "unit_leader": unit_leader,
        "outsider": outsider,
        "other_secretary": other_secretary,
        "meeting": meeting,
        "decided": decided,
        "pending": pending,
        "actions": f"{base}/{decided.pk}/actions",
        "pending_actions": f"{base}/{pending.pk}/actions",
    }


def test_a_decision_tells_integrators_the_topic_is_decided(tenant, council):
    from tenants.events.models import Event

    with tenant_context(tenant):
        decided = Event.objects.filter(type="topic.decided").values_list("object_id", flat=True)
        assert [int(i) for i in decided] == [council["decided"].topic_id]


def test_meetings_are_listed_as_the_caller_may_see_them(tenant, api, make_key, council):
    meeting = council["meeting"]
    listed = api.get("/api/v1/deliberation/meetings")
    assert listed.status_code == 200
    assert [(m["id"], m["agenda_items"], m["status"]) for m in listed.json()["items"]] == [
        (meeting.pk, 2, "scheduled")
    ]
    mine = acting(tenant, make_key, council["resident"], "deliberation:read")
    assert [m["id"] for m in mine.get("/api/v1/deliberation/meetings").json()["items"]] == [
        meeting.pk
    ]
    outsider = acting(tenant, make_key, council["outsider"], "deliberation:read")
    assert outsider.get("/api/v1/deliberation/meetings").json()["items"] == []
    start = timezone.localtime(meeting.starts_at).date()
    for query, found in [
        (f"?estate_id={council['estate'].pk}", [meeting.pk]),
        (f"?estate_id={MISSING}", []),
        ("?status=closed", []),
        (f"?since={start}&until={start}", [meeting.pk]),
        (f"?since={start + timedelta(days=1)}", []),
        (f"?until={start - timedelta(days=1)}", []),
    ]:
        response = api.get("/api/v1/deliberation/meetings" + query)
        assert [m["id"] for m in response.json()["items"]] == found, query


def test_the_meetings_list_refuses_bad_filters_and_a_key_without_the_scope(
    tenant, api, make_key, council
):
    for query in ["?status=bogus", "?since=2030-13-01", "?since=1999-12-31", "?limit=0"]:
        response = api.get("/api/v1/deliberation/meetings" + query)
        assert answer(response) == (422, "validation_failed"), query
    huge = api.get("/api/v1/deliberation/meetings?estate_id=16398231154044760634211419866")
    assert huge.status_code in (200, 422)  # never a 500
    shop_only = key_client(tenant, make_key("shop:read"))
    assert answer(shop_only.get("/api/v1/deliberation/meetings")) == (403, "scope_missing")


def test_the_meetings_list_runs_a_constant_number_of_queries(tenant, api, council):
    from tenants.deliberation.models import Meeting

    with tenant_context(tenant):
        for n in range(20):
            Meeting.objects.create(
                title=f"m{n}",
                estate=council["estate"],
                starts_at=timezone.now() + timedelta(days=n),
                convener=council["secretary"],
            )
    url = "/api/v1/deliberation/meetings"
    api.get(url)
    with CaptureQueriesContext(connection) as small:
        assert api.get(url + "?limit=2").status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert len(api.get(url + "?limit=100").json()["items"]) == 21
    assert len(small.captured_queries) == len(large.captured_queries)


def test_a_decision_gets_action_items_that_are_listed_and_marked_done(
    tenant, api, make_key, council
):
    from tenants.audit.models import AuditEntry

    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    body = {"title": "物業畫停車線", "due_on": due, "owner_resident_id": council["resident"].pk}
    created = post(api, council["actions"], body)
    assert created.status_code == 201, created.json()
    action = created.json()
    assert {k: action[k] for k in ("title", "due_on", "status", "owner_resident_id")} == {
        "title": "物業畫停車線",
        "due_on": due,
        "status": "open",
        "owner_resident_id": council["resident"].pk,
    }
    assert (action["agenda_item_id"], action["topic_id"]) == (
        council["decided"].pk,
        council["decided"].topic_id,
    )
    # the secretary of the estate adds one too, and the estate's resident reads them
    secretary = acting(tenant, make_key, council["secretary"], "deliberation:write")
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    late = post(secretary, council["actions"], {**body, "title": "修燈", "due_on": past})
    assert late.status_code == 201
    resident = acting(tenant, make_key, council["resident"], "deliberation:read")
    listed = resident.get(council["actions"]).json()["items"]
    assert [a["title"] for a in listed] == ["物業畫停車線", "修燈"]
    overdue = api.get(council["actions"] + "?overdue=true").json()["items"]
    assert [a["id"] for a in overdue] == [late.json()["id"]]
    # done, and done again with the same body: the same answer, one change audited
    path = f"{council['actions']}/{action['id']}"
    done = patch(api, path, {"status": "done", "progress": "已完成"})
    assert (done.status_code, done.json()["status"], done.json()["progress"]) == (
        200,
        "done",
        "已完成",
    )
    assert patch(api, path, {"status": "done", "progress": "已完成"}).json() == done.json()
    moved = patch(api, path, {"status": "open", "due_on": "2031-01-31"})
    assert (moved.json()["status"], moved.json()["due_on"]) == ("open", "2031-01-31")
    assert api.get(council["actions"] + "?status=done").json()["items"] == []
    with tenant_context(tenant):
        assert AuditEntry.objects.filter(action="action_item.updated").count() == 2
        assert AuditEntry.objects.filter(action="action_item.created").count() == 2


def test_who_may_add_and_change_action_items(tenant, api, make_key, council):
    from tenants.deliberation.models import ActionItem

    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    body = {"title": "畫線", "due_on": due, "owner_resident_id": council["resident"].pk}
    resident = acting(tenant, make_key, council["resident"], "deliberation:write")
    assert answer(post(resident, council["actions"], body)) == (403, "not_a_leader")
    # a leader of a unit of the estate sees the meeting but does not lead its place
    unit_leader = acting(tenant, make_key, council["unit_leader"], "deliberation:write")
    assert answer(post(unit_leader, council["actions"], body)) == (403, "out_of_scope")
    # a leader of another estate does not see it at all
    elsewhere = acting(tenant, make_key, council["other_secretary"], "deliberation:write")
    assert answer(post(elsewhere, council["actions"], body)) == (404, "meeting_not_found")
    outsider = acting(tenant, make_key, council["outsider"], "deliberation:write")
    assert answer(outsider.get(council["actions"])) == (404, "meeting_not_found")
    reader = key_client(tenant, make_key("deliberation:read"))
    assert answer(post(reader, council["actions"], body)) == (403, "scope_missing")
    # the state: an item not decided yet takes no actions
    assert answer(post(api, council["pending_actions"], body)) == (409, "not_decided")
    created = post(api, council["actions"], body).json()
    path = f"{council['actions']}/{created['id']}"
    assert answer(patch(resident, path, {"status": "done"})) == (403, "not_a_leader")
    assert answer(patch(unit_leader, path, {"status": "done"})) == (403, "out_of_scope")
    assert answer(patch(elsewhere, path, {"status": "done"})) == (404, "meeting_not_found")
    # an action looked up through another item of the meeting is not there
    other_item = f"{council['pending_actions']}/{created['id']}"
    assert answer(patch(api, other_item, {"status": "done"})) == (404, "action_item_not_found")
    assert answer(patch(api, f"{council['actions']}/{MISSING}", {"status": "done"})) == (
        404,
        "action_item_not_found",
    )
    with tenant_context(tenant):
        assert list(ActionItem.objects.values_list("status", flat=True)) == ["open"]


def test_action_items_refuse_bad_bodies_and_write_nothing(tenant, api, council):
    from tenants.deliberation.models import ActionItem

    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    owner = council["resident"].pk
    for body, expected in [
        ({"title": "x", "due_on": due}, (422, "owner_required", "/body/owner_resident_id")),
        (
            {"title": "x", "due_on": due, "owner_resident_id": MISSING},
            (422, "resident_not_found", "/body/owner_resident_id"),
        ),
        (
            {"title": "x", "due_on": due, "owner_organisation_id": MISSING},
            (422, "organisation_not_found", "/body/owner_organisation_id"),
        ),
        (
            {"title": "x" * 201, "due_on": due, "owner_resident_id": owner},
            (422, "validation_failed", "/body/title"),
        ),
        (
            {"title": "x", "due_on": 20300101, "owner_resident_id": owner},
            (422, "validation_failed", "/body/due_on"),
        ),
        (
            {"title": "x", "due_on": due, "owner_resident_id": str(owner)},
            (422, "validation_failed", "/body/owner_resident_id"),
        ),
        (
            {"title": "x", "due_on": due, "owner_resident_id": 2**64},
            (422, "validation_failed", "/body/owner_resident_id"),
        ),
        (
            {"title": "   ", "due_on": due, "owner_resident_id": owner},
            (422, "action_incomplete", "/body/title"),
        ),
    ]:
        response = post(api, council["actions"], body)
        pointers = [e["pointer"] for e in response.json().get("errors") or []]
        assert (*answer(response), pointers[:1]) == (*expected[:2], [expected[2]]), body
    assert api.post(council["actions"], "[1]", content_type="application/json").status_code in (
        400,
        422,
    )
    created = post(
        api, council["actions"], {"title": "修燈", "due_on": due, "owner_resident_id": owner}
    )
    path = f"{council['actions']}/{created.json()['id']}"
    for body in [{"status": "closed"}, {"status": True}, {"due_on": "tomorrow"}, {"progress": 5}]:
        assert answer(patch(api, path, body)) == (422, "validation_failed"), body
    with tenant_context(tenant):
        assert ActionItem.objects.count() == 1
        assert ActionItem.objects.get().status == "open"


def test_another_tenants_key_finds_no_meetings_or_action_items_here(
    tenant, api, other_api, council
):
    from tenants.deliberation.models import ActionItem

    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    body = {"title": "畫線", "due_on": due, "owner_resident_id": council["resident"].pk}
    created = post(api, council["actions"], body).json()
    assert other_api.get("/api/v1/deliberation/meetings").json()["items"] == []
    path = f"{council['actions']}/{created['id']}"
    assert answer(other_api.get(council["actions"])) == (404, "meeting_not_found")
    assert answer(post(other_api, council["actions"], body)) == (404, "meeting_not_found")
    assert answer(patch(other_api, path, {"status": "done"})) == (404, "meeting_not_found")
    with tenant_context(tenant):
        assert ActionItem.objects.get().status == "open"


# --- help team: the categories ----------------------------------------------------------------


@pytest.fixture
def skills(tenant, other_tenant, modules):
    from tenants.community.models import Term
    from tenants.helpteam.models import Skill

    with tenant_context(tenant):
        Skill.objects.create(code="child_pickup", name="接送孩子")
        Skill.objects.create(code="plumbing", name="水管維修")
        Term.objects.create(key="help_category.child_pickup", language="en", label="School run")
        Term.objects.create(key="help_category.child_pickup", language="zh-hant", label="接送孩子")
    with tenant_context(other_tenant):
        Skill.objects.create(code="hairdressing", name="義剪")


def test_help_categories_are_labelled_in_the_request_language(api, skills):
    english = api.get("/api/v1/helpteam/categories", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    # the tenant's term in that language; without one, the category's own name
    assert {c["code"]: c["label"] for c in english.json()} == {
        "child_pickup": "School run",
        "plumbing": "水管維修",
    }
    assert len(english.json()) == 2
    traditional = api.get("/api/v1/helpteam/categories", HTTP_ACCEPT_LANGUAGE="zh-Hant")
    assert {c["code"]: c["label"] for c in traditional.json()} == {
        "child_pickup": "接送孩子",
        "plumbing": "水管維修",
    }


def test_every_caller_of_the_tenant_reads_its_own_categories_only(
    tenant, make_key, other_api, skills
):
    with tenant_context(tenant):
        neighbour = ResidentFactory()
    mine = acting(tenant, make_key, neighbour, "helpteam:read")
    codes = sorted(c["code"] for c in mine.get("/api/v1/helpteam/categories").json())
    assert codes == ["child_pickup", "plumbing"]
    assert [c["code"] for c in other_api.get("/api/v1/helpteam/categories").json()] == [
        "hairdressing"
    ]
    no_scope = key_client(tenant, make_key("shop:read"))
    assert answer(no_scope.get("/api/v1/helpteam/categories")) == (403, "scope_missing")


# --- shop: one product ------------------------------------------------------------------------


@pytest.fixture
def products(tenant, other_tenant, modules):
    """Two products here, one in the other tenant: our second id is nothing there."""
    from tenants.shop.services import catalogue

    def stock(names: list[str]) -> list:
        shop = catalogue.shop_create(
            estate_id=EstateFactory.create().pk, name="鄰家小店", zones=["daily_goods"]
        )
        return [
            catalogue.product_create(
                shop_id=shop.pk, name=name, unit="盒", price_fen=1800, points_share=50, stock=7
            )
            for name in names
        ]

    with tenant_context(tenant):
        ours = stock(["青菜", "土雞蛋"])[-1]
    with tenant_context(other_tenant):
        theirs = stock(["別區米"])[-1]
    assert ours.pk > theirs.pk
    return {"ours": ours, "theirs": theirs}


def test_a_product_is_read_by_anyone_of_the_tenant(tenant, make_key, api, products):
    ours = products["ours"]
    response = api.get(f"/api/v1/shop/products/{ours.pk}")
    assert response.status_code == 200
    shown = {k: response.json()[k] for k in ("id", "name", "price_fen", "points_share", "stock")}
    assert shown == {
        "id": ours.pk,
        "name": "土雞蛋",
        "price_fen": 1800,
        "points_share": 50,
        "stock": 7,
    }
    with tenant_context(tenant):
        resident = ResidentFactory()
    reader = acting(tenant, make_key, resident, "shop:read")
    assert reader.get(f"/api/v1/shop/products/{ours.pk}").json()["id"] == ours.pk
    no_scope = key_client(tenant, make_key("points:read"))
    assert answer(no_scope.get(f"/api/v1/shop/products/{ours.pk}")) == (403, "scope_missing")


def test_another_tenants_product_and_bad_ids_are_not_found(api, other_api, products):
    response = other_api.get(f"/api/v1/shop/products/{products['ours'].pk}")
    assert answer(response) == (404, "product_not_found")
    assert "土雞蛋" not in response.content.decode()
    assert answer(api.get(f"/api/v1/shop/products/{MISSING}")) == (404, "product_not_found")
    assert answer(api.get("/api/v1/shop/products/abc"))[0] == 422
    huge = api.get("/api/v1/shop/products/16398231154044760634211419866")
    assert huge.status_code in (404, 422)  # refused, never a 500


# --- points: an adjustment reaches a resident who has had no points -----------------------------


@pytest.fixture
def newcomer(tenant, modules):
    with tenant_context(tenant):
        return ResidentFactory()


def adjust(client, body, key):
    return post(client, "/api/v1/points/adjustments", body, HTTP_IDEMPOTENCY_KEY=key)


def test_a_resident_without_an_account_is_adjusted_by_resident_id(tenant, api, newcomer):
    from tenants.points.models import Account, Transaction

    path = f"/api/v1/points/residents/{newcomer.pk}/account"
    before = api.get(path).json()
    assert (before["id"], before["balance"], before["resident_id"]) == (None, 0, newcomer.pk)
    with tenant_context(tenant):  # reading opened nothing
        assert not Account.objects.filter(resident=newcomer).exists()
    body = {"resident_id": newcomer.pk, "amount": 25, "reason": "志願服務補錄"}
    created = adjust(api, body, "welcome-1")
    assert created.status_code == 201, created.json()
    after = api.get(path).json()
    assert after["id"] is not None and after["balance"] == 25
    assert {p["account_id"] for p in created.json()["postings"]} >= {after["id"]}
    # by the account's id from now on, and the same request again moves nothing
    assert (
        adjust(api, {"account_id": after["id"], "amount": -5, "reason": "fix"}, "w-2").status_code
        == 201
    )
    assert adjust(api, body, "welcome-1").json()["id"] == created.json()["id"]
    assert api.get(path).json()["balance"] == 20
    with tenant_context(tenant):
        assert Transaction.objects.filter(kind="adjust").count() == 2
        assert Account.objects.filter(resident=newcomer).count() == 1


def test_an_adjustment_names_one_existing_target_and_only_the_district_makes_it(
    tenant, api, other_api, make_key, newcomer
):
    from tenants.points.models import Account, Transaction

    for n, (body, expected) in enumerate(
        [
            ({"amount": 5, "reason": "x"}, (422, "account_required")),
            (
                {"resident_id": newcomer.pk, "account_id": 1, "amount": 5, "reason": "x"},
                (422, "account_required"),
            ),
            ({"resident_id": MISSING, "amount": 5, "reason": "x"}, (422, "resident_not_found")),
            ({"resident_id": newcomer.pk, "amount": 0, "reason": "x"}, (422, "amount_invalid")),
            (
                {"resident_id": newcomer.pk, "amount": "5", "reason": "x"},
                (422, "validation_failed"),
            ),
            (
                {"resident_id": newcomer.pk, "amount": 5, "reason": "x" * 256},
                (422, "validation_failed"),
            ),
        ]
    ):
        assert answer(adjust(api, body, f"bad-{n}")) == expected, body
    body = {"resident_id": newcomer.pk, "amount": 5, "reason": "理由"}
    # another tenant's key: this tenant's resident is nobody there
    assert answer(adjust(other_api, body, "theirs")) == (422, "resident_not_found")
    themself = acting(tenant, make_key, newcomer, "points:write")
    assert answer(adjust(themself, body, "mine")) == (403, "not_for_residents")
    with tenant_context(tenant):
        assert not Account.objects.filter(resident=newcomer).exists()
        assert not Transaction.objects.filter(kind="adjust").exists()


def test_a_district_admin_acting_as_themself_never_credits_their_own_account(
    tenant, make_key, newcomer
):
    from tenants.community.roles import role_assign
    from tenants.points.models import Account

    with tenant_context(tenant):
        role_assign(resident_id=newcomer.pk, role="district_admin", scope="tenant")
    themself = acting(tenant, make_key, newcomer, "points:write")
    body = {"resident_id": newcomer.pk, "amount": 5, "reason": "x"}
    assert answer(adjust(themself, body, "self")) == (403, "self_approval")
    with tenant_context(tenant):
        assert not Account.objects.filter(resident=newcomer).exists()
