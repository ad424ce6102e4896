"""Behind a proxy: whose X-Forwarded-For / -Proto are believed (LINLI_TRUSTED_PROXIES)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from linli.http import ProxyHeadersMiddleware, client_ip

CADDY = "172.18.0.5"


def through(remote: str, forwarded: str | None = None, proto: str | None = None):
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto is not None:
        extra["HTTP_X_FORWARDED_PROTO"] = proto
    request = RequestFactory().get("/", **extra)
    seen = {}

    def view(r):
        seen["secure"], seen["ip"] = r.is_secure(), client_ip(r)
        return HttpResponse()

    ProxyHeadersMiddleware(view)(request)
    return seen


@pytest.fixture
def behind_caddy(settings):
    settings.LINLI_TRUSTED_PROXIES = ["172.16.0.0/12"]


def test_by_default_no_one_is_trusted(settings):
    settings.LINLI_TRUSTED_PROXIES = []
    seen = through("203.0.113.9", forwarded="198.51.100.1", proto="https")
    assert seen == {"secure": False, "ip": "203.0.113.9"}


def test_a_trusted_proxy_names_the_client_and_the_scheme(behind_caddy):
    assert through(CADDY, forwarded="198.51.100.1", proto="https") == {
        "secure": True,
        "ip": "198.51.100.1",
    }


def test_a_client_cannot_pose_as_another_address_through_the_proxy(behind_caddy):
    # the client wrote "1.2.3.4" itself; Caddy appended the address it really saw
    assert through(CADDY, forwarded="1.2.3.4, 198.51.100.1")["ip"] == "198.51.100.1"


def test_chained_trusted_proxies_are_skipped(settings):
    settings.LINLI_TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.0/12"]
    assert through(CADDY, forwarded="198.51.100.1, 10.1.2.3")["ip"] == "198.51.100.1"


def test_an_untrusted_peer_cannot_claim_https_or_an_address(behind_caddy):
    assert through("203.0.113.9", forwarded="198.51.100.1", proto="https") == {
        "secure": False,
        "ip": "203.0.113.9",
    }


@pytest.mark.parametrize("forwarded", ["", "garbage", "198.51.100.1, not-an-ip"])
def test_a_missing_or_malformed_header_stops_at_the_proxy(behind_caddy, forwarded):
    assert through(CADDY, forwarded=forwarded)["ip"] == CADDY


def test_ipv6_and_mapped_addresses(settings):
    settings.LINLI_TRUSTED_PROXIES = ["fd00::/8"]
    assert through("fd00::1", forwarded="2001:db8::7")["ip"] == "2001:db8::7"
    assert through("::ffff:203.0.113.9")["ip"] == "203.0.113.9"


def test_a_peer_that_is_not_an_address_has_none():
    assert through("not-an-ip")["ip"] is None
