"""Customer contact data: parsing and normalising what merchants type.

Phones become E.164 with ``phonenumbers`` (numbers without ``+`` are read in the
merchant's default country); emails are checked with ``email-validator`` and stored
lower-case; dates of birth must be real and not in the future. Every error is a
``ValueError`` whose message is shown to the merchant as is.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
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
    fast = fast_e164(text, default_region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{raw}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"“{raw}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- the phone fast path ----------------------------------------------------------------
# ``phonenumbers`` spends ~30 µs a number (parse, then the region and type look-ups done
# twice). For the shapes merchants actually type (digits with spaces, hyphens, dots or
# one bracketed group; optionally a leading "+") the same steps are replayed below on the
# library's own metadata with precompiled patterns, in a few µs. The fast path only ever
# answers "valid, and this is its E.164"; anything unusual (an international or trunk
# prefix it would have to interpret, Italian leading zeros, a transform rule, an invalid
# number...) returns None and the library decides, so errors and their messages are
# unchanged. tests/unit/test_contacts.py checks it against the library with hypothesis.

# One digit (or one bracketed group) per repetition: no two ways to match a text, so no
# catastrophic backtracking on hostile input.
_SIMPLE_PHONE = re.compile(r"\+?(?:[0-9]|\([0-9]+\))(?:[ .\-]?(?:[0-9]|\([0-9]+\)))*")
_NOT_DIGITS = str.maketrans("", "", "+ .-()")


def _digit_lengths(lengths: tuple[int, ...]) -> str | None:
    """A lookahead for ``len(number) in lengths`` (None: no constraint); ``"(?!)"`` if none can match."""
    if not lengths:
        return None
    real = sorted(n for n in lengths if n > 0)
    return "(?=(?:" + "|".join(f"[0-9]{{{n}}}" for n in real) + r")\Z)" if real else "(?!)"


def _desc_alternative(desc) -> str | None:  # noqa: ANN001
    """``_is_number_matching_desc`` as one regex alternative (possible lengths, then the pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = _digit_lengths(tuple(desc.possible_length or ()))
    return f"{lengths or ''}(?:{desc.national_number_pattern})\\Z"


_TYPE_PATTERNS: dict[int, tuple[object, re.Pattern[str]]] = {}


def _has_type(metadata) -> re.Pattern[str]:  # noqa: ANN001
    """One pattern that fullmatches exactly when ``_number_type_helper`` is not UNKNOWN
    (metadata objects are not hashable: cached by identity, the object kept alive)."""
    cached = _TYPE_PATTERNS.get(id(metadata))
    if cached is None or cached[0] is not metadata:
        cached = _TYPE_PATTERNS[id(metadata)] = (metadata, _type_pattern(metadata))
    return cached[1]


def _type_pattern(metadata) -> re.Pattern[str]:  # noqa: ANN001
    general = _desc_alternative(metadata.general_desc)
    if general is None:
        return re.compile("(?!)")
    descs = [metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
             metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail, metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    alternatives = [a for a in map(_desc_alternative, descs) if a is not None]
    if not alternatives:
        return re.compile("(?!)")
    return re.compile(f"(?={general})(?:" + "|".join(f"(?:{a})" for a in alternatives) + ")")


@dataclass(frozen=True)
class _Country:
    """What parsing and validation need to know about one calling code (cached)."""
    code: int
    prefix: str  # "+44"
    general: re.Pattern[str]  # the general description's pattern (no length check)
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing
    lengths: tuple[int, ...]  # general possible lengths, sorted
    local_lengths: frozenset[int]
    regions: tuple[tuple[str, re.Pattern[str] | None, re.Pattern[str], re.Pattern[str] | None], ...]
    # (region, leading digits, type pattern used to pick the region, type pattern that
    # validates for it or None when the region cannot validate this calling code)


@functools.lru_cache(maxsize=512)
def _country(code: int) -> _Country | None:
    """None when the fast path cannot replay the library for this calling code."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions or phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY in regions:
        return None
    main = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    if metadata is None or not metadata.general_desc or not metadata.general_desc.national_number_pattern:
        return None
    if metadata.national_prefix_transform_rule:
        return None  # rewriting rules (e.g. Argentina's mobile 15): left to the library
    lengths = tuple(sorted(metadata.general_desc.possible_length or ()))
    if not lengths:
        return None
    picks = []
    for region in regions:
        region_metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if region_metadata is None:
            continue
        checking = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
        valid = (
            _has_type(checking)
            if checking is not None and phonenumbers.country_code_for_valid_region(region) == code else None
        )
        leading = re.compile(region_metadata.leading_digits) if region_metadata.leading_digits is not None else None
        picks.append((region, leading, _has_type(region_metadata), valid))
    return _Country(
        code, f"+{code}", re.compile(metadata.general_desc.national_number_pattern),
        re.compile(metadata.national_prefix_for_parsing) if metadata.national_prefix_for_parsing else None,
        lengths, frozenset(metadata.general_desc.possible_length_local_only or ()), tuple(picks),
    )


@functools.lru_cache(maxsize=256)
def _home(region: str) -> tuple[_Country, re.Pattern[str] | None] | None:
    """The default region's calling code and its international (IDD) prefix."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None) if region else None
    if metadata is None or not metadata.country_code:
        return None
    if phonenumbers.region_code_for_country_code(metadata.country_code) != region.upper():
        return None  # e.g. Jersey on +44: the library would read with Jersey's own rules
    country = _country(metadata.country_code)
    if country is None:
        return None
    idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None
    return country, idd


def fast_e164(text: str, default_region: str) -> str | None:
    """The E.164 form the library would give ``text`` (already stripped, ``00`` → ``+``)
    when it is a valid number of a common shape; None means "ask the library"."""
    if len(text) > 40 or not _SIMPLE_PHONE.fullmatch(text):
        return None
    digits = text.translate(_NOT_DIGITS)
    if text[0] == "+":
        # _maybe_extract_country_code with a plus sign: the first known 1-3 digit code.
        if len(digits) <= 2 or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            code = int(digits[:size])
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        country = _country(code)
        national = digits[size:]
    else:
        home = _home(default_region)
        if home is None:
            return None
        country, idd = home
        if (idd is not None and idd.match(digits)) or digits.startswith(str(country.code)):
            return None  # an IDD or a country code without "+": the library's trickier branches
        national = digits
    if country is None or len(national) < 2:
        return None
    # _maybe_strip_national_prefix_carrier_code, then keep the stripped form when
    # _test_number_length says it is not too short / local-only / of an invalid length.
    if country.national_prefix is not None:
        match = country.national_prefix.match(national)
        if match:
            if match.groups() and match.groups()[-1] is not None:
                return None  # a carrier code: left to the library
            stripped = national[match.end():]
            if stripped and not (country.general.fullmatch(national) and not country.general.fullmatch(stripped)):
                size = len(stripped)
                lengths = country.lengths
                if size not in country.local_lengths and (
                    size == lengths[0] or (size > lengths[0] and (size > lengths[-1] or size in lengths[1:]))
                ):
                    national = stripped
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None  # Italian leading zeros and odd lengths: the library
    # is_valid_number: pick the region as region_code_for_number does, then validate.
    for _region, leading, picks, valid in country.regions:
        if leading is not None:
            if not leading.match(national):
                continue
        elif len(country.regions) > 1:
            if not picks.fullmatch(national):
                continue
            if valid is picks:  # the same metadata: already known to be valid
                return country.prefix + national
        return country.prefix + national if valid is not None and valid.fullmatch(national) else None
    return None


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
        and "--" not in domain  # "ab--c" labels are reserved by IDNA (xn--…): the library decides
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
