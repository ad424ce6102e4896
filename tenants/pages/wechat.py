"""Signing in inside WeChat's browser (网页授权): the official account's web authorisation
names the WeChat user (their openid, with ``snsapi_base``: no consent screen, no profile),
which is tied once to the resident who then proves their phone; from then on a tap signs
them in.

Only WeChat's client is replaced in tests (its addresses come from the settings). The
openid is kept as a keyed digest, never shown or logged.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import LinliError, ValidationFailed
from linli.security.crypto import secret_decrypt, secret_encrypt
from tenants.audit.services import audit_record
from tenants.community.models import Resident
from tenants.pages import signin
from tenants.pages.models import ResidentSession, WeChatBinding

logger = logging.getLogger(__name__)

SCOPE = "snsapi_base"  # the openid is all sign-in needs: no profile is asked for
STATE_SALT = "linli.pages.wechat.state"
PENDING_SALT = "linli.pages.wechat.pending"
STATE_SECONDS = 10 * 60
PENDING_SECONDS = 15 * 60


class WeChatRefused(LinliError):
    code = "wechat_refused"
    status = 400


def enabled() -> bool:
    """The deployment has an official account to authorise with."""
    return bool(settings.LINLI_WECHAT_APP_ID and settings.LINLI_WECHAT_APP_SECRET)


def in_wechat(user_agent: str) -> bool:
    return "MicroMessenger" in (user_agent or "")


def _oauth(redirect_uri: str, state: str = "") -> Any:
    from wechatpy.oauth import WeChatOAuth

    client = WeChatOAuth(
        settings.LINLI_WECHAT_APP_ID,
        settings.LINLI_WECHAT_APP_SECRET,
        redirect_uri,
        scope=SCOPE,
        state=state,
    )
    client.API_BASE_URL = settings.LINLI_WECHAT_API_BASE
    client.OAUTH_BASE_URL = settings.LINLI_WECHAT_OAUTH_BASE
    return client


def start(*, redirect_uri: str, next_path: str) -> tuple[str, str]:
    """Where to send the browser, and the state to keep in its cookie: the state WeChat
    hands back must be this browser's (a forged callback is refused)."""
    state = secrets.token_urlsafe(16)
    cookie = signing.dumps({"s": state, "n": next_path}, salt=STATE_SALT)
    return _oauth(redirect_uri, state).authorize_url, cookie


def came_back(*, cookie: str | None, state: str) -> str:
    """The page to return to, if ``state`` is the one this browser was sent with."""
    try:
        kept = signing.loads(cookie or "", salt=STATE_SALT, max_age=STATE_SECONDS)
    except signing.BadSignature as exc:
        raise WeChatRefused(_("This sign-in took too long. Please try again.")) from exc
    if not secrets.compare_digest(str(kept.get("s", "")), state or ""):
        raise WeChatRefused(_("This sign-in took too long. Please try again."))
    return str(kept.get("n") or "/r/")


def openid_for(*, code: str, redirect_uri: str) -> str:
    """Ask WeChat whose code this is. A code is good once, for five minutes."""
    from wechatpy.exceptions import WeChatOAuthException

    if not code or len(code) > 128:
        raise WeChatRefused(_("WeChat did not confirm the sign-in. Sign in with your phone."))
    try:
        answer = _oauth(redirect_uri).fetch_access_token(code)
    except WeChatOAuthException as exc:
        # the error's code only: never the request (it carries the secret) or an openid
        logger.warning("wechat oauth refused", extra={"wechat_errcode": exc.errcode})
        raise WeChatRefused(
            _("WeChat did not confirm the sign-in. Sign in with your phone.")
        ) from exc
    except Exception as exc:  # WeChat unreachable or answering nonsense
        logger.warning("wechat oauth failed", extra={"error": type(exc).__name__})
        raise WeChatRefused(
            _("WeChat cannot be reached just now. Sign in with your phone.")
        ) from exc
    openid = answer.get("openid") if isinstance(answer, dict) else None
    if not isinstance(openid, str) or not openid or len(openid) > 128:
        raise WeChatRefused(_("WeChat did not confirm the sign-in. Sign in with your phone."))
    return openid


def _digest(openid: str) -> str:
    return signin._hash(f"wechat:{settings.LINLI_WECHAT_APP_ID}:{openid}")


def sign_in(*, openid: str, user_agent: str = "") -> str | None:
    """A new session token for the resident this WeChat user is tied to; None when they
    are not yet (or no longer: moved out, erased)."""
    binding = (
        WeChatBinding.objects.select_related("resident")
        .filter(openid_digest=_digest(openid))
        .first()
    )
    if binding is None:
        return None
    resident = binding.resident
    if resident.erased_at is not None or resident.status != Resident.Status.ACTIVE:
        return None
    WeChatBinding.objects.filter(pk=binding.pk).update(last_used_at=timezone.now())
    token = secrets.token_urlsafe(32)
    ResidentSession.objects.create(
        resident=resident, token_hash=signin._hash(token), user_agent=user_agent[:200]
    )
    return token


def pending(openid: str) -> str:
    """The WeChat user, encrypted and signed with the time, to keep in the browser until the
    phone is proved: the browser cannot read the openid out of it."""
    return signing.dumps(secret_encrypt(openid), salt=PENDING_SALT)


def pending_openid(cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        sealed = signing.loads(cookie, salt=PENDING_SALT, max_age=PENDING_SECONDS)
    except signing.BadSignature:
        return None
    return secret_decrypt(str(sealed)) or None


def bind(*, openid: str, resident: Resident) -> WeChatBinding:
    """Tie the WeChat user to the resident who just proved their phone (a WeChat user
    who proves another phone later is tied to that resident instead)."""
    if not openid:
        raise ValidationFailed(_("WeChat did not confirm the sign-in."), code="wechat_refused")
    binding, created = WeChatBinding.objects.update_or_create(
        openid_digest=_digest(openid), defaults={"resident": resident}
    )
    audit_record(action="pages.wechat.bound" if created else "pages.wechat.rebound", obj=binding)
    return binding
