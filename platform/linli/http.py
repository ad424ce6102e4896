"""Small helpers about the HTTP request itself, shared by every view that needs them."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the web server saw it (REMOTE_ADDR), which every per-address
    limit uses (signup, sign-in, resident codes); None when it is not an IP address."""
    try:
        return str(ipaddress.ip_address(str(request.META.get("REMOTE_ADDR") or "").strip()))
    except ValueError:
        return None
