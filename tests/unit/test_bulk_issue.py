"""The bulk-issue dialog's service: which settings apply, parsing, expiry override, tenancy."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from perkstar_ui.db.models import Card, CardTemplate, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain.card_rules import IssueOptions, Unit
from perkstar_ui.domain.card_types import STARTER_TEMPLATE_NAMES, CardType, validate_settings
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import bulk_issue, cards, importing
from perkstar_ui.services.bulk_issue import IssueRequest
from perkstar_ui.services.customer_filters import Selection
from tests.helpers import add_customer

TODAY = dt.date(2026, 3, 1)


def _template(merchant_id: int, card_type: str, **settings) -> int:  # noqa: ANN003
    with tenant_session(merchant_id) as session:
        template = session.exec(select(CardTemplate).where(CardTemplate.card_type == card_type)).first()
        if settings:
            template.settings = validate_settings(card_type, {**template.settings, **settings}).model_dump(mode="json")
            session.add(template)
            session.commit()
        return template.id


def _cards(merchant_id: int, template_id: int) -> list[Card]:
    with tenant_session(merchant_id) as session:
        return session.exec(select(Card).where(Card.template_id == template_id).order_by(Card.customer_id)).all()


def test_the_template_picker_lists_the_merchants_starter_templates(merchant, other_merchant):
    mine = importing.list_templates(merchant)
    assert [(name, kind) for _, name, kind in mine] == [(STARTER_TEMPLATE_NAMES[t], t.value) for t in CardType]
    theirs = {i for i, _, _ in importing.list_templates(other_merchant)}
    assert not theirs & {i for i, _, _ in mine}


def test_issue_form_shows_the_settings_of_each_type(merchant, other_merchant):
    stamp = bulk_issue.issue_form(merchant, _template(merchant, "stamp", welcome_stamps=2))
    assert (stamp.balance_unit, stamp.balance_hint, stamp.welcome_stamps, stamp.tiers) == (Unit.COUNT, "stamps", "2", [])
    assert bulk_issue.issue_form(merchant, _template(merchant, "multipass")).balance_hint == "visits"
    assert bulk_issue.issue_form(merchant, _template(merchant, "cashback")).balance_unit == Unit.POINTS
    assert bulk_issue.issue_form(merchant, _template(merchant, "gift")).balance_unit == Unit.MONEY
    coupon = bulk_issue.issue_form(merchant, _template(merchant, "coupon"))
    assert (coupon.balance_unit, coupon.welcome_stamps) == (Unit.NONE, "")
    membership = bulk_issue.issue_form(merchant, _template(merchant, "membership"))
    assert (membership.balance_unit, membership.tiers, membership.period) == (Unit.NONE, ["Basic", "Premium"], "monthly")
    stripe = bulk_issue.issue_form(merchant, _template(merchant, "membership", mode="stripe"))
    assert (stripe.tiers, stripe.can_expire) == ([], False)
    assert bulk_issue.issue_form(other_merchant, _template(merchant, "stamp")) is None  # not theirs


def test_parse_request_refuses_bad_text():
    form = bulk_issue.IssueForm(1, "stamp", Unit.COUNT, "stamps", "0")
    assert bulk_issue.parse_request(form, IssueRequest(starting_balance=" 3 "), TODAY) == (
        IssueOptions(starting_balance=3, welcome_stamps=None))
    for request, message in [
        (IssueRequest(starting_balance="abc"), "Starting balance must be a number."),
        (IssueRequest(starting_balance="1.5"), "Starting balance must be a whole number."),
        (IssueRequest(welcome_stamps="-1"), "Welcome stamps must be a positive number."),
        (IssueRequest(expires_on="2026-02-28"), "Expiration date cannot be in the past."),
        (IssueRequest(expires_on="tomorrow"), "Expiration date must be a date (YYYY-MM-DD)."),
    ]:
        with pytest.raises(Refused, match=message.replace("(", r"\(").replace(")", r"\)")):
            bulk_issue.parse_request(form, request, TODAY)
    gift = bulk_issue.IssueForm(1, "gift", Unit.MONEY, "money", "")
    assert bulk_issue.parse_request(gift, IssueRequest(starting_balance="25,50"), TODAY).starting_balance == 2550
    membership = bulk_issue.IssueForm(1, "membership", Unit.NONE, "", "", ["Basic", "Premium"], "monthly")
    options = bulk_issue.parse_request(membership, IssueRequest(starting_balance="abc"), TODAY)  # ignored
    assert (options.tier, options.period, options.starting_balance) == ("Basic", "monthly", 0)
    with pytest.raises(Refused, match="Unknown tier Gold"):
        bulk_issue.parse_request(membership, IssueRequest(tier="Gold"), TODAY)
    with pytest.raises(Refused, match="Choose a period"):
        bulk_issue.parse_request(membership, IssueRequest(period="hourly"), TODAY)


def test_issue_selected_with_balance_delivery_and_expiry_override(merchant):
    ann = add_customer(merchant, "Ann", "Email", email="ann@example.com")
    ben = add_customer(merchant, "Ben", "Phone", phone="+14155550112")
    template_id = _template(merchant, "stamp")
    report = bulk_issue.issue_selected(merchant, Selection(ids=(ben, ann)), template_id,
                                       IssueRequest(starting_balance="3", expires_on="2026-12-31"),
                                       delivery="email", origin="https://shop.example", today=TODAY)
    assert (report.issued, report.messages, report.skipped) == (2, 1, ["Ben Phone: no email for EMAIL"])
    issued = _cards(merchant, template_id)
    assert [(c.customer_id, c.balance, c.expires_on) for c in issued] == [
        (ann, 3, dt.date(2026, 12, 31)), (ben, 3, dt.date(2026, 12, 31))]
    with tenant_session(merchant) as session:
        messages = session.exec(select(Message)).all()
    assert [(m.customer_id, m.channel, m.recipient) for m in messages] == [(ann, "email", "ann@example.com")]
    assert f"https://shop.example/card/{issued[0].install_token}" in messages[0].body
    # Again: both skipped, and the override never touches the cards issued before.
    again = bulk_issue.issue_selected(merchant, Selection(ids=(ann, ben)), template_id, IssueRequest(expires_on="2027-01-31"),
                                      delivery="none", today=TODAY)
    assert (again.issued, again.skipped) == (0, ["Ann Email: already has this card", "Ben Phone: already has this card"])
    assert {c.expires_on for c in _cards(merchant, template_id)} == {dt.date(2026, 12, 31)}
    assert bulk_issue.summary(again) == (
        "Issued 0 cards. Skipped: Ann Email: already has this card; Ben Phone: already has this card.")


def test_issue_selected_without_override_keeps_the_template_rule(merchant):
    customer = add_customer(merchant, "Cy", "Gift", email="cy@example.com")
    template_id = _template(merchant, "gift", expiration={"mode": "days_after_issue", "days": 30})
    report = bulk_issue.issue_selected(merchant, Selection(ids=(customer,)), template_id, IssueRequest(starting_balance="25.00"),
                                       delivery="none")
    assert (report.issued, report.messages, report.skipped) == (1, 0, [])
    (card,) = _cards(merchant, template_id)
    assert (card.balance, card.expires_on) == (2500, dt.date.today() + dt.timedelta(days=30))
    assert bulk_issue.summary(report) == "Issued 1 card."


def test_issue_selected_refusals_issue_nothing(merchant, other_merchant):
    customer = add_customer(merchant, "Di", "Nothing", email="di@example.com")
    stamp = _template(merchant, "stamp")
    for args, message in [
        (([], stamp, IssueRequest(), "none"), "Select the customers"),
        (([customer], stamp, IssueRequest(), "fax"), "Choose a delivery"),
        (([customer], _template(other_merchant, "stamp"), IssueRequest(), "none"), "Choose a card template"),
        (([customer], stamp, IssueRequest(starting_balance="abc"), "email"), "Starting balance must be a number"),
        (([customer], stamp, IssueRequest(welcome_stamps="10"), "email"), "fewer than the stamp count"),
    ]:
        ids, template_id, request, delivery = args
        with pytest.raises(Refused, match=message):
            bulk_issue.issue_selected(merchant, Selection(ids=tuple(ids)), template_id, request, delivery=delivery)
    assert _cards(merchant, stamp) == []
    with tenant_session(merchant) as session:
        assert session.exec(select(Message)).all() == []


def test_another_merchants_customers_get_nothing(merchant, other_merchant):
    theirs = add_customer(other_merchant, "Eve", "Else", email="eve@example.com")
    template_id = _template(merchant, "stamp")
    report = bulk_issue.issue_selected(merchant, Selection(ids=(theirs,)), template_id, IssueRequest(), delivery="email")
    assert (report.issued, report.messages) == (0, 0)


def test_summary_lists_the_first_reasons_only():
    report = cards.IssueReport(issued=3, skipped=[f"C{i}: already has this card" for i in range(12)], messages=2)
    text = bulk_issue.summary(report)
    assert text.startswith("Issued 3 cards. 2 messages queued. Skipped: C0: already has this card;")
    assert "C9:" in text and "C10:" not in text and text.endswith("; and 2 more.")
