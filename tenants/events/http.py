"""Sending one webhook: signed, to a globally routable address only, without redirects.

The egress policy (SSRF safety), applied when an endpoint is registered and again
at every delivery: the host is resolved and every address it resolves to must be
globally routable (``is_public_address``: not private, shared (100.64/10, where
cloud metadata services live), loopback, link-local, site-local, multicast,
reserved, documentation or benchmarking space, and no IPv6 form that embeds a
non-global IPv4 address: mapped, 6to4, Teredo, NAT64), on port 80 or 443
(``LINLI_WEBHOOK_PORTS``), unless the host or address is in
``LINLI_WEBHOOK_ALLOW`` (self-hosting), which lifts both. The connection goes to
the address that was checked, so a DNS answer that changes between the check and
the request cannot redirect it, and redirects are never followed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from linli.errors import ValidationFailed

TIMEOUT_SECONDS = 5.0  # to connect, and for each read
DEADLINE_SECONDS = 10.0  # for the whole exchange, however slowly the receiver trickles
MAX_RESPONSE_BYTES = 64 * 1024
SIGNATURE_HEADER = "Linli-Signature"  # deprecated: the Standard Webhooks headers replace it


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, like Stripe's header, keyed
    by the whole secret string (``Linli-Signature``, kept while integrators move)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def standard_key(secret: str) -> bytes:
    """The signing key of the Standard Webhooks scheme: the secret after ``whsec_``, base64
    decoded as the scheme's libraries decode it. Secrets made before Linli signed this way
    are URL-safe base64; one that those libraries cannot read is decoded as such (roll
    the secret to verify with a library)."""
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded + "==")
    except binascii.Error:
        return base64.urlsafe_b64decode(encoded + "==")


def standard_headers(
    *, secret: str, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64
    HMAC-SHA256 of "<id>.<timestamp>.<body>">``), as https://www.standardwebhooks.com/
    specifies, so receivers verify with any of its libraries."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(mac).decode()}",
    }


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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's ``is_global`` lets through (on some patch releases) that no webhook
# receiver lives in: IETF protocol assignments (192.0.0.0/24), the deprecated 6to4 relay
# anycast, benchmarking, shared address space, IPv6 site-local, the IETF protocol block
# (Teredo and ORCHID live there) and local-use NAT64.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "fec0::/10",
        "2001::/23",
        "64:ff9b:1::/48",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Globally routable, and no form of a non-global address in disguise."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
    return (
        address.is_global
        and not address.is_multicast
        and not any(address.version == net.version and address in net for net in _NOT_GLOBAL)
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the system resolver; tests stand in for it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _allowed_ports() -> frozenset[int]:
    return frozenset(getattr(settings, "LINLI_WEBHOOK_PORTS", (80, 443)))


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
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        addresses = []
        failure: Exception | None = exc
    else:
        failure = None
    if not addresses:
        raise ValidationFailed(
            _("The host %(host)s does not resolve.") % {"host": host},
            code="url_unresolvable",
            field="url",
        ) from failure
    for address in addresses:
        allowed = _allowed(host, address)
        if not allowed and not is_public_address(address):
            raise ValidationFailed(
                _("Webhooks go to public addresses only; %(host)s is %(address)s.")
                % {"host": host, "address": address},
                code="url_not_public",
                field="url",
            )
        if not allowed and port not in _allowed_ports():
            raise ValidationFailed(
                _("Webhooks go to port %(ports)s only.")
                % {"ports": " or ".join(str(p) for p in sorted(_allowed_ports()))},
                code="url_port_not_allowed",
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


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """The deadline passed: shut the socket, which ends a read blocked in another thread."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body``; a 2xx answer is success. Redirects are not followed (a 3xx is a
    failure), the answer is read up to 64 KB; 5 seconds to connect and for each read, and
    10 seconds for everything, so a receiver that answers a byte at a time cannot hold a
    delivery run."""
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
    cut = threading.Event()
    deadline = threading.Timer(DEADLINE_SECONDS, _cut, args=(connection, cut))
    deadline.daemon = True
    deadline.start()
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
        if cut.is_set():
            raise TimeoutError(f"no complete answer within {DEADLINE_SECONDS:.0f} s")
        return Outcome(response.status, took())
    except (OSError, http.client.HTTPException) as exc:
        failure: Exception = exc
        if cut.is_set():
            failure = TimeoutError(f"no complete answer within {DEADLINE_SECONDS:.0f} s")
        return Outcome(None, took(), f"{type(failure).__name__}: {failure}"[:255])
    finally:
        deadline.cancel()
        connection.close()
