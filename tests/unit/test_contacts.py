"""Phone, email, date and custom-field normalisation (what the form and import share)."""

import datetime as dt

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
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_email_parts = st.text(alphabet="abcXYZ019.-_+@'é ", min_size=1, max_size=14)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_email_parts, st.builds(lambda a, b, c: f"{a}@{b}.{c}", _email_parts, _email_parts,
                                         st.sampled_from(["com", "org", "test", "c", "co-uk", "local", "io"]))))
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
