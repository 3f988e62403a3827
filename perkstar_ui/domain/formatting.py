"""Plain-value formatting of the contract: digits, ``12.50``, ISO dates, one-decimal ratings."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from perkstar_ui.domain.card_types import BalanceUnit

STATUS_LABELS = {"installed": "Installed", "uninstalled": "Uninstalled", "deleted": "Deleted"}
DEVICE_LABELS = {"apple_wallet": "Apple Wallet", "google_wallet": "Google Wallet", "pwa": "PWA"}


def card_status_label(status: str, expires_on: dt.date | None, today: dt.date) -> str:
    """Expired is derived from the date (spec Q30) and never hides Deleted."""
    if status != "deleted" and expires_on is not None and expires_on < today:
        return "Expired"
    return STATUS_LABELS.get(status, status.capitalize())


def device_label(device: str | None) -> str:
    return DEVICE_LABELS.get(device or "", device or "")


def format_units(value: int | None, unit: BalanceUnit, *, signed: bool = False) -> str:
    """Cents and centipoints as ``12.50``; counts as digits; empty for no value."""
    if value is None or unit == BalanceUnit.NONE:
        return ""
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    magnitude = abs(value)
    if unit in (BalanceUnit.CENTS, BalanceUnit.CENTIPOINTS):
        return f"{sign}{magnitude // 100}.{magnitude % 100:02d}"
    return f"{sign}{magnitude}"


def mean_rating(total: int, count: int) -> Decimal | None:
    """Mean of ``count`` ratings summing to ``total``, half-up to one decimal; exact
    (no float average from the database), None without ratings."""
    if not count:
        return None
    return (Decimal(int(total)) / Decimal(int(count))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def rating_text(mean: Decimal | None) -> str:
    return "" if mean is None else f"{mean:.1f}"
