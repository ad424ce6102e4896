"""Resident notices live in the transaction of the change that sends them (an outbox): a
process that dies right after the commit, before anything runs "after commit", still
leaves every notice to send; a change that rolls back leaves none."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from linli import notify
from tenants.notices import services
from tenants.notices.models import Message
from tenants.shop.services import catalogue, parcels
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory


@pytest.fixture
def resident_channels(settings):
    """The production channel list: the log, and the residents' own channels."""
    settings.LINLI_NOTIFY_CHANNELS = [
        "linli.notify.LogChannel",
        "tenants.notices.channel.ResidentChannels",
    ]
    notify.channels.cache_clear()
    yield
    notify.channels.cache_clear()


@pytest.fixture
def household_of_five(in_tenant):
    estate = EstateFactory()
    household = HouseholdFactory(unit__building__estate=estate)
    residents = [ResidentFactory(household=household) for _ in range(5)]
    shop = catalogue.shop_create(estate_id=estate.pk, name="學府小店", zones=["parcels"])
    return household, residents, shop


def test_a_parcel_leaves_all_five_notices_even_if_nothing_runs_after_the_commit(
    resident_channels, household_of_five, django_capture_on_commit_callbacks
):
    household, residents, shop = household_of_five
    # when: the parcel is logged, and the process dies before any after-commit step
    with django_capture_on_commit_callbacks(execute=False):
        parcels.parcel_log(
            shop_id=shop.pk, carrier="順豐", tracking_number="sf1", household_id=household.pk
        )
    # then: the five notices were written with the parcel, pending for the sending job
    kept = Message.objects.filter(kind="shop.parcel.arrived")
    assert sorted(kept.values_list("resident_id", flat=True)) == sorted(r.pk for r in residents)
    assert set(kept.values_list("status", flat=True)) == {"pending"}


def test_a_change_that_rolls_back_leaves_no_notice(resident_channels, household_of_five):
    household, _residents, shop = household_of_five
    with pytest.raises(RuntimeError), transaction.atomic():
        parcels.parcel_log(
            shop_id=shop.pk, carrier="順豐", tracking_number="sf2", household_id=household.pk
        )
        raise RuntimeError("the caller failed after the parcel")
    assert not Message.objects.exists()


def test_keeping_notices_is_three_statements_however_many(in_tenant, django_assert_num_queries):
    residents = [ResidentFactory() for _ in range(30)]
    erased = ResidentFactory()
    type(erased).objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    notices = [
        notify.Notice(resident_id=r.pk, kind="k", subject="s", body="b")
        for r in [*residents, erased]
    ]
    # the savepoint, the residents, their preferences, one insert, the savepoint released
    with django_assert_num_queries(5):
        kept = services.messages_keep(notices=notices)
    assert len(kept) == 30
    assert not Message.objects.filter(resident=erased).exists()


def test_channels_without_an_outbox_still_hear_after_the_commit(
    notices, in_tenant, django_capture_on_commit_callbacks
):
    resident = ResidentFactory()
    with django_capture_on_commit_callbacks(execute=False) as pending:
        notify.notify([notify.Notice(resident_id=resident.pk, kind="k", subject="s", body="b")])
    assert notices == [] and len(pending) == 1
    pending[0]()
    assert [n.resident_id for n in notices] == [resident.pk]
