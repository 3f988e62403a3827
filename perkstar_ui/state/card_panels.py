"""One Reflex state per card type for the profile's card panel (cards.md §x.2–x.3).

``CardPanel`` is a mixin with what every panel does: show the metrics of one card,
open the action dialog of a verb (§0.5) and apply it through ``services.cards``. Each
card type is its own state (``StampPanelState`` …) so a panel holds only its card and a
type can grow its own fields (reward levels, membership tiers) without the others.

Every dialog opening draws a fresh idempotency key: a double click on Apply, or an
event the websocket sends again, reaches the service with the same key and applies once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid

import reflex as rx

from perkstar_ui.domain.card_rules import Action, Unit, parse_amount
from perkstar_ui.domain.card_types import CardType
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import cards as engine
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.membership_panel import StripeMembershipPanel

UNIT_HINTS = {Unit.COUNT: "a whole number", Unit.MONEY: "an amount, e.g. 12.50", Unit.POINTS: "points, e.g. 10 or 2.50"}


@dataclasses.dataclass
class MetricView:
    key: str
    label: str
    value: str


@dataclasses.dataclass
class VerbButton:
    verb: str
    label: str


class CardPanel(rx.State, mixin=True):
    card_id: int = 0
    serial: str = ""
    status: str = ""
    expiration: str = ""
    balance: str = ""
    tier: str = ""
    metrics: list[MetricView] = []
    verbs: list[VerbButton] = []
    rewards: list[str] = []
    tiers: list[str] = []

    # The action dialog.
    dialog_open: bool = False
    verb: str = ""
    verb_label: str = ""
    unit: str = ""
    value: str = ""
    purchase: str = ""
    comment: str = ""
    choice: str = ""  # reward, tier or period
    date: str = ""
    form_error: str = ""
    _action_key: str = ""
    _units: dict[str, str] = {}

    @rx.var
    def value_hint(self) -> str:
        return UNIT_HINTS.get(self.unit, "")

    @rx.var
    def needs_value(self) -> bool:
        return self.unit in (Unit.COUNT, Unit.MONEY, Unit.POINTS) or self.verb == "send-push"

    @rx.var
    def needs_purchase(self) -> bool:
        return self.verb not in ("change-tier", "change-period", "change-expiration", "send-push", "remove-stamps",
                                 "remove-visits", "add-reward")

    async def _refresh(self, merchant_id: int, card_id: int) -> None:
        panel = await asyncio.to_thread(engine.load_panel, merchant_id, card_id)
        if panel is None:
            self.card_id = 0
            return
        self.card_id, self.serial, self.status, self.expiration = panel.card_id, panel.serial, panel.status, panel.expiration
        self.balance, self.tier = panel.balance, panel.tier
        self.metrics = [MetricView(m.key, m.label, m.value) for m in panel.metrics]
        self.verbs = [VerbButton(v.verb, v.label) for v in panel.verbs if v.verb != "delete-card"]
        self._units = {v.verb: v.unit for v in panel.verbs}
        self.rewards, self.tiers = panel.rewards, panel.tiers

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def load_card(self, card_id: int):
        merchant_id = current_login().merchant_id
        self.dialog_open = False
        await self._refresh(merchant_id, card_id)
        return None

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    def open_action(self, verb: str):
        labels = {v.verb: v.label for v in self.verbs}
        if verb not in labels or self.status == "Deleted":
            return
        self.verb, self.verb_label, self.unit = verb, labels[verb], self._units.get(verb, Unit.NONE)
        # At the counter the usual action is one stamp or one visit: Value starts at 1.
        self.value = "1" if self.unit == Unit.COUNT else ""
        self.purchase, self.comment, self.form_error = "", "", ""
        self.choice = {"redeem-reward": self.rewards[0] if self.rewards and self.unit == Unit.NONE else "",
                       "change-tier": self.tiers[0] if self.tiers else "",
                       "change-period": "monthly"}.get(verb, "")
        self.date = self.expiration or (dt.date.today() + dt.timedelta(days=365)).isoformat()
        self._action_key = uuid.uuid4().hex
        self.dialog_open = True

    @rx.event
    @local
    def close_dialog(self, open_: bool = False):
        self.dialog_open = open_
        if not open_:
            self.form_error = ""

    @rx.event
    @local
    def set_value(self, text: str):
        self.value = text

    @rx.event
    @local
    def set_purchase(self, text: str):
        self.purchase = text

    @rx.event
    @local
    def set_comment(self, text: str):
        self.comment = text

    @rx.event
    @local
    def set_choice(self, text: str):
        self.choice = text

    @rx.event
    @local
    def set_date(self, text: str):
        self.date = text

    def _action(self) -> Action:
        value = parse_amount(self.value, self.unit) if self.unit in (Unit.COUNT, Unit.MONEY, Unit.POINTS) else 0
        purchase = parse_amount(self.purchase, Unit.MONEY, required=False, label="Purchase amount")
        date = None
        if self.verb == "change-expiration":
            try:
                date = dt.date.fromisoformat(self.date)
            except ValueError:
                raise Refused("Enter the date as YYYY-MM-DD.") from None
        return Action(self.verb, value or 0, purchase_cents=purchase, reward=self.choice or None,
                      tier=self.choice or None, period=self.choice or None, date=date)

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def apply(self):
        if not self.dialog_open:  # a second click after the first closed the dialog
            return
        context = current_login()
        try:
            if self.verb == "send-push":
                await asyncio.to_thread(engine.send_push, context.merchant_id, self.card_id, self.value)
                message = "Push message queued."
            else:
                outcome = await asyncio.to_thread(
                    engine.perform_action, context.merchant_id, self.card_id, self._action(),
                    staff_user_id=context.staff_user_id, idempotency_key=self._action_key, comment=self.comment,
                )
                message = outcome.message
        except Refused as refusal:
            self.form_error = str(refusal)
            return
        self.dialog_open = False
        yield rx.toast.success(message)
        from perkstar_ui.state.profile import ProfileState  # the profile reloads this panel

        if self.verb != "send-push" and outcome.new_card_id:  # spec Q20: show the card the coupon became
            profile = await self.get_state(ProfileState)
            profile.selected_card_id = outcome.new_card_id
        yield ProfileState.load


class StampPanelState(CardPanel, AuthState):
    pass


class MultipassPanelState(CardPanel, AuthState):
    pass


class CashbackPanelState(CardPanel, AuthState):
    pass


class GiftPanelState(CardPanel, AuthState):
    pass


class RewardPanelState(CardPanel, AuthState):
    pass


class CouponPanelState(CardPanel, AuthState):
    pass


class MembershipPanelState(StripeMembershipPanel, CardPanel, AuthState):
    pass


class DiscountPanelState(CardPanel, AuthState):
    pass


PANEL_STATES: dict[str, type[CardPanel]] = {
    CardType.STAMP.value: StampPanelState,
    CardType.MULTIPASS.value: MultipassPanelState,
    CardType.CASHBACK.value: CashbackPanelState,
    CardType.GIFT.value: GiftPanelState,
    CardType.REWARD.value: RewardPanelState,
    CardType.COUPON.value: CouponPanelState,
    CardType.MEMBERSHIP.value: MembershipPanelState,
    CardType.DISCOUNT.value: DiscountPanelState,
}
