"""``/counter`` (issue 14): one field for a phone, serial or name, the camera scanner,
the chosen customer's cards in the shared card panel, and one-tap actions with undo.

Search: typing arrives debounced (``search``), Enter or a keyboard-wedge scanner's
serial + Enter arrives at once (``submit``), a camera scan too (``scanned``); the same
text twice is looked up once, so the debounced echo of an Enter costs nothing. A valid
serial of this merchant opens that card at once.

One-tap actions (``quick``) carry the idempotency key the page was given with the card
(``quick_key``), drawn anew after each applied action: a double tap sends the same key
twice and the engine applies it once. The undo writes the engine's correction of that
action (never an edit), for ``UNDO_SECONDS``; the server holds which action it undoes
and on which card: showing another card closes the bar. A tap the engine did not apply
(its key was used already) draws a new key too, so the next tap is not dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
import uuid

import reflex as rx

from perkstar_ui.domain import counter as rules
from perkstar_ui.domain.card_rules import VERB_LABELS, Action
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import card_desk
from perkstar_ui.services import cards as engine
from perkstar_ui.services import counter as lookups
from perkstar_ui.services import rfm
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.card_panels import CardPanelState, PanelHost, VerbButton, on_action
from perkstar_ui.state.guard import current_login, local, requires

FIELD_ID = "counter-search"
_KEY = re.compile(r"[0-9a-f]{32}")


@dataclasses.dataclass
class ResultView:
    customer_id: int
    name: str
    phone: str
    cards: str


@dataclasses.dataclass
class CardTab:
    id: int
    type_label: str
    serial: str


def _ready_for_next() -> list:
    """The field empty and focused: the next customer can be typed or scanned at once."""
    return [rx.set_value(FIELD_ID, ""), rx.set_focus(FIELD_ID)]


class CounterState(AuthState):
    query: str = ""  # the text last looked up
    searched: bool = False
    results: list[ResultView] = []
    customer_id: int = 0
    customer_name: str = ""
    rfm_segment: str = ""  # rfm.md: every card panel shows the customer's segment
    cards: list[CardTab] = []
    selected_card_id: int = 0
    quick: list[VerbButton] = []
    quick_key: str = ""
    done_message: str = ""  # counter-done: what the last one-tap action did
    undo_open: bool = False
    scanning: bool = False
    scan_error: str = ""
    _undo_key: str = ""
    _undo_until: float = 0.0
    _undo_card_id: int = 0  # the card the undo bar's action was on

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS, page=True)
    def load(self):
        self.query, self.searched, self.results = "", False, []
        self._clear_customer()
        self.scanning, self.scan_error = False, ""

    def _clear_customer(self) -> None:
        self.customer_id, self.customer_name, self.cards, self.selected_card_id = 0, "", [], 0
        self.rfm_segment = ""
        self.quick, self.quick_key = [], ""
        self._close_undo()

    def _close_undo(self) -> None:
        self.done_message, self.undo_open, self._undo_key, self._undo_card_id = "", False, "", 0

    async def _lookup(self, text: str):  # noqa: ANN202  an async generator of UI updates
        """The results first (sent at once), then the card a serial (or the only match) names."""
        merchant_id = current_login().merchant_id
        self.query = text
        found = await asyncio.to_thread(lookups.find, merchant_id, text)
        self.searched = bool(text)
        self.results = [ResultView(r.customer_id, r.name, r.phone, r.cards) for r in found.results]
        if not found.card_id and len(found.results) != 1:
            self._clear_customer()
            return
        if not found.card_id and found.results[0].customer_id != self.customer_id:
            yield  # a one-customer result shows before their card loads
        await self._open(merchant_id, found.customer_id or found.results[0].customer_id, found.card_id)

    async def _open(self, merchant_id: int, customer_id: int, card_id: int, *, refreshed: bool = False) -> None:
        loaded = await asyncio.to_thread(lookups.customer_cards, merchant_id, customer_id)
        if loaded is None:
            self._clear_customer()
            return
        if customer_id != self.customer_id:
            self._close_undo()
        self.customer_id, (self.customer_name, cards) = customer_id, loaded
        self.rfm_segment = await asyncio.to_thread(rfm.segment_of, merchant_id, customer_id)
        self.cards = [CardTab(c.id, c.type_label, c.serial) for c in cards]
        if not any(c.id == card_id for c in cards):  # keep the card on screen, else the likeliest one
            kept = any(c.id == self.selected_card_id for c in cards)
            card_id = self.selected_card_id if kept else lookups.default_card(cards)
        await self._show(merchant_id, card_id, refreshed=refreshed)

    async def _show(self, merchant_id: int, card_id: int, *, refreshed: bool = False) -> None:
        """``refreshed``: the panel has just read this card itself (after its own action)."""
        if card_id != self._undo_card_id:  # the bar speaks of another card's action
            self._close_undo()
        self.selected_card_id = card_id
        panel = await self.get_state(CardPanelState)
        if not (refreshed and panel.card_id == card_id):
            await panel._show(merchant_id, card_id, PanelHost.COUNTER)
        self._set_quick(panel)

    def _set_quick(self, panel: CardPanelState, *, new_key: bool = True) -> None:
        labels = {v.verb: v.label for v in panel.verbs}
        allowed = [] if panel.status == "Deleted" else rules.quick_verbs(panel.card_type, list(labels))
        self.quick = [VerbButton(v, labels[v]) for v in allowed]
        if new_key or not self.quick_key:
            self.quick_key = uuid.uuid4().hex

    @rx.event(supersedes=True)
    @requires(Permission.VIEW_CUSTOMERS)
    async def search(self, text: str):
        """Typing, debounced: the same text as the last look-up does nothing."""
        text = text.strip()[:lookups.MAX_QUERY]
        if text != self.query:
            async for update in self._lookup(text):
                yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def submit(self, form: dict):
        """Enter (or a keyboard-wedge scanner's serial + Enter): look up at once."""
        async for update in self._lookup(str(form.get("q", "")).strip()[:lookups.MAX_QUERY]):
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def scanned(self, text: str):
        """The camera read a code: the same as typing it and pressing Enter."""
        self.scanning, self.scan_error = False, ""
        text = str(text).strip()[:lookups.MAX_QUERY]
        yield rx.set_value(FIELD_ID, text)
        async for update in self._lookup(text):
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def choose(self, customer_id: int):
        await self._open(current_login().merchant_id, customer_id, 0)

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def select_card(self, card_id: int):
        if any(c.id == card_id for c in self.cards):
            await self._show(current_login().merchant_id, card_id)

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def tap(self, verb: str, key: str):
        """A one-tap action with value 1; ``key`` is the page's ``quick_key`` (exactly once)."""
        if not _KEY.fullmatch(str(key)) or verb not in [q.verb for q in self.quick]:
            return
        context = current_login()
        panel = await self.get_state(CardPanelState)
        if not panel.card_id or panel.card_id != self.selected_card_id:  # the panel shows another page's card
            return
        try:
            outcome = await asyncio.to_thread(
                card_desk.perform_action, context.merchant_id, panel.card_id, Action(verb, rules.quick_value(verb)),
                staff_user_id=context.staff_user_id, idempotency_key=key, source=rules.SCANNER_SOURCE,
            )
        except Refused as refusal:
            yield rx.toast.error(str(refusal))
            return
        if not outcome.applied:
            # The key was used already: the second tap of a double tap (the first counted),
            # or a tap whose answer was lost. A new key, so the next tap is not dropped too.
            self.quick_key = uuid.uuid4().hex
            await panel._refresh(context.merchant_id, panel.card_id)
            return
        # The new balance and a new key go out at once; the metrics follow in a second delta.
        panel.balance, self.quick_key = outcome.balance, uuid.uuid4().hex
        self.done_message = f"{VERB_LABELS[verb]}: 1. Balance {outcome.balance}."
        self._undo_key, self._undo_until, self.undo_open = key, time.time() + rules.UNDO_SECONDS, True
        self._undo_card_id = outcome.new_card_id or panel.card_id
        yield _ready_for_next()
        yield CounterState.close_undo(key)
        if outcome.new_card_id:  # a coupon became a loyalty card (spec Q20): show that one
            await self._open(context.merchant_id, self.customer_id, outcome.new_card_id)
        else:
            await panel._refresh(context.merchant_id, panel.card_id)
            self._set_quick(panel, new_key=False)

    @rx.event(background=True)
    @local
    async def close_undo(self, key: str):
        """Hide the undo bar once its time is up (only the bar of that action)."""
        await asyncio.sleep(rules.UNDO_SECONDS)
        async with self:
            if self._undo_key == key:
                self.undo_open, self._undo_key = False, ""

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def undo(self):
        key = self._undo_key
        if not key or time.time() > self._undo_until or self._undo_card_id != self.selected_card_id:
            self._close_undo()
            return
        context = current_login()
        transaction_id = await asyncio.to_thread(lookups.transaction_of_key, context.merchant_id, key)
        self.undo_open, self._undo_key = False, ""
        if transaction_id is None:
            return
        try:
            await asyncio.to_thread(engine.correct_transaction, context.merchant_id, transaction_id,
                                    staff_user_id=context.staff_user_id, idempotency_key=f"undo-{key}",
                                    comment="Undone at the counter", source=rules.SCANNER_SOURCE)
        except Refused as refusal:
            yield rx.toast.error(str(refusal))
            return
        panel = await self.get_state(CardPanelState)
        await panel._refresh(context.merchant_id, panel.card_id)
        self._set_quick(panel)
        self.done_message = f"Undone. Balance {panel.balance}."
        yield _ready_for_next()

    async def _after_panel_action(self, new_card_id: int) -> list:
        """An action from a full dialog was applied: refresh, then ready for the next customer."""
        merchant_id = current_login().merchant_id
        if self.customer_id:
            await self._open(merchant_id, self.customer_id, new_card_id or self.selected_card_id, refreshed=True)
        return _ready_for_next()

    @rx.event
    @local
    def toggle_scan(self):
        self.scanning, self.scan_error = not self.scanning, ""

    @rx.event
    @local
    def scan_failed(self, message: str):
        self.scanning, self.scan_error = False, str(message)[:200]


on_action(PanelHost.COUNTER, CounterState, CounterState._after_panel_action)
