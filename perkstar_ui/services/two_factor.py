"""Two-factor sign-in: TOTP (RFC 6238, ``pyotp``) and one-time recovery codes.

A user turns it on in two steps: ``begin_setup`` stores a new secret (Fernet-encrypted
with ``PERKSTAR_SECRET_KEY``) and shows it as a QR code; ``confirm_setup`` checks one code
from the app, turns it on and returns the recovery codes (shown once; only their SHA-256
hashes are stored, each usable once). Logins then need a code (``accounts.log_in``), which
``check_code`` verifies inside the login's transaction. An owner can require it for
managers (``Merchant.require_2fa_for_managers``); a manager without it is then refused at
login until an owner lifts the requirement while they set it up. Turning it on or off is
audited as ``staff-update`` (change ``two-factor-on`` / ``two-factor-off``), the
requirement as ``settings-update``.

A code is spent in one step: ``lock_user`` takes the user's row (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) before ``check_code`` reads it, so two
simultaneous logins cannot both spend one recovery code, and a TOTP code's time step is
stored (``totp_last_step``): the same code, or an older one, is not accepted again.
Turning it off (current password and a code) and new recovery codes (a code) are checked
like a login: counted by ``login_throttle`` first, audited (``two-factor-off``,
``two-factor-recovery-codes``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import segno
from sqlmodel import select

from perkstar_ui.db.engine import is_sqlite
from perkstar_ui.db.models import Merchant, StaffUser, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import security
from perkstar_ui.services import audit, login_throttle, secrets_box

ISSUER = "Perkstar"
RECOVERY_CODE_COUNT = 10
OWNER_ROLE = "owner"
MANAGER_ROLE = "manager"


class TwoFactorError(ValueError):
    """A refusal with a message fit for the user."""


@dataclass(frozen=True)
class Setup:
    secret: str  # shown for typing in by hand
    uri: str  # otpauth://
    qr_data_uri: str  # the URI as an SVG QR code


@dataclass(frozen=True)
class Status:
    enabled: bool
    recovery_codes_left: int


def _box():  # noqa: ANN202
    box = secrets_box.fernet()
    if box is None:
        raise TwoFactorError("The server has no PERKSTAR_SECRET_KEY, so two-factor sign-in cannot be "
                             "turned on; ask the administrator to set it.")
    return box


def _user(session, merchant_id: int, staff_user_id: int) -> StaffUser:  # noqa: ANN001
    user = session.exec(select(StaffUser).where(StaffUser.merchant_id == merchant_id,
                                                StaffUser.id == staff_user_id)).first()
    if user is None:
        raise TwoFactorError("No such user.")
    return user


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def status(merchant_id: int, staff_user_id: int) -> Status:
    with tenant_session(merchant_id) as session:
        user = _user(session, merchant_id, staff_user_id)
        return Status(user.totp_enabled, len(user.recovery_code_hashes or []))


def begin_setup(merchant_id: int, staff_user_id: int) -> Setup:
    box = _box()
    with tenant_session(merchant_id) as session:
        user = _user(session, merchant_id, staff_user_id)
        if user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is already on.")
        secret = pyotp.random_base32()
        user.totp_secret_enc = box.encrypt(secret.encode()).decode()
        session.commit()
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Setup(secret, uri, segno.make(uri, error="m").svg_data_uri(scale=4))


def _totp_step(user: StaffUser, code: str, now: dt.datetime) -> int | None:
    """The time step (now, or one either side for clock drift) whose code ``code`` is."""
    if not user.totp_secret_enc or not code.isdigit():
        return None
    totp = pyotp.TOTP(_box().decrypt(user.totp_secret_enc.encode()).decode())
    current = totp.timecode(now)
    return next((step for step in (current - 1, current, current + 1)
                 if hmac.compare_digest(totp.generate_otp(step), code)), None)


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]


def confirm_setup(merchant_id: int, staff_user_id: int, code: str, *, now: dt.datetime | None = None) -> list[str]:
    """Turn it on with a first code from the app; the recovery codes, to show once."""
    with tenant_session(merchant_id) as session:
        user = lock_user(session, merchant_id, staff_user_id)
        if user is None:
            raise TwoFactorError("No such user.")
        if user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is already on.")
        step = _totp_step(user, normalise_code(code), now or utcnow())
        if step is None:
            raise TwoFactorError("That code is not right; check the time on your phone and try again.")
        codes = new_recovery_codes()
        user.totp_enabled = True
        user.totp_last_step = step  # the code that turned it on does not sign in too
        user.recovery_code_hashes = [security.token_hash(normalise_code(c)) for c in codes]
        audit.record(merchant_id, audit.Action.STAFF_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"email": user.email, "change": "two-factor-on"})
        session.commit()
        return codes


def lock_user(session, merchant_id: int, staff_user_id: int) -> StaffUser | None:  # noqa: ANN001
    """Read the user for update, as the first statement of the session's transaction:
    other spenders of this user's codes wait until it ends (SQLite: BEGIN IMMEDIATE, the
    one writer; PostgreSQL: the row lock)."""
    query = select(StaffUser).where(StaffUser.merchant_id == merchant_id, StaffUser.id == staff_user_id)
    if is_sqlite(session.get_bind()):
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    else:
        query = query.with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).first()


def check_code(user: StaffUser, code: str, now: dt.datetime | None = None) -> bool:
    """A TOTP code newer than the last one accepted (its step then stored), or an unused
    recovery code (then spent). The caller has ``lock_user``-ed the row and commits."""
    code = normalise_code(code)
    step = _totp_step(user, code, now or utcnow())
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return False  # used already (a replay), or older than one that was
        user.totp_last_step = step
        return True
    digest = security.token_hash(code)
    hashes = list(user.recovery_code_hashes or [])
    if code and digest in hashes:
        hashes.remove(digest)
        user.recovery_code_hashes = hashes  # a new list: the JSON column sees the change
        return True
    return False


def _confirmed_change(merchant_id: int, staff_user_id: int, code: str, change: str,
                      apply: Callable[[StaffUser], list[str]], *, password: str | None, ip: str | None,
                      device: str | None, now: dt.datetime | None) -> list[str]:
    """Check ``password`` (unless None) and ``code`` like a login attempt (counted by the
    login throttle first, so guesses wait as at the login form; a browser whose known-device
    cookie ``device`` names the user's email is not slowed by failures on the email, as at
    the login form, so strangers failing logins there cannot block the owner), then ``apply``
    the change to the locked user and audit it in the same transaction."""
    now = now or utcnow()
    with tenant_session(merchant_id) as session:
        user = _user(session, merchant_id, staff_user_id)
        if not user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is off.")
        email, password_hash = user.email, user.password_hash
    try:
        attempt = login_throttle.reserve(email, ip, known_device=secrets_box.unsign(device) == email, now=now)
    except login_throttle.Throttled as throttled:
        raise TwoFactorError(str(throttled)) from None
    password_ok = password is None or security.verify_password(password_hash, password)  # no transaction open
    with tenant_session(merchant_id) as session:
        user = lock_user(session, merchant_id, staff_user_id)
        ok = password_ok and user is not None and user.totp_enabled and check_code(user, code, now)
        login_throttle.settle(session, attempt, ok)
        result = apply(user) if ok else []
        if ok:
            audit.record(merchant_id, audit.Action.STAFF_UPDATE, staff_user_id=staff_user_id, ip=ip,
                         session=session, detail={"email": user.email, "change": change})
        session.commit()
    if not ok:
        raise TwoFactorError("That password or code is not right." if password is not None
                             else "That code is not right.")
    return result


def _turn_off(user: StaffUser) -> list[str]:
    user.totp_enabled = False
    user.totp_secret_enc = None
    user.recovery_code_hashes = []
    user.totp_last_step = None
    return []


def _renew_recovery_codes(user: StaffUser) -> list[str]:
    codes = new_recovery_codes()
    user.recovery_code_hashes = [security.token_hash(normalise_code(c)) for c in codes]
    return codes


def disable(merchant_id: int, staff_user_id: int, password: str, code: str, *, ip: str | None = None,
            device: str | None = None, now: dt.datetime | None = None) -> None:
    """Turn it off with the current password and a code (from the app, or a recovery code);
    ``device``: the browser's known-device cookie, as ``accounts.log_in`` takes it."""
    _confirmed_change(merchant_id, staff_user_id, code, "two-factor-off", _turn_off, password=password, ip=ip,
                      device=device, now=now)


def regenerate_recovery_codes(merchant_id: int, staff_user_id: int, code: str, *, ip: str | None = None,
                              device: str | None = None, now: dt.datetime | None = None) -> list[str]:
    """Ten new recovery codes (the old ones stop working) for a code; shown once."""
    return _confirmed_change(merchant_id, staff_user_id, code, "two-factor-recovery-codes", _renew_recovery_codes,
                             password=None, ip=ip, device=device, now=now)


def required(user: StaffUser, merchant: Merchant) -> bool:
    """Must this user sign in with a code?"""
    return user.totp_enabled or (user.role == MANAGER_ROLE and merchant.require_2fa_for_managers)


def required_for_managers(merchant_id: int) -> bool:
    with tenant_session(merchant_id) as session:
        return bool(session.get(Merchant, merchant_id).require_2fa_for_managers)


def set_required_for_managers(merchant_id: int, staff_user_id: int, on: bool) -> None:
    """Owners only (checked here as well as by the caller's guard)."""
    with tenant_session(merchant_id) as session:
        if _user(session, merchant_id, staff_user_id).role != OWNER_ROLE:
            raise TwoFactorError("Only an owner can change this.")
        merchant = session.get(Merchant, merchant_id)
        if bool(merchant.require_2fa_for_managers) != bool(on):
            audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                         detail={"changed": "require_2fa_for_managers", "to": bool(on)})
        merchant.require_2fa_for_managers = on
        session.commit()
