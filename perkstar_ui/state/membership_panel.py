"""What the membership panel adds to the common card panel (issue 12): the subscription
status, renewal date and visits left this period in every mode, and in Stripe mode the
three Stripe actions — Start subscription (a Checkout link sent to the customer and shown
to copy), Open in Stripe, Cancel at period end (after a confirmation).

A mixin of ``state.card_panels.CardPanelState``: ``_refresh`` extends the common
panel's. The card id is the one the panel loaded (``load_card`` looks it up within the
merchant); every handler resolves the merchant from the session again and the services
read the card within that merchant only. The card itself changes only through Stripe's
webhook, so after an action the panel just re-reads it.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.card_rules import STRIPE_MODE
from perkstar_ui.domain.card_types import CardType
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import stripe_billing
from perkstar_ui.state.guard import current_login, local, requires


class StripeMembershipPanel(rx.State, mixin=True):
    mode: str = ""
    subscription_status: str = ""  # card-subscription-status
    renewal: str = ""  # card-renewal (ISO date)
    visits_left: str = ""
    dashboard_url: str = ""
    can_start_subscription: bool = False
    can_cancel: bool = False
    checkout_url: str = ""
    checkout_message: str = ""
    stripe_error: str = ""
    starting: bool = False
    cancel_open: bool = False
    cancelling: bool = False

    @rx.var
    def stripe_mode(self) -> bool:
        return self.mode == STRIPE_MODE

    async def _refresh(self, merchant_id: int, card_id: int) -> None:
        previous = self.card_id
        await super()._refresh(merchant_id, card_id)
        if self.card_id != previous or not self.card_id:
            self.checkout_url, self.checkout_message, self.stripe_error = "", "", ""
        # Only a membership has a subscription: other cards skip the read (a thread hop and a query).
        is_membership = self.card_id and self.card_type == CardType.MEMBERSHIP
        view = await asyncio.to_thread(stripe_billing.membership_view, merchant_id, self.card_id) if is_membership else None
        if view is None:
            self.mode = self.subscription_status = self.renewal = self.visits_left = self.dashboard_url = ""
            self.can_start_subscription = self.can_cancel = False
            return
        self.mode, self.subscription_status, self.renewal = view.mode, view.status_label, view.renewal
        self.visits_left, self.dashboard_url = view.visits_left, view.dashboard_url
        self.can_start_subscription, self.can_cancel = view.can_start_subscription, view.can_cancel

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def start_subscription(self):
        context = current_login()
        if self.starting or not self.card_id:
            return
        self.starting, self.stripe_error, self.checkout_url, self.checkout_message = True, "", "", ""
        yield
        origin = self.router.headers.origin or ""
        try:
            link = await asyncio.to_thread(stripe_billing.start_subscription, context.merchant_id, self.card_id, origin)
        except Refused as refusal:
            self.starting, self.stripe_error = False, str(refusal)
            return
        self.starting = False
        self.checkout_url, self.checkout_message = link.url, link.message
        await self._refresh(context.merchant_id, self.card_id)
        yield rx.toast.success(link.message)

    @rx.event
    @local
    def set_cancel_open(self, value: bool):
        self.cancel_open = value
        if value:
            self.stripe_error = ""

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def cancel_at_period_end(self):
        context = current_login()
        if not self.cancel_open or self.cancelling:  # a second click after the first closed the dialog
            return
        self.cancelling = True
        yield
        try:
            message = await asyncio.to_thread(stripe_billing.cancel_at_period_end, context.merchant_id, self.card_id)
        except Refused as refusal:
            self.cancelling, self.stripe_error = False, str(refusal)
            return
        self.cancelling, self.cancel_open = False, False
        await self._refresh(context.merchant_id, self.card_id)
        yield rx.toast.success(message)
