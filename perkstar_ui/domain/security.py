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
    """Growing delays instead of a hard lock: the first ``free_failures`` failures cost
    nothing, then each further attempt waits ``first_delay`` × 2^n after the latest failure
    (1 s, 2 s, 4 s … up to ``max_delay``). Failures older than ``window`` are forgotten."""

    free_failures: int = 5
    first_delay: dt.timedelta = dt.timedelta(seconds=1)
    max_delay: dt.timedelta = dt.timedelta(minutes=5)
    window: dt.timedelta = dt.timedelta(minutes=15)

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after the latest of ``failures`` failures before the next attempt."""
        over = failures - self.free_failures
        if over < 0:
            return dt.timedelta(0)
        return min(self.first_delay * (2 ** min(over, 30)), self.max_delay)

    def retry_after(self, failures: list[dt.datetime], now: dt.datetime) -> dt.timedelta | None:
        """How long until the next attempt may be tried, or None when it may be tried now.

        ``failures`` are the times of the failed attempts that count (attempts still being
        checked count as failures).
        """
        recent = sorted(t for t in failures if now - t < self.window)
        wait = self.delay(len(recent))
        if not recent or not wait:
            return None
        ready_at = recent[-1] + wait
        return ready_at - now if ready_at > now else None


# Per email: a handful of typos are free. Per IP: a shared counter or office network makes
# more honest mistakes, so more are free before the delays start.
EMAIL_THROTTLE = ThrottlePolicy()
IP_THROTTLE = ThrottlePolicy(free_failures=20)
# Attempts are kept this long for the throttle, then purged by the nightly job.
ATTEMPT_RETENTION = dt.timedelta(days=1)


def throttle_message(retry_after: dt.timedelta) -> str:
    seconds = max(1, -(-int(retry_after.total_seconds() * 1000) // 1000))
    if seconds < 60:
        amount, unit = seconds, "second"
    else:
        amount, unit = -(-seconds // 60), "minute"
    return f"Too many failed attempts. Try again in {amount} {unit}{'' if amount == 1 else 's'}."
