"""The merchant's own settings on /settings: business name, country (how a phone typed
without "+" is read), timezone (schedules, dates shown to the merchant), currency (ISO 4217,
shown with its minor units), date format (display only) and whether its sign-up collects
marketing consent (services.consent). Saving records a ``settings-update`` audit entry
naming the fields that changed."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import asdict, dataclass

import phonenumbers

from perkstar_ui.db.models import Merchant
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import account_formats
from perkstar_ui.services import audit

NAME_MAX = 120


class SettingsError(ValueError):
    """A refused setting; the message is shown to the merchant as is."""


@dataclass(frozen=True)
class MerchantSettings:
    timezone: str
    consent_at_signup: bool
    name: str = ""
    country: str = "GB"
    currency: str = "GBP"
    date_format: str = account_formats.DateFormat.ISO.value


@functools.cache
def known_timezones() -> frozenset[str]:
    """Every IANA name this machine's tz database knows (accepted when saved)."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def timezone_choices() -> tuple[str, ...]:
    """The select's options: UTC, then the canonical Area/City zones, sorted (the old
    aliases such as ``GB`` or ``US/Eastern`` are accepted but not offered)."""
    regional = (name for name in known_timezones() if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")))
    return ("UTC", *sorted(regional))


@functools.cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(ISO 3166 code, label with its calling code) for every region phonenumbers knows."""
    return tuple((code, f"{code} (+{phonenumbers.country_code_for_region(code)})")
                 for code in sorted(phonenumbers.SUPPORTED_REGIONS))


def check_timezone(name: str) -> str:
    name = name.strip()
    if name not in known_timezones():
        raise SettingsError(f"Timezone “{name[:64]}” is not a known IANA zone (e.g. Europe/London).")
    return name


def check_country(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(f"Country “{code[:8]}” is not an ISO 3166 region code (e.g. GB, US, DE).")
    return code


def check_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise SettingsError("The business name is required.")
    if len(cleaned) > NAME_MAX:
        raise SettingsError(f"The business name has at most {NAME_MAX} characters.")
    return cleaned


def _view(merchant: Merchant) -> MerchantSettings:
    return MerchantSettings(merchant.timezone, merchant.consent_at_signup, merchant.name, merchant.default_country,
                            merchant.currency, merchant.date_format)


def get_settings(merchant_id: int) -> MerchantSettings:
    with tenant_session(merchant_id) as session:
        return _view(session.get(Merchant, merchant_id))


def _checked(wanted: MerchantSettings) -> MerchantSettings:
    try:
        currency = account_formats.check_currency(wanted.currency)
        date_format = account_formats.check_date_format(wanted.date_format).value
    except ValueError as error:
        raise SettingsError(str(error)) from None
    return MerchantSettings(check_timezone(wanted.timezone), bool(wanted.consent_at_signup), check_name(wanted.name),
                            check_country(wanted.country), currency, date_format)


def save_account(merchant_id: int, wanted: MerchantSettings, *, staff_user_id: int | None = None) -> MerchantSettings:
    """Store all or nothing; raises ``SettingsError`` naming the first refused value."""
    checked = _checked(wanted)
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        before = asdict(_view(merchant))
        merchant.timezone, merchant.consent_at_signup = checked.timezone, checked.consent_at_signup
        merchant.name, merchant.default_country = checked.name, checked.country
        merchant.currency, merchant.date_format = checked.currency, checked.date_format
        session.add(merchant)
        changed = sorted(key for key, value in asdict(checked).items() if before[key] != value)
        if changed:
            audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                         detail={"changed": ", ".join(changed)})
        session.commit()
        return _view(merchant)


def save_settings(merchant_id: int, timezone: str, consent_at_signup: bool, *,
                  staff_user_id: int | None = None) -> MerchantSettings:
    """Timezone and consent only, the rest as stored; raises ``SettingsError``."""
    stored = get_settings(merchant_id)
    wanted = MerchantSettings(timezone, consent_at_signup, stored.name, stored.country, stored.currency,
                              stored.date_format)
    return save_account(merchant_id, wanted, staff_user_id=staff_user_id)
