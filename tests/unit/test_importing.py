"""Import parsing and validation rules, plus property tests: random bad CSV never raises
an unhandled error and never writes partially."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perkstar_ui.domain import importing
from perkstar_ui.domain.importing import CustomFieldSpec, ImportFileError

HEADER = "first_name,last_name,phone,email,birthdate,gender,balance\n"
TODAY = dt.date(2026, 6, 1)


def check(text: str | bytes, custom=(), region="GB"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    table = importing.read_table(raw)
    mapping = importing.match_columns([str(c) for c in table.columns], list(custom))
    return importing.check_rows(table, mapping, list(custom), region, TODAY)


@pytest.mark.parametrize("encoding,prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")])
def test_encodings(encoding, prefix):
    result = check(prefix + (HEADER + "José,Müller,07400 123456,,,,\r\n").encode(encoding))
    assert [(r.first_name, r.last_name, r.phone) for r in result.rows] == [("José", "Müller", "+447400123456")]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separators(separator):
    text = HEADER.replace(",", separator) + separator.join(["Ada", "Lovelace", "", "ada@example.com", "", "", "5"]) + "\n"
    assert check(text).rows[0].email == "ada@example.com"


def test_quoted_fields_with_separators_and_line_breaks():
    result = check(HEADER + '"Ada, the first","Love\nlace",,ada@example.com,,,\n')
    assert result.rows[0].first_name == "Ada, the first" and result.rows[0].last_name == "Love lace"


def test_headers_match_case_and_spacing_insensitively():
    custom = [CustomFieldSpec("favourite-drink", "Favourite drink", "text")]
    text = " First Name ,LAST-NAME,Phone,E mail,email2,\n"
    with pytest.raises(ImportFileError, match="Unknown column"):
        check(text)
    ok = check("First Name,LAST-NAME,Phone ,EMAIL,Favourite Drink\nAda,L,,ada@example.com,Tea\n", custom)
    assert ok.rows[0].custom == {"favourite-drink": "Tea"}


def test_missing_and_unknown_columns_are_reported_together():
    with pytest.raises(ImportFileError) as refused:
        check("first_name,phone,loyalty_id\nAda,07400123456,7\n")
    assert "Missing required column(s): last_name, email." in str(refused.value)
    assert "Unknown column(s): loyalty_id." in str(refused.value)


def test_row_rules_and_line_numbers():
    text = HEADER + "\n".join([
        "Ada,Lovelace,07400 111111,ada@example.com,1990-01-31,Female,8",  # 2 ok
        ",Nofirst,07400 222222,,,,",  # 3 missing first name
        "Bad,Email,,not-an-email,,,",  # 4 bad email
        "Imp,Date,07400 333333,,1990-02-30,,",  # 5 impossible date
        "Dup,Phone,+44 7400 111111,,,,",  # 6 duplicate of row 2 by phone
        "No,Contact,,,,,",  # 7 neither phone nor email
        "Cash,Sign,07400 444444,,,,£5",  # 8 balance with currency
        "Sex,Odd,07400 555555,,,robot,",  # 9 gender
        "Fut,Ure,07400 666666,,2027-01-01,,",  # 10 future birthdate
        '"=HYPERLINK(""x"")",Formula,07400 777777,,,,',  # 11 ok: names are data
    ]) + "\n"
    result = check(text)
    assert [r.line for r in result.rows] == [2, 11]
    reasons = {r.line: r.reason for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert "First name is required" in reasons[3]
    assert "not a valid email" in reasons[4]
    assert "not a date" in reasons[5]
    assert reasons[6] == "Duplicate of row 2 (same phone)."
    assert "phone number or an email is needed" in reasons[7]
    assert "digits only" in reasons[8]
    assert "Gender" in reasons[9]
    assert "future" in reasons[10]
    assert result.rows[0].gender == "female" and result.rows[0].balance == "8"


def test_email_duplicates_in_any_case_are_caught():
    result = check(HEADER + "A,One,,Ada@Example.com,,,\nB,Two,,ada@example.COM,,,\n")
    assert result.rejected[0].reason == "Duplicate of row 2 (same email)."


def test_binary_and_empty_files_are_refused_clearly():
    with pytest.raises(ImportFileError, match="not a CSV file"):
        importing.read_table(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ImportFileError, match="empty"):
        importing.read_table(b"   \n")


def test_template_lists_the_columns_and_an_example():
    custom = [CustomFieldSpec("drink", "Drink", "choice", ("Tea", "Coffee"))]
    assert importing.template_csv_header(custom) == importing.TEMPLATE_COLUMNS + ["drink"]
    example = importing.template_example(custom)
    assert example[-1] == "Tea" and example[0] == "Ada"


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cells, min_size=0, max_size=9), max_size=8), st.sampled_from([",", ";", "\t"]))
def test_random_files_never_raise_anything_but_a_clear_file_error(rows, separator):
    text = "\n".join(separator.join(row) for row in [["first_name", "last_name", "phone", "email"], *rows])
    try:
        result = check(text)
    except ImportFileError:
        return
    # Unquoted line breaks inside a cell start new records, as CSV says.
    assert len(result.rows) + len(result.rejected) <= text.count("\n") + text.count("\r")
    for rejection in result.rejected:
        assert rejection.reason and rejection.line >= 2


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_a_clear_file_error(raw):
    try:
        check(raw)
    except ImportFileError:
        pass

