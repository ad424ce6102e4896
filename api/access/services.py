"""Create, verify and revoke API keys; count requests against rate limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.access.models import ApiKey
from api.scopes import not_held, unknown_scopes
from linli.errors import LinliError, NotAllowed, NotFound, ValidationFailed
from tenants.audit.services import audit_record

KEY_NAMESPACE = "lk"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class RateLimited(LinliError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_known(scopes: list[str]) -> None:
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationFailed(
            _("Unknown scope “%(scope)s”.") % {"scope": unknown[0]},
            code="scope_invalid",
            field="scopes",
        )


@transaction.atomic
def key_create(
    *,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
    created_by_id: int | None = None,
) -> IssuedKey:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A key needs a name."), code="name_required", field="name")
    _check_known(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("The expiry must be in the future."), code="expiry_invalid", field="expires_at"
        )
    if rate_limit is not None and rate_limit < 1:
        raise ValidationFailed(
            _("A rate limit is at least one request per minute."),
            code="rate_limit_invalid",
            field="rate_limit",
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        rate_limit=rate_limit,
        created_by_id=created_by_id,
    )
    audit_record(action="api_key.created", obj=key, changes={"scopes": [None, key.scopes]})
    return IssuedKey(key=key, token=f"{KEY_NAMESPACE}_{prefix}_{secret}")


def key_create_by_key(
    *,
    creator: ApiKey,
    default_rate_limit: int,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
) -> IssuedKey:
    """A key issued by another key (the tenant's own API), which hands on no more than it
    holds: only scopes it holds (a write covers its read), no later expiry than its own
    (none given: its own), no higher rate limit than its own (none given: its own)."""
    _check_known(scopes)
    missing = not_held(frozenset(creator.scopes), scopes)
    if missing:
        raise NotAllowed(
            _("A key can only hand on scopes it holds; this one lacks “%(scope)s”.")
            % {"scope": missing[0]},
            code="scope_not_held",
            field="scopes",
        )
    if creator.expires_at is not None:
        if expires_at is None:
            expires_at = creator.expires_at
        elif expires_at > creator.expires_at:
            raise NotAllowed(
                _("A key cannot issue one that outlives it (it expires at %(when)s).")
                % {"when": timezone.localtime(creator.expires_at).isoformat()},
                code="expiry_not_held",
                field="expires_at",
            )
    own_limit = creator.rate_limit or default_rate_limit
    if rate_limit is None:
        rate_limit = creator.rate_limit
    elif rate_limit > own_limit:
        raise NotAllowed(
            _("A key cannot issue one with a higher rate limit than its own (%(limit)d).")
            % {"limit": own_limit},
            code="rate_limit_not_held",
            field="rate_limit",
        )
    return key_create(name=name, scopes=scopes, expires_at=expires_at, rate_limit=rate_limit)


@transaction.atomic
def key_revoke(*, prefix: str) -> ApiKey:
    key = ApiKey.objects.select_for_update().filter(prefix=prefix).first()
    if key is None:
        raise NotFound(
            _("No API key with prefix “%(prefix)s”.") % {"prefix": prefix}, code="key_not_found"
        )
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoked", obj=key)
    return key


def split_token(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_NAMESPACE or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def key_verify(token: str) -> ApiKey | None:
    """The active key for ``token`` in the current tenant, or None. One indexed lookup."""
    parts = split_token(token)
    if parts is None:
        return None
    prefix, secret = parts
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        # Spend the same hashing work as a real key, so timing tells nothing.
        hmac.compare_digest(_hash(secret), "0" * 64)
        return None
    if not hmac.compare_digest(_hash(secret), key.secret_hash) or not key.is_active:
        return None
    return key


def key_count_request(*, key: ApiKey, limit: int) -> None:
    """Count one request in the key's current minute; raise ``RateLimited`` past the limit.

    One statement, shared across processes. When a key's new minute starts, the same
    statement records ``last_used_at`` and drops the key's older windows, so
    neither grows a write per request nor a table without bound.
    """
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH counted AS (
                INSERT INTO api_access_ratecounter (key_id, "window", hits)
                VALUES (%(key)s, %(window)s, 1)
                ON CONFLICT (key_id, "window")
                DO UPDATE SET hits = api_access_ratecounter.hits + 1
                RETURNING hits
            ), touched AS (
                UPDATE api_access_apikey SET last_used_at = %(now)s
                WHERE id = %(key)s AND (SELECT hits FROM counted) = 1
                RETURNING id
            ), pruned AS (
                DELETE FROM api_access_ratecounter
                WHERE key_id = %(key)s AND "window" < %(window)s
                  AND (SELECT hits FROM counted) = 1
                RETURNING 1
            )
            SELECT hits, (SELECT count(*) FROM touched), (SELECT count(*) FROM pruned)
            FROM counted
            """,
            {"key": key.pk, "window": window, "now": now},
        )
        hits, _touched, _pruned = cursor.fetchone()
    if hits > limit:
        retry_after = max(1, 60 - now.second)
        raise RateLimited(
            _("Too many requests for this key; retry after %(seconds)d seconds.")
            % {"seconds": retry_after},
            retry_after=retry_after,
        )


def idempotency_records_prune(*, older_than: timedelta = timedelta(hours=24)) -> int:
    """Forget stored responses past their replay window (run for each tenant by a job)."""
    from api.access.models import IdempotencyRecord

    cutoff = timezone.now() - older_than
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
