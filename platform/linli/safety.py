"""Refuse to start with settings that are only safe on a developer's machine."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT_SECRET_KEY = "linli-development-only-not-a-secret-0123456789-abcdefghijklmnop"
# Only names that cannot reach the internet count as local: ``localhost`` and its
# subdomains (RFC 6761) and loopback addresses. ``.local``, ``.internal`` and ``.test``
# are real networks' names in many deployments, so they are production.
LOCAL_SUFFIXES = (".localhost",)
LOCAL_HOSTS = {"localhost"}

DEBUG_ON_PUBLIC_HOST = (
    "DEBUG is on while LINLI_BASE_DOMAIN is the public host {domain!r}. "
    "Set DEBUG=false for any host reachable from the internet."
)
DEFAULT_SECRET_KEY = (
    "SECRET_KEY is the development default while LINLI_BASE_DOMAIN is the public host "
    "{domain!r}. Set SECRET_KEY to a long random value (50+ characters)."
)
SHORT_SECRET_KEY = "SECRET_KEY is shorter than 50 characters; use a long random value."


def is_local_domain(domain: str) -> bool:
    domain = domain.lower().strip(".")
    if domain in LOCAL_HOSTS or domain.endswith(LOCAL_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(domain.strip("[]")).is_loopback
    except ValueError:
        return False


def check_production_safety(*, debug: bool, secret_key: str, base_domain: str) -> None:
    """Raise ``ImproperlyConfigured`` when a public deployment uses unsafe settings."""
    if is_local_domain(base_domain):
        return
    if debug:
        raise ImproperlyConfigured(DEBUG_ON_PUBLIC_HOST.format(domain=base_domain))
    if secret_key == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(DEFAULT_SECRET_KEY.format(domain=base_domain))
    if len(secret_key) < 50:
        raise ImproperlyConfigured(SHORT_SECRET_KEY)
