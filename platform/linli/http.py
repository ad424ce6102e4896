"""Small helpers about the HTTP request itself, shared by every view that needs them.

Behind a proxy (the shipped Caddy, an ingress, a cloud load balancer) every request
arrives from the proxy's address. ``LINLI_TRUSTED_PROXIES`` names the networks whose
``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are believed; from anyone else
those headers are dropped before Django reads them (``ProxyHeadersMiddleware``), so a
client can neither pose as another address nor claim HTTPS it did not use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "LINLI_TRUSTED_PROXIES", ())))


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def from_trusted_proxy(request: HttpRequest) -> bool:
    peer = _address(str(request.META.get("REMOTE_ADDR") or ""))
    return peer is not None and _trusted(peer, trusted_networks())


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, which every per-address limit uses (signup, sign-in, resident
    codes): the socket peer, or, when that is a trusted proxy, the nearest address in
    ``X-Forwarded-For`` that is not one (proxies append, so the right end is theirs and
    the left end is whatever the client wrote). None when the peer is not an address."""
    peer = _address(str(request.META.get("REMOTE_ADDR") or ""))
    if peer is None:
        return None
    networks = trusted_networks()
    if not _trusted(peer, networks):
        return str(peer)
    hops = [hop for hop in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: nothing left of it can be believed
        peer = address
        if not _trusted(address, networks):
            break
    return str(peer)


class ProxyHeadersMiddleware:
    """Drops ``X-Forwarded-*`` from requests that did not come through a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not from_trusted_proxy(request):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


def public_origin(request: HttpRequest, domain: str | None = None) -> str:
    """``scheme://host[:port]`` of a link Linli sends out, from configuration only: the
    tenant's primary domain (or ``domain``, or the platform's base domain), HTTPS unless
    the request came over plain HTTP on a development host. The Host header never
    reaches a link: an attacker's Host (or its port) would otherwise land in emails."""
    from linli.safety import is_local_domain

    if domain is None:
        domain = primary_domain(request) or settings.LINLI_BASE_DOMAIN
    local = is_local_domain(settings.LINLI_BASE_DOMAIN)
    secure = request.is_secure() or settings.SECURE_SSL_REDIRECT or not local
    scheme = "https" if secure else "http"
    port = str(request.get_port()) if local else ""  # the socket's port, not the Host's
    if port in ("", "443" if secure else "80"):
        return f"{scheme}://{domain}"
    return f"{scheme}://{domain}:{port}"


def absolute_url(request: HttpRequest, path: str) -> str:
    return public_origin(request) + path


def primary_domain(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return None
    cached = getattr(request, "_linli_primary_domain", None)
    if cached is None:
        cached = (
            tenant.domains.filter(is_primary=True).values_list("domain", flat=True).first() or ""
        )
        request._linli_primary_domain = cached  # type: ignore[attr-defined]
    return cached or None
