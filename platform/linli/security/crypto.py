"""Two-factor secrets and recovery codes are kept so that a database dump alone is not enough.

Secrets are encrypted (Fernet: AES-CBC with an HMAC) under a key derived from
SECRET_KEY; after a key rotation the old keys in SECRET_KEY_FALLBACKS still
decrypt. Recovery codes are kept as keyed hashes. Whoever holds both the dump
and SECRET_KEY can still read the secrets.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

_SALT = "linli.security.two-factor"


def _keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _fernet() -> MultiFernet:
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{_SALT}:{key}".encode()).digest()))
            for key in _keys()
        ]
    )


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str | None:
    """The secret, or None when no known key opens it (SECRET_KEY changed with no fallback)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def code_hash(code: str) -> str:
    return salted_hmac(_SALT, code, algorithm="sha256").hexdigest()


def code_hashes(code: str) -> list[str]:
    """The hashes of ``code`` under the current key and every fallback key."""
    return [salted_hmac(_SALT, code, secret=key, algorithm="sha256").hexdigest() for key in _keys()]
