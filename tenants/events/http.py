"""Sending one webhook: signed, to a public address only, without following redirects.

SSRF safety: the host is resolved once and every address it resolves to must be
public (not private, loopback, link-local, multicast, reserved or unspecified)
unless the address or host is in ``LINLI_WEBHOOK_ALLOW`` (for tests and
self-hosting). The connection then goes to the address that was checked, so a
DNS answer that changes between the check and the request cannot redirect it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from linli.errors import ValidationFailed

TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
SIGNATURE_HEADER = "Linli-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, like Stripe's header."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _allowed(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    for entry in getattr(settings, "LINLI_WEBHOOK_ALLOW", []):
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url(url: str) -> Target:
    """The URL's checked target, or a clear refusal (``url_invalid`` / ``url_not_public``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed(
            _("This URL is not valid."), code="url_invalid", field="url"
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            _("A webhook URL starts with https:// (or http://) and names a host."),
            code="url_invalid",
            field="url",
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            _("A webhook URL carries no user or password."), code="url_invalid", field="url"
        )
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed(
            _("The host %(host)s does not resolve.") % {"host": host},
            code="url_unresolvable",
            field="url",
        ) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not _public(address) and not _allowed(host, address):
            raise ValidationFailed(
                _("Webhooks go to public addresses only; %(host)s is %(address)s.")
                % {"host": host, "address": address},
                code="url_not_public",
                field="url",
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, with the certificate checked for the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body``; a 2xx answer is success. Redirects are not followed (a 3xx is a
    failure), the answer is read up to 64 KB, everything within a 5-second timeout."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = check_url(url)
    except ValidationFailed as exc:
        return Outcome(None, took(), exc.message[:255])
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, TIMEOUT_SECONDS)
    else:
        connection = http.client.HTTPConnection(
            target.address, target.port, timeout=TIMEOUT_SECONDS
        )
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
                "Content-Type": "application/json",
                "User-Agent": "Linli-Webhooks/1",
            },
        )
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return Outcome(response.status, took())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:255])
    finally:
        connection.close()
