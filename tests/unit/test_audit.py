"""The audit trail: the append-only writer, the list (filters, paging, newest first), the
CSV stream and tenant isolation, against a real database."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from perkstar_ui.api import audit_csv
from perkstar_ui.api.guard import SESSION_COOKIE
from perkstar_ui.db.models import AuditEntry, Card, CardTemplate, CardTransaction, Customer, LoginSession, StaffUser, utcnow
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import account_formats, security
from perkstar_ui.domain.campaigns import Audience
from perkstar_ui.domain.card_rules import Action as CardAction
from perkstar_ui.domain.card_rules import IssueOptions
from perkstar_ui.domain.messages import Channel
from perkstar_ui.services import (audit, campaigns, cards, customer_records, exporting, importing, merchant_settings,
                                  rfm, staff, templates, uploads)
from perkstar_ui.services.audit import Action, AuditFilter
from perkstar_ui.services.campaign_audience import Target
from perkstar_ui.services.customer_records import CustomerInput
from perkstar_ui.services.refusals import RecordError
from tests.helpers import api_client


def _owner(merchant_id: int) -> StaffUser:
    with tenant_session(merchant_id) as session:
        return session.exec(select(StaffUser)).first()


def test_contract_action_names():
    contract = {
        "login", "login-failed", "logout", "export", "import", "import-undo", "customer-create",
        "customer-update", "customer-delete", "card-issue", "card-action", "card-correction",
        "card-delete", "template-update", "settings-update", "staff-invite", "staff-update",
        "campaign-send"}
    # the contract's names all kept, plus the configuration changes it does not name
    assert {a.value for a in Action} == contract | {"template-create", "custom-field-update", "segment-update"}


def test_record_names_the_actor_from_the_user_and_keeps_detail(merchant):
    owner = _owner(merchant)
    audit.record(merchant, Action.EXPORT, staff_user_id=owner.id, detail={"rows": 12}, ip="10.0.0.1")
    rows, total = audit.list_entries(merchant)
    assert total == 1
    assert (rows[0].action, rows[0].actor, rows[0].ip, rows[0].detail) == ("export", owner.email, "10.0.0.1", {"rows": 12})


def test_record_refuses_an_unknown_action(merchant):
    with pytest.raises(ValueError):
        audit.record(merchant, "delete-everything")
    assert audit.list_entries(merchant)[1] == 0


def test_record_in_the_callers_transaction_rolls_back_with_it(merchant):
    with tenant_session(merchant) as session:
        audit.record(merchant, Action.SETTINGS_UPDATE, actor_email="a@b.test", session=session)
        session.rollback()
    assert audit.list_entries(merchant)[1] == 0
    with tenant_session(merchant) as session:
        audit.record(merchant, Action.SETTINGS_UPDATE, actor_email="A@B.test", session=session)
        session.commit()
    rows, _ = audit.list_entries(merchant)
    assert rows[0].actor == "a@b.test"


def test_list_newest_first_filters_and_pages(merchant):
    for i in range(5):
        audit.record(merchant, Action.LOGIN, actor_email=f"u{i % 2}@shop.test")
    audit.record(merchant, Action.LOGOUT, actor_email="u0@shop.test")
    rows, total = audit.list_entries(merchant)
    assert total == 6 and rows[0].action == "logout"
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
    assert audit.list_entries(merchant, AuditFilter(actor="U0@shop.test"))[1] == 4
    assert audit.list_entries(merchant, AuditFilter(action="login"))[1] == 5
    assert audit.list_entries(merchant, AuditFilter(actor="u1@shop.test", action="logout"))[1] == 0
    page1, _ = audit.list_entries(merchant, page=1, page_size=4)
    page2, _ = audit.list_entries(merchant, page=2, page_size=4)
    assert len(page1) == 4 and len(page2) == 2
    assert not {r.id for r in page1} & {r.id for r in page2}
    assert audit.actors(merchant) == ["u0@shop.test", "u1@shop.test"]


def test_date_filter_counts_whole_utc_days(merchant):
    audit.record(merchant, Action.LOGIN, actor_email="x@shop.test")
    with tenant_session(merchant) as session:
        old = AuditEntry(merchant_id=merchant, action="login", actor_email="x@shop.test", detail={},
                         created_at=dt.datetime(2026, 1, 10, 23, 59, tzinfo=dt.timezone.utc))
        session.add(old)
        session.commit()
    day = dt.date(2026, 1, 10)
    assert audit.list_entries(merchant, AuditFilter(date_from=day, date_to=day))[1] == 1
    assert audit.list_entries(merchant, AuditFilter(date_to=day - dt.timedelta(days=1)))[1] == 0
    assert audit.list_entries(merchant, AuditFilter(date_from=day + dt.timedelta(days=1)))[1] == 1


def test_csv_stream_and_tenant_isolation(merchant, other_merchant):
    audit.record(merchant, Action.CUSTOMER_DELETE, actor_email="me@shop.test", detail={"count": 3})
    audit.record(other_merchant, Action.EXPORT, actor_email="them@shop.test")
    mine = list(audit.iter_entries(merchant))
    assert [r.action for r in mine] == ["customer-delete"]
    assert audit.csv_row(mine[0])[1:] == ["customer-delete", "me@shop.test", "", "count=3"]
    assert audit.actors(merchant) == ["me@shop.test"]
    assert audit.list_entries(other_merchant)[0][0].actor == "them@shop.test"


# --- the actions are recorded by their real code paths ------------------------------------


def _actions(merchant_id: int) -> list[tuple[str, str]]:
    return [(r.action, r.actor) for r in audit.iter_entries(merchant_id)][::-1]  # oldest first


def test_customer_and_card_paths_record_who_did_it(merchant):

    owner = _owner(merchant)
    me = owner.email
    customer = customer_records.save_customer(merchant, CustomerInput("Ada", "Lovelace"), staff_user_id=owner.id)
    customer_records.save_customer(merchant, CustomerInput("Ada", "King"), customer, staff_user_id=owner.id)
    with tenant_session(merchant) as session:
        stamp = session.exec(select(CardTemplate).where(CardTemplate.card_type == "stamp")).first()
    cards.issue_cards(merchant, [customer], stamp.id, IssueOptions(), staff_user_id=owner.id)
    with tenant_session(merchant) as session:
        card = session.exec(select(Card).where(Card.customer_id == customer)).one()
    cards.perform_action(merchant, card.id, CardAction("add-stamps", 2), staff_user_id=owner.id)
    with tenant_session(merchant) as session:
        row = session.exec(select(CardTransaction).where(CardTransaction.card_id == card.id,
                                                         CardTransaction.kind == "stamps_added")).first()
        assert row.staff_user_id == owner.id  # the ledger row names the user too
    cards.correct_transaction(merchant, row.id, staff_user_id=owner.id)
    detail = templates.load_template(merchant, stamp.id)
    templates.update_template(merchant, stamp.id, name="Coffee card", settings=detail.settings, staff_user_id=owner.id)
    customer_records.delete_card(merchant, card.id, staff_user_id=owner.id)
    customer_records.delete_customers(merchant, [customer], staff_user_id=owner.id)
    assert _actions(merchant) == [
        ("customer-create", me), ("customer-update", me), ("card-issue", me), ("card-action", me),
        ("card-correction", me), ("template-update", me), ("card-delete", me), ("customer-delete", me)]
    action = audit.list_entries(merchant, AuditFilter(action="card-action"))[0][0]
    assert action.detail["card"] == card.serial and action.detail["verb"] == "add-stamps"


def test_a_refused_change_records_nothing(merchant):

    with pytest.raises(RecordError):
        customer_records.save_customer(merchant, CustomerInput("", ""), staff_user_id=_owner(merchant).id)
    assert audit.list_entries(merchant)[1] == 0


def test_account_settings_are_checked_stored_and_audited(merchant, other_merchant):
    owner = _owner(merchant)
    stored = merchant_settings.get_settings(merchant)
    wanted = replace(stored, name="  Café   Nord ", country="us", currency="jpy", date_format="DD/MM/YYYY")
    saved = merchant_settings.save_account(merchant, wanted, staff_user_id=owner.id)
    assert (saved.name, saved.country, saved.currency, saved.date_format) == ("Café Nord", "US", "JPY", "DD/MM/YYYY")
    entry = audit.list_entries(merchant, AuditFilter(action="settings-update"))[0][0]
    assert entry.actor == owner.email and entry.detail["changed"] == "country, currency, date_format, name"
    # the country decides how a number without "+" is read
    customer = customer_records.save_customer(merchant, CustomerInput("Al", "B", phone="(202) 555-0143"))
    with tenant_session(merchant) as session:
        assert session.get(Customer, customer).phone == "+12025550143"
    for bad in (replace(saved, currency="XXX"), replace(saved, country="ZZ"), replace(saved, date_format="Y/M"),
                replace(saved, name=" ")):
        with pytest.raises(merchant_settings.SettingsError):
            merchant_settings.save_account(merchant, bad)
    assert merchant_settings.get_settings(merchant) == saved
    merchant_settings.save_account(merchant, saved)  # nothing changed: nothing recorded
    assert audit.list_entries(merchant, AuditFilter(action="settings-update"))[1] == 1
    assert merchant_settings.get_settings(other_merchant).currency == "GBP"


def test_amounts_and_dates_shown_in_the_merchants_formats():
    assert account_formats.format_amount(123456, "GBP") == "1,234.56 GBP"
    assert account_formats.format_amount(1234, "JPY") == "1,234 JPY"
    assert account_formats.format_amount(1234, "KWD") == "1.234 KWD"
    day = dt.date(2026, 3, 9)
    assert [account_formats.format_date(day, f) for f in account_formats.DATE_FORMAT_CHOICES] == [
        "2026-03-09", "09/03/2026", "03/09/2026", "09.03.2026"]


def test_import_undo_export_and_campaign_send_are_recorded(merchant):
    owner = _owner(merchant)
    token = uploads.store_upload(merchant, iter(["first_name,last_name,phone,email\nAda,L,07400 111111,ada@example.com\nBo,K,07400 111112,bo@example.com\n".encode()]))
    summary = importing.apply_import(merchant, owner.id, token, "people.csv", None)
    importing.undo_import(merchant, summary.batch_id, staff_user_id=owner.id)
    customer = customer_records.save_customer(merchant, CustomerInput("Cy", "D", email="cy@example.com"))
    _, rows = exporting.export_rows(merchant, staff_user_id=owner.id, ip="10.1.2.3")
    assert len(list(rows)) == 1
    with tenant_session(merchant) as session:
        session.get(Customer, customer).email_consent = True
        session.commit()
    campaigns.send(merchant, campaigns.Draft(Channel.EMAIL, Target(Audience.SELECTED, ids=(customer,)), "Hi", "Hello"),
                   staff_user_id=owner.id)
    by_action = {r.action: r for r in audit.iter_entries(merchant)}
    assert by_action["import"].detail["created"] == 2 and by_action["import"].actor == owner.email
    assert by_action["import-undo"].detail["removed"] == 2
    assert by_action["export"].detail["rows"] == 1 and by_action["export"].detail["complete"] is True
    assert by_action["export"].ip == "10.1.2.3"
    assert by_action["campaign-send"].detail["recipients"] == 1 and by_action["campaign-send"].actor == owner.email


# --- the CSV download ------------------------------------------------------------------------


def _cookie_for(merchant_id: int, staff_user_id: int) -> dict[str, str]:
    """A live server session for the user, as /api/session would leave it (the cookie value)."""
    token = security.new_token()
    with system_session() as session:
        session.add(LoginSession(merchant_id=merchant_id, staff_user_id=staff_user_id,
                                 token_hash=security.token_hash(token), expires_at=utcnow() + dt.timedelta(hours=1)))
        session.commit()
    return {SESSION_COOKIE: token}


def test_audit_csv_streams_the_filtered_trail_to_owners_only(merchant, other_merchant, unique):
    owner = _owner(merchant)
    audit.record(merchant, Action.LOGIN, staff_user_id=owner.id, ip="10.0.0.9")
    audit.record(merchant, Action.EXPORT, staff_user_id=owner.id, detail={"rows": 4})
    audit.record(other_merchant, Action.LOGIN, actor_email="them@shop.test")
    client = TestClient(Starlette(routes=audit_csv.ROUTES), base_url="http://localhost")
    assert client.get(audit_csv.ROUTE).status_code == 401
    client.cookies.update(_cookie_for(merchant, owner.id))
    response = client.get(audit_csv.ROUTE)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(audit.CSV_HEADER)
    assert [line.split(",")[1] for line in lines[1:]] == ["export", "login"]  # newest first, ours only
    only_logins = client.get(audit_csv.ROUTE, params={"action": "login"}).content.decode("utf-8-sig").splitlines()
    assert len(only_logins) == 2 and "10.0.0.9" in only_logins[1]
    clerk = staff.create_staff(owner.email, f"clerk-{unique}@shop.test", "long-password", "manager")
    client.cookies.clear()
    client.cookies.update(_cookie_for(merchant, clerk))
    assert client.get(audit_csv.ROUTE).status_code == 403


def test_rfm_settings_changes_are_audited(merchant):
    owner = _owner(merchant)
    rfm.save_settings(merchant, "180", "14", staff_user_id=owner.id)
    entry = audit.list_entries(merchant, AuditFilter(action="settings-update"))[0][0]
    assert (entry.actor, entry.detail["window_days"], entry.detail["new_customer_days"]) == (owner.email, 180, 14)


def test_the_export_route_records_who_exported_and_the_rows(merchant, unique):
    customer_records.save_customer(merchant, CustomerInput("Ex", "Port", email="ex@example.com"))
    client = api_client(f"owner-{unique}@shop.test")
    response = client.get("/api/customers/export.csv")
    assert response.status_code == 200 and len(response.content.decode("utf-8-sig").splitlines()) == 2
    entry = audit.list_entries(merchant, AuditFilter(action="export"))[0][0]
    assert (entry.actor, entry.detail["rows"], entry.detail["complete"]) == (f"owner-{unique}@shop.test", 1, True)
