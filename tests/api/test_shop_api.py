"""The pre-order story end to end through the API, permissions, isolation and query counts."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.context import tenant_zone
from linli.registry.services import module_set_enabled
from tenants.community.models import Organisation, OrganisationMember, Role, RoleAssignment
from tenants.points.models import Account
from tenants.points.services import account_for_resident, points_adjust
from tenants.shop.models import BatchItem, Parcel
from tenants.shop.services import catalogue, orders, parcels
from tests.conftest import key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def town(tenant, other_tenant):
    for slug in ("alpha", "beta"):
        module_set_enabled(slug=slug, module="shop", enabled=True)
        module_set_enabled(slug=slug, module="points", enabled=True)
    with tenant_context(tenant):
        estate = EstateFactory(name="萬象公館")
        unit = UnitFactory(building__estate=estate)
        xu = ResidentFactory(display_name="徐大爺", household=HouseholdFactory(unit=unit))
        neighbour = ResidentFactory(display_name="鄰居", household=HouseholdFactory(unit=unit))
        operator = ResidentFactory(display_name="店長", household=HouseholdFactory(unit=unit))
        RoleAssignment.objects.create(
            resident=operator,
            role=Role.SHOP_OPERATOR,
            scope="estate",
            estate=estate,
            starts_on=timezone.localdate() - timedelta(days=1),
        )
        points_adjust(
            account_id=account_for_resident(resident_id=xu.pk).pk,
            amount=40,
            reason="volunteering",
            idempotency_key="seed-xu",
        )
        other_estate = EstateFactory(name="學府小區")
        elsewhere = catalogue.shop_create(
            estate_id=other_estate.pk, name="學府小店", zones=["parcels"]
        )
    with tenant_context(other_tenant):
        beta_estate = EstateFactory(name="別區")
        beta_shop = catalogue.shop_create(
            estate_id=beta_estate.pk, name="別區小店", zones=["parcels", "preorders"]
        )
    return {
        "estate": estate,
        "xu": xu,
        "neighbour": neighbour,
        "operator": operator,
        "elsewhere": elsewhere,
        "beta_shop": beta_shop,
    }


def acting(tenant, token, resident):
    return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))


def test_mr_xu_scans_the_code_orders_with_points_and_collects(tenant, make_key, town):
    tool = key_client(tenant, make_key("shop:write", "personal_data:read"))
    token = make_key("shop:write", "points:read", "residents:act")
    xu = acting(tenant, token, town["xu"])
    counter = acting(tenant, token, town["operator"])
    # the district opens the shop; the operator sets up the co-op's batch
    shop = post(
        tool,
        "/api/v1/shop/shops",
        {
            "estate_id": town["estate"].pk,
            "name": "萬象公館鄰家小店",
            "zones": ["preorders", "parcels"],
        },
    ).json()
    coop = post(
        tool, "/api/v1/shop/suppliers", {"name": "大業村合作社", "kind": "cooperative"}
    ).json()
    greens = post(
        counter,
        "/api/v1/shop/products",
        {"shop_id": shop["id"], "supplier_id": coop["id"], "name": "青菜", "unit": "斤",
         "price_fen": 300, "points_share": 50},
    ).json()  # fmt: skip
    eggs = post(
        counter,
        "/api/v1/shop/products",
        {
            "shop_id": shop["id"],
            "name": "土雞蛋",
            "unit": "盒",
            "price_fen": 2500,
            "points_share": 20,
        },
    ).json()
    zone = tenant_zone(tenant)
    now = timezone.now()
    pickup_day = timezone.localtime(now, zone).date() + timedelta(days=2)
    nine = datetime.combine(pickup_day, time(9), tzinfo=zone)
    created = post(
        counter,
        "/api/v1/shop/batches",
        {
            "shop_id": shop["id"],
            "supplier_id": coop["id"],
            "title": "大業村本週蔬菜",
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=20)).isoformat(),
            "pickup_on": pickup_day.isoformat(),
            "items": [
                {"product_id": greens["id"], "limit_total": 30, "limit_per_household": 3},
                {"product_id": eggs["id"], "limit_total": 10},
            ],
            "slots": [
                {"starts_at": nine.isoformat(), "ends_at": (nine + timedelta(hours=2)).isoformat()}
            ],
        },
    )
    assert created.status_code == 201, created.json()
    batch = created.json()
    assert batch["state"] == "open"
    # the poster's QR code encodes the batch link; scanning it finds the batch
    svg = counter.get(f"/api/v1/shop/batches/{batch['id']}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert svg.content.lstrip().startswith(b"<?xml")
    png = counter.get(f"/api/v1/shop/batches/{batch['id']}/qr.png")
    assert png.content.startswith(b"\x89PNG")
    token_in_link = batch["link"].rsplit("/", 1)[1]
    assert batch["link"].startswith(f"http://{tenant.domains.first().domain}/r/shop/batches/")
    scanned = xu.get(f"/api/v1/shop/batches/by-code/{token_in_link}")
    assert scanned.status_code == 200 and scanned.json()["id"] == batch["id"]
    item_greens, item_eggs = (i["id"] for i in scanned.json()["items"])
    # he orders two items, paying part in points: 3 + 5 points allowed
    placed = post(
        xu,
        "/api/v1/shop/orders",
        {
            "batch_id": batch["id"],
            "slot_id": batch["slots"][0]["id"],
            "lines": [
                {"item_id": item_greens, "quantity": 2},
                {"item_id": item_eggs, "quantity": 1},
            ],
            "points": 8,
        },
    )
    assert placed.status_code == 201, placed.json()
    order = placed.json()
    assert (order["total_fen"], order["points_used"], order["money_due_fen"]) == (3100, 8, 2300)
    assert [(ln["item_id"], ln["name"], ln["unit"], ln["quantity"]) for ln in order["lines"]] == [
        (item_greens, "青菜", "斤", 2),
        (item_eggs, "土雞蛋", "盒", 1),
    ]
    assert scanned.json()["supplier"] == "大業村合作社"
    assert [(i["name"], i["left"]) for i in scanned.json()["items"]] == [
        ("青菜", 30),
        ("土雞蛋", 10),
    ]
    assert xu.get(f"/api/v1/points/residents/{town['xu'].pk}/account").json()["balance"] == 32
    left = {
        i["id"]: i["left"] for i in xu.get(f"/api/v1/shop/batches/{batch['id']}").json()["items"]
    }
    assert left == {item_greens: 28, item_eggs: 9}
    # asking for more points than allowed: refused, nothing changes
    over = post(
        xu,
        "/api/v1/shop/orders",
        {"batch_id": batch["id"], "slot_id": batch["slots"][0]["id"],
         "lines": [{"item_id": item_greens, "quantity": 1}], "points": 2},
    )  # fmt: skip
    assert over.status_code == 422 and over.json()["code"] == "points_over_share"
    # the cut-off passes
    with tenant_context(tenant):
        assert catalogue.batches_close_due(now=now + timedelta(hours=21)) == 1
    late = post(
        xu,
        "/api/v1/shop/orders",
        {"batch_id": batch["id"], "slot_id": batch["slots"][0]["id"],
         "lines": [{"item_id": item_greens, "quantity": 1}]},
    )  # fmt: skip
    assert late.status_code == 409 and late.json()["code"] == "batch_closed"
    # the packing list has his order in the slot
    packing = counter.get(f"/api/v1/shop/batches/{batch['id']}/packing-list")
    assert packing.status_code == 200
    [slot] = packing.json()
    assert [o["order_id"] for o in slot["orders"]] == [order["id"]]
    assert slot["orders"][0]["resident"] == "徐**"  # no personal_data scope: masked
    assert sorted(slot["totals"]) == [["土雞蛋", "盒", 1], ["青菜", "斤", 2]]
    csv_rows = counter.get(f"/api/v1/shop/batches/{batch['id']}/packing-list.csv").content.decode()
    assert csv_rows.splitlines()[0].startswith("slot,order,pickup_code")
    assert len(csv_rows.splitlines()) == 3
    # the operator marks it ready; he brings the code and pays the rest in cash
    ready = post(counter, f"/api/v1/shop/orders/{order['id']}/ready")
    assert ready.json()["status"] == "ready"
    found = post(
        counter, f"/api/v1/shop/shops/{shop['id']}/orders/lookup", {"code": order["pickup_code"]}
    )
    assert found.json()["id"] == order["id"]
    wrong = post(
        counter,
        f"/api/v1/shop/orders/{order['id']}/pick-up",
        {"code": "AAAAAA", "payment": "cash", "paid_fen": 2300},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "code_invalid"
    collected = post(
        counter,
        f"/api/v1/shop/orders/{order['id']}/pick-up",
        {"code": order["pickup_code"], "payment": "cash", "paid_fen": 2300},
    )
    assert collected.status_code == 200 and collected.json()["status"] == "picked_up"
    again = post(
        counter,
        f"/api/v1/shop/orders/{order['id']}/pick-up",
        {"code": order["pickup_code"], "payment": "cash", "paid_fen": 2300},
    )
    assert again.status_code == 409 and again.json()["code"] == "already_picked_up"
    # balances and stock at the end
    assert xu.get(f"/api/v1/points/residents/{town['xu'].pk}/account").json()["balance"] == 32
    with tenant_context(tenant):
        assert Account.objects.get(code=f"shop:{shop['id']}").balance == 8
        assert list(BatchItem.objects.order_by("id").values_list("ordered", flat=True)) == [2, 1]
    # the pickup happened just now: this (tenant-local) month's sales hold it
    month = timezone.localtime(timezone.now(), zone).date().replace(day=1).isoformat()
    sales = tool.get(f"/api/v1/shop/reports/sales?month={month}&shop_id={shop['id']}").json()
    assert sum(day["cash_fen"] for day in sales) == 2300
    assert sum(day["points"] for day in sales) == 8
    through = counter.get(f"/api/v1/shop/batches/{batch['id']}/sell-through").json()
    assert [(r["ordered"], r["collected"]) for r in through] == [(2, 2), (1, 1)]


def test_residents_see_only_their_own_orders_and_cannot_run_the_counter(tenant, make_key, town):
    token = make_key("shop:write", "residents:act")
    with tenant_context(tenant):
        shop = catalogue.shop_create(estate_id=town["estate"].pk, name="店", zones=["daily_goods"])
        soy = catalogue.product_create(
            shop_id=shop.pk, name="醬油", unit="瓶", price_fen=1000, stock=5
        )
        order = orders.order_place(resident_id=town["xu"].pk, shop_id=shop.pk, lines=[(soy.pk, 1)])
    neighbour = acting(tenant, token, town["neighbour"])
    assert neighbour.get(f"/api/v1/shop/orders/{order.pk}").status_code == 404
    assert neighbour.get("/api/v1/shop/orders").json()["items"] == []
    ready = post(neighbour, f"/api/v1/shop/orders/{order.pk}/ready")
    assert ready.status_code == 404
    xu = acting(tenant, token, town["xu"])
    mine = xu.get("/api/v1/shop/orders").json()["items"]
    assert [o["id"] for o in mine] == [order.pk]
    forbidden = post(xu, f"/api/v1/shop/orders/{order.pk}/ready")
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "not_shop_operator"
    # a resident may not order in someone else's name
    other = post(
        xu,
        "/api/v1/shop/orders",
        {"resident_id": town["neighbour"].pk, "shop_id": shop.pk,
         "lines": [{"product_id": soy.pk, "quantity": 1}]},
    )  # fmt: skip
    assert other.status_code == 403 and other.json()["code"] == "not_yourself"
    # an operator of another estate's shop cannot run this one
    counter = acting(tenant, token, town["operator"])
    with tenant_context(tenant):
        elsewhere_order = orders.order_place(
            resident_id=town["xu"].pk, shop_id=shop.pk, lines=[(soy.pk, 1)]
        )
    assert post(counter, f"/api/v1/shop/orders/{elsewhere_order.pk}/ready").status_code == 200
    parcel = post(
        counter,
        "/api/v1/shop/parcels",
        {"shop_id": town["elsewhere"].pk, "carrier": "順豐", "tracking_number": "SF1",
         "household_id": town["xu"].household_id},
    )  # fmt: skip
    assert parcel.status_code == 403 and parcel.json()["code"] == "not_shop_operator"
    setup = post(counter, "/api/v1/shop/suppliers", {"name": "x", "kind": "farm"})
    assert setup.status_code == 403


def test_parcels_through_the_api(
    tenant, make_key, town, notices, django_capture_on_commit_callbacks
):
    token = make_key("shop:write", "residents:act")
    counter = acting(tenant, token, town["operator"])
    xu = acting(tenant, token, town["xu"])
    with tenant_context(tenant):
        shop = catalogue.shop_create(estate_id=town["estate"].pk, name="店", zones=["parcels"])
    suggestions = counter.get("/api/v1/shop/parcels/recipients?q=徐大")
    assert [s["household_id"] for s in suggestions.json()] == [town["xu"].household_id]
    assert xu.get("/api/v1/shop/parcels/recipients?q=徐").status_code == 403
    body = {"shop_id": shop.pk, "carrier": "順豐", "tracking_number": "sf123",
            "household_id": town["xu"].household_id, "shelf": "A3"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        logged = post(counter, "/api/v1/shop/parcels", body)
    assert logged.status_code == 201
    parcel = logged.json()
    assert parcel["tracking_number"] == "SF123"
    assert [(n.resident_id, n.kind) for n in notices] == [(town["xu"].pk, "shop.parcel.arrived")]
    assert parcel["pickup_code"] in notices[0].body
    twice = post(counter, "/api/v1/shop/parcels", body)
    assert twice.status_code == 409 and twice.json()["code"] == "parcel_already_logged"
    nobody = post(
        counter, "/api/v1/shop/parcels", {**body, "tracking_number": "X", "household_id": 999_999}
    )
    assert nobody.status_code == 422 and nobody.json()["code"] == "household_not_found"
    # he sees it with its code; the neighbour does not
    assert [p["id"] for p in xu.get("/api/v1/shop/parcels").json()["items"]] == [parcel["id"]]
    neighbour = acting(tenant, token, town["neighbour"])
    assert neighbour.get("/api/v1/shop/parcels").json()["items"] == []
    wrong = post(counter, f"/api/v1/shop/parcels/{parcel['id']}/pick-up", {"code": "AAAAAA"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "code_invalid"
    done = post(
        counter, f"/api/v1/shop/parcels/{parcel['id']}/pick-up", {"code": parcel["pickup_code"]}
    )
    assert done.json()["status"] == "picked_up" and done.json()["pickup_code"] is None
    again = post(
        counter, f"/api/v1/shop/parcels/{parcel['id']}/pick-up", {"code": parcel["pickup_code"]}
    )
    assert again.status_code == 409 and again.json()["code"] == "already_picked_up"
    with tenant_context(tenant):
        old = parcels.parcel_log(
            shop_id=shop.pk,
            carrier="郵政",
            tracking_number="E1",
            household_id=town["xu"].household_id,
        )
        Parcel.objects.filter(pk=old.pk).update(arrived_at=timezone.now() - timedelta(days=15))
    due = counter.get("/api/v1/shop/parcels?due_back=true").json()["items"]
    assert [p["id"] for p in due] == [old.pk]
    today = timezone.localdate().isoformat()
    report = counter.get(f"/api/v1/shop/parcels/daily?shop_id={shop.pk}&day={today}").json()
    assert (report["arrived"], report["picked_up"], report["waiting_at_close"]) == (1, 1, 1)
    assert report["waiting_over_return_days"] == 1


def test_partner_services_booked_in_points_and_declined_with_a_refund(tenant, make_key, town):
    token = make_key("shop:write", "points:read", "residents:act")
    with tenant_context(tenant):
        partner = Organisation.objects.create(name="岑溪家政", kind="company")
        staff = ResidentFactory(display_name="家政員")
        OrganisationMember.objects.create(organisation=partner, resident=staff)
    tool = key_client(tenant, make_key("shop:write"))
    service = post(
        tool,
        "/api/v1/shop/services",
        {"organisation_id": partner.pk, "category": "housekeeping", "title": "家居清潔兩小時",
         "price_fen": 8000, "points_price": 30},
    ).json()  # fmt: skip
    partner_client = acting(tenant, token, staff)
    start = timezone.now() + timedelta(days=2)
    slot = post(
        partner_client,
        f"/api/v1/shop/services/{service['id']}/slots",
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()},
    ).json()
    xu = acting(tenant, token, town["xu"])
    booked = post(xu, "/api/v1/shop/bookings", {"slot_id": slot["id"], "pay_with": "points"})
    assert booked.status_code == 201 and booked.json()["points_paid"] == 30
    assert xu.get(f"/api/v1/points/residents/{town['xu'].pk}/account").json()["balance"] == 10
    full = post(
        acting(tenant, token, town["neighbour"]),
        "/api/v1/shop/bookings",
        {"slot_id": slot["id"], "pay_with": "money"},
    )
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    # only the partner decides
    assert post(xu, f"/api/v1/shop/bookings/{booked.json()['id']}/confirm").status_code == 403
    declined = post(
        partner_client, f"/api/v1/shop/bookings/{booked.json()['id']}/decline", {"reason": "沒空"}
    )
    assert declined.json()["status"] == "declined"
    assert xu.get(f"/api/v1/points/residents/{town['xu'].pk}/account").json()["balance"] == 40
    month = start.date().replace(day=1).isoformat()
    settlement = tool.get(f"/api/v1/shop/reports/settlement?month={month}").json()
    assert settlement == [
        {"organisation_id": partner.pk, "organisation": "岑溪家政", "completed": 0,
         "money_fen": 0, "points": 0, "declined_or_cancelled": 1}
    ]  # fmt: skip


def test_one_tenant_never_sees_or_touches_anothers_shop(
    tenant, other_tenant, make_key, town, other_api
):
    with tenant_context(tenant):
        shop = catalogue.shop_create(
            estate_id=town["estate"].pk, name="店", zones=["parcels", "daily_goods"]
        )
        soy = catalogue.product_create(
            shop_id=shop.pk, name="醬油", unit="瓶", price_fen=1000, stock=5
        )
        order = orders.order_place(resident_id=town["xu"].pk, shop_id=shop.pk, lines=[(soy.pk, 1)])
        parcel = parcels.parcel_log(
            shop_id=shop.pk,
            carrier="順豐",
            tracking_number="SF9",
            household_id=town["xu"].household_id,
        )
    # beta's key on beta's host: alpha's ids mean nothing there
    assert other_api.get(f"/api/v1/shop/orders/{order.pk}").status_code == 404
    seen = other_api.get(f"/api/v1/shop/shops/{shop.pk}")  # the same id may be beta's own shop
    assert seen.status_code == 404 or seen.json()["name"] == "別區小店"
    shops = [s["name"] for s in other_api.get("/api/v1/shop/shops").json()["items"]]
    assert shops == ["別區小店"]
    assert other_api.get("/api/v1/shop/parcels").json()["items"] == []
    picked = post(
        other_api, f"/api/v1/shop/parcels/{parcel.pk}/pick-up", {"code": parcel.pickup_code}
    )
    assert picked.status_code == 404
    cancelled = post(other_api, f"/api/v1/shop/orders/{order.pk}/cancel", {})
    assert cancelled.status_code == 404
    # beta's key on alpha's host is not a key at all
    beta_key = make_key("shop:write", on=other_tenant)
    assert key_client(tenant, beta_key).get("/api/v1/shop/orders").status_code == 401
    with tenant_context(tenant):
        assert Parcel.objects.get(pk=parcel.pk).status == "waiting"
        order.refresh_from_db()
        assert order.status == "placed"


def test_the_shop_module_off_answers_404(tenant, make_key, town):
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    response = key_client(tenant, make_key("shop:read")).get("/api/v1/shop/shops")
    assert response.status_code == 404 and response.json()["code"] == "module_disabled"


def _queries(client, path) -> int:
    assert client.get(path).status_code == 200  # warm the host and key caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_lists_take_constant_queries(tenant, make_key, town):
    tool = key_client(tenant, make_key("shop:read"))
    with tenant_context(tenant):
        shop = catalogue.shop_create(
            estate_id=town["estate"].pk, name="店", zones=["parcels", "daily_goods", "preorders"]
        )
        coop = catalogue.supplier_create(name="社", kind="farm")
        soy = catalogue.product_create(
            shop_id=shop.pk, name="醬油", unit="瓶", price_fen=100, stock=999
        )
        now = timezone.now()

        def grow(n):
            for i in range(n):
                resident = ResidentFactory(household=HouseholdFactory(unit=UnitFactory()))
                orders.order_place(resident_id=resident.pk, shop_id=shop.pk, lines=[(soy.pk, 1)])
                parcels.parcel_log(
                    shop_id=shop.pk, carrier="郵政", tracking_number=f"T{resident.pk}",
                    household_id=resident.household_id,
                )  # fmt: skip
                product = catalogue.product_create(
                    shop_id=shop.pk, name=f"菜{resident.pk}", unit="斤", price_fen=100
                )
                catalogue.batch_create(
                    shop_id=shop.pk, supplier_id=coop.pk, title=f"b{i}", opens_at=now,
                    closes_at=now + timedelta(hours=3),
                    pickup_on=timezone.localdate() + timedelta(days=1),
                    items=[catalogue.ItemSpec(product_id=product.pk)],
                )  # fmt: skip

        grow(2)
    paths = ["/api/v1/shop/orders", "/api/v1/shop/parcels", "/api/v1/shop/batches",
             "/api/v1/shop/products", "/api/v1/shop/shops", "/api/v1/shop/services",
             "/api/v1/shop/bookings", "/api/v1/shop/suppliers"]  # fmt: skip
    # the district's tool, and an operator acting as themself (whose rows are worked out
    # by the access rules inside the same query)
    counter = acting(tenant, make_key("shop:read", "residents:act"), town["operator"])
    small = {
        (who, p): _queries(c, p) for who, c in (("tool", tool), ("counter", counter)) for p in paths
    }
    with tenant_context(tenant):
        grow(6)
    large = {
        (who, p): _queries(c, p) for who, c in (("tool", tool), ("counter", counter)) for p in paths
    }
    assert large == small
    assert len(counter.get("/api/v1/shop/orders?limit=200").json()["items"]) == 8
