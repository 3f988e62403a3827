"""Password hashing, session tokens and the login throttle policy (no framework, no DB)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the email is unknown, so a wrong email costs the
# same time as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def burn_verification_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only this digest is stored: a leaked database holds no usable session."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)

    def retry_after(self, failures: list[dt.datetime], now: dt.datetime) -> dt.timedelta | None:
        """How long the email stays locked, or None when a login may be tried.

        ``failures`` are the times of failed attempts since the last success.
        """
        recent = sorted(t for t in failures if now - t < self.window)
        if len(recent) < self.max_failures:
            return None
        # Unlocks when the oldest failure that still counts leaves the window.
        unlock_at = recent[-self.max_failures] + self.window
        return max(unlock_at - now, dt.timedelta(seconds=1))


def throttle_message(retry_after: dt.timedelta) -> str:
    minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed attempts for this email. Try again in {minutes} {unit}."
