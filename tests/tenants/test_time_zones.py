"""One rule for time, in a zone east and a zone west of UTC: a place's times of day are the
tenant's wall clock wherever they are shown, the API answers with the tenant's offset, a
local day is the tenant's day, and award caps count by the service's local day.

Every case runs for a district in Asia/Shanghai (UTC+8) and one in America/Los_Angeles
(UTC-8 in winter), so an eight-hour slip (a time formatted in UTC, a day cut at UTC
midnight) fails in at least one of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from linli import clock
from linli.errors import Conflict
from linli.registry.context import within
from linli.registry.models import ModuleSetting, Tenant
from linli.registry.services import module_set_enabled
from tenants.helpteam.models import HelpRequest, Volunteer
from tenants.helpteam.services import request_create
from tenants.points.models import Account, Posting, Transaction
from tenants.points.services import points_award
from tenants.shop.models import Parcel, PickupSlot
from tenants.shop.selectors import packing_list, parcels_daily
from tenants.shop.services import catalogue, orders
from tests.conftest import ALL_SCOPES, key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

ZONES = ["Asia/Shanghai", "America/Los_Angeles"]


@pytest.fixture(params=ZONES)
def zoned(request: pytest.FixtureRequest, tenant: Tenant) -> Iterator[Tenant]:
    """Alpha moved to the zone, its modules on, entered with its clock active."""
    Tenant.objects.filter(pk=tenant.pk).update(time_zone=request.param)
    for module in ("shop", "points", "helpteam"):
        module_set_enabled(slug=tenant.schema_name, module=module, enabled=True)
    fresh = Tenant.objects.get(pk=tenant.pk)
    with within(fresh):
        yield fresh


def _offset(zone: str, day: date) -> str:
    """The zone's offset on ``day`` as ISO 8601 writes it (``+08:00``, ``-08:00``)."""
    return datetime.combine(day, time(12), ZoneInfo(zone)).isoformat()[-6:]


def _shop_with_batch() -> dict[str, Any]:
    estate: Any = EstateFactory(name="萬象公館")
    unit = UnitFactory(building__estate=estate)
    xu: Any = ResidentFactory(
        display_name="徐大爺", household=HouseholdFactory(unit=unit, flat_number="A101")
    )
    shop = catalogue.shop_create(
        estate_id=estate.pk, name="鄰家小店", zones=["parcels", "preorders"], opening_hours=""
    )
    coop = catalogue.supplier_create(name="大業村合作社", kind="cooperative", village="大業村")
    greens = catalogue.product_create(
        shop_id=shop.pk, name="青菜", unit="斤", price_fen=300, points_share=0, supplier_id=coop.pk
    )
    pickup = clock.today() + timedelta(days=2)
    batch = catalogue.batch_create(
        shop_id=shop.pk,
        supplier_id=coop.pk,
        title="本週蔬菜",
        opens_at=timezone.now() - timedelta(hours=1),
        closes_at=timezone.now() + timedelta(days=1),
        pickup_on=pickup,
        items=[catalogue.ItemSpec(product_id=greens.pk, limit_total=None)],
        slots=[  # the shop's morning and evening on its own clock: 09:00-12:00, 17:00-20:00
            catalogue.SlotSpec(
                starts_at=clock.at(pickup, time(h)), ends_at=clock.at(pickup, time(h + 3))
            )
            for h in (9, 17)
        ],
    )
    return {"shop": shop, "batch": batch, "xu": xu, "pickup": pickup}


def test_pickup_slots_read_the_shops_hours_in_every_place(zoned):
    world = _shop_with_batch()
    batch, xu = world["batch"], world["xu"]
    morning, evening = PickupSlot.objects.filter(batch=batch).order_by("starts_at")
    orders.order_place(
        resident_id=xu.pk,
        batch_id=batch.pk,
        slot_id=morning.pk,
        lines=[(batch.items.get().pk, 2)],
    )

    # the admin's name of a slot, and the packing list the staff work from
    assert (str(morning), str(evening)) == ("09:00-12:00", "17:00-20:00")
    listed = {group.label: len(group.orders) for group in packing_list(batch=batch)}
    assert listed == {"09:00-12:00": 1}

    # the API: the same instants, with the tenant's offset and its wall-clock hours
    offset = _offset(zoned.time_zone, world["pickup"])
    api = key_client(zoned, _token(zoned))
    answer = api.get(f"/api/v1/shop/batches/{batch.pk}")
    assert answer.status_code == 200
    slots = answer.json()["slots"]
    assert [(s["starts_at"], s["ends_at"]) for s in slots] == [
        (f"{world['pickup']}T09:00:00{offset}", f"{world['pickup']}T12:00:00{offset}"),
        (f"{world['pickup']}T17:00:00{offset}", f"{world['pickup']}T20:00:00{offset}"),
    ]
    packing = api.get(f"/api/v1/shop/batches/{batch.pk}/packing-list").json()
    assert [group["slot"] for group in packing] == ["09:00-12:00"]


def _token(tenant: Tenant) -> str:
    from api.access.services import key_create

    return key_create(name="zone test", scopes=list(ALL_SCOPES)).token


def test_a_local_day_runs_from_the_tenants_midnight_to_the_next(zoned):
    world = _shop_with_batch()
    household = world["xu"].household
    day = clock.today() - timedelta(days=1)
    late = clock.at(day, time(23, 30))  # still that day for the shop
    early_next = clock.at(day + timedelta(days=1), time(0, 30))  # the next day
    for n, arrived in enumerate((late, early_next)):
        parcel = catalogue_parcel(world["shop"].pk, household.pk, f"SF{n}")
        Parcel.objects.filter(pk=parcel.pk).update(arrived_at=arrived)

    assert parcels_daily(shop_id=world["shop"].pk, day=day)["arrived"] == 1
    assert parcels_daily(shop_id=world["shop"].pk, day=day + timedelta(days=1))["arrived"] == 1
    assert clock.day_of(late) == day and clock.day_of(early_next) == day + timedelta(days=1)
    assert clock.day_bounds(day) == (clock.at(day, time.min), late + timedelta(minutes=30))


def catalogue_parcel(shop_id: int, household_id: int, tracking: str) -> Parcel:
    from tenants.shop.services.parcels import parcel_log

    return parcel_log(
        shop_id=shop_id, carrier="順豐", tracking_number=tracking, household_id=household_id
    )


def test_award_caps_count_by_the_services_local_day(zoned):
    ModuleSetting.objects.filter(tenant=zoned, module="points").update(
        settings={
            "earning_rules": [{"category": "default", "per": "hour", "points": 10, "daily_cap": 10}]
        }
    )
    volunteer = ResidentFactory(display_name="熱心鄰居")
    yesterday = clock.today() - timedelta(days=1)

    def award(source: str, served_on: date | None) -> int:
        tx = points_award(
            resident_id=volunteer.pk,
            category="default",
            hours=1.0,
            source=source,
            idempotency_key=source,
            served_on=served_on,
        )
        return sum(p.amount for p in tx.postings.all() if p.amount > 0)

    # Yesterday's service, confirmed only today, fills yesterday's cap, not today's.
    assert award("help:1", yesterday) == 10
    assert award("help:2", None) == 10
    with pytest.raises(Conflict) as capped:
        award("help:3", clock.today())
    assert capped.value.code == "cap_reached"
    with pytest.raises(Conflict):
        award("help:4", yesterday)
    assert Account.objects.get(resident=volunteer).balance == 20


def test_a_confirmed_help_request_is_awarded_for_the_day_it_was_done(zoned):
    from tenants.helpteam.services import request_claim, request_confirm, request_done

    ModuleSetting.objects.filter(tenant=zoned, module="points").update(
        settings={
            "earning_rules": [{"category": "default", "per": "hour", "points": 10, "daily_cap": 10}]
        }
    )
    unit = UnitFactory()
    parent = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="501"))
    neighbour = ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="502"))
    Volunteer.objects.create(resident=neighbour)
    evening = clock.at(clock.today() - timedelta(days=1), time(18))  # yesterday, 18:00 local
    help_request = request_create(
        requester_id=parent.pk,
        category="default",
        description="接孩子",
        window_start=timezone.now() + timedelta(hours=1),
        window_end=timezone.now() + timedelta(hours=3),
    )
    HelpRequest.objects.filter(pk=help_request.pk).update(
        window_start=evening, window_end=evening + timedelta(hours=1)
    )
    request_claim(request_id=help_request.pk, volunteer_resident_id=neighbour.pk)
    request_done(request_id=help_request.pk, volunteer_resident_id=neighbour.pk)
    request_confirm(request_id=help_request.pk, hours=Decimal("1"), by_resident_id=parent.pk)

    tx = Transaction.objects.get(
        pk=HelpRequest.objects.get(pk=help_request.pk).points_transaction_id
    )
    assert tx.served_on == clock.today() - timedelta(days=1)
    # and the API says when it was, on the district's clock
    answer = key_client(zoned, _token(zoned)).get(f"/api/v1/helpteam/requests/{help_request.pk}")
    assert answer.status_code == 200
    offset = _offset(zoned.time_zone, clock.today())
    assert answer.json()["window_start"] == f"{evening.date()}T18:00:00{offset}"
    assert datetime.fromisoformat(answer.json()["window_start"]) == evening  # the same instant


def test_the_demo_city_keeps_its_own_hours_and_its_history_its_dates(db):
    from linli.registry.demo import demo_build
    from tenants.shop.models import PreorderBatch, ServiceSlot

    city, _counts = demo_build(scale="small", slug="cenxi")
    with within(city):
        built = timezone.now()
        slot_hours = {
            (clock.local(s.starts_at).hour, clock.local(s.ends_at).hour)
            for s in PickupSlot.objects.all()
        }
        assert slot_hours == {(9, 12), (17, 20)}
        closing = {clock.local(b.closes_at).time() for b in PreorderBatch.objects.all()}
        assert closing == {time(20)}
        assert {clock.local(s.starts_at).hour for s in ServiceSlot.objects.all()} <= {9, 14}
        earned = Transaction.objects.filter(kind="earn")
        assert earned.exists()
        # The season's awards were posted when the service was confirmed, for its own day.
        assert not earned.filter(created_at__gte=built - timedelta(minutes=30)).exists()
        assert not earned.filter(served_on=None).exists()
        assert not earned.filter(served_on__gte=clock.today()).exists()


def test_the_key_list_shows_the_districts_clock(zoned, capsys):
    from api.access.models import ApiKey
    from linli.cli import main

    token = _token(zoned)
    expires = clock.at(clock.today() + timedelta(days=30), time(9, 30))
    ApiKey.objects.filter(prefix=token.split("_")[1]).update(expires_at=expires)

    assert main(["keys", "list", "--tenant", zoned.schema_name]) == 0
    listed = capsys.readouterr().out
    assert f"{expires.date()} 09:30" in listed, listed


def test_a_statement_of_days_is_cut_at_the_tenants_midnights(zoned):
    from django.db import transaction

    from tenants.points.selectors import statement
    from tenants.points.services import account_for_resident

    volunteer = ResidentFactory(display_name="熱心鄰居")
    account = account_for_resident(resident_id=volunteer.pk)
    issuance, _new = Account.objects.get_or_create(
        code="system:issuance", defaults={"kind": "system", "name": "issued"}
    )
    day = clock.today() - timedelta(days=3)
    moments = [clock.at(day, time(0, 10)), clock.at(day, time(23, 50))]  # both that day
    moments.append(clock.at(day + timedelta(days=1), time(0, 10)))  # the next
    with transaction.atomic():
        for n, at in enumerate(moments):
            tx = Transaction.objects.create(
                kind="earn",
                memo="help",
                idempotency_key=f"zone:{n}",
                request_hash="x",
                created_at=at,
            )
            Posting.objects.create(transaction=tx, account=issuance, amount=-5, created_at=at)
            Posting.objects.create(transaction=tx, account=account, amount=5, created_at=at)

    that_day = statement(account_id=account.pk, since=day, until=day)
    assert [line.at for line in that_day] == moments[:2]
    assert [line.balance_after for line in that_day] == [5, 10]
    nxt = statement(account_id=account.pk, since=day + timedelta(days=1))
    assert [(line.at, line.balance_after) for line in nxt] == [(moments[2], 15)]
    newest = statement(account_id=account.pk, limit=2, newest=True)
    assert [line.balance_after for line in newest] == [10, 15]  # the last two, in order
