"""The merchant's own settings on /settings: timezone (schedules, dates shown to the
merchant) and whether its sign-up collects marketing consent (services.consent)."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

from perkstar_ui.db.models import Merchant
from perkstar_ui.db.tenancy import tenant_session


class SettingsError(ValueError):
    """A refused setting; the message is shown to the merchant as is."""


@dataclass(frozen=True)
class MerchantSettings:
    timezone: str
    consent_at_signup: bool


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


def check_timezone(name: str) -> str:
    name = name.strip()
    if name not in known_timezones():
        raise SettingsError(f"Timezone “{name[:64]}” is not a known IANA zone (e.g. Europe/London).")
    return name


def get_settings(merchant_id: int) -> MerchantSettings:
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        return MerchantSettings(merchant.timezone, merchant.consent_at_signup)


def save_settings(merchant_id: int, timezone: str, consent_at_signup: bool) -> MerchantSettings:
    """Store both or neither; raises ``SettingsError`` for an unknown timezone."""
    zone = check_timezone(timezone)
    with tenant_session(merchant_id) as session:
        merchant = session.get(Merchant, merchant_id)
        merchant.timezone, merchant.consent_at_signup = zone, bool(consent_at_signup)
        session.add(merchant)
        session.commit()
        return MerchantSettings(merchant.timezone, merchant.consent_at_signup)
