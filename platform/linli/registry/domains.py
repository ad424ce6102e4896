"""Custom domains for tenants: a claim, proven by a DNS TXT record, becomes a Domain row.

A district adds ``linli.pudong.gov.cn``; Linli gives it a random token; the district
publishes ``linli-verification=<token>`` as a TXT record at ``_linli.linli.pudong.gov.cn``
and asks Linli to check. Once the record is seen, the domain is a (non-primary) ``Domain``
of the tenant and routing serves the tenant there. Removing the claim removes the route.

The DNS lookup is the only thing here that leaves the machine: it goes through the callable
named by ``LINLI_DNS_RESOLVER`` (``(name) -> list of TXT strings``), so tests and
self-hosters can plug in their own.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from linli.errors import Conflict, LinliError, NotFound, ValidationFailed
from linli.registry.models import Domain, DomainClaim, Tenant
from linli.registry.selectors import tenant_cache_clear

logger = logging.getLogger(__name__)

MAX_DOMAINS_PER_TENANT = 5
DNS_TIMEOUT_SECONDS = 3.0
TXT_PREFIX = "_linli"
TXT_VALUE_PREFIX = "linli-verification="

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

Resolver = Callable[[str], list[str]]


class DnsLookupFailed(Exception):
    """Raised by a resolver when a name cannot be looked up.

    ``reason`` is one of ``nxdomain``, ``no_answer``, ``timeout`` or ``error``; any other
    exception a resolver raises is treated as ``error``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --- The default resolver (dnspython) ---------------------------------------


def dns_txt_lookup(name: str) -> list[str]:
    """The TXT strings at ``name``, one per record, asked of the system's DNS servers."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.timeout = DNS_TIMEOUT_SECONDS
    resolver.lifetime = DNS_TIMEOUT_SECONDS
    try:
        answer = resolver.resolve(name, "TXT")
    except dns.resolver.NXDOMAIN as exc:
        raise DnsLookupFailed("nxdomain") from exc
    except dns.resolver.NoAnswer as exc:
        raise DnsLookupFailed("no_answer") from exc
    except dns.exception.Timeout as exc:
        raise DnsLookupFailed("timeout") from exc
    except dns.exception.DNSException as exc:
        raise DnsLookupFailed("error", type(exc).__name__) from exc
    # A TXT record may be split into several strings of up to 255 bytes; they are one value.
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def _resolver() -> Resolver:
    return cast(Resolver, import_string(settings.LINLI_DNS_RESOLVER))


# --- Checking a domain name -------------------------------------------------


def domain_normalise(raw: str) -> str:
    """The domain in the form it is stored and routed (lower case, ASCII), or a refusal."""
    text = (raw or "").strip().lower().rstrip(".")
    if not text:
        raise ValidationFailed(
            _("Enter a domain name, such as linli.example.gov.cn."),
            code="domain_required",
            field="domain",
        )
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationFailed(
            _("An IP address cannot be a tenant's domain; enter a domain name."),
            code="domain_ip",
            field="domain",
        )
    malformed = ValidationFailed(
        _(
            "“%(domain)s” is not a domain name. Enter the name only, such as "
            "linli.example.gov.cn, without http://, a port or a path."
        )
        % {"domain": raw.strip()[:100]},
        code="domain_invalid",
        field="domain",
    )
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise malformed from None
    base = settings.LINLI_BASE_DOMAIN
    if ascii_name == base or ascii_name.endswith(f".{base}"):
        raise ValidationFailed(
            _("%(base)s and its subdomains belong to the platform; enter a domain of your own.")
            % {"base": base},
            code="domain_platform",
            field="domain",
        )
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise malformed
    return ascii_name


# --- Reads ------------------------------------------------------------------


def claim_list(*, tenant: Tenant) -> QuerySet[DomainClaim]:
    """The tenant's own claims, verified and pending."""
    return DomainClaim.objects.filter(tenant=tenant).order_by("domain", "id")


def claims_pending() -> QuerySet[DomainClaim]:
    """Every pending claim of a serving tenant, oldest check first (for the periodic job)."""
    return (
        DomainClaim.objects.filter(status=DomainClaim.Status.PENDING)
        .exclude(tenant__status__in=[Tenant.Status.SUSPENDED, Tenant.Status.CLOSED])
        .select_related("tenant")
        .order_by("checked_at", "id")
    )


def _claim_of(tenant: Tenant, claim_id: int, *, lock: bool = False) -> DomainClaim:
    """The tenant's claim; the same answer for a claim that is missing and one that is not
    the tenant's."""
    claims = DomainClaim.objects.filter(pk=claim_id, tenant=tenant)
    claim = (claims.select_for_update() if lock else claims).first()
    if claim is None:
        raise NotFound(
            _("This domain is not one of this district's domains."),
            code="domain_claim_not_found",
            field="claim",
        )
    return claim


def _taken_message(domain: str) -> str:
    return _("%(domain)s is already in use by another Linli site.") % {"domain": domain}


def _taken_by_other(tenant: Tenant, domain: str) -> bool:
    return Domain.objects.filter(domain=domain).exclude(tenant=tenant).exists()


def _audit(
    tenant: Tenant, action: str, claim: DomainClaim, changes: dict[str, list[object]]
) -> None:
    """The claim lives in public; its history goes in the tenant's own audit log."""
    from tenants.audit.services import audit_record

    with tenant_context(tenant):
        audit_record(
            action=action, object_type="registry.domainclaim", object_id=claim.pk, changes=changes
        )


# --- Writes -----------------------------------------------------------------


@transaction.atomic
def claim_add(*, tenant: Tenant, domain: str) -> DomainClaim:
    """Start a claim: a pending row holding a fresh token to publish in DNS."""
    name = domain_normalise(domain)
    # One claim at a time per tenant, so the limit holds under concurrent adds.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if _taken_by_other(tenant, name):
        raise Conflict(_taken_message(name), code="domain_taken", field="domain")
    if DomainClaim.objects.filter(tenant=tenant, domain=name).exists():
        raise Conflict(
            _("%(domain)s is already on this district's list.") % {"domain": name},
            code="domain_already_claimed",
            field="domain",
        )
    if DomainClaim.objects.filter(tenant=tenant).count() >= MAX_DOMAINS_PER_TENANT:
        raise ValidationFailed(
            _("A district can have at most %(limit)d domains of its own; remove one first.")
            % {"limit": MAX_DOMAINS_PER_TENANT},
            code="domain_limit",
            field="domain",
        )
    try:
        with transaction.atomic():
            claim = DomainClaim.objects.create(
                tenant=tenant, domain=name, token=secrets.token_hex(16)
            )
    except IntegrityError as exc:  # the same domain added twice at the same moment
        raise Conflict(
            _("%(domain)s is already on this district's list.") % {"domain": name},
            code="domain_already_claimed",
            field="domain",
        ) from exc
    _audit(tenant, "domain.claimed", claim, {"domain": [None, claim.domain]})
    return claim


def _txt_check(claim: DomainClaim) -> None:
    """Raise a ValidationFailed that says what is wrong unless the TXT record is there."""
    name, expected = claim.txt_name, claim.txt_value
    try:
        found = _resolver()(name)
    except DnsLookupFailed as exc:
        reason = exc.reason
    except Exception:  # a resolver's own failure is a failed check, never a 500
        logger.exception("DNS resolver failed for %s", name)
        reason = "error"
    else:
        values = [value.strip().strip('"').strip() for value in found]
        if expected in values:
            return
        if not values:
            reason = "no_answer"
        else:
            shown = ", ".join(value[:80] for value in values[:3])
            raise ValidationFailed(
                _("The TXT record at %(name)s does not contain %(expected)s (found: %(found)s).")
                % {"name": name, "expected": expected, "found": shown},
                code="dns_token_mismatch",
                field="claim",
            )
    messages = {
        "nxdomain": _(
            "%(name)s does not exist in DNS yet. Publish the TXT record shown here; "
            "new records can take some time to appear."
        ),
        "no_answer": _(
            "There is no TXT record at %(name)s yet. Publish the TXT record shown here; "
            "new records can take some time to appear."
        ),
        "timeout": _("The DNS lookup of %(name)s timed out. Try again in a few minutes."),
        "error": _("The DNS lookup of %(name)s failed. Try again in a few minutes."),
    }
    reason = reason if reason in messages else "error"
    raise ValidationFailed(messages[reason] % {"name": name}, code=f"dns_{reason}", field="claim")


def _record_failure(claim_id: int, message: str) -> None:
    DomainClaim.objects.filter(pk=claim_id, status=DomainClaim.Status.PENDING).update(
        checked_at=timezone.now(), last_error=message[:500]
    )


@transaction.atomic
def _claim_confirm(*, tenant: Tenant, claim_id: int) -> DomainClaim:
    claim = _claim_of(tenant, claim_id, lock=True)
    if claim.status == DomainClaim.Status.VERIFIED:
        return claim
    now = timezone.now()
    try:
        with transaction.atomic():
            row, _created = Domain.objects.get_or_create(
                domain=claim.domain, defaults={"tenant": tenant, "is_primary": False}
            )
            if row.tenant_id != tenant.pk:
                raise Conflict(_taken_message(claim.domain), code="domain_taken", field="claim")
            claim.status = DomainClaim.Status.VERIFIED
            claim.checked_at = claim.verified_at = now
            claim.last_error = ""
            claim.save(update_fields=["status", "checked_at", "verified_at", "last_error"])
    except IntegrityError as exc:  # another tenant verified it a moment ago
        raise Conflict(_taken_message(claim.domain), code="domain_taken", field="claim") from exc
    _audit(tenant, "domain.verified", claim, {"status": ["pending", "verified"]})
    # A host looked up before (and cached as unknown) is served from now on.
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    return claim


def claim_verify(*, tenant: Tenant, claim_id: int) -> DomainClaim:
    """Look the TXT record up and, if it holds the token, route the domain to the tenant.

    On failure the claim stays pending, remembers when it was checked and why it failed,
    and the error is raised. The DNS lookup runs outside any transaction of ours, so no
    row is locked while the network answers.
    """
    claim = _claim_of(tenant, claim_id)
    if claim.status == DomainClaim.Status.VERIFIED:
        return claim
    try:
        if _taken_by_other(tenant, claim.domain):
            raise Conflict(_taken_message(claim.domain), code="domain_taken", field="claim")
        _txt_check(claim)
        return _claim_confirm(tenant=tenant, claim_id=claim.pk)
    except LinliError as exc:
        _record_failure(claim.pk, exc.message)
        raise


@transaction.atomic
def claim_remove(*, tenant: Tenant, claim_id: int) -> None:
    """Drop a claim; a verified one stops serving the tenant at once (in this process, and
    in others once their host cache expires)."""
    claim = _claim_of(tenant, claim_id, lock=True)
    if claim.status == DomainClaim.Status.VERIFIED:
        # Only the row this claim created: never the tenant's primary domain.
        Domain.objects.filter(tenant=tenant, domain=claim.domain, is_primary=False).delete()
    _audit(tenant, "domain.removed", claim, {"domain": [claim.domain, None]})
    claim.delete()
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)


def claims_recheck(*, limit: int) -> int:
    """Check up to ``limit`` pending claims again (the periodic job); returns how many were
    verified. A failure is recorded on its claim, as when an admin presses "check"."""
    verified = 0
    for claim in list(claims_pending()[:limit]):
        try:
            claim_verify(tenant=claim.tenant, claim_id=claim.pk)
        except LinliError:
            continue
        verified += 1
    return verified
