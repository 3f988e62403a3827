"""Consent columns of the import (sms_consent, email_consent) and of the export."""

from __future__ import annotations

import csv
import io

import pytest

from perkstar_ui.api.csv_stream import csv_lines
from perkstar_ui.db.models import Customer
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import importing as domain
from perkstar_ui.services import consent, exporting, importing, uploads
from tests.helpers import add_customer

HEADER = "first_name,last_name,phone,email,sms_consent,email_consent\n"


def _consent_by_phone(merchant_id: int) -> dict[str, tuple[bool, bool]]:
    with tenant_session(merchant_id) as session:
        return {c.phone: (c.sms_consent, c.email_consent) for c in session.query(Customer).all()}


def _import(merchant_id: int, text: str) -> importing.Summary:
    token = uploads.store_upload(merchant_id, iter([text.encode("utf-8")]))
    return importing.apply_import(merchant_id, None, token, "people.csv", None)


@pytest.mark.parametrize(("cell", "value"), [
    ("yes", True), ("YES", True), ("y", True), ("true", True), ("True", True), ("1", True),
    ("no", False), ("No", False), ("n", False), ("false", False), ("0", False), ("", None),
])
def test_consent_cells_are_read_as_yes_no(cell, value):
    table = domain.read_table(f"{HEADER}Ada,Lovelace,07400111111,,{cell},{cell}\n".encode())
    mapping = domain.match_columns(list(table.columns), [])
    checked = domain.check_rows(table, mapping, [], "GB")
    assert not checked.rejected
    assert (checked.rows[0].sms_consent, checked.rows[0].email_consent) == (value, value)


def test_a_bad_consent_cell_rejects_the_row_naming_the_column():
    table = domain.read_table(f"{HEADER}Ada,Lovelace,07400111111,,maybe,yes\nBob,Babbage,07400222222,,no,\n".encode())
    checked = domain.check_rows(table, domain.match_columns(list(table.columns), []), [], "GB")
    assert [(r.line, r.reason) for r in checked.rejected] == [(2, "SMS consent “maybe” must be yes or no.")]
    assert [(r.first_name, r.sms_consent, r.email_consent) for r in checked.rows] == [("Bob", False, None)]


def test_files_without_the_columns_leave_consent_unstated():
    table = domain.read_table(b"first_name,last_name,phone,email\nAda,Lovelace,07400111111,\n")
    checked = domain.check_rows(table, domain.match_columns(list(table.columns), []), [], "GB")
    assert (checked.rows[0].sms_consent, checked.rows[0].email_consent) == (None, None)


def test_import_creates_with_the_stated_consent_and_blank_means_no(merchant):
    summary = _import(merchant, HEADER + "Ada,Lovelace,07400111111,,yes,no\nBob,Babbage,07400222222,,,1\n")
    assert summary.text == "Created 2, updated 0, rejected 0"
    assert _consent_by_phone(merchant) == {"+447400111111": (True, False), "+447400222222": (False, True)}


def test_import_updates_stated_consent_keeps_blank_and_undo_restores(merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", "07400111111")
    bob = add_customer(merchant, "Bob", "Babbage", "07400222222")
    cyd = add_customer(merchant, "Cyd", "Charisse", "07400333333")
    consent.set_consent(merchant, ada, False, True)
    consent.set_consent(merchant, bob, True, True)
    consent.set_consent(merchant, cyd, True, False)
    text = HEADER + ("Ada,Lovelace,07400111111,,yes,no\n"  # grants SMS, withdraws email
                     "Bob,Babbage,07400222222,,,\n"  # blank: unchanged
                     "Cyd,Charisse,07400333333,,yes,no\n")  # as stored: unchanged
    token = uploads.store_upload(merchant, iter([text.encode()]))
    preview = importing.preview(merchant, token, None)
    assert (preview.create, preview.update, preview.unchanged) == (0, 1, 2)
    summary = importing.apply_import(merchant, None, token, "people.csv", None)
    assert _consent_by_phone(merchant) == {
        "+447400111111": (True, False), "+447400222222": (True, True), "+447400333333": (True, False),
    }
    importing.undo_import(merchant, summary.batch_id)
    assert _consent_by_phone(merchant)["+447400111111"] == (False, True)


def test_template_lists_and_export_writes_consent_as_yes_no(merchant, other_merchant):
    header, example = importing.template_rows(merchant)
    assert header[-2:] == ["sms_consent", "email_consent"]
    assert example[-2:] == ["yes", "no"]
    ada = add_customer(merchant, "Ada", "Lovelace", "07400111111")
    add_customer(merchant, "Bob", "Babbage", "07400222222")
    add_customer(other_merchant, "Eve", "Other", "07400999999")
    consent.set_consent(merchant, ada, True, False)
    header, rows = exporting.export_rows(merchant)
    table = list(csv.reader(io.StringIO(b"".join(csv_lines(header, rows)).decode("utf-8").lstrip("\ufeff"))))
    column = {name: table[0].index(name) for name in ("Phone", "SMS consent", "Email consent")}
    assert {r[column["Phone"]]: (r[column["SMS consent"]], r[column["Email consent"]]) for r in table[1:]} == {
        "+447400111111": ("yes", "no"), "+447400222222": ("no", "no"),
    }


def test_an_exported_file_imports_back_with_its_consent(merchant, other_merchant):
    ada = add_customer(merchant, "Ada", "Lovelace", "07400111111")
    consent.set_consent(merchant, ada, True, False)
    header, rows = exporting.export_rows(merchant)
    table = list(csv.reader(io.StringIO(b"".join(csv_lines(header, rows)).decode("utf-8").lstrip("\ufeff"))))
    wanted = ["First name", "Last name", "Phone", "Email", "SMS consent", "Email consent"]
    picked = [[row[table[0].index(name)] for name in wanted] for row in table]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(picked)
    _import(other_merchant, buffer.getvalue())
    assert _consent_by_phone(other_merchant) == {"+447400111111": (True, False)}
