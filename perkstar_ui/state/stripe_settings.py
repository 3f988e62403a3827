"""Settings › Stripe: the merchant's keys (hints only), the connection test, the webhook
endpoint to give Stripe, tier → Stripe Price per Stripe-mode membership template, and the
events that reached the endpoint for no card.

The keys typed are sent once, on Save, and never come back: the state keeps only the
masked hints ``services.stripe_account`` returns. Every handler resolves the merchant from
the session cookie; a template/tier named by the browser must be one of the rows the
server read for this merchant (and the service checks it again inside its transaction).
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import stripe_account, stripe_billing
from perkstar_ui.services.stripe_account import KeySource, StripeSetupError
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires

CREATE_PRICE = "__create__"  # the select's "Create from the tier's price" option
NOT_MAPPED = ""
SOURCE_LABELS = {KeySource.MERCHANT.value: "saved here", KeySource.INSTALLATION.value: "from the server's environment",
                 KeySource.NONE.value: "not set"}


@dataclasses.dataclass
class TierRow:
    key: str  # "<template id>:<tier>", the row's identity in the browser
    template_id: int
    template_name: str
    tier: str
    tier_price: str
    price_id: str
    listed: bool = False  # the mapped price is among the account's prices shown in the select


@dataclasses.dataclass
class PriceChoice:
    id: str
    label: str


@dataclasses.dataclass
class UnmatchedRow:
    id: str
    event_type: str
    received: str
    subscription_id: str
    customer_id: str


def _row_key(template_id: int, tier: str) -> str:
    return f"{template_id}:{tier}"


class StripeSettingsState(AuthState):
    secret_key_hint: str = ""
    secret_key_source: str = ""
    webhook_secret_hint: str = ""
    webhook_secret_source: str = ""
    webhook_path: str = ""
    origin: str = ""
    can_store: bool = True
    test_mode: bool = False
    form_error: str = ""
    saving: bool = False
    form_version: int = 0  # bumped after a save: the password inputs start empty again
    # The connection test.
    testing: bool = False
    status: str = ""
    status_ok: bool = False
    # Tier → Stripe Price.
    tiers: list[TierRow] = []
    prices: list[PriceChoice] = []
    prices_loading: bool = False
    prices_error: str = ""
    mapping_busy: str = ""  # the key of the row being saved
    unmatched: list[UnmatchedRow] = []

    @rx.var
    def webhook_url(self) -> str:
        return self.origin + self.webhook_path

    @rx.var
    def has_saved_keys(self) -> bool:
        return KeySource.MERCHANT.value in (self.secret_key_source, self.webhook_secret_source)

    @rx.var
    def secret_key_note(self) -> str:
        return SOURCE_LABELS.get(self.secret_key_source, "")

    @rx.var
    def webhook_secret_note(self) -> str:
        return SOURCE_LABELS.get(self.webhook_secret_source, "")

    def _show_keys(self, keys: stripe_account.StripeKeys) -> None:
        self.secret_key_hint, self.secret_key_source = keys.secret_key_hint, keys.secret_key_source
        self.webhook_secret_hint, self.webhook_secret_source = keys.webhook_secret_hint, keys.webhook_secret_source
        self.webhook_path, self.can_store, self.test_mode = keys.webhook_path, keys.can_store, keys.test_mode

    async def _read(self, merchant_id: int) -> None:
        try:
            self._show_keys(await asyncio.to_thread(stripe_account.get_keys, merchant_id))
        except StripeSetupError as error:  # e.g. keys saved under another PERKSTAR_SECRET_KEY
            self.form_error = str(error)
        rows = await asyncio.to_thread(stripe_account.tier_prices, merchant_id)
        self.tiers = [TierRow(_row_key(r.template_id, r.tier), r.template_id, r.template_name, r.tier, r.tier_price,
                              r.price_id) for r in rows]
        self._mark_listed()
        events = await asyncio.to_thread(stripe_billing.unmatched_events, merchant_id)
        self.unmatched = [UnmatchedRow(e.id, e.event_type, e.received, e.subscription_id, e.customer_id) for e in events]

    def _mark_listed(self) -> None:
        ids = {p.id for p in self.prices}
        self.tiers = [dataclasses.replace(row, listed=row.price_id in ids) for row in self.tiers]

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS, silent=True)
    async def load(self):
        merchant_id = current_login().merchant_id
        self.form_error, self.status, self.status_ok = "", "", False
        self.origin = self.router.headers.origin or ""
        await self._read(merchant_id)
        return StripeSettingsState.load_prices if self.tiers and self.secret_key_source else None

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS, silent=True)
    async def load_prices(self):
        """The account's recurring prices for the tier selects (a network call: spinner first)."""
        merchant_id = current_login().merchant_id
        self.prices_loading, self.prices_error = True, ""
        yield
        try:
            options = await asyncio.to_thread(stripe_account.list_prices, merchant_id)
        except StripeSetupError as error:
            self.prices, self.prices_error = [], str(error)
        else:
            self.prices = [PriceChoice(p.id, p.label) for p in options]
        self.prices_loading = False
        self._mark_listed()

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def save(self, form_data: dict):
        merchant_id = current_login().merchant_id
        secret_key = str(form_data.get("secret_key") or "")
        webhook_secret = str(form_data.get("webhook_secret") or "")
        if not secret_key.strip() and not webhook_secret.strip():
            self.form_error = "Enter the Stripe secret key or the webhook signing secret to save."
            return
        self.saving, self.form_error = True, ""
        yield
        try:
            keys = await asyncio.to_thread(stripe_account.save_keys, merchant_id, secret_key, webhook_secret,
                                            staff_user_id=current_login().staff_user_id)
        except StripeSetupError as error:
            self.form_error, self.saving = str(error), False
            return
        self.saving, self.status, self.status_ok = False, "", False
        self._show_keys(keys)
        self.form_version += 1  # empty password inputs: what was typed is not kept in the page
        yield rx.toast.success("Stripe keys saved.")
        if self.tiers and secret_key.strip():
            yield StripeSettingsState.load_prices

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def remove_keys(self):
        merchant_id = current_login().merchant_id
        try:
            self._show_keys(await asyncio.to_thread(stripe_account.remove_keys, merchant_id,
                                                   staff_user_id=current_login().staff_user_id))
        except StripeSetupError as error:
            self.form_error = str(error)
            return None
        self.form_error, self.status, self.status_ok, self.prices = "", "", False, []
        self._mark_listed()
        return rx.toast.success("Saved Stripe keys removed.")

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def test_connection(self):
        merchant_id = current_login().merchant_id
        self.testing, self.status = True, ""
        yield
        result = await asyncio.to_thread(stripe_account.test_connection, merchant_id)
        self.testing, self.status, self.status_ok = False, result.message, result.ok

    @rx.event
    @requires(Permission.ACCOUNT_SETTINGS)
    async def map_price(self, row_key: str, choice: str):
        """One tier's select changed: map it to that price, create one from the tier's price, or unmap it."""
        merchant_id = current_login().merchant_id
        rows = await asyncio.to_thread(stripe_account.tier_prices, merchant_id)  # this merchant's rows, read now
        row = next((r for r in rows if _row_key(r.template_id, r.tier) == row_key), None)
        if row is None:
            self.prices_error = "That membership tier no longer exists or is not billed by Stripe."
            return
        self.mapping_busy, self.prices_error = row_key, ""
        yield
        try:
            if choice == CREATE_PRICE:
                await asyncio.to_thread(stripe_account.create_tier_price, merchant_id, row.template_id, row.tier,
                                        staff_user_id=current_login().staff_user_id)
                message = f"Created a Stripe price for {row.tier}."
            else:
                await asyncio.to_thread(stripe_account.map_tier_price, merchant_id, row.template_id, row.tier, choice,
                                        staff_user_id=current_login().staff_user_id)
                message = f"{row.tier} mapped." if choice else f"{row.tier} unmapped."
        except StripeSetupError as error:
            self.prices_error = str(error)
            message = ""
        self.mapping_busy = ""
        await self._read(merchant_id)
        if message:
            yield rx.toast.success(message)
            if choice == CREATE_PRICE:
                yield StripeSettingsState.load_prices
