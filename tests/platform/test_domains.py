"""Custom domains: a district claims a domain, proves it with a DNS TXT record, and is then
served there (and only it); refusals are clear and per field; removal stops the routing.

DNS is the one thing outside the machine: every test here uses ``fake_dns`` (an in-memory
resolver set through ``LINLI_DNS_RESOLVER``); everything else is real PostgreSQL.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from linli.errors import Conflict, NotFound, ValidationFailed
from linli.registry import domains, selectors
from linli.registry.domains import (
    MAX_DOMAINS_PER_TENANT,
    DnsLookupFailed,
    claim_add,
    claim_remove,
    claim_verify,
    claims_recheck,
)
from linli.registry.models import Domain, DomainClaim, Tenant
from linli.registry.tasks import domain_claims_recheck
from tenants.audit.models import AuditEntry
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import UserFactory

CUSTOM = "linli.pudong.gov.cn"

# name -> TXT strings; a name that is missing does not exist (NXDOMAIN).
DNS: dict[str, list[str]] = {}
# name -> the failure the resolver raises for it.
DNS_FAILS: dict[str, Exception] = {}


def fake_dns(name: str) -> list[str]:
    """The in-memory resolver: the outside-world boundary of these tests."""
    if name in DNS_FAILS:
        raise DNS_FAILS[name]
    if name not in DNS:
        raise DnsLookupFailed("nxdomain")
    return list(DNS[name])


@pytest.fixture(autouse=True)
def dns(settings) -> Iterator[dict[str, list[str]]]:
    settings.LINLI_DNS_RESOLVER = "tests.platform.test_domains.fake_dns"
    DNS.clear()
    DNS_FAILS.clear()
    yield DNS
    DNS.clear()
    DNS_FAILS.clear()


def publish(claim: DomainClaim, *extra: str) -> None:
    DNS[claim.txt_name] = [*extra, claim.txt_value]


def admin_of(tenant: Tenant) -> Client:
    """A district admin of ``tenant``, logged in on the tenant's own host."""
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=f"admin-{tenant.schema_name}", password=ADMIN_PASSWORD)
    return client


def on_host(host: str, **extra) -> Client:
    return Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en", **extra)


def audit_actions(tenant: Tenant) -> list[str]:
    with tenant_context(tenant):
        return list(
            AuditEntry.objects.filter(action__startswith="domain.")
            .order_by("id")
            .values_list("action", flat=True)
        )


# --- The whole way: add, publish, verify, served, removed ---------------------------


def test_add_verify_serve_and_remove_a_custom_domain(tenant, other_tenant, make_key):
    client = admin_of(tenant)
    alpha_key = make_key("community:read")
    beta_key = make_key("community:read", on=other_tenant)

    # given: the admin adds the domain
    added = client.post("/admin/domains/", {"action": "add", "domain": " Linli.Pudong.gov.cn. "})
    assert added.status_code == 302 and added["Location"] == "/admin/domains/"
    claim = DomainClaim.objects.get(tenant=tenant)
    assert (claim.domain, claim.status, claim.verified_at) == (CUSTOM, "pending", None)
    assert len(claim.token) == 32
    page = client.get("/admin/domains/").content.decode()
    assert f"_linli.{CUSTOM}" in page and f"linli-verification={claim.token}" in page
    # not served yet (and this unknown answer is now in the process's host cache)
    before = on_host(CUSTOM).get("/api/v1/tenant")
    assert before.status_code == 404 and before.json()["code"] == "tenant_not_found"

    # when: the TXT record is published and the admin checks
    publish(claim, "v=spf1 -all")
    checked = client.post("/admin/domains/", {"action": "verify", "claim": claim.pk})

    # then: verified, routed to alpha at once, and alpha only
    assert checked.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "verified" and claim.verified_at and claim.last_error == ""
    row = Domain.objects.get(domain=CUSTOM)
    assert (row.tenant_id, row.is_primary) == (tenant.pk, False)
    assert Domain.objects.get(tenant=tenant, is_primary=True).domain == host_of(tenant)
    served = on_host(CUSTOM, HTTP_AUTHORIZATION=f"Bearer {alpha_key}").get("/api/v1/tenant")
    assert served.status_code == 200 and served.json()["slug"] == "alpha"
    assert (
        on_host(CUSTOM, HTTP_AUTHORIZATION=f"Bearer {beta_key}").get("/api/v1/tenant").status_code
        == 401
    )  # beta's key means nothing on alpha's domain
    login = on_host(CUSTOM).get("/admin/login/")
    assert login.status_code == 200 and b'name="username"' in login.content
    assert Domain.objects.filter(tenant=other_tenant, domain=CUSTOM).count() == 0

    # when: the admin removes it
    removed = client.post("/admin/domains/", {"action": "remove", "claim": claim.pk})

    # then: gone, and this same process no longer serves alpha there
    assert removed.status_code == 302
    assert not DomainClaim.objects.filter(pk=claim.pk).exists()
    assert not Domain.objects.filter(domain=CUSTOM).exists()
    after = on_host(CUSTOM, HTTP_AUTHORIZATION=f"Bearer {alpha_key}").get("/api/v1/tenant")
    assert after.status_code == 404 and after.json()["code"] == "tenant_not_found"
    gone = on_host(CUSTOM).get("/admin/login/")
    assert gone.status_code == 404 and b"No neighbourhood here" in gone.content
    # alpha's own address still works
    assert Client(HTTP_HOST=host_of(tenant)).get("/admin/login/").status_code == 200
    assert audit_actions(tenant) == ["domain.claimed", "domain.verified", "domain.removed"]
    assert audit_actions(other_tenant) == []
    with tenant_context(tenant):
        admin_id = AuditEntry.objects.filter(action="domain.claimed").get().actor_user_id
        from django.contrib.auth import get_user_model

        assert admin_id == get_user_model().objects.get(username="admin-alpha").pk


def test_an_unknown_host_is_the_tenant_404_not_a_disallowed_host_400(db):
    response = on_host("www.not-a-linli-site.example").get("/admin/login/")
    assert response.status_code == 404
    assert b"tenant_not_found" in response.content
    api = on_host("www.not-a-linli-site.example").get("/api/v1/tenant")
    assert api.status_code == 404 and api.json()["code"] == "tenant_not_found"


# --- Verification failures ------------------------------------------------------------


@pytest.mark.parametrize(
    ("dns_state", "code", "says"),
    [
        ("missing", "dns_nxdomain", "does not exist in DNS yet"),
        ("empty", "dns_no_answer", "There is no TXT record at"),
        ("wrong", "dns_token_mismatch", "does not contain linli-verification="),
        ("timeout", "dns_timeout", "timed out"),
        ("broken", "dns_error", "failed. Try again"),
    ],
)
def test_a_failed_check_says_why_and_leaves_the_claim_pending(tenant, dns_state, code, says):
    claim = claim_add(tenant=tenant, domain=CUSTOM)
    if dns_state == "empty":
        DNS[claim.txt_name] = []
    elif dns_state == "wrong":
        DNS[claim.txt_name] = ["linli-verification=0123456789abcdef", "other"]
    elif dns_state == "timeout":
        DNS_FAILS[claim.txt_name] = DnsLookupFailed("timeout")
    elif dns_state == "broken":
        DNS_FAILS[claim.txt_name] = RuntimeError("resolver crashed")

    with pytest.raises(ValidationFailed) as failed:
        claim_verify(tenant=tenant, claim_id=claim.pk)

    assert failed.value.code == code and failed.value.field == "claim"
    assert says in failed.value.message and claim.txt_name in failed.value.message
    claim.refresh_from_db()
    assert claim.status == "pending" and claim.verified_at is None
    assert claim.checked_at is not None and claim.last_error == failed.value.message
    assert not Domain.objects.filter(domain=CUSTOM).exists()
    assert audit_actions(tenant) == ["domain.claimed"]


def test_a_failed_check_on_the_page_shows_the_error_on_that_domain(tenant):
    client = admin_of(tenant)
    client.post("/admin/domains/", {"action": "add", "domain": CUSTOM})
    claim = DomainClaim.objects.get(tenant=tenant)
    DNS[claim.txt_name] = ["linli-verification=not-the-token"]

    response = client.post("/admin/domains/", {"action": "verify", "claim": claim.pk})

    assert response.status_code == 200
    row = response.content.decode().split(f'id="claim-{claim.pk}"')[1].split("</tr>")[0]
    assert 'class="errors"' in row and "does not contain" in row
    assert DomainClaim.objects.get(pk=claim.pk).status == "pending"
    # the error stays on the page for the next visit
    assert "does not contain" in client.get("/admin/domains/").content.decode()
    # published properly, the next check succeeds and the error is gone
    publish(claim)
    assert (
        client.post("/admin/domains/", {"action": "verify", "claim": claim.pk}).status_code == 302
    )
    assert DomainClaim.objects.get(pk=claim.pk).last_error == ""


# --- Refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "domain_required"),
        ("   ", "domain_required"),
        ("not a domain", "domain_invalid"),
        ("https://linli.example.org/admin", "domain_invalid"),
        ("linli.example.org:8443", "domain_invalid"),
        ("example", "domain_invalid"),
        ("a..example.org", "domain_invalid"),
        ("-bad.example.org", "domain_invalid"),
        ("under_score.example.org", "domain_invalid"),
        ("x" * 64 + ".example.org", "domain_invalid"),
        (("abcdefghi." * 26) + "org", "domain_invalid"),
        ("1.2.3", "domain_invalid"),
        ("bad\x00.example.org", "domain_invalid"),
        ("192.0.2.10", "domain_ip"),
        ("2001:db8::1", "domain_ip"),
        ("[2001:db8::1]", "domain_ip"),
        ("localhost", "domain_platform"),
        ("alpha.localhost", "domain_platform"),
        ("deep.beta.LOCALHOST.", "domain_platform"),
    ],
)
def test_bad_domains_are_refused_on_the_domain_field(tenant, raw, code):
    with pytest.raises(ValidationFailed) as refused:
        claim_add(tenant=tenant, domain=raw)
    assert (refused.value.code, refused.value.field) == (code, "domain")
    assert not DomainClaim.objects.filter(tenant=tenant).exists()
    assert audit_actions(tenant) == []


def test_an_international_domain_is_stored_in_its_ascii_form(tenant):
    claim = claim_add(tenant=tenant, domain="鄰里.中国")
    assert claim.domain == "xn--ki4a0l.xn--fiqs8s"
    assert claim.txt_name == "_linli.xn--ki4a0l.xn--fiqs8s"


def test_the_same_domain_twice_and_more_than_the_limit_are_refused(tenant):
    claim_add(tenant=tenant, domain=CUSTOM)
    with pytest.raises(Conflict) as twice:
        claim_add(tenant=tenant, domain=CUSTOM.upper())
    assert (twice.value.code, twice.value.field) == ("domain_already_claimed", "domain")
    for n in range(2, MAX_DOMAINS_PER_TENANT + 1):
        claim_add(tenant=tenant, domain=f"site{n}.example.org")
    with pytest.raises(ValidationFailed) as limit:
        claim_add(tenant=tenant, domain="one-too-many.example.org")
    assert (limit.value.code, limit.value.field) == ("domain_limit", "domain")
    assert DomainClaim.objects.filter(tenant=tenant).count() == MAX_DOMAINS_PER_TENANT
    assert not DomainClaim.objects.filter(domain="one-too-many.example.org").exists()


def test_the_limit_is_shown_on_the_page_and_nothing_is_added(tenant):
    client = admin_of(tenant)
    for n in range(MAX_DOMAINS_PER_TENANT):
        claim_add(tenant=tenant, domain=f"site{n}.example.org")
    response = client.post("/admin/domains/", {"action": "add", "domain": "sixth.example.org"})
    assert response.status_code == 200
    form = response.content.decode().split('id="domain-add"')[1]
    assert 'class="form-row errors"' in form and "at most 5 domains" in form
    assert 'value="sixth.example.org"' in form  # what was typed is kept
    assert DomainClaim.objects.filter(tenant=tenant).count() == MAX_DOMAINS_PER_TENANT


# --- Two tenants, one domain ----------------------------------------------------------


def test_pending_claims_coexist_and_the_first_to_verify_wins(tenant, other_tenant):
    mine = claim_add(tenant=tenant, domain=CUSTOM)
    theirs = claim_add(tenant=other_tenant, domain=CUSTOM)
    assert mine.token != theirs.token
    # both tokens are published (say the domain changed hands); alpha checks first
    DNS[mine.txt_name] = [mine.txt_value, theirs.txt_value]
    claim_verify(tenant=tenant, claim_id=mine.pk)

    with pytest.raises(Conflict) as lost:
        claim_verify(tenant=other_tenant, claim_id=theirs.pk)

    assert (lost.value.code, lost.value.field) == ("domain_taken", "claim")
    assert "already in use by another Linli site" in lost.value.message
    theirs.refresh_from_db()
    assert theirs.status == "pending" and theirs.last_error == lost.value.message
    assert list(Domain.objects.filter(domain=CUSTOM).values_list("tenant_id", flat=True)) == [
        tenant.pk
    ]
    assert audit_actions(other_tenant) == ["domain.claimed"]


def test_beta_cannot_claim_a_domain_alpha_verified(tenant, other_tenant):
    claim = claim_add(tenant=tenant, domain=CUSTOM)
    publish(claim)
    claim_verify(tenant=tenant, claim_id=claim.pk)
    beta = admin_of(other_tenant)

    response = beta.post("/admin/domains/", {"action": "add", "domain": CUSTOM})

    assert response.status_code == 200
    assert "already in use by another Linli site" in response.content.decode()
    assert not DomainClaim.objects.filter(tenant=other_tenant).exists()
    with pytest.raises(Conflict) as taken:
        claim_add(tenant=other_tenant, domain=CUSTOM)
    assert (taken.value.code, taken.value.field) == ("domain_taken", "domain")
    # nor alpha's own address
    with pytest.raises(ValidationFailed) as platform:
        claim_add(tenant=other_tenant, domain=host_of(tenant))
    assert platform.value.code == "domain_platform"


def test_beta_cannot_see_verify_or_remove_alphas_claims(tenant, other_tenant):
    claim = claim_add(tenant=tenant, domain=CUSTOM)
    publish(claim)  # even with the record published, beta's check must not verify it
    beta = admin_of(other_tenant)

    page = beta.get("/admin/domains/")
    assert page.status_code == 200
    assert CUSTOM not in page.content.decode() and claim.token not in page.content.decode()
    for action in ("verify", "remove"):
        response = beta.post("/admin/domains/", {"action": action, "claim": claim.pk})
        assert response.status_code == 200
        assert "not one of this district's domains" in html.unescape(response.content.decode())
    with pytest.raises(NotFound) as verify:
        claim_verify(tenant=other_tenant, claim_id=claim.pk)
    with pytest.raises(NotFound) as remove:
        claim_remove(tenant=other_tenant, claim_id=claim.pk)
    assert verify.value.code == remove.value.code == "domain_claim_not_found"
    # and the same answer as for a claim that does not exist
    with pytest.raises(NotFound) as missing:
        claim_remove(tenant=other_tenant, claim_id=claim.pk + 1000)
    assert missing.value.message == remove.value.message

    claim.refresh_from_db()
    assert claim.status == "pending" and claim.checked_at is None and claim.last_error == ""
    assert not Domain.objects.filter(domain=CUSTOM).exists()
    assert audit_actions(other_tenant) == []


def test_beta_cannot_remove_alphas_verified_domain(tenant, other_tenant):
    claim = claim_add(tenant=tenant, domain=CUSTOM)
    publish(claim)
    claim_verify(tenant=tenant, claim_id=claim.pk)

    response = admin_of(other_tenant).post(
        "/admin/domains/", {"action": "remove", "claim": claim.pk}
    )

    assert response.status_code == 200
    assert DomainClaim.objects.get(pk=claim.pk).status == "verified"
    assert Domain.objects.get(domain=CUSTOM).tenant_id == tenant.pk
    assert selectors.tenant_for_host(CUSTOM) == tenant


# --- Who may use the page, and input that must not break it ---------------------------


def test_only_district_admins_see_or_change_domains(tenant):
    claim = claim_add(tenant=tenant, domain=CUSTOM)
    publish(claim)
    client = Client(HTTP_HOST=host_of(tenant))
    with tenant_context(tenant):  # the staff user and the session live in alpha's schema
        client.force_login(UserFactory(username="clerk", is_staff=True))

    assert client.get("/admin/domains/").status_code == 403
    assert (
        client.post("/admin/domains/", {"action": "add", "domain": "x.example.org"}).status_code
        == 403
    )
    assert (
        client.post("/admin/domains/", {"action": "verify", "claim": claim.pk}).status_code == 403
    )
    assert (
        client.post("/admin/domains/", {"action": "remove", "claim": claim.pk}).status_code == 403
    )

    assert list(DomainClaim.objects.values_list("domain", "status")) == [(CUSTOM, "pending")]
    assert not Domain.objects.filter(domain=CUSTOM).exists()
    # not logged in at all: the admin's login page
    anonymous = Client(HTTP_HOST=host_of(tenant)).get("/admin/domains/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")


def test_a_post_without_the_csrf_token_is_refused(tenant):
    client = Client(HTTP_HOST=host_of(tenant), enforce_csrf_checks=True)
    with tenant_context(tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    response = client.post("/admin/domains/", {"action": "add", "domain": CUSTOM})
    assert response.status_code == 403
    assert not DomainClaim.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"action": "bogus"},
        {"action": "verify"},
        {"action": "verify", "claim": "abc"},
        {"action": "remove", "claim": "-1"},
        {"action": "remove", "claim": "9" * 40},
        {"action": "add"},
        {"action": "add", "domain": "x" * 10_000},
        {"action": "add", "domain": "<script>alert(1)</script>.org"},
    ],
)
def test_bad_input_never_gives_a_500(tenant, data):
    response = admin_of(tenant).post("/admin/domains/", data)
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.content.decode()
    assert 'class="errornote"' in response.content.decode() or "errorlist" in (
        response.content.decode()
    )
    assert not DomainClaim.objects.exists()


# --- The periodic re-check and the host cache -----------------------------------------


def test_the_periodic_job_verifies_published_claims_and_records_the_rest(tenant, other_tenant):
    ready = claim_add(tenant=tenant, domain=CUSTOM)
    waiting = claim_add(tenant=other_tenant, domain="linli.minhang.gov.cn")
    publish(ready)

    assert domain_claims_recheck() == 1

    ready.refresh_from_db()
    waiting.refresh_from_db()
    assert ready.status == "verified" and Domain.objects.get(domain=CUSTOM).tenant_id == tenant.pk
    assert waiting.status == "pending" and waiting.checked_at is not None
    assert "does not exist in DNS yet" in waiting.last_error
    assert claims_recheck(limit=10) == 0  # nothing more to verify; verified claims are left alone


def test_the_host_cache_stays_bounded(db, monkeypatch):
    monkeypatch.setattr(selectors, "_HOST_CACHE_MAX", 3)
    for n in range(7):
        assert selectors.tenant_for_host(f"nowhere{n}.example.org") is None
        assert len(selectors._host_cache) <= 3


def test_the_default_resolver_is_dnspython(settings):
    settings.LINLI_DNS_RESOLVER = "linli.registry.domains.dns_txt_lookup"
    assert domains._resolver() is domains.dns_txt_lookup


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        ("NXDOMAIN", "nxdomain"),
        ("NoAnswer", "no_answer"),
        ("LifetimeTimeout", "timeout"),
        ("NoNameservers", "error"),
    ],
)
def test_the_default_resolver_turns_dns_failures_into_reasons(monkeypatch, raised, reason):
    """dnspython's ``Resolver.resolve`` is the network boundary here; it is replaced."""
    import dns.resolver

    def failing(self, name, rdtype):
        assert (name, rdtype, self.lifetime) == ("_linli.example.org", "TXT", 3.0)
        error = getattr(dns.resolver, raised)
        raise error(timeout=3.0, errors=[]) if raised == "LifetimeTimeout" else error()

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", failing)
    with pytest.raises(DnsLookupFailed) as failed:
        domains.dns_txt_lookup("_linli.example.org")
    assert failed.value.reason == reason


def test_the_default_resolver_joins_the_strings_of_each_record(monkeypatch):
    """dnspython's ``Resolver.resolve`` is the network boundary here; it is replaced."""
    import dns.rdata
    import dns.resolver

    records = [
        dns.rdata.from_text("IN", "TXT", '"linli-verification=" "abc"'),
        dns.rdata.from_text("IN", "TXT", '"v=spf1 -all"'),
    ]
    monkeypatch.setattr(dns.resolver.Resolver, "resolve", lambda self, name, rdtype: records)
    assert domains.dns_txt_lookup("_linli.example.org") == [
        "linli-verification=abc",
        "v=spf1 -all",
    ]


def test_claims_are_in_the_platform_admin_for_ops_to_read_only(tenant):
    # (The registry's platform-admin pages, Tenant's included, do not render yet: django-tenants'
    # ``is_public_schema`` tag fails where ``request.tenant`` is None.)
    from django.test import RequestFactory

    from linli.admin_sites import platform_site

    claim = claim_add(tenant=tenant, domain=CUSTOM)
    model_admin = platform_site.get_model_admin(DomainClaim)
    request = RequestFactory().get("/admin/registry/domainclaim/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, claim)
    assert not model_admin.has_delete_permission(request, claim)
