from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.errors import ValidationFailed
from linli.registry.models import ModuleSetting
from linli.registry.services import module_set_enabled
from tenants.helpteam.access import the_district
from tenants.helpteam.models import Activity, Signup, Space
from tenants.helpteam.services import (
    activity_attendance,
    activity_signup,
    activity_signup_cancel,
)
from tenants.points.models import Account
from tests.factories import EstateFactory, ResidentFactory


@pytest.fixture
def activity(in_tenant):
    start = timezone.now() + timedelta(days=2)
    estate = EstateFactory()
    room = Space.objects.create(estate=estate, name="樂鄰坊")
    return Activity.objects.create(
        title="小事我幫您",
        estate=estate,
        space=room,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=2,
        points_category="activity",
    )


def test_a_full_activity_puts_newcomers_on_the_waitlist_and_promotes_them(activity):
    a, b, c = ResidentFactory.create_batch(3)
    statuses = [
        activity_signup(activity_id=activity.pk, resident_id=r.pk).status for r in (a, b, c)
    ]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    assert activity_signup(activity_id=activity.pk, resident_id=a.pk).status == "confirmed"
    activity_signup_cancel(activity_id=activity.pk, resident_id=a.pk)
    assert Signup.objects.get(activity=activity, resident=c).status == "confirmed"
    assert Signup.objects.filter(activity=activity, status="confirmed").count() == 2


def test_attendance_earns_points_once_by_the_activitys_rule(tenant, activity):
    module_set_enabled(slug="alpha", module="points", enabled=True)
    ModuleSetting.objects.filter(tenant=tenant, module="points").update(
        settings={"earning_rules": [{"category": "activity", "per": "task", "points": 20}]}
    )
    a, b = ResidentFactory.create_batch(2)
    for r in (a, b):
        activity_signup(activity_id=activity.pk, resident_id=r.pk)
    activity_attendance(activity_id=activity.pk, actor=the_district(), resident_ids=[a.pk])
    # taken twice
    activity_attendance(activity_id=activity.pk, actor=the_district(), resident_ids=[a.pk])
    assert Account.objects.get(resident=a).balance == 20
    assert not Account.objects.filter(resident=b).exists()
    with pytest.raises(ValidationFailed) as err:
        activity_attendance(
            activity_id=activity.pk, actor=the_district(), resident_ids=[ResidentFactory().pk]
        )
    assert err.value.code == "not_signed_up"
