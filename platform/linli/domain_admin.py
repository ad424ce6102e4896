"""The district admin's page for custom domains in the tenant admin: add a domain, see the
TXT record to publish, check it now, remove it. Errors are shown on the field (or the
domain) they concern; nothing here decides anything, the services in
``linli.registry.domains`` do."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.errors import LinliError
from linli.registry import domains


def _claim_id(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else 0


def domains_view(site: Any, request: HttpRequest) -> HttpResponse:
    # The same people who may configure the tenant's modules may give it domains.
    if not request.user.is_superuser:
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    add_error = ""
    claim_errors: dict[int, str] = {}
    posted_domain = ""
    if request.method == "POST":
        action = request.POST.get("action")
        claim_id = _claim_id(request.POST.get("claim"))
        try:
            if action == "add":
                posted_domain = request.POST.get("domain", "")[:300]
                domains.claim_add(tenant=tenant, domain=posted_domain)
                return HttpResponseRedirect(request.path)
            if action == "verify":
                domains.claim_verify(tenant=tenant, claim_id=claim_id)
                return HttpResponseRedirect(request.path)
            if action == "remove":
                domains.claim_remove(tenant=tenant, claim_id=claim_id)
                return HttpResponseRedirect(request.path)
            add_error = _("Unknown action.")
        except LinliError as exc:
            if exc.field == "domain":
                add_error = exc.message
            else:
                claim_errors[claim_id] = exc.message
    claims = [
        {"claim": claim, "error": claim_errors.pop(claim.pk, "")}
        for claim in domains.claim_list(tenant=tenant)
    ]
    context = {
        **site.each_context(request),
        "title": _("Domains"),
        "claims": claims,
        # An error about a domain that is not on the list (not found, not this district's).
        "other_errors": list(claim_errors.values()),
        "add_error": add_error,
        "posted_domain": posted_domain,
        "limit": domains.MAX_DOMAINS_PER_TENANT,
        "primary": tenant.domains.filter(is_primary=True).values_list("domain", flat=True).first(),
    }
    return render(request, "admin/linli/domains.html", context)
