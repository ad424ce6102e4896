"""The webhook egress policy: only globally routable addresses on ports 80 and 443.

Name resolution is replaced by a local stand-in (``Resolver``) that answers from a
table, the way a DNS server an attacker controls would; everything else is real.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from linli.errors import ValidationFailed
from tenants.events import http
from tenants.events.delivery import deliveries_run
from tenants.events.http import check_url, is_public_address
from tenants.events.models import DeliveryAttempt, WebhookEndpoint
from tenants.events.services import endpoint_create as _endpoint_create
from tenants.events.services import event_record


class Resolver:
    """Answers names from a table; an unknown name does not resolve."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}

    def __call__(self, host: str, port: int) -> list[http.IPAddress]:
        if host in self.table:
            return [ipaddress.ip_address(a) for a in self.table[host]]
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


def endpoint_create(*, url: str) -> WebhookEndpoint:
    return _endpoint_create(url=url, event_types=[], modules=["community"], personal_data=False)


@pytest.fixture
def dns(monkeypatch) -> Iterator[Resolver]:
    resolver = Resolver()
    monkeypatch.setattr(http, "resolve", resolver)
    yield resolver


NOT_GLOBAL = [
    "100.100.100.200",  # Alibaba Cloud's metadata service (shared address space)
    "100.64.0.1",
    "192.0.0.8",  # IETF protocol assignments
    "192.88.99.1",  # deprecated 6to4 relay anycast
    "198.18.0.1",  # benchmarking
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "224.0.0.1",
    "0.0.0.0",  # noqa: S104 - an address under test, not a bind
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "fec0::1",  # site-local
    "::ffff:127.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo (of 10.0.0.1)
    "::1",
    "fe80::1",
    "fd00::1",
    "2001:db8::1",
    "ff02::1",
]


@pytest.mark.parametrize("address", NOT_GLOBAL)
def test_non_global_addresses_are_not_public(address):
    assert is_public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "2002:5db8:d70e::1"])
def test_global_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data/",
        "http://100.64.0.1/",
        "http://192.0.0.8/",
        "http://[2002:7f00:1::1]/",
        "http://[fec0::1]/",
    ],
)
def test_the_addresses_an_attacker_tried_are_refused(in_tenant, dns, url):
    with pytest.raises(ValidationFailed) as caught:
        endpoint_create(url=url)
    assert caught.value.code == "url_not_public"
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_loopback_is_refused(in_tenant, dns):
    dns.table["hooks.example.org"] = ["93.184.215.14", "127.0.0.1"]
    with pytest.raises(ValidationFailed) as caught:
        check_url("https://hooks.example.org/in")
    assert caught.value.code == "url_not_public"


@pytest.mark.parametrize("url", ["http://hooks.example.org:22/", "https://hooks.example.org:8443/"])
def test_other_ports_are_refused(in_tenant, dns, url):
    dns.table["hooks.example.org"] = ["93.184.215.14"]
    with pytest.raises(ValidationFailed) as caught:
        check_url(url)
    assert caught.value.code == "url_port_not_allowed"


def test_ports_80_and_443_are_accepted(in_tenant, dns):
    dns.table["hooks.example.org"] = ["93.184.215.14"]
    assert check_url("http://hooks.example.org/in").port == 80
    assert check_url("https://hooks.example.org:443/in").address == "93.184.215.14"


def test_the_deployment_may_allow_other_ports(in_tenant, dns, settings):
    dns.table["hooks.example.org"] = ["93.184.215.14"]
    settings.LINLI_WEBHOOK_PORTS = (443, 8443)
    assert check_url("https://hooks.example.org:8443/in").port == 8443


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_delivery(in_tenant, dns):
    # given an endpoint registered while its name pointed at a public address
    dns.table["hooks.example.org"] = ["93.184.215.14"]
    endpoint_create(url="https://hooks.example.org/in")
    # when the name now answers loopback and an event is delivered
    dns.table["hooks.example.org"] = ["127.0.0.1"]
    event_record(type="resident.erased", object_id=1, payload={"resident_id": 1})
    # then nothing is sent and the attempt says why
    assert deliveries_run() == 0
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "public addresses" in attempt.error
