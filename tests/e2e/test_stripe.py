"""Memberships billed by Stripe in Chromium (issue 12): a Stripe-mode card starts Pending
payment; signed webhook events POSTed to the running app (Stripe's own fixture objects
with our card serial, signed offline with the app's ``STRIPE_WEBHOOK_SECRET``) make it
Valid with the period end as expiration, a repeat changes nothing, a deletion shows
Cancelled, a paid invoice is a payment row, a bad signature is 400; Settings › Stripe
saves keys and never shows them back; with a key, Test connection, the tier → price
mapping, Start subscription and Cancel at period end reach the local Stripe-shaped API the
app is pointed at (``STRIPE_API_BASE``, ``tests.stripe_server``), never the internet."""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request

from playwright.sync_api import Page, expect
from sqlmodel import select

from perkstar_ui.db.models import CardTransaction, StripeEvent
from perkstar_ui.db.tenancy import system_session, tenant_session
from tests import stripe_fixtures as fx
from tests import stripe_server
from tests.e2e.conftest import STRIPE_WEBHOOK_SECRET, goto
from tests.helpers import add_customer, issue, set_template
from tests.messaging_servers import wait_until

WEBHOOK = "/api/stripe/webhook"
PRICE = "price_e2e_basic"
DAY = 86_400


def post_event(base_url: str, evt: dict, secret: str = STRIPE_WEBHOOK_SECRET) -> int:
    body, header = fx.signed(evt, secret)
    request = urllib.request.Request(base_url + WEBHOOK, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Stripe-Signature": header})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def ledger_kinds(merchant_id: int, card_id: int) -> list[str]:
    with tenant_session(merchant_id) as session:
        return session.exec(select(CardTransaction.kind).where(CardTransaction.card_id == card_id)
                            .order_by(CardTransaction.id)).all()


def stored_event(event_id: str) -> StripeEvent | None:
    with system_session() as session:
        return session.get(StripeEvent, event_id)


def stripe_member(page: Page, shop, email: str = "", phone: str = "", prices: dict | None = None) -> tuple[int, int, str]:  # noqa: ANN001
    """A Stripe-mode membership card (Basic ↔ ``PRICE``) on a new customer's open profile:
    (customer id, card id, serial)."""
    merchant_id = shop[0]
    set_template(merchant_id, "membership", mode="stripe", stripe_prices={"Basic": PRICE} if prices is None else prices)
    customer = add_customer(merchant_id, "Gym", "Member", email=email, phone=phone)
    card_id = issue(merchant_id, customer, "membership")
    goto(page, f"/customers/{customer}")
    panel = page.get_by_test_id("card-panel")
    expect(panel).to_have_attribute("data-card-type", "membership")
    return customer, card_id, panel.get_attribute("data-serial")


def test_stripe_membership_follows_its_webhooks(shop_page: Page, shop, base_url: str):  # noqa: ANN001
    page, merchant_id = shop_page, shop[0]
    _, card_id, serial = stripe_member(page, shop)
    panel = page.get_by_test_id("card-panel")
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Pending payment")
    expect(panel.get_by_test_id("card-action-start-subscription")).to_be_visible()
    for hidden in ("change-tier", "change-period", "change-expiration"):  # Stripe decides these
        expect(panel.get_by_test_id(f"card-action-{hidden}")).to_have_count(0)
    expect(panel.get_by_test_id("card-open-in-stripe")).to_have_count(0)

    now = int(time.time())
    end = now + 30 * DAY
    sub_id = fx.new_id("sub")
    created = fx.event("customer.subscription.created",
                       fx.subscription(serial, sub_id=sub_id, price=PRICE, start=now, end=end), created=now)
    assert post_event(base_url, created) == 200
    page.reload()
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Valid")
    period_end = dt.datetime.fromtimestamp(end, dt.timezone.utc).date().isoformat()
    expect(page.get_by_test_id("card-expiration")).to_have_text(period_end)
    expect(panel.get_by_test_id("card-renewal")).to_have_text(period_end)
    expect(panel.get_by_test_id("card-tier")).to_have_text("Basic")
    expect(panel.get_by_test_id("card-visits-left")).to_have_text("30")
    expect(panel.get_by_test_id("card-action-start-subscription")).to_have_count(0)
    stripe_link = panel.get_by_test_id("card-open-in-stripe")
    expect(stripe_link).to_have_attribute("href", f"https://dashboard.stripe.com/subscriptions/{sub_id}")
    expect(stripe_link).to_have_attribute("target", "_blank")
    rows = page.get_by_test_id("transaction-row")
    history, kinds = rows.count(), ledger_kinds(merchant_id, card_id)

    # Stripe delivers at least once: the same event again is acknowledged and changes nothing.
    assert post_event(base_url, created) == 200
    page.reload()
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Valid")
    expect(rows).to_have_count(history)
    assert ledger_kinds(merchant_id, card_id) == kinds

    # A paid invoice is a payment row in the card's history.
    invoice = fx.invoice(sub_id, serial=serial, amount=3_500)
    assert post_event(base_url, fx.event("invoice.paid", invoice, created=now + 1)) == 200
    page.reload()
    payment = page.locator('[data-testid="transaction-row"][data-kind="payment"]')
    expect(payment).to_have_count(1)
    expect(payment).to_contain_text("35.00 USD")
    expect(payment).to_contain_text(invoice["id"])

    # A bad signature: 400 and nothing stored.
    forged = fx.event("customer.subscription.deleted", fx.subscription(serial, sub_id=sub_id, status="canceled",
                                                                       price=PRICE, start=now, end=end), created=now + 2)
    assert post_event(base_url, forged, secret="whsec_notTheRightSecret123") == 400
    assert stored_event(forged["id"]) is None
    page.reload()
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Valid")

    # The real deletion: Cancelled, the card still runs to the end of the paid period.
    assert post_event(base_url, forged) == 200
    page.reload()
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("card-expiration")).to_have_text(period_end)
    expect(panel.get_by_test_id("card-action-cancel-subscription")).to_have_count(0)
    assert stored_event(forged["id"]) is not None


def test_stripe_actions_without_a_key_say_so(shop_page: Page, shop):  # noqa: ANN001
    """Without a Stripe key nothing is called: Start subscription explains what to do."""
    page, merchant_id = shop_page, shop[0]
    _, card_id, _ = stripe_member(page, shop, email="gym.member@example.com")
    panel = page.get_by_test_id("card-panel")
    panel.get_by_test_id("card-action-start-subscription").click()
    expect(panel.get_by_test_id("form-error")).to_contain_text("Connect Stripe first")
    expect(panel.get_by_test_id("card-checkout-link")).to_have_count(0)
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Pending payment")
    assert "payment" not in ledger_kinds(merchant_id, card_id)

    # Settings › Stripe lists the template's tiers with their mapping (no key: no price list fetched).
    goto(page, "/settings")
    tiers = page.get_by_test_id("stripe-tier-row")
    expect(tiers).to_have_count(2)
    basic = page.locator('[data-testid="stripe-tier-row"][data-tier="Basic"]')
    expect(basic).to_have_attribute("data-price-id", PRICE)
    expect(basic.get_by_label("Basic")).to_have_value(PRICE)
    expect(page.locator('[data-testid="stripe-tier-row"][data-tier="Premium"]').get_by_label("Premium")).to_have_value("")


def test_manual_membership_keeps_its_verbs(shop_page: Page, shop):  # noqa: ANN001
    merchant_id = shop[0]
    customer = add_customer(merchant_id, "Manual", "Member")
    issue(merchant_id, customer, "membership")
    goto(shop_page, f"/customers/{customer}")
    panel = shop_page.get_by_test_id("card-panel")
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Active")
    for verb in ("change-tier", "change-period", "change-expiration", "add-visits"):
        expect(panel.get_by_test_id(f"card-action-{verb}")).to_be_visible()
    expect(panel.get_by_test_id("card-action-start-subscription")).to_have_count(0)
    expect(panel.get_by_test_id("card-open-in-stripe")).to_have_count(0)


def test_stripe_keys_are_saved_and_never_shown_back(shop_page: Page, shop):  # noqa: ANN001
    page = shop_page  # no Stripe-mode template: saving keys lists no prices (that would call Stripe)
    goto(page, "/settings")
    section = page.get_by_test_id("stripe-settings")
    secret_key, webhook_secret = section.get_by_label("Stripe secret key"), section.get_by_label("Webhook signing secret")
    expect(secret_key).to_have_attribute("type", "password")
    expect(webhook_secret).to_have_attribute("type", "password")
    expect(section.get_by_test_id("stripe-test")).to_be_visible()
    expect(section.get_by_test_id("stripe-no-tiers")).to_be_visible()

    # A clearly bad key format is refused before anything is stored or called.
    secret_key.fill("pk_test_thisIsAPublishableKey")
    section.get_by_test_id("stripe-save").click()
    expect(section.get_by_test_id("form-error")).to_contain_text("not a Stripe secret key")
    expect(section.get_by_test_id("stripe-secret-key-hint")).to_have_text("")

    key, whsec = "sk_test_51E2eSecretKeyValue0000abcd", "whsec_e2eSigningSecretValueWxyz"
    secret_key.fill(key)
    webhook_secret.fill(whsec)
    section.get_by_test_id("stripe-save").click()
    expect(section.get_by_test_id("stripe-secret-key-hint")).to_have_text("sk_test_…abcd")
    expect(section.get_by_test_id("stripe-webhook-secret-hint")).to_have_text("whsec_…Wxyz")
    expect(section.get_by_test_id("form-error")).to_have_count(0)
    expect(secret_key).to_have_value("")
    expect(webhook_secret).to_have_value("")
    assert key not in page.content() and whsec not in page.content()
    goto(page, "/settings")
    expect(section.get_by_test_id("stripe-secret-key-hint")).to_have_text("sk_test_…abcd")
    expect(section.get_by_label("Stripe secret key")).to_have_value("")
    assert key not in page.content() and whsec not in page.content()
    expect(section.get_by_test_id("stripe-webhook-url")).to_contain_text("/api/stripe/webhook/")


def test_connected_account_maps_prices_starts_and_cancels(shop_page: Page, shop, base_url: str, stripe_api,  # noqa: ANN001
                                                          sms_outbox, unique: str):  # noqa: ANN001
    page, key = shop_page, "sk_test_51E2eConnectedKey00007777"
    phone = "+447400987" + str(int(unique, 16) % 1_000).zfill(3)
    customer, _, serial = stripe_member(page, shop, phone=phone, prices={})

    # Settings › Stripe: save the key, test it, map Basic to a listed price and create Premium's.
    goto(page, "/settings")
    section = page.get_by_test_id("stripe-settings")
    section.get_by_label("Stripe secret key").fill(key)
    section.get_by_test_id("stripe-save").click()
    expect(section.get_by_test_id("stripe-secret-key-hint")).to_have_text("sk_test_…7777")
    section.get_by_test_id("stripe-test").click()
    expect(section.get_by_test_id("stripe-status")).to_have_text(
        f"Connected to Stripe account {stripe_server.ACCOUNT_ID} ({stripe_server.ACCOUNT_NAME}), test mode.")
    assert stripe_api.requests("GET", "/v1/account")[-1].auth == f"Bearer {key}"
    basic = section.locator('[data-testid="stripe-tier-row"][data-tier="Basic"]')
    premium = section.locator('[data-testid="stripe-tier-row"][data-tier="Premium"]')
    expect(basic.get_by_label("Basic").locator(f'option[value="{stripe_server.LISTED_PRICE}"]')).to_have_count(1)
    basic.get_by_label("Basic").select_option(stripe_server.LISTED_PRICE)
    expect(basic).to_have_attribute("data-price-id", stripe_server.LISTED_PRICE)
    premium.get_by_label("Premium").select_option(label="Create from the tier's price (70.00)")
    expect(premium).to_have_attribute("data-price-id", stripe_server.CREATED_PRICE)
    created = stripe_api.requests("POST", "/v1/prices")[-1].form
    assert (created["unit_amount"], created["recurring[interval]"]) == ("7000", "month")

    # Start subscription: a Checkout Session for Basic's price, its link shown and sent by SMS.
    goto(page, f"/customers/{customer}")
    panel = page.get_by_test_id("card-panel")
    panel.get_by_test_id("card-action-start-subscription").click()
    expect(panel.get_by_test_id("card-checkout-link")).to_have_text(stripe_server.CHECKOUT_URL)
    expect(panel.get_by_test_id("card-checkout-message")).to_contain_text("SMS")
    expect(panel.get_by_test_id("copy-checkout-link")).to_be_visible()
    checkout = stripe_api.requests("POST", "/v1/checkout/sessions")[-1].form
    assert checkout["mode"] == "subscription"
    assert checkout["line_items[0][price]"] == stripe_server.LISTED_PRICE
    assert checkout["metadata[card_serial]"] == serial
    assert checkout["subscription_data[metadata][card_serial]"] == serial
    assert wait_until(lambda: any(stripe_server.CHECKOUT_URL in r.form.get("Body", "") for r in sms_outbox.sent(phone)))

    # The customer pays: Stripe's events make the card Valid; Open in Stripe goes to test mode.
    now, sub_id = int(time.time()), fx.new_id("sub")
    subscription = fx.subscription(serial, sub_id=sub_id, price=stripe_server.LISTED_PRICE, start=now, end=now + 30 * DAY)
    assert post_event(base_url, fx.event("customer.subscription.created", subscription, created=now)) == 200
    page.reload()
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Valid")
    expect(panel.get_by_test_id("card-open-in-stripe")).to_have_attribute(
        "href", f"https://dashboard.stripe.com/test/subscriptions/{sub_id}")

    # Cancel at period end, after a confirmation: Stripe is asked; the card stays Valid until then.
    panel.get_by_test_id("card-action-cancel-subscription").click()
    page.get_by_role("alertdialog").get_by_test_id("confirm-cancel-subscription").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    cancel = stripe_api.requests("POST", f"/v1/subscriptions/{sub_id}")
    assert cancel and cancel[-1].form["cancel_at_period_end"] == "true"
    expect(panel.get_by_test_id("card-subscription-status")).to_have_text("Valid")
