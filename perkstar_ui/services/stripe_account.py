"""A merchant's Stripe account (issue 12): keys, the connection test, prices per tier.

Keys are stored Fernet-encrypted with a key derived from ``PERKSTAR_SECRET_KEY`` and are
never handed back whole: views carry a masked hint (``sk_test_…1234``). A merchant
without keys of its own uses the installation's ``STRIPE_API_KEY`` /
``STRIPE_WEBHOOK_SECRET``. Every outgoing call goes through the ``stripe`` library with
the key passed per call (tests point ``stripe.api_base`` at a local server).
Saving or removing keys is audited as ``settings-update`` naming the keys and their last
four characters only; a tier's price mapping as ``template-update``.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass

import stripe
from cryptography.fernet import Fernet, InvalidToken
from sqlmodel import select

from perkstar_ui.config import settings
from perkstar_ui.db.models import CardTemplate, Merchant
from perkstar_ui.db.tenancy import system_session, tenant_session
from perkstar_ui.domain.card_rules import STRIPE_MODE
from perkstar_ui.domain.card_types import BalanceUnit, CardType, MembershipSettings, validate_settings
from perkstar_ui.domain.formatting import format_units
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.stripe_rules import STRIPE_INTERVALS
from perkstar_ui.services import audit, secrets_box

WEBHOOK_PATH = "/api/stripe/webhook"  # the contract path: the installation's signing secret
SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9_+/=-]{8,}$")
HINT_TAIL = 4
STRIPE_TIMEOUT_SECONDS = 20

# One shared client with a bounded timeout: the merchant waits on a spinner for these.
stripe.default_http_client = stripe.new_default_http_client(timeout=STRIPE_TIMEOUT_SECONDS)


class StripeSetupError(Refused):
    """A Stripe setting or call that did not work; the message is shown as is."""


class KeySource(str, enum.Enum):
    MERCHANT = "merchant"  # saved on /settings
    INSTALLATION = "installation"  # STRIPE_API_KEY / STRIPE_WEBHOOK_SECRET
    NONE = ""


# --- encryption -----------------------------------------------------------------------------


def _fernet() -> Fernet:
    box = secrets_box.fernet()
    if box is None:
        raise StripeSetupError("The server has no PERKSTAR_SECRET_KEY, so Stripe keys cannot be stored; "
                               "ask the administrator to set it (or to set STRIPE_API_KEY).")
    return box


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise StripeSetupError("The saved Stripe keys cannot be read with this server's PERKSTAR_SECRET_KEY; "
                               "enter them again.") from None


def mask(value: str) -> str:
    """``sk_test_…1234``: the prefix and the last four characters only."""
    if not value:
        return ""
    prefix = value[: value.find("_", value.find("_") + 1) + 1] if value.startswith(("sk_", "rk_")) else value[:6]
    return f"{prefix}…{value[-HINT_TAIL:]}"


# --- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripeKeys:
    """What /settings shows: hints only, never a whole key."""

    secret_key_hint: str
    secret_key_source: str  # KeySource value
    webhook_secret_hint: str
    webhook_secret_source: str
    webhook_path: str  # this merchant's own endpoint: /api/stripe/webhook/{token}
    can_store: bool  # False: no PERKSTAR_SECRET_KEY on the server
    test_mode: bool


def _merchant(session, merchant_id: int) -> Merchant:  # noqa: ANN001
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise StripeSetupError("Unknown merchant.")
    return merchant


def _ensure_token(session, merchant: Merchant) -> str:  # noqa: ANN001
    if not merchant.stripe_webhook_token:
        merchant.stripe_webhook_token = secrets.token_urlsafe(24)
        session.add(merchant)
        session.commit()
    return merchant.stripe_webhook_token


def _resolved(encrypted: str | None, fallback: str) -> tuple[str, KeySource]:
    if encrypted:
        return decrypt(encrypted), KeySource.MERCHANT
    if fallback:
        return fallback, KeySource.INSTALLATION
    return "", KeySource.NONE


def get_keys(merchant_id: int) -> StripeKeys:
    with tenant_session(merchant_id) as session:
        merchant = _merchant(session, merchant_id)
        token = _ensure_token(session, merchant)
        key, key_source = _resolved(merchant.stripe_secret_key_enc, settings().stripe_api_key)
        webhook, webhook_source = _resolved(merchant.stripe_webhook_secret_enc, settings().stripe_webhook_secret)
    return StripeKeys(mask(key), key_source.value, mask(webhook), webhook_source.value, f"{WEBHOOK_PATH}/{token}",
                      bool(settings().secret_key), "_test_" in key)


def check_secret_key(value: str) -> str:
    value = value.strip()
    if not SECRET_KEY_PATTERN.match(value):
        raise StripeSetupError("Stripe secret key: that is not a Stripe secret key "
                               "(it starts with sk_test_, sk_live_, rk_test_ or rk_live_).")
    return value


def check_webhook_secret(value: str) -> str:
    value = value.strip()
    if not WEBHOOK_SECRET_PATTERN.match(value):
        raise StripeSetupError("Webhook signing secret: that is not a webhook signing secret (it starts with whsec_).")
    return value


SECRET_KEY_FIELD = "stripe_secret_key"
WEBHOOK_SECRET_FIELD = "stripe_webhook_secret"


def save_keys(merchant_id: int, secret_key: str = "", webhook_secret: str = "", *,
              staff_user_id: int | None = None) -> StripeKeys:
    """Store the keys typed (blank: keep the saved one); both checked before either is stored."""
    key = check_secret_key(secret_key) if secret_key.strip() else None
    webhook = check_webhook_secret(webhook_secret) if webhook_secret.strip() else None
    detail: dict[str, str] = {}
    with tenant_session(merchant_id) as session:
        merchant = _merchant(session, merchant_id)
        if key is not None:
            merchant.stripe_secret_key_enc = encrypt(key)
            detail[SECRET_KEY_FIELD] = audit.secret_hint(key)
        if webhook is not None:
            merchant.stripe_webhook_secret_enc = encrypt(webhook)
            detail[WEBHOOK_SECRET_FIELD] = audit.secret_hint(webhook)
        session.add(merchant)
        if detail:
            audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                         detail={"changed": ", ".join(detail), **detail})
        session.commit()
    return get_keys(merchant_id)


def remove_keys(merchant_id: int, *, staff_user_id: int | None = None) -> StripeKeys:
    with tenant_session(merchant_id) as session:
        merchant = _merchant(session, merchant_id)
        removed = [name for name, stored in ((SECRET_KEY_FIELD, merchant.stripe_secret_key_enc),
                                             (WEBHOOK_SECRET_FIELD, merchant.stripe_webhook_secret_enc)) if stored]
        merchant.stripe_secret_key_enc = merchant.stripe_webhook_secret_enc = None
        session.add(merchant)
        if removed:
            audit.record(merchant_id, audit.Action.SETTINGS_UPDATE, staff_user_id=staff_user_id, session=session,
                         detail={"changed": ", ".join(removed), "removed": True})
        session.commit()
    return get_keys(merchant_id)


def api_key(merchant_id: int) -> str:
    """The secret key for this merchant's calls: its own, else the installation's."""
    with tenant_session(merchant_id) as session:
        encrypted = _merchant(session, merchant_id).stripe_secret_key_enc
    key, _ = _resolved(encrypted, settings().stripe_api_key)
    if not key:
        raise StripeSetupError("Connect Stripe first: enter the Stripe secret key in Settings.")
    return key


def webhook_secret_for_token(token: str) -> tuple[int, str] | None:
    """The merchant of a per-merchant webhook path and the signing secret that applies to it."""
    if not token or len(token) > 43:
        return None
    with system_session() as session:
        merchant = session.exec(select(Merchant).where(Merchant.stripe_webhook_token == token)).first()
        if merchant is None:
            return None
        encrypted, merchant_id = merchant.stripe_webhook_secret_enc, merchant.id
    secret, _ = _resolved(encrypted, settings().stripe_webhook_secret)
    return (merchant_id, secret) if secret else None


def is_test_key(key: str) -> bool:
    return "_test_" in key


# --- calls ------------------------------------------------------------------------------------


def explain(error: stripe.StripeError) -> str:
    """A failed Stripe call in words the merchant can act on."""
    detail = error.user_message or str(error) or error.__class__.__name__
    if isinstance(error, stripe.AuthenticationError):
        return f"Stripe refused the secret key: {detail}"
    if isinstance(error, stripe.PermissionError):
        return f"This key may not do that (a restricted key?): {detail}"
    if isinstance(error, stripe.APIConnectionError):
        return f"Could not reach Stripe: {detail}"
    return f"Stripe said: {detail}"


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str  # what ``stripe-status`` shows
    account_id: str = ""


def test_connection(merchant_id: int) -> ConnectionResult:
    """One harmless call (retrieve the account) with the merchant's key."""
    try:
        key = api_key(merchant_id)
        account = stripe.Account.retrieve(api_key=key).to_dict()
    except StripeSetupError as error:
        return ConnectionResult(False, str(error))
    except stripe.StripeError as error:
        return ConnectionResult(False, explain(error))
    name = (account.get("settings") or {}).get("dashboard", {}).get("display_name") or (
        account.get("business_profile") or {}).get("name") or ""
    mode = "test mode" if is_test_key(key) else "live mode"
    shown = f"{account['id']} ({name})" if name else account["id"]
    return ConnectionResult(True, f"Connected to Stripe account {shown}, {mode}.", account["id"])


@dataclass(frozen=True)
class PriceOption:
    id: str
    label: str  # "Gym Basic · 35.00 USD / month"
    unit_amount_cents: int
    currency: str
    interval: str


def _price_option(price: dict) -> PriceOption:
    product = price.get("product")
    product_name = product.get("name") if isinstance(product, dict) else ""
    name = price.get("nickname") or product_name or price["id"]
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or ""
    count = recurring.get("interval_count") or 1
    every = f"{count} {interval}s" if count != 1 else interval
    amount = int(price.get("unit_amount") or 0)
    currency = str(price.get("currency") or "")
    return PriceOption(price["id"], f"{name} · {format_units(amount, BalanceUnit.CENTS)} {currency.upper()} / {every}",
                       amount, currency, interval)


def list_prices(merchant_id: int) -> list[PriceOption]:
    """The account's active recurring prices (first 100), newest first as Stripe lists them."""
    key = api_key(merchant_id)
    try:
        prices = stripe.Price.list(api_key=key, active=True, type="recurring", limit=100, expand=["data.product"])
    except stripe.StripeError as error:
        raise StripeSetupError(explain(error)) from None
    return [_price_option(p) for p in prices.to_dict().get("data", [])]


# --- tiers → prices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TierPrice:
    template_id: int
    template_name: str
    tier: str
    tier_price: str  # the tier's own price, "35.00"
    price_id: str  # the mapped Stripe price, "" when none


def _stripe_template(session, template_id: int) -> tuple[CardTemplate, MembershipSettings]:  # noqa: ANN001
    template = session.get(CardTemplate, template_id)
    if template is None or template.card_type != CardType.MEMBERSHIP.value:
        raise StripeSetupError("Choose a membership template.")
    settings_ = validate_settings(template.card_type, template.settings)
    if settings_.mode != STRIPE_MODE:  # type: ignore[union-attr]
        raise StripeSetupError(f"{template.name} is not billed by Stripe (Membership mode).")
    return template, settings_  # type: ignore[return-value]


def tier_prices(merchant_id: int) -> list[TierPrice]:
    """Every tier of the merchant's Stripe-mode membership templates with its mapping."""
    rows = []
    with tenant_session(merchant_id) as session:
        templates = session.exec(select(CardTemplate).where(CardTemplate.card_type == CardType.MEMBERSHIP.value)
                                 .order_by(CardTemplate.id)).all()
        for template in templates:
            s = validate_settings(template.card_type, template.settings)
            if s.mode != STRIPE_MODE:  # type: ignore[union-attr]
                continue
            for tier in s.tiers:  # type: ignore[union-attr]
                rows.append(TierPrice(template.id, template.name, tier.name,
                                      format_units(tier.price_cents, BalanceUnit.CENTS),
                                      s.stripe_prices.get(tier.name, "")))  # type: ignore[union-attr]
    return rows


def _store_mapping(merchant_id: int, template_id: int, tier: str, price_id: str, staff_user_id: int | None) -> None:
    with tenant_session(merchant_id) as session:
        session.exec(select(CardTemplate.id).where(CardTemplate.id == template_id).with_for_update()).first()
        template, s = _stripe_template(session, template_id)
        if not any(t.name == tier for t in s.tiers):
            raise StripeSetupError(f"{template.name} has no tier {tier}.")
        prices = {**s.stripe_prices, tier: price_id} if price_id else {
            k: v for k, v in s.stripe_prices.items() if k != tier}
        template.settings = s.model_copy(update={"stripe_prices": prices}).model_dump(mode="json")
        session.add(template)
        audit.record(merchant_id, audit.Action.TEMPLATE_UPDATE, staff_user_id=staff_user_id, session=session,
                     detail={"template": template.id, "name": template.name, "change": "stripe-price", "tier": tier,
                             "price": price_id})
        session.commit()


def map_tier_price(merchant_id: int, template_id: int, tier: str, price_id: str, *,
                   staff_user_id: int | None = None) -> TierPrice:
    """Map a tier to one of the account's recurring prices ("" removes the mapping)."""
    price_id = price_id.strip()
    if price_id:
        key = api_key(merchant_id)
        try:
            price = stripe.Price.retrieve(price_id, api_key=key).to_dict()
        except stripe.StripeError as error:
            raise StripeSetupError(explain(error)) from None
        if not price.get("recurring"):
            raise StripeSetupError(f"Price {price_id} is not recurring; a membership needs a recurring price.")
    _store_mapping(merchant_id, template_id, tier, price_id, staff_user_id)
    return next(r for r in tier_prices(merchant_id) if r.template_id == template_id and r.tier == tier)


def create_tier_price(merchant_id: int, template_id: int, tier: str, *, staff_user_id: int | None = None) -> TierPrice:
    """Create a recurring Stripe price from the tier's own price and period, and map it."""
    with tenant_session(merchant_id) as session:
        template, s = _stripe_template(session, template_id)
        found = next((t for t in s.tiers if t.name == tier), None)
        if found is None:
            raise StripeSetupError(f"{template.name} has no tier {tier}.")
        name, period = template.name, s.period
    if found.price_cents <= 0:
        raise StripeSetupError(f"Tier {tier} has no price; set its price in the template first.")
    interval, count = STRIPE_INTERVALS[period]
    key = api_key(merchant_id)
    try:
        price = stripe.Price.create(
            api_key=key, unit_amount=found.price_cents, currency=settings().stripe_currency.lower(),
            recurring={"interval": interval, "interval_count": count},
            product_data={"name": f"{name} – {tier}"[:250]},
            metadata={"perkstar_template_id": str(template_id), "perkstar_tier": tier},
        )
    except stripe.StripeError as error:
        raise StripeSetupError(explain(error)) from None
    _store_mapping(merchant_id, template_id, tier, price.id, staff_user_id)
    return next(r for r in tier_prices(merchant_id) if r.template_id == template_id and r.tier == tier)
