"""The Stripe webhook against a real database: Stripe's fixture objects with our metadata,
signed offline, posted to the real route (or handed to ``receive`` as the route does)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from starlette.testclient import TestClient

from perkstar_ui.api import routes
from perkstar_ui.config import settings
from perkstar_ui.db.models import Card, CardTemplate, CardTransaction, StripeEvent
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain import ledger as L
from perkstar_ui.domain.card_rules import Action
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.services import cards, customer_profile, stripe_account, stripe_billing, stripe_webhook
from tests import stripe_fixtures as sf
from tests.helpers import add_customer, issue, set_template

SECRET = "whsec_unit_test_installation_secret"
MERCHANT_SECRET = "whsec_unit_test_merchant_secret"
TIERS = [{"name": "Basic", "price_cents": 3_500, "visit_limit": 3},
         {"name": "Premium", "price_cents": 7_000, "visit_limit": 5}]
PRICES = {"Basic": "price_basic", "Premium": "price_premium"}
T0 = sf.BASE_TIME
IN_PERIOD = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)  # inside the first period (May 28 – June 27)


@pytest.fixture(autouse=True)
def stripe_env(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PERKSTAR_SECRET_KEY", "unit-test-secret-key")
    settings.cache_clear()
    yield
    settings.cache_clear()


def _stripe_card(merchant: int, unique: str, phone: str = "") -> tuple[int, str]:
    set_template(merchant, "membership", mode="stripe", tiers=TIERS, stripe_prices=PRICES)
    customer = add_customer(merchant, "Mia", f"Member {unique}", phone=phone, email=f"mia-{unique}@example.com")
    card_id = issue(merchant, customer, "membership")
    with tenant_session(merchant) as session:
        return card_id, session.get(Card, card_id).serial


def _post(evt: dict, secret: str = SECRET, path: str = stripe_account.WEBHOOK_PATH):
    body, header = sf.signed(evt, secret)
    with TestClient(routes.api) as client:
        return client.post(path, content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"})


def _deliver(evt: dict) -> str:
    body, header = sf.signed(evt, SECRET)
    receipt = stripe_webhook.receive(body, header)
    assert receipt.status_code == 200
    return receipt.outcome


def _card(merchant: int, card_id: int) -> Card:
    with tenant_session(merchant) as session:
        return session.get(Card, card_id)


def _ledger(merchant: int, card_id: int) -> list[tuple]:
    with tenant_session(merchant) as session:
        return [(t.kind, t.value_delta, t.detail) for t in session.exec(
            sa.select(CardTransaction).where(CardTransaction.card_id == card_id).order_by(CardTransaction.id)).scalars()]


def _final(merchant: int, card_id: int) -> dict:
    """Everything a delivery order could change: the card, its membership and its payments
    (amount and status; invoice ids differ per run)."""
    cache, replay = cards.verify_cache(merchant, card_id)
    assert cache == replay  # replay == cache after every delivery order
    card = _card(merchant, card_id)
    payments = sorted(d.split('"invoice"')[0] + d.split('"status"')[1] for k, _, d in _ledger(merchant, card_id)
                      if k == L.PAYMENT)
    return {"status": card.subscription_status, "period_end": card.subscription_period_end, "expires": card.expires_on,
            "watermark": card.stripe_watermark, "linked": bool(card.stripe_subscription_id), "balance": card.balance,
            "tier": card.tier, "ltv": card.ltv_cents, "payments": payments,
            # the tiebreak's last part is the event id, new in every run: the rest must agree
            "membership": {**cache.membership, "tie": (cache.membership.get("tie") or "")[:12]}}


# --- the contract -------------------------------------------------------------------------------


def test_a_stripe_card_starts_pending_payment_and_refuses_visits(merchant, unique):
    card_id, _ = _stripe_card(merchant, unique)
    view = stripe_billing.membership_view(merchant, card_id)
    assert (view.status_label, view.visits_left, view.renewal, view.can_start_subscription) == ("Pending payment", "0", "", True)
    assert _card(merchant, card_id).balance == 0
    with pytest.raises(Refused, match="Pending payment"):
        cards.perform_action(merchant, card_id, Action("add-visits", 1))


def test_subscription_created_makes_the_card_valid_with_the_period_end_as_expiration(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id, price="price_premium",
                                                                      end=T0 + 30 * sf.DAY))
    response = _post(evt)
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    card = _card(merchant, card_id)
    end = dt.date(2026, 6, 27)
    assert (card.subscription_status, card.expires_on, card.subscription_period_end) == ("valid", end, end)
    assert (card.stripe_subscription_id, card.stripe_customer_id, card.tier, card.balance) == (
        sub_id, "cus_QXg1o8vcGmoR32", "Premium", 5)  # tier from the price mapping, its whole limit
    view = stripe_billing.membership_view(merchant, card_id)
    assert (view.status_label, view.renewal, view.visits_left, view.tier) == ("Valid", "2026-06-27", "5", "Premium")
    assert view.dashboard_url == ""  or view.dashboard_url.endswith(f"/subscriptions/{sub_id}")
    cards.perform_action(merchant, card_id, Action("add-visits", 2), now=IN_PERIOD)
    assert _card(merchant, card_id).balance == 3
    stored = stripe_webhook.stored_event(evt["id"])
    assert (stored.outcome, stored.card_id, stored.event_type) == ("applied", card_id, "customer.subscription.created")


def test_the_same_event_again_changes_nothing(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sf.new_id("sub")))
    assert _post(evt).json()["outcome"] == "applied"
    before = (_ledger(merchant, card_id), _card(merchant, card_id).version)
    again = _post(evt)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert (_ledger(merchant, card_id), _card(merchant, card_id).version) == before


@pytest.mark.parametrize("how", ["wrong secret", "missing", "tampered", "stale timestamp"])
def test_a_bad_or_missing_signature_is_400_and_nothing_is_stored(merchant, unique, how):
    card_id, serial = _stripe_card(merchant, unique)
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sf.new_id("sub")))
    body, header = sf.signed(evt, "whsec_not_ours" if how == "wrong secret" else SECRET,
                             timestamp=T0 if how == "stale timestamp" else None)
    if how == "tampered":
        body = body.replace(b'"active"', b'"trialing"', 1)
    headers = {} if how == "missing" else {"Stripe-Signature": header}
    with TestClient(routes.api) as client:
        response = client.post(stripe_account.WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert stripe_webhook.stored_event(evt["id"]) is None
    assert stripe_billing.membership_view(merchant, card_id).status_label == "Pending payment"


def test_an_unknown_event_type_is_200_stored_and_ignored(merchant, unique):
    evt = sf.event("plan.created", sf.resource("event")["data"]["object"])  # the fixture event as it is
    response = _post(evt)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert stripe_webhook.stored_event(evt["id"]).outcome == "ignored"


def test_subscription_deleted_shows_cancelled_and_the_card_expires_at_the_paid_period_end(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    _deliver(sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id), created=T0))
    _deliver(sf.event("customer.subscription.deleted", sf.subscription(serial, sub_id=sub_id, status="canceled"),
                      created=T0 + 100))
    view = stripe_billing.membership_view(merchant, card_id)
    assert (view.status_label, view.expiration, view.can_cancel, view.can_start_subscription) == (
        "Cancelled", "2026-06-27", False, True)
    with pytest.raises(Refused, match="Cancelled"):
        cards.perform_action(merchant, card_id, Action("add-visits", 1), now=IN_PERIOD)
    with pytest.raises(Refused, match="paid period ended on 2026-06-27"):
        cards.perform_action(merchant, card_id, Action("add-visits", 1))


def test_period_fields_of_older_api_versions_on_the_subscription_itself(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    _deliver(sf.event("customer.subscription.updated", sf.subscription(
        serial, sub_id=sf.new_id("sub"), old_api=True, start=T0, end=T0 + 7 * sf.DAY)))
    card = _card(merchant, card_id)
    assert (card.subscription_status, card.expires_on) == ("valid", dt.date(2026, 6, 4))


@pytest.mark.parametrize("old_api", [False, True], ids=["parent.subscription_details", "top-level subscription"])
def test_invoices_reach_the_card_through_either_subscription_field(merchant, unique, old_api):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    # checkout.session.completed links the card to the subscription and customer first
    assert _deliver(sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=sub_id, customer="cus_A"),
                             created=T0)) == "applied"
    assert (_card(merchant, card_id).stripe_subscription_id, _card(merchant, card_id).stripe_customer_id) == (sub_id, "cus_A")
    paid = sf.invoice(sub_id, amount=3_500, old_api=old_api, customer="cus_other")  # no serial: the link finds it
    assert _deliver(sf.event("invoice.paid", paid, created=T0 + 10)) == "applied"
    view = stripe_billing.membership_view(merchant, card_id)
    assert [(p.amount, p.currency, p.status, p.invoice_id) for p in view.payments] == [("35.00", "USD", "paid", paid["id"])]
    assert _card(merchant, card_id).ltv_cents == 3_500
    rows, _ = customer_profile.card_history(merchant, card_id)
    payment = next(r for r in rows if r.kind == "payment")  # the history's data-kind="payment"
    assert "35.00 USD" in payment.action and paid["id"] in payment.action and payment.purchase == "35.00"


def test_a_failed_payment_marks_past_due_until_a_newer_subscription_snapshot(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    _deliver(sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id), created=T0))
    _deliver(sf.event("invoice.payment_failed", sf.invoice(sub_id, serial=serial, paid=False), created=T0 + 60))
    view = stripe_billing.membership_view(merchant, card_id)
    assert view.status_label == "Past due" and [p.status for p in view.payments] == ["failed"]
    with pytest.raises(Refused, match="Past due"):
        cards.perform_action(merchant, card_id, Action("add-visits", 1), now=IN_PERIOD)
    _deliver(sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id), created=T0 + 120))
    assert stripe_billing.membership_view(merchant, card_id).status_label == "Valid"


def test_an_older_event_never_overwrites_newer_state(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    _deliver(sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id, status="past_due"),
                      created=T0 + 50))
    assert _deliver(sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id, status="active"),
                             created=T0)) == "stale"
    assert _card(merchant, card_id).subscription_status == "past_due"
    assert stripe_webhook.stored_event  # stored all the same


def test_limits_refill_when_stripe_starts_a_new_period_never_by_the_clock(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    sub_id = sf.new_id("sub")
    _deliver(sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id, end=T0 + 30 * sf.DAY)))
    cards.perform_action(merchant, card_id, Action("add-visits", 3), now=IN_PERIOD)
    assert _card(merchant, card_id).balance == 0
    # months later the nightly job runs: nothing refills a Stripe card
    assert not cards.settle_card(merchant, card_id, dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc))
    assert _card(merchant, card_id).balance == 0
    _deliver(sf.event("customer.subscription.updated", sf.subscription(
        serial, sub_id=sub_id, start=T0 + 30 * sf.DAY, end=T0 + 60 * sf.DAY), created=T0 + 30 * sf.DAY))
    card = _card(merchant, card_id)
    assert (card.balance, card.expires_on) == (3, dt.date(2026, 7, 27))


def test_an_event_for_an_unknown_card_is_stored_listed_and_applied_once_linked(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    token = stripe_account.get_keys(merchant).webhook_path.rsplit("/", 1)[1]
    stripe_account.save_keys(merchant, webhook_secret=MERCHANT_SECRET)
    path = f"{stripe_account.WEBHOOK_PATH}/{token}"
    sub_id = sf.new_id("sub")
    paid = sf.event("invoice.paid", sf.invoice(sub_id, old_api=True), created=T0 + 5)  # names no card of ours yet
    response = _post(paid, MERCHANT_SECRET, path)
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_card"
    assert [e.id for e in stripe_billing.unmatched_events(merchant)] == [paid["id"]]
    linked = _post(sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=sub_id), created=T0),
                   MERCHANT_SECRET, path)
    assert linked.json()["outcome"] == "applied"
    assert stripe_billing.unmatched_events(merchant) == []
    assert stripe_webhook.stored_event(paid["id"]).outcome == "applied"
    assert [p.invoice_id for p in stripe_billing.membership_view(merchant, card_id).payments] == [
        paid["data"]["object"]["id"]]


def test_a_merchants_own_endpoint_reaches_only_its_own_cards(merchant, other_merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    stripe_account.save_keys(other_merchant, webhook_secret=MERCHANT_SECRET)
    path = stripe_account.get_keys(other_merchant).webhook_path
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sf.new_id("sub")))
    assert _post(evt, SECRET, path).status_code == 400  # the installation secret does not sign a merchant's path
    assert _post(evt, MERCHANT_SECRET, path).json()["outcome"] == "unknown_card"
    assert stripe_billing.membership_view(merchant, card_id).status_label == "Pending payment"
    assert _post(evt, MERCHANT_SECRET, f"{stripe_account.WEBHOOK_PATH}/no-such-token").status_code == 400


def test_an_event_that_fails_to_apply_is_stored_with_its_error_and_retried(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    with tenant_session(merchant) as session:  # the template's settings no longer parse
        template = session.get(CardTemplate, _card(merchant, card_id).template_id)
        good = dict(template.settings)
        template.settings = {**good, "tiers": []}
        session.add(template)
        session.commit()
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sf.new_id("sub")))
    response = _post(evt)
    assert response.status_code == 200 and response.json()["outcome"] == "failed"
    stored = stripe_webhook.stored_event(evt["id"])
    assert stored.outcome == "failed" and "ValidationError" in stored.error and stored.attempts == 1
    assert _post(evt).json()["outcome"] == "duplicate"  # a redelivery neither applies nor loses it
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    assert stripe_webhook.retry_due(later) == 0  # still broken: attempt 2, later again
    assert stripe_webhook.stored_event(evt["id"]).attempts == 2
    with tenant_session(merchant) as session:
        template = session.get(CardTemplate, template.id)
        template.settings = good
        session.add(template)
        session.commit()
    assert stripe_webhook.retry_due(later) == 0  # not due yet (back-off doubled)
    assert stripe_webhook.retry_due(later + dt.timedelta(minutes=5)) == 1
    stored = stripe_webhook.stored_event(evt["id"])
    assert (stored.outcome, stored.error, stored.attempts) == ("applied", "", 3)
    assert _card(merchant, card_id).subscription_status == "valid"


# --- order never matters ----------------------------------------------------------------------------


def _lifecycle(serial: str, sub_id: str) -> list[dict]:
    """A year-ish of one membership: checkout, created, paid renewals, a failure, an
    upgrade, cancellation — each with its own ``created`` second."""
    events = [
        sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=sub_id), created=T0),
        sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sub_id, status="incomplete"), created=T0 + 1),
        sf.event("invoice.paid", sf.invoice(sub_id, serial=serial), created=T0 + 2),
        sf.event("customer.subscription.updated", sf.subscription(serial, sub_id=sub_id), created=T0 + 3),
    ]
    for month in range(1, 4):
        start = T0 + month * 30 * sf.DAY
        failed = month == 2
        events.append(sf.event("invoice.payment_failed" if failed else "invoice.paid",
                               sf.invoice(sub_id, serial=serial, paid=not failed, old_api=month == 3), created=start + 5))
        events.append(sf.event("customer.subscription.updated", sf.subscription(
            serial, sub_id=sub_id, status="past_due" if failed else "active", start=start, end=start + 30 * sf.DAY,
            price="price_premium" if month >= 2 else "price_basic", old_api=month == 1), created=start + 6))
    end = T0 + 4 * 30 * sf.DAY
    events.append(sf.event("customer.subscription.deleted", sf.subscription(
        serial, sub_id=sub_id, status="canceled", start=T0 + 90 * sf.DAY, end=end, price="price_premium"), created=end))
    # same-second twins of one type: content decides (later period end, status order, id), never arrival
    events.append(sf.event("customer.subscription.deleted", sf.subscription(
        serial, sub_id=sub_id, status="canceled", start=T0 + 90 * sf.DAY, end=end + sf.DAY, price="price_premium"),
        created=end))
    events.append(sf.event("customer.subscription.updated", sf.subscription(
        serial, sub_id=sub_id, status="active", start=T0 + 30 * sf.DAY, end=T0 + 60 * sf.DAY,
        price="price_basic", old_api=True), created=T0 + 30 * sf.DAY + 6))
    return events


def _run(merchant: int, unique: str, order) -> tuple:  # noqa: ANN001
    card_id, serial = _stripe_card(merchant, unique)
    events = _lifecycle(serial, sf.new_id("sub"))
    for index in order(len(events)):
        _deliver(events[index])
    return _final(merchant, card_id)


def test_reverse_order_ends_like_in_order_delivery(merchant, unique):
    in_order = _run(merchant, unique, lambda n: range(n))
    assert (in_order["status"], in_order["ltv"], in_order["tier"]) == ("cancelled", 3 * 3_500, "Premium")
    assert len(in_order["payments"]) == 4
    assert _run(merchant, unique + "r", lambda n: reversed(range(n))) == in_order


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_order_ends_like_in_order_delivery(merchant, unique, seed):
    def shuffled(n: int) -> list[int]:
        order = list(range(n))
        random.Random(seed).shuffle(order)
        return order

    assert _run(merchant, f"{unique}{seed}b", shuffled) == _run(merchant, f"{unique}{seed}a", lambda n: range(n))


def test_events_are_stored_once_in_their_effects_transaction(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    evt = sf.event("customer.subscription.created", sf.subscription(serial, sub_id=sf.new_id("sub")))
    _deliver(evt)
    with system_session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(StripeEvent).where(StripeEvent.id == evt["id"])).scalar()
    keyed = [k for k, _, _ in _ledger(merchant, card_id) if k == L.SUBSCRIPTION_CHANGED]
    assert count == 1 and len(keyed) == 1


# --- re-subscribing after a cancellation (reviewer) ------------------------------------------------------


def test_a_new_subscription_after_a_cancellation_relinks_the_card_and_the_old_one_no_longer_drives_it(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    old, new = sf.new_id("sub"), sf.new_id("sub")
    _deliver(sf.event("customer.subscription.created", sf.subscription(serial, sub_id=old, customer="cus_old"), created=T0))
    _deliver(sf.event("customer.subscription.deleted", sf.subscription(serial, sub_id=old, customer="cus_old",
                                                                       status="canceled"), created=T0 + 100))
    assert stripe_billing.membership_view(merchant, card_id).status_label == "Cancelled"
    # the merchant starts a new subscription: a new checkout, a new subscription
    assert _deliver(sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=new, customer="cus_new"),
                             created=T0 + 200)) == "applied"
    assert (_card(merchant, card_id).stripe_subscription_id, _card(merchant, card_id).stripe_customer_id) == (new, "cus_new")
    assert _deliver(sf.event("customer.subscription.created", sf.subscription(
        serial, sub_id=new, customer="cus_new", start=T0 + 200, end=T0 + 200 + 30 * sf.DAY), created=T0 + 201)) == "applied"
    view = stripe_billing.membership_view(merchant, card_id)
    assert (view.status_label, view.subscription_id, view.can_cancel) == ("Valid", new, True)  # cancel targets the new one
    # later events about the old subscription (found by metadata.card_serial) change nothing but history
    assert _deliver(sf.event("customer.subscription.updated", sf.subscription(
        serial, sub_id=old, customer="cus_old", status="canceled"), created=T0 + 300)) == "stale"
    assert _deliver(sf.event("customer.subscription.deleted", sf.subscription(
        serial, sub_id=old, customer="cus_old", status="canceled"), created=T0 + 301)) == "stale"
    assert _deliver(sf.event("invoice.payment_failed", sf.invoice(old, serial=serial, paid=False, customer="cus_old"),
                             created=T0 + 302)) == "applied"  # a payment row of the old subscription, no Past due
    card = _card(merchant, card_id)
    assert (card.subscription_status, card.stripe_subscription_id) == ("valid", new)
    assert [p.status for p in stripe_billing.membership_view(merchant, card_id).payments] == ["failed"]
    # the new subscription still drives the card
    _deliver(sf.event("customer.subscription.updated", sf.subscription(
        serial, sub_id=new, customer="cus_new", status="past_due", start=T0 + 200, end=T0 + 200 + 30 * sf.DAY),
        created=T0 + 400))
    assert _card(merchant, card_id).subscription_status == "past_due"
    cache, replay = cards.verify_cache(merchant, card_id)
    assert cache == replay


def test_an_unknown_card_event_of_the_shared_endpoint_is_listed_and_retried_once_its_customer_is_a_cards(merchant, unique):
    card_id, serial = _stripe_card(merchant, unique)
    customer = f"cus_{unique}"
    paid = sf.event("invoice.paid", sf.invoice(sf.new_id("sub"), customer=customer), created=T0 + 5)
    assert _deliver(paid) == "unknown_card"  # the installation's endpoint: no merchant yet
    assert paid["id"] not in [e.id for e in stripe_billing.unmatched_events(merchant)]
    sub_id = sf.new_id("sub")
    _deliver(sf.event("checkout.session.completed", sf.checkout_completed(serial, sub_id=sub_id, customer=customer),
                      created=T0))
    assert paid["id"] in [e.id for e in stripe_billing.unmatched_events(merchant)]  # now it concerns this merchant
    assert stripe_webhook.retry_due() >= 1
    assert stripe_webhook.stored_event(paid["id"]).outcome == "applied"
    assert paid["id"] not in [e.id for e in stripe_billing.unmatched_events(merchant)]
    assert [p.invoice_id for p in stripe_billing.membership_view(merchant, card_id).payments] == [
        paid["data"]["object"]["id"]]


def test_a_manual_membership_expires_by_the_utc_date(merchant, unique, monkeypatch):
    set_template(merchant, "membership", mode="manual", tiers=TIERS)
    customer = add_customer(merchant, "Mia", f"Manual {unique}", email=f"manual-{unique}@example.com")
    card_id = issue(merchant, customer, "membership")
    today_utc = dt.datetime.now(dt.timezone.utc).date()
    with tenant_session(merchant) as session:
        card = session.get(Card, card_id)
        card.expires_on = today_utc
        session.add(card)
        session.commit()

    class AheadOfUtc(dt.date):  # a server clock east of UTC, already on the next day
        @classmethod
        def today(cls):  # noqa: ANN206
            return today_utc + dt.timedelta(days=1)

    monkeypatch.setattr(stripe_billing.dt, "date", AheadOfUtc)
    assert stripe_billing.membership_view(merchant, card_id).status_label == "Active"  # expires at the end of today (UTC)
