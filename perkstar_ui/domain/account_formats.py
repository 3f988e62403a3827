"""Account display settings (issue 13): currency and date format.

Currencies are the ISO 4217 codes we offer, each with its minor units (decimal places), so
amounts stored as integers of the minor unit are shown right: JPY has none, KWD three. The
table is deliberately small and explicit (no locale library is installed); adding a
currency is one line. Date formats change display only; contract value elements and
exports stay ISO (YYYY-MM-DD).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

# ISO 4217 code → minor units.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3,
    "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2,
    "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2,
    "VND": 0, "ZAR": 2,
}
CURRENCY_CHOICES: tuple[str, ...] = tuple(sorted(MINOR_UNITS))


class DateFormat(StrEnum):
    ISO = "YYYY-MM-DD"
    DAY_MONTH = "DD/MM/YYYY"
    MONTH_DAY = "MM/DD/YYYY"
    DOTTED = "DD.MM.YYYY"


_STRFTIME = {
    DateFormat.ISO: "%Y-%m-%d",
    DateFormat.DAY_MONTH: "%d/%m/%Y",
    DateFormat.MONTH_DAY: "%m/%d/%Y",
    DateFormat.DOTTED: "%d.%m.%Y",
}
DATE_FORMAT_CHOICES: tuple[str, ...] = tuple(f.value for f in DateFormat)


def check_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in MINOR_UNITS:
        raise ValueError(f"Currency “{code[:8]}” is not one we support (ISO 4217, e.g. GBP, EUR, USD).")
    return code


def check_date_format(value: str) -> DateFormat:
    try:
        return DateFormat((value or "").strip())
    except ValueError as error:
        raise ValueError(f"Date format “{(value or '')[:20]}” is not one of {', '.join(DATE_FORMAT_CHOICES)}.") from error


def format_date(day: dt.date | None, date_format: str) -> str:
    """A date for display in the merchant's format (ISO when the format is unknown)."""
    if day is None:
        return ""
    try:
        fmt = DateFormat(date_format)
    except ValueError:
        fmt = DateFormat.ISO
    return day.strftime(_STRFTIME[fmt])


def format_amount(minor: int, currency: str) -> str:
    """An integer amount of the minor unit as ``12.34 GBP`` (``1234 JPY``, ``1.234 KWD``)."""
    places = MINOR_UNITS.get(currency, 2)
    value = Decimal(minor).scaleb(-places)
    return f"{value:,.{places}f} {currency}"
