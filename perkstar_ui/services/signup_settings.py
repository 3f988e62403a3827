"""The merchant's public sign-up settings (issue 14) on /settings: the rate limits (per
client address an hour, per referral code a day, per card template a day) and whether a
welcome or referral bonus waits for a confirmed phone or email. Saving records a
``settings-update`` audit entry naming what changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from perkstar_ui.db.models import Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import audit

LIMIT_MAX = 100_000
_FIELDS = {"per_ip_hour": "Sign-ups per address an hour", "per_code_day": "Sign-ups per referral link a day",
           "per_template_day": "Sign-ups per card a day"}


class SignupSettingsError(ValueError):
    """A refused value; the message is for the screen."""


@dataclass(frozen=True)
class SignupSettings:
    per_ip_hour: int = 5
    per_code_day: int = 20
    per_template_day: int = 200
    verify_contact_for_bonus: bool = False


def _view(merchant: Merchant) -> SignupSettings:
    return SignupSettings(merchant.signup_ip_per_hour, merchant.signup_code_per_day, merchant.signup_template_per_day,
                          merchant.verify_contact_for_bonus)


def get(merchant_id: int) -> SignupSettings:
    with tenant_session(merchant_id) as session:
        return _view(session.get(Merchant, merchant_id))


def parse_limit(raw: object, label: str) -> int:
    text = str(raw or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= LIMIT_MAX:
        raise SignupSettingsError(f"{label} must be a whole number from 1 to {LIMIT_MAX}.")
    return int(text)


def save(merchant_id: int, form: dict, *, staff_user_id: int | None = None) -> SignupSettings:
    """All or nothing; ``SignupSettingsError`` names the first refused value."""
    wanted = SignupSettings(**{name: parse_limit(form.get(name), label) for name, label in _FIELDS.items()},
                            verify_contact_for_bonus=bool(form.get("verify_contact_for_bonus")))
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        before = asdict(_view(merchant))
        merchant.signup_ip_per_hour, merchant.signup_code_per_day = wanted.per_ip_hour, wanted.per_code_day
        merchant.signup_template_per_day = wanted.per_template_day
        merchant.verify_contact_for_bonus = wanted.verify_contact_for_bonus
        session.add(merchant)
        changed = sorted(f"signup_{k}" for k, v in asdict(wanted).items() if before[k] != v)
        if changed:
            audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                         detail={"changed": ", ".join(changed)})
        session.commit()
        return _view(merchant)
