"""The one card panel state, shared by the profile and the counter (cards.md §x.2–x.3).

``CardPanelState`` shows the metrics of one card of any type, opens the action dialog of
a verb (§0.5) and applies it through ``services.cards``; ``StripeMembershipPanel`` adds
what a membership shows (it reads nothing for other types). A host page (the profile,
the counter) fills it with ``_show()`` from its own handler and learns of an applied
action through the method it registered with ``on_action`` (the panel imports no host),
called inside the same event: a separate event would cost another lock, state load and
save, login check and delta per action (issue 15's load test).

Every dialog opening draws a fresh idempotency key: a double click on Apply, or an
event the websocket sends again, reaches the service with the same key and applies once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

from perkstar_ui.domain.card_rules import Action, Unit, parse_amount
from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import card_desk
from perkstar_ui.services import cards as engine
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.membership_panel import StripeMembershipPanel

UNIT_HINTS = {Unit.COUNT: "a whole number", Unit.MONEY: "an amount, e.g. 12.50", Unit.POINTS: "points, e.g. 10 or 2.50"}
logger = logging.getLogger(__name__)
# The dialog's form fields (input names), kept in the state's vars of the same names.
FORM_FIELDS = ("value", "purchase", "comment", "choice", "date")
MAX_FIELD_CHARS = 1000  # the ledger keeps 500 characters of a comment; the rest is never stored
STALE_PAGE_MESSAGE = "This page is out of date. Reload it, then try again."
NO_PURCHASE_VERBS = ("change-tier", "change-period", "change-expiration", "send-push", "remove-stamps", "remove-visits",
                     "add-reward")


class PanelHost(enum.StrEnum):
    """Which page shows the panel: it decides what happens after an applied action."""

    PROFILE = "profile"
    COUNTER = "counter"


# host → (its state class, its coroutine method run after an applied action, given the
# card to show next — a redeemed coupon becomes another card, spec Q20 — or 0, returning
# the UI events to send). Registered by the host states.
AfterAction = Callable[[Any, int], Awaitable[list | None]]
_AFTER_ACTION: dict[PanelHost, tuple[type[rx.State], AfterAction]] = {}


def on_action(host: PanelHost, state: type[rx.State], after: AfterAction) -> None:
    _AFTER_ACTION[host] = (state, after)


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
    card_type: str = ""
    type_label: str = ""
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
    _host: str = ""

    @rx.var
    def value_hint(self) -> str:
        return UNIT_HINTS.get(self.unit, "")

    @rx.var
    def needs_value(self) -> bool:
        return self.unit in (Unit.COUNT, Unit.MONEY, Unit.POINTS) or self.verb == "send-push"

    @rx.var
    def needs_purchase(self) -> bool:
        return self.verb not in NO_PURCHASE_VERBS

    @rx.var
    def value_keypad(self) -> str:
        """The phone keypad for Value: digits only for counts, digits and a separator otherwise."""
        return "numeric" if self.unit == Unit.COUNT else "decimal"

    async def _refresh(self, merchant_id: int, card_id: int) -> None:
        panel = await asyncio.to_thread(card_desk.load_panel, merchant_id, card_id) if card_id else None
        if panel is None:
            self.card_id, self.card_type, self.verbs, self.metrics = 0, "", [], []
            return
        self.card_id, self.card_type, self.serial = panel.card_id, panel.card_type, panel.serial
        self.type_label = CARD_TYPE_LABELS[CardType(panel.card_type)]
        self.status, self.expiration = panel.status, panel.expiration
        self.balance, self.tier = panel.balance, panel.tier
        self.metrics = [MetricView(m.key, m.label, m.value) for m in panel.metrics]
        self.verbs = [VerbButton(v.verb, v.label) for v in panel.verbs if v.verb != "delete-card"]
        self._units = {v.verb: v.unit for v in panel.verbs}
        self.rewards, self.tiers = panel.rewards, panel.tiers

    async def _show(self, merchant_id: int, card_id: int, host: PanelHost) -> None:
        """Called by the host's guarded handler (the merchant it resolved): show this card."""
        self.dialog_open, self._host = False, host.value
        await self._refresh(merchant_id, card_id)

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

    def _take_fields(self, form_data: Any) -> None:  # noqa: ANN401  any client may send anything
        """The dialog's inputs arrive with the submit (a form: no event per keystroke, which
        cost a lock, state load and save each on the server). A field the verb's dialog does
        not show keeps what ``open_action`` set."""
        fields = form_data if isinstance(form_data, dict) else {}
        for name in FORM_FIELDS:
            if name in fields:
                value = fields[name]
                setattr(self, name, "" if value is None else str(value)[:MAX_FIELD_CHARS])

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
    async def apply(self, form_data: dict | None = None):  # None: a tab still on the old page
        if not self.dialog_open:  # a second click after the first closed the dialog
            return
        if not isinstance(form_data, dict):  # a page from before the form: what was typed never came
            self.form_error = STALE_PAGE_MESSAGE
            return
        self._take_fields(form_data)
        context = current_login()
        new_card_id = 0
        try:
            if self.verb == "send-push":
                await asyncio.to_thread(engine.send_push, context.merchant_id, self.card_id, self.value)
                message = "Push message queued."
            else:
                outcome = await asyncio.to_thread(
                    card_desk.perform_action, context.merchant_id, self.card_id, self._action(),
                    staff_user_id=context.staff_user_id, idempotency_key=self._action_key, comment=self.comment,
                )
                message, new_card_id = outcome.message, outcome.new_card_id or 0
        except Refused as refusal:
            self.form_error = str(refusal)
            return
        self.dialog_open = False
        await self._refresh(context.merchant_id, self.card_id)
        yield rx.toast.success(message)
        after = _AFTER_ACTION.get(PanelHost(self._host)) if self._host else None
        if after is not None:
            host_state, refresh = after
            try:
                events = await refresh(await self.get_state(host_state), new_card_id)
            except Exception:  # noqa: BLE001  the action is saved: keep the tab's state, say so
                logger.exception("refreshing the %s after a card action failed", self._host)
                yield rx.toast.warning("Saved. Reload the page to see every change.")
                return
            if events:
                yield events


class CardPanelState(StripeMembershipPanel, CardPanel, AuthState):
    """The panel of the selected card, whatever its type."""
