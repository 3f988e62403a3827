"""Secrets at rest and signed cookies, keyed by ``PERKSTAR_SECRET_KEY``.

``fernet()`` encrypts values kept in the database (merchants' Stripe keys, staff TOTP
secrets); ``sign``/``unsign`` protect values the browser keeps (the known-device cookie).
Without ``PERKSTAR_SECRET_KEY`` nothing can be encrypted (``fernet()`` is None) and
signatures use a random key of this process, so they are forgotten at restart (and not
shared between workers): a browser is then simply not recognised, which is safe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet

from perkstar_ui.config import settings

_PROCESS_KEY = secrets.token_bytes(32)


def fernet() -> Fernet | None:
    secret = settings().secret_key
    if not secret:
        return None
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _signing_key() -> bytes:
    secret = settings().secret_key
    if not secret:
        return _PROCESS_KEY
    return hashlib.sha256(b"perkstar-signing:" + secret.encode()).digest()


def sign(value: str) -> str:
    mac = hmac.new(_signing_key(), value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(signed: str | None) -> str | None:
    """The value when the signature is ours, else None."""
    if not signed or "." not in signed:
        return None
    value, mac = signed.rsplit(".", 1)
    expected = hmac.new(_signing_key(), value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None
