"""Phone, email, date and custom-field normalisation (what the form and import share)."""

import datetime as dt
import re

import pytest

from perkstar_ui.domain import contacts
from perkstar_ui.domain.csv_safety import neutralise
from perkstar_ui.domain.deletion import customer_deletion_refusal
from perkstar_ui.domain.formatting import card_status_label, format_units
from perkstar_ui.domain.card_types import BalanceUnit


@pytest.mark.parametrize(
    "raw,region,expected",
    [
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", "GB", "+447400123456"),
        ("(07400) 123-456", "GB", "+447400123456"),
        ("0044 7400 123456", "US", "+447400123456"),
        ("+1 (415) 555-2671", "GB", "+14155552671"),
        ("415 555 2671", "US", "+14155552671"),
        ("", "GB", None),
        ("   ", "GB", None),
    ],
)
def test_phones_become_e164(raw, region, expected):
    assert contacts.normalise_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "call me", "+44 123", "07400 1234564567"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(ValueError, match="phone number"):
        contacts.normalise_phone(raw, "GB")


def test_phone_search_key_only_for_whole_numbers():
    assert contacts.phone_search_key("07400-123-456") == "+447400123456"
    assert contacts.phone_search_key("900") is None
    assert contacts.phone_search_key("Ada") is None


@pytest.mark.parametrize("raw,expected", [("Ada@Example.COM ", "ada@example.com"), ("", None), (None, None)])
def test_emails_are_normalised(raw, expected):
    assert contacts.normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["ada", "ada@", "@example.com", "ada@@example.com", "ada example@x.com"])
def test_bad_emails_are_refused(raw):
    with pytest.raises(ValueError, match="not a valid email"):
        contacts.normalise_email(raw)


def test_birthdates():
    today = dt.date(2026, 6, 1)
    assert contacts.parse_birthdate("1990-02-28", today) == dt.date(1990, 2, 28)
    assert contacts.parse_birthdate("", today) is None
    with pytest.raises(ValueError, match="future"):
        contacts.parse_birthdate("2026-06-02", today)
    with pytest.raises(ValueError, match="not a date"):
        contacts.parse_birthdate("1990-02-30", today)
    with pytest.raises(ValueError, match="before 1900"):
        contacts.parse_birthdate("1850-01-01", today)


def test_names_are_required_and_tidied():
    assert contacts.clean_name("  Ada   May ", "First name") == "Ada May"
    with pytest.raises(ValueError, match="First name is required"):
        contacts.clean_name("  ", "First name")


@pytest.mark.parametrize(
    "field_type,raw,expected",
    [("number", "12,50", "12.5"), ("number", "007", "7"), ("date", "2026-01-31", "2026-01-31"),
     ("choice", "Oat", "Oat"), ("text", " hi ", "hi"), ("text", "", None)],
)
def test_custom_values_are_stored_canonically(field_type, raw, expected):
    assert contacts.parse_custom_value(field_type, "Field", raw, ["Oat", "Soy"]) == expected


@pytest.mark.parametrize(
    "field_type,raw,message",
    [("number", "twelve", "must be a number"), ("number", "NaN", "must be a number"),
     ("date", "31/01/2026", "must be a date"), ("choice", "Cow", "must be one of: Oat, Soy")],
)
def test_bad_custom_values_are_refused(field_type, raw, message):
    with pytest.raises(ValueError, match=message):
        contacts.parse_custom_value(field_type, "Field", raw, ["Oat", "Soy"])


def test_search_fold_ignores_case_and_accents():
    assert contacts.search_fold("  José   MÜLLER ") == "jose muller"
    assert contacts.field_key("Favourite drink!") == "favourite-drink"


def test_installed_cards_block_deletion():
    assert customer_deletion_refusal([]) is None
    assert customer_deletion_refusal(["uninstalled", "deleted"]) is None
    assert "Delete the card first" in customer_deletion_refusal(["deleted", "installed"])


def test_status_and_units_formatting():
    today = dt.date(2026, 6, 1)
    assert card_status_label("installed", dt.date(2026, 5, 31), today) == "Expired"
    assert card_status_label("deleted", dt.date(2026, 5, 31), today) == "Deleted"
    assert card_status_label("uninstalled", today, today) == "Uninstalled"
    assert format_units(1250, BalanceUnit.CENTS) == "12.50"
    assert format_units(-5, BalanceUnit.CENTIPOINTS, signed=True) == "-0.05"
    assert format_units(3, BalanceUnit.COUNT, signed=True) == "+3"
    assert format_units(0, BalanceUnit.NONE) == ""


@pytest.mark.parametrize("cell,expected", [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd", "'+cmd"),
                                           ("-2+3", "'-2+3"), ("\tx", "'\tx"), ("-12.50", "-12.50"), ("Ada", "Ada")])
def test_csv_cells_are_neutralised(cell, expected):
    assert neutralise(cell) == expected


from email_validator import EmailNotValidError, validate_email  # noqa: E402
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_email_parts = st.text(alphabet="abcXYZ019.-_+@'é ", min_size=1, max_size=14)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_email_parts, st.builds(lambda a, b, c: f"{a}@{b}.{c}", _email_parts, _email_parts,
                                         st.sampled_from(["com", "org", "test", "c", "co-uk", "local", "io"]))))
@example("0@00--0.com")  # IDNA-reserved "--" in the 3rd/4th place: found by this test once
def test_the_fast_email_path_agrees_with_email_validator(text):
    try:
        expected = validate_email(text.strip(), check_deliverability=False).normalized.lower() if text.strip() else None
    except EmailNotValidError:
        expected = "invalid"
    try:
        actual = contacts.normalise_email(text)
    except ValueError:
        actual = "invalid"
    assert actual == expected


import phonenumbers  # noqa: E402

_REGIONS = ["GB", "US", "CA", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "IE", "AU", "NZ", "IN", "BR", "MX", "AR",
            "JP", "CN", "RU", "KZ", "ZA", "NG", "GG", "JE", "IM", "SE", "NO", "DK", "PL", "PT", "SG", "HK", "AE", "IL",
            "KR", "SM", "VA", "CI", "XX"]


def _library_phone(text: str, region: str) -> str:
    """normalise_phone as it was before the fast path: the library alone."""
    text = text.strip()
    if not text:
        return "blank"
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return "not a number"
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(text: str, region: str) -> str:
    try:
        result = contacts.normalise_phone(text, region)
    except ValueError as error:
        return "not a number" if "is not a phone number" in str(error) else "invalid"
    return "blank" if result is None else result


def _example_texts(region: str) -> list[str]:
    texts = []
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                 phonenumbers.PhoneNumberType.TOLL_FREE):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            for style in (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                          phonenumbers.PhoneNumberFormat.E164):
                texts.append(phonenumbers.format_number(number, style))
    return texts


_separators = st.sampled_from(["", "", " ", "-", ".", "(", ")", "  ", "/"])
_digit_runs = st.text(alphabet="0123456789", min_size=1, max_size=5)
_prefixes = st.sampled_from(["", "", "+", "0", "00", "+44", "+44 (0)", "0044", "+1", "1", "+33", "+39 0", "+7", "+49",
                             "+61", "+353", "+800", "+882", "+54 9", "+", "011", "44", "(", "+(44)"])
_typed_phone = st.builds(lambda prefix, runs, seps: prefix + "".join(r + s for r, s in zip(runs, seps)),
                         _prefixes, st.lists(_digit_runs, min_size=1, max_size=6), st.lists(_separators, min_size=6, max_size=6))
_mutated_example = st.builds(
    lambda region, index, cut, digit: (lambda texts: (texts[index % len(texts)][: max(0, len(texts[index % len(texts)]) - cut)] + digit) if texts else "")(_example_texts(region)),
    st.sampled_from(_REGIONS[:-1]), st.integers(0, 20), st.integers(0, 3), st.sampled_from(["", "", "0", "7", "9"]))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_typed_phone, _mutated_example, st.text(alphabet="0123456789 +-.()", max_size=22)),
       st.sampled_from(_REGIONS))
def test_the_fast_phone_path_agrees_with_phonenumbers(text, region):
    stripped = text.strip()
    fast = contacts.fast_e164("+" + stripped[2:] if stripped.startswith("00") else stripped, region) if stripped else None
    expected = _library_phone(text, region)
    if fast is not None:
        assert fast == expected
    assert _ours(text, region) == expected


@pytest.mark.parametrize("region", ["GB", "US", "DE", "FR", "ES", "NL", "AU", "IE", "CH", "IN", "SE", "PL"])
def test_the_fast_phone_path_covers_everyday_numbers(region):
    texts = [t for t in _example_texts(region) if _library_phone(t, region).startswith("+")]
    for text in texts:
        assert contacts.normalise_phone(text, region) == _library_phone(text, region)
    hits = [t for t in texts if contacts.fast_e164(t, region) is not None]
    assert len(hits) >= len(texts) * 0.8, (region, sorted(set(texts) - set(hits)))
    for text in ("07400 123456", "+44 7400 123456", "(07400) 123456", "07400-123-456", "+1 (415) 555-2671"):
        assert contacts.fast_e164(text, "GB") == _library_phone(text, "GB")


def _neutralise_as_before(cell):
    text = "" if cell is None else str(cell)
    if text.startswith(("=", "+", "-", "@", "\t", "\r")) and not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return "'" + text
    return text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(), st.text(alphabet="=+-@\t\r1.2a ' ", max_size=6), st.text(max_size=4))))
def test_safe_row_neutralises_like_the_cell_rule(cells):
    from perkstar_ui.domain.csv_safety import safe_row

    assert safe_row(cells) == [_neutralise_as_before(c) for c in cells] == [neutralise(c) for c in cells]
