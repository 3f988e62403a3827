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
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlmodel import select

from perkstar_ui.db.models import Merchant, StaffUser
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import security
from perkstar_ui.services import audit, secrets_box

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


def _totp_ok(user: StaffUser, code: str) -> bool:
    if not user.totp_secret_enc or not code.isdigit():
        return False
    secret = _box().decrypt(user.totp_secret_enc.encode()).decode()
    return pyotp.TOTP(secret).verify(code, valid_window=1)


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]


def confirm_setup(merchant_id: int, staff_user_id: int, code: str) -> list[str]:
    """Turn it on with a first code from the app; the recovery codes, to show once."""
    with tenant_session(merchant_id) as session:
        user = _user(session, merchant_id, staff_user_id)
        if user.totp_enabled:
            raise TwoFactorError("Two-factor sign-in is already on.")
        if not _totp_ok(user, normalise_code(code)):
            raise TwoFactorError("That code is not right; check the time on your phone and try again.")
        codes = new_recovery_codes()
        user.totp_enabled = True
        user.recovery_code_hashes = [security.token_hash(normalise_code(c)) for c in codes]
        audit.record(merchant_id, audit.Action.STAFF_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"email": user.email, "change": "two-factor-on"})
        session.commit()
        return codes


def check_code(user: StaffUser, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (then spent: the caller commits)."""
    code = normalise_code(code)
    if _totp_ok(user, code):
        return True
    digest = security.token_hash(code)
    hashes = list(user.recovery_code_hashes or [])
    if code and digest in hashes:
        hashes.remove(digest)
        user.recovery_code_hashes = hashes  # a new list: the JSON column sees the change
        return True
    return False


def disable(merchant_id: int, staff_user_id: int, code: str) -> None:
    with tenant_session(merchant_id) as session:
        user = _user(session, merchant_id, staff_user_id)
        if not user.totp_enabled:
            return
        if not check_code(user, code):
            raise TwoFactorError("That code is not right.")
        user.totp_enabled = False
        user.totp_secret_enc = None
        user.recovery_code_hashes = []
        audit.record(merchant_id, audit.Action.STAFF_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"email": user.email, "change": "two-factor-off"})
        session.commit()


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
