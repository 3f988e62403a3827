"""Customer contact data: parsing and normalising what merchants type.

Phones become E.164 with ``phonenumbers`` (numbers without ``+`` are read in the
merchant's default country); emails are checked with ``email-validator`` and stored
lower-case; dates of birth must be real and not in the future. Every error is a
``ValueError`` whose message is shown to the merchant as is.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import phonenumbers
from email_validator import EmailNotValidError, validate_email

FIELD_TYPES = ("text", "number", "date", "choice")
NAME_MAX = 100


def normalise_phone(raw: str | None, default_region: str = "GB") -> str | None:
    """E.164 for a valid number, None for blank input; ValueError otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{raw}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"“{raw}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(raw: str) -> bool:
    return re.fullmatch(r"[\d\s()+.\-]{6,}", raw.strip()) is not None


def phone_search_key(raw: str, default_region: str | Callable[[], str] = "GB") -> str | None:
    """The E.164 form of a search term that is a complete phone number, else None.

    ``default_region`` may be a callable, so it is looked up only for phone-like terms.
    """
    if not looks_like_phone(raw):
        return None
    region = default_region() if callable(default_region) else default_region
    try:
        return normalise_phone(raw, region)
    except ValueError:
        return None


# Plain ASCII addresses that email-validator accepts as they are, checked in a few
# microseconds; everything else (IDN, quoted parts, odd shapes) goes to the library.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = tuple(f".{name}" for name in ("arpa", "invalid", "local", "localhost", "onion", "test"))


def normalise_email(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    local, _, domain = text.rpartition("@")
    if (
        len(text) <= 254 and len(local) <= 64 and _PLAIN_EMAIL.fullmatch(text)
        and not ("." + domain.lower()).endswith(_SPECIAL_USE)
    ):
        return text.lower()
    try:
        # No DNS lookups: a café's laptop may be offline and the check must be instant.
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"“{text}” is not a valid email: {error}") from None
    return result.normalized.lower()


def parse_birthdate(raw: str | dt.date | None, today: dt.date | None = None) -> dt.date | None:
    if raw is None or raw == "":
        return None
    today = today or dt.date.today()
    if isinstance(raw, dt.date):
        value = raw
    else:
        try:
            value = dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(f"“{raw}” is not a date (use YYYY-MM-DD).") from None
    if value > today:
        raise ValueError("The date of birth cannot be in the future.")
    if value.year < 1900:
        raise ValueError("The date of birth is before 1900.")
    return value


def clean_name(raw: str | None, label: str) -> str:
    text = " ".join((raw or "").split())
    if not text:
        raise ValueError(f"{label} is required.")
    if len(text) > NAME_MAX:
        raise ValueError(f"{label} is longer than {NAME_MAX} characters.")
    return text


def parse_custom_value(field_type: str, label: str, raw: str | None, choices: list[str] | None = None) -> str | None:
    """The stored text of a custom field value (canonical per type), None when blank."""
    text = (raw or "").strip()
    if not text:
        return None
    if field_type == "number":
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"{label} must be a number.") from None
        if not number.is_finite():
            raise ValueError(f"{label} must be a number.")
        return format(number.normalize(), "f")
    if field_type == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{label} must be a date (YYYY-MM-DD).") from None
    if field_type == "choice":
        if text not in (choices or []):
            raise ValueError(f"{label} must be one of: {', '.join(choices or [])}.")
        return text
    if len(text) > 500:
        raise ValueError(f"{label} is longer than 500 characters.")
    return text


def field_key(label: str) -> str:
    """A stable, test-id-safe key from a display name: ``Favourite drink`` → ``favourite-drink``."""
    key = re.sub(r"[^a-z0-9]+", "-", label.strip().lower()).strip("-")
    if not key:
        raise ValueError("A field name needs at least one letter or digit.")
    return key[:40]


def search_fold(text: str) -> str:
    """Case- and accent-insensitive form for search: ``José Müller`` → ``jose muller``."""
    if text.isascii():  # most names: no accents to strip, and casefold == lower
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def search_text(first: str, last: str, email: str | None, phone: str | None, folded_name: str | None = None) -> str:
    """Everything the grid search matches, folded into one indexed column."""
    digits = phone[1:] if phone and phone.startswith("+") and phone[1:].isdigit() else "".join(c for c in (phone or "") if c.isdigit())
    name = folded_name if folded_name is not None else search_fold(f"{first} {last}")
    return " ".join(part for part in (name, (email or "").lower(), digits) if part)


def search_pattern(term: str) -> str:
    """The folded fragment a search term looks for inside ``search_text``."""
    if re.fullmatch(r"[\d\s()+.\-]+", term.strip()):
        return "".join(c for c in term if c.isdigit())
    return search_fold(term)
