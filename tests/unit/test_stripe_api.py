"""Outgoing Stripe calls against a local Stripe-shaped HTTP server on loopback
(``stripe.api_base``), asserting what it received: path, key, form fields incl. metadata;
and the keys at rest (encrypted, never shown back whole)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import select

from perkstar_ui.config import settings
from perkstar_ui.db.models import CardTemplate, Merchant, Message
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import stripe_account, stripe_billing
from perkstar_ui.services.stripe_account import StripeSetupError
from tests import stripe_server
from tests.stripe_server import StripeApi
from tests.helpers import add_customer, issue, set_template

KEY = "sk_test_51PerkstarUnitTestKey000001234"
BAD_KEY = stripe_server.REVOKED_KEY
TIERS = [{"name": "Basic", "price_cents": 3_500, "visit_limit": 3},
         {"name": "Premium", "price_cents": 7_000, "visit_limit": None}]


@pytest.fixture
def fake_stripe(monkeypatch):
    server = StripeApi().start()
    monkeypatch.setattr(stripe, "api_base", server.base_url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def stripe_env(monkeypatch):
    monkeypatch.setenv("PERKSTAR_SECRET_KEY", "unit-test-secret-key")
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings.cache_clear()
    yield monkeypatch
    settings.cache_clear()


def _stripe_template(merchant: int, **extra) -> int:  # noqa: ANN003
    return set_template(merchant, "membership", mode="stripe", tiers=TIERS, **extra)


# --- keys --------------------------------------------------------------------------------------


def test_keys_are_stored_encrypted_and_only_ever_shown_masked(merchant):
    keys = stripe_account.save_keys(merchant, KEY, "whsec_unitTestSigningSecret42")
    assert (keys.secret_key_hint, keys.webhook_secret_hint) == ("sk_test_…1234", "whsec_…et42")
    assert (keys.secret_key_source, keys.test_mode) == ("merchant", True)
    assert keys.webhook_path.startswith("/api/stripe/webhook/") and len(keys.webhook_path) > 30
    with tenant_session(merchant) as session:
        row = session.get(Merchant, merchant)
        assert KEY not in row.stripe_secret_key_enc and "whsec_unit" not in row.stripe_webhook_secret_enc
    assert stripe_account.api_key(merchant) == KEY
    # blank keeps what is saved; a bad format is refused before anything is stored
    assert stripe_account.save_keys(merchant, "", "").secret_key_hint == "sk_test_…1234"
    with pytest.raises(StripeSetupError, match="not a Stripe secret key"):
        stripe_account.save_keys(merchant, "pk_test_publishable", "whsec_another_secret_1")
    with pytest.raises(StripeSetupError, match="whsec_"):
        stripe_account.save_keys(merchant, KEY, "not-a-secret")
    assert stripe_account.get_keys(merchant).webhook_secret_hint == "whsec_…et42"


def test_without_perkstar_secret_key_keys_cannot_be_saved_and_the_installation_key_applies(merchant, stripe_env):
    stripe_env.setenv("PERKSTAR_SECRET_KEY", "")
    stripe_env.setenv("STRIPE_API_KEY", KEY)
    settings.cache_clear()
    with pytest.raises(StripeSetupError, match="PERKSTAR_SECRET_KEY"):
        stripe_account.save_keys(merchant, KEY)
    keys = stripe_account.get_keys(merchant)
    assert (keys.secret_key_source, keys.secret_key_hint, keys.can_store) == ("installation", "sk_test_…1234", False)
    assert stripe_account.api_key(merchant) == KEY


def test_test_connection_makes_one_harmless_call(merchant, fake_stripe):
    assert stripe_account.test_connection(merchant) == stripe_account.ConnectionResult(
        False, "Connect Stripe first: enter the Stripe secret key in Settings.")
    assert fake_stripe.requests() == []
    stripe_account.save_keys(merchant, KEY)
    result = stripe_account.test_connection(merchant)
    assert result.ok and result.message == (
        f"Connected to Stripe account {stripe_server.ACCOUNT_ID} ({stripe_server.ACCOUNT_NAME}), test mode.")
    assert [(r.method, r.path, r.auth) for r in fake_stripe.requests()] == [("GET", "/v1/account", f"Bearer {KEY}")]
    stripe_account.save_keys(merchant, BAD_KEY)
    refused = stripe_account.test_connection(merchant)
    assert not refused.ok and refused.message.startswith("Stripe refused the secret key: Invalid API Key")


def test_an_unreachable_stripe_says_so(merchant, fake_stripe, monkeypatch):
    stripe_account.save_keys(merchant, KEY)
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")  # nothing listens on the discard port
    result = stripe_account.test_connection(merchant)
    assert not result.ok and result.message.startswith("Could not reach Stripe")


# --- prices ------------------------------------------------------------------------------------


def test_prices_are_listed_and_a_tier_maps_to_one_or_a_new_one_from_its_price(merchant, fake_stripe):
    stripe_account.save_keys(merchant, KEY)
    template_id = _stripe_template(merchant)
    prices = stripe_account.list_prices(merchant)
    assert [(p.id, p.label) for p in prices] == [
        (stripe_server.LISTED_PRICE, f"{stripe_server.LISTED_PRODUCT} · 35.00 USD / month")]
    listed = fake_stripe.requests()[-1]
    assert listed.path == "/v1/prices" and listed.query["type"] == ["recurring"] and listed.query["active"] == ["true"]
    mapped = stripe_account.map_tier_price(merchant, template_id, "Basic", prices[0].id)
    assert (mapped.tier, mapped.price_id, mapped.tier_price) == ("Basic", prices[0].id, "35.00")
    assert fake_stripe.requests()[-1].path == f"/v1/prices/{prices[0].id}"
    created = stripe_account.create_tier_price(merchant, template_id, "Premium")
    request = fake_stripe.requests()[-1]
    assert (request.method, request.path) == ("POST", "/v1/prices")
    assert request.form["unit_amount"] == "7000" and request.form["currency"] == "usd"
    assert request.form["recurring[interval]"] == "month" and request.form["recurring[interval_count]"] == "1"
    assert request.form["product_data[name]"].endswith("Premium")
    assert request.form["metadata[perkstar_tier]"] == "Premium"
    assert created.price_id == stripe_server.CREATED_PRICE
    with tenant_session(merchant) as session:
        settings_ = session.get(CardTemplate, template_id).settings
    assert settings_["stripe_prices"] == {"Basic": prices[0].id, "Premium": stripe_server.CREATED_PRICE}
    assert [(t.tier, t.price_id) for t in stripe_account.tier_prices(merchant)] == [
        ("Basic", prices[0].id), ("Premium", stripe_server.CREATED_PRICE)]


def test_only_stripe_mode_templates_map_prices(merchant, other_merchant, fake_stripe):
    stripe_account.save_keys(merchant, KEY)
    template_id = set_template(merchant, "membership", mode="manual")
    with pytest.raises(StripeSetupError, match="not billed by Stripe"):
        stripe_account.map_tier_price(merchant, template_id, "Basic", "price_x")
    with pytest.raises(StripeSetupError, match="Choose a membership template"):  # another merchant's template
        stripe_account.create_tier_price(other_merchant, template_id, "Basic")


# --- subscriptions -----------------------------------------------------------------------------


def test_start_subscription_creates_a_checkout_session_and_sends_its_link(merchant, unique, fake_stripe):
    stripe_account.save_keys(merchant, KEY)
    _stripe_template(merchant, stripe_prices={"Basic": "price_basic"})
    customer = add_customer(merchant, "Sam", f"Lifter {unique}", phone="+447911123456", email=f"sam-{unique}@example.com")
    card_id = issue(merchant, customer, "membership")
    link = stripe_billing.start_subscription(merchant, card_id, "https://gym.example")
    assert link.url == stripe_server.CHECKOUT_URL and link.sent_by == ["sms"]
    assert link.message == "Checkout link sent by SMS."
    request = fake_stripe.requests()[-1]
    with tenant_session(merchant) as session:
        card = session.get(stripe_billing.Card, card_id)
        message = session.exec(select(Message).where(Message.card_id == card_id)).one()
    assert (request.method, request.path, request.auth) == ("POST", "/v1/checkout/sessions", f"Bearer {KEY}")
    form = request.form
    assert form["mode"] == "subscription"
    assert (form["line_items[0][price]"], form["line_items[0][quantity]"]) == ("price_basic", "1")
    assert form["metadata[card_serial]"] == card.serial
    assert form["subscription_data[metadata][card_serial]"] == card.serial
    assert form["client_reference_id"] == card.serial
    assert form["success_url"] == f"https://gym.example/card/{card.install_token}?checkout=success"
    assert form["cancel_url"] == f"https://gym.example/card/{card.install_token}?checkout=cancelled"
    assert form["customer_email"] == f"sam-{unique}@example.com"
    assert (message.channel, message.recipient, message.status) == ("sms", "+447911123456", "queued")
    assert link.url in message.body


def test_start_subscription_without_a_mapped_price_or_contact(merchant, unique, fake_stripe):
    stripe_account.save_keys(merchant, KEY)
    _stripe_template(merchant)
    customer = add_customer(merchant, "No", f"Contact {unique}")
    card_id = issue(merchant, customer, "membership")
    with pytest.raises(StripeSetupError, match="Tier Basic has no Stripe price"):
        stripe_billing.start_subscription(merchant, card_id)
    assert fake_stripe.requests() == []  # refused before any call
    _stripe_template(merchant, stripe_prices={"Basic": "price_basic"})
    link = stripe_billing.start_subscription(merchant, card_id)
    assert link.sent_by == [] and "copy the link" in link.message
    assert "customer_email" not in fake_stripe.requests()[-1].form


def test_another_merchants_card_is_not_found(merchant, other_merchant, unique, fake_stripe):
    stripe_account.save_keys(other_merchant, KEY)
    _stripe_template(merchant, stripe_prices={"Basic": "price_basic"})
    card_id = issue(merchant, add_customer(merchant, "A", unique), "membership")
    assert stripe_billing.membership_view(other_merchant, card_id) is None
    with pytest.raises(stripe_billing.cards.CardNotFound):
        stripe_billing.start_subscription(other_merchant, card_id)
    assert fake_stripe.requests() == []


def test_cancel_at_period_end_and_the_dashboard_link(merchant, unique, fake_stripe):
    stripe_account.save_keys(merchant, KEY)
    _stripe_template(merchant, stripe_prices={"Basic": "price_basic"})
    card_id = issue(merchant, add_customer(merchant, "C", unique), "membership")
    with pytest.raises(StripeSetupError, match="no Stripe subscription yet"):
        stripe_billing.cancel_at_period_end(merchant, card_id)
    with tenant_session(merchant) as session:  # linked as checkout.session.completed does
        session.execute(sa.update(stripe_billing.Card.__table__).where(stripe_billing.Card.__table__.c.id == card_id)
                        .values(stripe_subscription_id="sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"))
        session.commit()
    assert stripe_billing.dashboard_url(merchant, card_id) == (
        "https://dashboard.stripe.com/test/subscriptions/sub_1Pgc6rB7WZ01zgkWNy0Cn5nw")
    message = stripe_billing.cancel_at_period_end(merchant, card_id)
    request = fake_stripe.requests()[-1]
    assert (request.method, request.path) == ("POST", "/v1/subscriptions/sub_1Pgc6rB7WZ01zgkWNy0Cn5nw")
    assert request.form == {"cancel_at_period_end": "true"}
    assert "will end" in message
