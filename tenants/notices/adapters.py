"""The channels that reach residents, each an adapter around its provider's client.

Email goes through Django's mail backends. SMS goes through Tencent Cloud SMS
(``tencentcloud-sdk-python-sms``) and WeChat through subscription messages
(``wechatpy``); each adapter builds its provider client in one method, the
boundary tests replace. An adapter whose settings are missing is not configured,
and a resident is then reached through their next channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail

from tenants.notices.models import Channel, ChannelPreference, Message, NoticeTemplate


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    template: NoticeTemplate | None


class Adapter(Protocol):
    channel: str

    def configured(self) -> bool: ...

    def address(self, preference: ChannelPreference | None, resident: Any) -> str: ...

    def send(self, *, to: str, message: Message, rendered: Rendered) -> None: ...


class EmailAdapter:
    channel: str = Channel.EMAIL

    def configured(self) -> bool:
        return True

    def address(self, preference: ChannelPreference | None, resident: Any) -> str:
        return preference.email if preference else ""

    def send(self, *, to: str, message: Message, rendered: Rendered) -> None:
        send_mail(rendered.subject, rendered.body, None, [to], fail_silently=False)


class TencentSmsAdapter:
    """SMS through Tencent Cloud: a template registered with the provider (the notice
    template's ``sms_template_id``, else ``LINLI_SMS_DEFAULT_TEMPLATE``) whose one
    parameter is the message text."""

    channel: str = Channel.SMS

    def configured(self) -> bool:
        return bool(getattr(settings, "LINLI_SMS_SECRET_ID", "") and settings.LINLI_SMS_APP_ID)

    def address(self, preference: ChannelPreference | None, resident: Any) -> str:
        return str(resident.phone or "")

    def client(self) -> Any:
        from tencentcloud.common import credential
        from tencentcloud.sms.v20210111 import sms_client

        cred = credential.Credential(settings.LINLI_SMS_SECRET_ID, settings.LINLI_SMS_SECRET_KEY)
        return sms_client.SmsClient(cred, settings.LINLI_SMS_REGION)

    def send(self, *, to: str, message: Message, rendered: Rendered) -> None:
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [to]
        request.SmsSdkAppId = settings.LINLI_SMS_APP_ID
        request.SignName = settings.LINLI_SMS_SIGN_NAME
        request.TemplateId = (
            rendered.template.sms_template_id
            if rendered.template and rendered.template.sms_template_id
            else settings.LINLI_SMS_DEFAULT_TEMPLATE
        )
        request.TemplateParamSet = [rendered.body[:300]]
        response = self.client().SendSms(request)
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            raise RuntimeError(f"SMS refused: {status.Code} {status.Message}")


class WeChatAdapter:
    """WeChat subscription messages to the resident's openid (they subscribed in the
    tenant's mini-program), with the template registered with WeChat."""

    channel: str = Channel.WECHAT

    def configured(self) -> bool:
        return bool(getattr(settings, "LINLI_WECHAT_APP_ID", ""))

    def address(self, preference: ChannelPreference | None, resident: Any) -> str:
        return preference.wechat_openid if preference else ""

    def client(self) -> Any:
        from wechatpy import WeChatClient

        return WeChatClient(settings.LINLI_WECHAT_APP_ID, settings.LINLI_WECHAT_APP_SECRET)

    def send(self, *, to: str, message: Message, rendered: Rendered) -> None:
        template_id = rendered.template.wechat_template_id if rendered.template else ""
        if not template_id:
            raise RuntimeError(f"no WeChat template for {message.kind}")
        self.client().message.send_subscribe_message(
            to,
            template_id,
            {"thing1": {"value": rendered.subject[:20]}, "thing2": {"value": rendered.body[:20]}},
            page=message.data.get("page"),
        )


ADAPTERS: dict[str, Adapter] = {
    Channel.SMS: TencentSmsAdapter(),
    Channel.WECHAT: WeChatAdapter(),
    Channel.EMAIL: EmailAdapter(),
}
DEFAULT_ORDER = [Channel.WECHAT, Channel.SMS, Channel.EMAIL]
