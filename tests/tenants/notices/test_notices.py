"""Residents are told through the channels they read, outside their quiet hours; leaders'
notices reach the right people, with counts and a survey. SMS and WeChat are replaced at
their provider clients (the boundary); email uses Django's in-memory backend."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from linli.errors import LinliError
from linli.notify import Notice, notify
from tenants.community.models import ResidentTag
from tenants.community.places import area_create, area_level_create
from tenants.notices import services
from tenants.notices.adapters import TencentSmsAdapter, WeChatAdapter
from tenants.notices.models import Message, NoticeTemplate
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UnitFactory


class FakeSms:
    """Tencent Cloud's SmsClient at the boundary: records requests, answers Ok (or not)."""

    def __init__(self, code: str = "Ok") -> None:
        self.requests: list[Any] = []
        self.code = code

    def SendSms(self, request: Any) -> Any:
        self.requests.append(request)
        return SimpleNamespace(SendStatusSet=[SimpleNamespace(Code=self.code, Message="m")])


class FakeWeChat:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.message = SimpleNamespace(send_subscribe_message=self._send)

    def _send(self, openid: str, template_id: str, data: dict, page: str | None = None) -> None:
        self.sent.append((openid, template_id, data, page))


@pytest.fixture
def providers(settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LINLI_SMS_SECRET_ID, settings.LINLI_SMS_SECRET_KEY = "id", "key"
    settings.LINLI_SMS_APP_ID, settings.LINLI_SMS_SIGN_NAME = "1400000000", "鄰里"
    settings.LINLI_SMS_DEFAULT_TEMPLATE = "100001"
    settings.LINLI_WECHAT_APP_ID, settings.LINLI_WECHAT_APP_SECRET = "wx123", "secret"
    sms, wechat = FakeSms(), FakeWeChat()
    monkeypatch.setattr(TencentSmsAdapter, "client", lambda self: sms)
    monkeypatch.setattr(WeChatAdapter, "client", lambda self: wechat)
    return SimpleNamespace(sms=sms, wechat=wechat)


def store(resident, kind="shop.order.ready", **data):
    return services.message_store(
        resident_id=resident.pk, kind=kind, subject="訂單已備好", body="取貨碼 ACD347", data=data
    )


def test_each_resident_through_their_first_channel_that_reaches_them(in_tenant, providers):
    by_sms = ResidentFactory(phone="+8613800000001")
    by_wechat = ResidentFactory(phone="+8613800000002")
    by_email = ResidentFactory(phone=None)
    services.preference_set(resident_id=by_sms.pk, channels=["wechat", "sms"])  # no openid
    services.preference_set(
        resident_id=by_wechat.pk, channels=["wechat", "sms"], wechat_openid="o-abc"
    )
    services.preference_set(resident_id=by_email.pk, channels=["email"], email="li@example.org")
    NoticeTemplate.objects.create(
        kind="shop.order.ready", subject="{subject}", body="{body}", wechat_template_id="T1"
    )
    for resident in (by_sms, by_wechat, by_email):
        store(resident)
    assert services.messages_send() == 3
    [request] = providers.sms.requests
    assert request.PhoneNumberSet == ["+8613800000001"] and request.TemplateId == "100001"
    assert request.TemplateParamSet == ["取貨碼 ACD347"]
    [(openid, template_id, data, _page)] = providers.wechat.sent
    assert (openid, template_id) == ("o-abc", "T1")
    assert data["thing1"]["value"] == "訂單已備好"
    [email] = mail.outbox
    assert email.to == ["li@example.org"] and email.body == "取貨碼 ACD347"
    log = dict(Message.objects.values_list("resident_id", "channel"))
    assert log == {by_sms.pk: "sms", by_wechat.pk: "wechat", by_email.pk: "email"}
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_the_tenants_template_in_the_residents_language(in_tenant, providers):
    resident = ResidentFactory(phone="+8613800000003", preferred_language="zh-hant")
    NoticeTemplate.objects.create(
        kind="shop.order.ready",
        language="zh-hant",
        subject="您的菜到了",
        body="訂單 {order_id} 可以取了 取貨碼 {code}。{missing}",
        sms_template_id="200002",
    )
    store(resident, order_id="42", code="ACD347")
    services.messages_send()
    [request] = providers.sms.requests
    assert request.TemplateId == "200002"
    assert request.TemplateParamSet == ["訂單 42 可以取了 取貨碼 ACD347。"]
    assert Message.objects.get().template.language == "zh-hant"


def test_quiet_hours_hold_the_message_until_they_end(in_tenant, providers):
    resident = ResidentFactory(phone="+8613800000004")
    services.preference_set(
        resident_id=resident.pk, channels=["sms"], quiet_start=time(22), quiet_end=time(7)
    )
    preference = resident.channel_preference
    late = timezone.make_aware(datetime.combine(timezone.localdate(), time(23, 30)))
    until = services.quiet_until(preference, late)
    assert until == timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=1), time(7))
    )
    early = timezone.make_aware(datetime.combine(timezone.localdate(), time(6, 59)))
    assert services.quiet_until(preference, early) == timezone.make_aware(
        datetime.combine(timezone.localdate(), time(7))
    )
    noon = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    assert services.quiet_until(preference, noon) is None
    message = store(resident)
    Message.objects.filter(pk=message.pk).update(send_after=until)
    assert services.messages_send(now=late) == 0
    assert providers.sms.requests == []
    assert services.messages_send(now=until + timedelta(seconds=1)) == 1


def test_a_failing_provider_is_retried_then_logged_as_failed(in_tenant, providers):
    providers.sms.code = "LimitExceeded.PhoneNumberDailyLimit"
    resident = ResidentFactory(phone="+8613800000005")
    services.preference_set(resident_id=resident.pk, channels=["sms"])
    message = store(resident)
    now = timezone.now()
    for attempt in range(5):
        services.messages_send(now=now + timedelta(hours=attempt))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 5)
    assert "LimitExceeded" in message.error
    nobody = ResidentFactory(phone=None)
    store(nobody)
    services.messages_send(now=now + timedelta(hours=6))
    assert Message.objects.get(resident=nobody).status == "unreachable"


def test_notify_keeps_a_message_for_the_resident(
    in_tenant, settings, django_capture_on_commit_callbacks
):
    from linli import notify as notify_module

    settings.LINLI_NOTIFY_CHANNELS = ["tenants.notices.channel.ResidentChannels"]
    notify_module.channels.cache_clear()
    try:
        resident = ResidentFactory()
        with django_capture_on_commit_callbacks(execute=True):
            notify([Notice(resident_id=resident.pk, kind="k", subject="s", body="b")])
        assert list(Message.objects.values_list("resident_id", "kind")) == [(resident.pk, "k")]
    finally:
        notify_module.channels.cache_clear()


def test_preference_refusals(in_tenant):
    resident = ResidentFactory()
    for kwargs, expected in [
        ({"channels": ["fax"]}, "channels_invalid"),
        ({"channels": ["sms", "sms"]}, "channels_invalid"),
        ({"channels": ["email"]}, "email_required"),
        ({"channels": ["sms"], "quiet_start": time(22)}, "quiet_hours_invalid"),
        (
            {"channels": ["sms"], "quiet_start": time(8), "quiet_end": time(8)},
            "quiet_hours_invalid",
        ),
    ]:
        with pytest.raises(LinliError) as caught:
            services.preference_set(resident_id=resident.pk, **kwargs)
        assert caught.value.code == expected


@pytest.fixture
def district(in_tenant):
    street = area_level_create(depth=1, name="街道")
    north = area_create(name="北街道", level_id=street.pk)
    south = area_create(name="南街道", level_id=street.pk)
    tower = BuildingFactory(estate__area=north)
    other_tower = BuildingFactory(estate=tower.estate)
    far = BuildingFactory(estate__area=south)

    def people(building, n):
        unit = UnitFactory(building=building)
        return [ResidentFactory(household=HouseholdFactory(unit=unit)) for _ in range(n)]

    elderly = ResidentTag.objects.create(name="獨居老人")
    homes = {"tower": people(tower, 3), "other": people(other_tower, 2), "far": people(far, 2)}
    homes["far"][0].tags.add(elderly)
    homes["tower"][0].tags.add(elderly)
    return SimpleNamespace(north=north, tower=tower, estate=tower.estate, homes=homes)


def test_notices_reach_the_area_estate_building_or_tag_chosen(district):
    h = district.homes

    def sent_to(**target):
        notice = services.announcement_send(title="停水通知", body="明天9點停水", **target)
        return set(
            Message.objects.filter(announcement=notice).values_list("resident_id", flat=True)
        )

    assert sent_to(target="building", target_id=district.tower.pk) == {r.pk for r in h["tower"]}
    assert sent_to(target="estate", target_id=district.estate.pk) == {
        r.pk for r in h["tower"] + h["other"]
    }
    assert sent_to(target="area", target_id=district.north.pk) == {
        r.pk for r in h["tower"] + h["other"]
    }
    assert sent_to(target="tag", target_tag="獨居老人") == {h["tower"][0].pk, h["far"][0].pk}
    with pytest.raises(LinliError) as caught:
        services.announcement_send(title="t", body="b", target="building", target_id=999_999)
    assert caught.value.code == "building_not_found"


def test_a_survey_rides_along_with_results_per_building_and_read_counts(district):
    h = district.homes
    notice = services.announcement_send(
        title="加裝電梯意見",
        body="請選擇",
        target="estate",
        target_id=district.estate.pk,
        questions=[("同意加裝電梯嗎 ", ["同意", "不同意", "無所謂"])],
    )
    services.survey_answer(announcement_id=notice.pk, resident_id=h["tower"][0].pk, answers={1: 0})
    services.survey_answer(announcement_id=notice.pk, resident_id=h["tower"][1].pk, answers={1: 1})
    services.survey_answer(announcement_id=notice.pk, resident_id=h["other"][0].pk, answers={1: 0})
    # changing one's mind replaces the answer
    services.survey_answer(announcement_id=notice.pk, resident_id=h["tower"][1].pk, answers={1: 0})
    with pytest.raises(LinliError) as caught:
        services.survey_answer(
            announcement_id=notice.pk, resident_id=h["far"][0].pk, answers={1: 0}
        )
    assert caught.value.code == "announcement_not_found"  # not a recipient
    with pytest.raises(LinliError) as caught:
        services.survey_answer(
            announcement_id=notice.pk, resident_id=h["tower"][2].pk, answers={1: 7}
        )
    assert caught.value.code == "answer_invalid"
    results = {r["building_id"]: r["counts"] for r in services.survey_results(announcement=notice)}
    assert results == {
        district.tower.pk: [2, 0, 0],
        h["other"][0].household.unit.building_id: [1, 0, 0],
    }
    counts = services.announcement_counts(announcement=notice)
    assert (counts["recipients"], counts["read"], counts["pending"]) == (5, 3, 5)


def test_a_sign_in_code_leaves_the_log_once_sent(in_tenant, providers):
    from tenants.pages.signin import code_request

    resident = ResidentFactory(phone="+8613800000042")
    code = code_request(phone="+8613800000042")
    assert services.messages_send() == 1
    [request] = providers.sms.requests
    assert code in request.TemplateParamSet[0]
    message = Message.objects.get(resident=resident)
    assert message.status == "sent" and code not in message.body and message.data == {}
