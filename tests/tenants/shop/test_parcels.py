"""Parcels: logged, the household told, reminded, collected with the code or sent back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.errors import LinliError
from tenants.shop.models import Parcel
from tenants.shop.selectors import parcel_turnaround, parcels_daily, recipient_suggestions
from tenants.shop.services import catalogue, parcels


def log(estate, number="SF100", who="xu"):
    return parcels.parcel_log(
        shop_id=estate["shop"].pk,
        carrier="順豐",
        tracking_number=number,
        household_id=estate[who].household_id,
        recipient_name="徐先生",
        shelf="A3",
    )


def test_arrival_tells_everyone_in_the_household(
    estate, notices, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        parcel = log(estate)
    assert sorted(n.resident_id for n in notices) == sorted([estate["xu"].pk, estate["wife"].pk])
    assert {n.kind for n in notices} == {"shop.parcel.arrived"}
    assert all(parcel.pickup_code in n.body for n in notices)


def test_refusals_change_nothing(estate):
    parcel = log(estate)
    for expected, kwargs in [
        ("household_not_found", {"household_id": 999_999}),
        ("parcel_already_logged", {}),
        ("carrier_required", {"carrier": "  "}),
    ]:
        with pytest.raises(LinliError) as caught:
            parcels.parcel_log(
                **{
                    "shop_id": estate["shop"].pk,
                    "carrier": "順豐",
                    "tracking_number": "SF100",
                    "household_id": estate["xu"].household_id,
                    **kwargs,
                }
            )
        assert caught.value.code == expected
    assert list(Parcel.objects.values_list("pk", flat=True)) == [parcel.pk]
    # a shop without a parcel zone takes none
    corner = catalogue.shop_create(
        estate_id=estate["estate"].pk, name="街角店", zones=["daily_goods"]
    )
    with pytest.raises(LinliError) as caught:
        parcels.parcel_log(
            shop_id=corner.pk,
            carrier="郵政",
            tracking_number="E1",
            household_id=estate["xu"].household_id,
        )
    assert caught.value.code == "no_parcel_zone"


def test_pickup_with_the_code_once(estate):
    parcel = log(estate)
    with pytest.raises(LinliError) as caught:
        parcels.parcel_pick_up(parcel_id=parcel.pk, code="WRONG1")
    assert caught.value.code == "code_invalid"
    done = parcels.parcel_pick_up(
        parcel_id=parcel.pk, code=parcel.pickup_code, resident_id=estate["wife"].pk
    )
    assert (done.status, done.picked_up_by_id) == ("picked_up", estate["wife"].pk)
    with pytest.raises(LinliError) as caught:
        parcels.parcel_pick_up(parcel_id=parcel.pk, code=parcel.pickup_code)
    assert caught.value.code == "already_picked_up"
    with pytest.raises(LinliError) as caught:
        parcels.parcel_return(parcel_id=parcel.pk)
    assert caught.value.code == "already_picked_up"
    # the same tracking number may come again once the first is collected
    assert log(estate).status == "waiting"


def test_reminders_after_n_days_then_every_n_days_and_return(
    estate, notices, django_capture_on_commit_callbacks
):
    parcel = log(estate)
    arrived = parcel.arrived_at
    with django_capture_on_commit_callbacks(execute=True):
        assert parcels.parcels_remind(now=arrived + timedelta(days=2)) == 0
        assert parcels.parcels_remind(now=arrived + timedelta(days=3, minutes=1)) == 1
        assert parcels.parcels_remind(now=arrived + timedelta(days=4)) == 0
        assert parcels.parcels_remind(now=arrived + timedelta(days=6, minutes=2)) == 1
    parcel.refresh_from_db()
    assert parcel.reminders_sent == 2
    assert [n.kind for n in notices] == ["shop.parcel.reminded"] * 4  # two residents, twice
    returned = parcels.parcel_return(parcel_id=parcel.pk)
    assert returned.status == "returned"
    assert parcels.parcels_remind(now=arrived + timedelta(days=30)) == 0
    with pytest.raises(LinliError) as caught:
        parcels.parcel_pick_up(parcel_id=parcel.pk, code=parcel.pickup_code)
    assert caught.value.code == "parcel_returned"


def test_recipient_suggestions_by_name_phone_and_flat(estate):
    xu = estate["xu"]
    xu.phone = "+8613812345678"
    xu.save()
    assert [h.pk for h in recipient_suggestions(query="徐大")] == [xu.household_id]
    assert [h.pk for h in recipient_suggestions(query="5678")] == [xu.household_id]
    assert [h.pk for h in recipient_suggestions(query="A102")] == [estate["neighbour"].household_id]
    assert recipient_suggestions(query="") == []
    assert recipient_suggestions(query="沒有這個人") == []


def test_the_daily_report_and_turnaround(estate):
    first = log(estate, "SF1")
    second = log(estate, "SF2", who="neighbour")
    Parcel.objects.filter(pk=first.pk).update(arrived_at=timezone.now() - timedelta(days=4))
    parcels.parcel_pick_up(parcel_id=second.pk, code=second.pickup_code)
    today = timezone.localdate()
    day = parcels_daily(shop_id=estate["shop"].pk, day=today)
    assert day == {
        "shop_id": estate["shop"].pk,
        "day": today,
        "arrived": 1,
        "picked_up": 1,
        "returned": 0,
        "waiting_at_close": 1,
        "waiting_over_remind_days": 1,
        "waiting_over_return_days": 0,
    }
    [row] = [r for r in parcel_turnaround(month=today) if r["shop_id"] == estate["shop"].pk]
    assert row["picked_up"] == 1 and row["median_hours"] is not None
