"""One customer's profile: contact details, custom fields, cards, the selected card's
history page, and deletion of the card or the customer."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import reflex as rx

from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import cards as engine
from perkstar_ui.services import customer_profile, customer_records, refusals, rfm
from perkstar_ui.state.auth import HOME_ROUTE, AuthState
from perkstar_ui.state.card_panels import CardPanelState, PanelHost, on_action
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.routing import route_param
from perkstar_ui.state.tiles import TilesState

HISTORY_PAGE_SIZE = 20


@dataclasses.dataclass
class CustomValue:
    key: str
    label: str
    value: str


@dataclasses.dataclass
class CardView:
    id: int
    card_type: str
    type_label: str
    serial: str
    status: str
    device: str
    issued: str
    installed: str
    expiration: str
    balance: str
    rating: str
    utm: str
    install_path: str
    referral_path: str
    last_activity: str


@dataclasses.dataclass
class HistoryView:
    id: int
    at: str
    kind: str
    action: str
    amount: str
    purchase: str
    balance_after: str
    source: str
    staff: str
    comment: str
    correctable: bool


def _default_card(cards: list[CardView]) -> int:
    """The card the counter most likely wants: the last used one, else the newest."""
    if not cards:
        return 0
    used = [c for c in cards if c.last_activity and c.status != "Deleted"]
    if used:
        return max(used, key=lambda c: c.last_activity).id
    return cards[-1].id


class ProfileState(AuthState):
    loaded: bool = False
    found: bool = False
    customer_id: int = 0
    name: str = ""
    phone: str = ""
    email: str = ""
    birthdate: str = ""
    sms_consent: bool = False
    email_consent: bool = False
    created: str = ""
    rfm_segment: str = ""  # the RFM segment of the last run (rfm.md: shown on every card panel)
    custom: list[CustomValue] = []
    cards: list[CardView] = []
    selected_card_id: int = 0
    history: list[HistoryView] = []
    history_total: int = 0
    history_page: int = 1
    origin: str = ""
    delete_customer_open: bool = False
    delete_card_open: bool = False
    form_error: str = ""
    # The correction dialog (spec Q29): the opposite of one history row's action.
    correct_open: bool = False
    correct_id: int = 0
    correct_action: str = ""
    correct_amount: str = ""
    correct_purchase: str = ""
    correct_comment: str = ""
    correct_error: str = ""
    _correct_key: str = ""

    @rx.var
    def history_info(self) -> str:
        if not self.history_total:
            return "No transactions yet"
        first = (self.history_page - 1) * HISTORY_PAGE_SIZE + 1
        return f"{first}–{min(first + HISTORY_PAGE_SIZE - 1, self.history_total)} of {self.history_total}"

    @rx.var
    def history_has_next(self) -> bool:
        return self.history_page * HISTORY_PAGE_SIZE < self.history_total

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS, page=True)
    async def load(self):
        await self._load(current_login().merchant_id)

    async def _after_card_action(self, new_card_id: int) -> None:
        """The panel applied an action (inside its event): the cards and the history are
        all it changed (not the customer, custom fields or RFM segment: read on load). On
        the card a redeemed coupon became (spec Q20)."""
        if new_card_id:
            self.selected_card_id = new_card_id  # _show_cards keeps it only if it is this customer's
        merchant_id = current_login().merchant_id
        cards = await asyncio.to_thread(customer_profile.load_cards, merchant_id, self.customer_id) \
            if self.customer_id else None
        if cards is None:  # deleted meanwhile (another tablet): the page says so; the panel
            await self._load(merchant_id, panel=False)  # emptied itself (the card went too)
            return
        self._show_cards(cards)
        await self._load_history(merchant_id)
        # The panel refreshed itself after the action: read it again only for another card.
        if (await self.get_state(CardPanelState)).card_id != self.selected_card_id:
            await self._show_panel(merchant_id)

    async def _load(self, merchant_id: int, *, panel: bool = True) -> None:
        raw_id = route_param(self, "customer_id")
        customer_id = int(raw_id) if raw_id.isdigit() else 0
        profile = await asyncio.to_thread(customer_profile.load_profile, merchant_id, customer_id) if customer_id else None
        self.loaded, self.found = True, profile is not None
        self.delete_customer_open = self.delete_card_open = False
        self.form_error = ""
        self.origin = self.router.headers.origin or ""
        if profile is None:
            self.customer_id, self.name, self.cards, self.custom, self.history = 0, "", [], [], []
            self.selected_card_id = 0
            return
        self.customer_id = profile.id
        self.name, self.phone, self.email = profile.name, profile.phone, profile.email
        self.birthdate, self.created = profile.birthdate, profile.created
        self.sms_consent, self.email_consent = profile.sms_consent, profile.email_consent
        self.rfm_segment = await asyncio.to_thread(rfm.segment_of, merchant_id, profile.id)
        self.custom = [CustomValue(c.key, c.label, c.value) for c in profile.custom]
        self._show_cards(profile.cards)
        await self._load_history(merchant_id)
        if panel:
            await self._show_panel(merchant_id)

    def _show_cards(self, cards: list[customer_profile.CardSummary]) -> None:
        """The card list; the selection stays if it is still one of them, the history's first page."""
        self.cards = [
            CardView(
                id=c.id, card_type=c.card_type, type_label=c.type_label, serial=c.serial, status=c.status,
                device=c.device, issued=c.issued, installed=c.installed, expiration=c.expiration,
                balance=c.balance, rating=c.rating, utm=c.utm,
                install_path=f"/card/{c.install_token}", referral_path=f"/r/{c.referral_code}",
                last_activity=c.last_activity,
            )
            for c in cards
        ]
        if not any(c.id == self.selected_card_id for c in self.cards):
            self.selected_card_id = _default_card(self.cards)
        self.history_page = 1

    async def _show_panel(self, merchant_id: int) -> None:
        panel = await self.get_state(CardPanelState)
        await panel._show(merchant_id, self.selected_card_id, PanelHost.PROFILE)

    async def _load_history(self, merchant_id: int) -> None:
        if not self.selected_card_id:
            self.history, self.history_total = [], 0
            return
        rows, total = await asyncio.to_thread(
            customer_profile.card_history, merchant_id, self.selected_card_id, self.history_page, HISTORY_PAGE_SIZE
        )
        self.history = [HistoryView(**dataclasses.asdict(r)) for r in rows]
        self.history_total = total

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def select_card(self, card_id: int):
        merchant_id = current_login().merchant_id
        if any(c.id == card_id for c in self.cards):
            self.selected_card_id = card_id
            self.history_page = 1
            await self._load_history(merchant_id)
            await self._show_panel(merchant_id)

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    def open_correction(self, transaction_id: int):
        row = next((h for h in self.history if h.id == transaction_id and h.correctable), None)
        if row is None:
            return
        self.correct_id, self.correct_action = row.id, row.action
        self.correct_amount = row.amount[1:] if row.amount[:1] in "+-" else row.amount
        self.correct_purchase, self.correct_comment, self.correct_error = row.purchase, "", ""
        self._correct_key = uuid.uuid4().hex
        self.correct_open = True

    @rx.event
    @local
    def set_correct_open(self, value: bool):
        self.correct_open = value

    @rx.event
    @local
    def set_correct_comment(self, value: str):
        self.correct_comment = value

    @rx.event
    @requires(Permission.CARD_ACTIONS)
    async def apply_correction(self):
        if not self.correct_open:
            return
        context = current_login()
        try:
            await asyncio.to_thread(
                engine.correct_transaction, context.merchant_id, self.correct_id, staff_user_id=context.staff_user_id,
                idempotency_key=self._correct_key, comment=self.correct_comment,
            )
        except Refused as refusal:
            self.correct_error = str(refusal)
            return
        self.correct_open = False
        yield rx.toast.success("The correction was recorded.")
        yield ProfileState.load

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def history_next(self):
        merchant_id = current_login().merchant_id
        if merchant_id and self.history_has_next:
            self.history_page += 1
            await self._load_history(merchant_id)

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def history_prev(self):
        merchant_id = current_login().merchant_id
        if merchant_id and self.history_page > 1:
            self.history_page -= 1
            await self._load_history(merchant_id)

    @rx.event
    @requires(Permission.EXPORT)
    def download_history(self):
        card = next((c for c in self.cards if c.id == self.selected_card_id), None)
        if card is None:
            return None
        # The route checks the session cookie and the merchant again.
        return rx.download(url=f"/api/cards/{card.id}/history.csv", filename=f"card-{card.serial}-history.csv")

    @rx.event
    @local
    def set_delete_customer_open(self, value: bool):
        self.delete_customer_open = value
        self.form_error = ""

    @rx.event
    @local
    def set_delete_card_open(self, value: bool):
        self.delete_card_open = value

    @rx.event
    @requires(Permission.DELETE_CUSTOMERS)
    async def delete_customer(self):
        merchant_id = current_login().merchant_id
        report = await asyncio.to_thread(customer_records.delete_customers, merchant_id, [self.customer_id],
                                         staff_user_id=current_login().staff_user_id)
        if report.refused:
            self.form_error = report.refused[0][1]
            return None
        self.delete_customer_open = False
        return [rx.redirect(HOME_ROUTE), rx.toast.success(f"{self.name} was deleted."), TilesState.refresh]

    @rx.event
    @requires(Permission.DELETE_CUSTOMERS)
    async def delete_card(self):
        merchant_id = current_login().merchant_id
        try:
            await asyncio.to_thread(customer_records.delete_card, merchant_id, self.selected_card_id,
                                    staff_user_id=current_login().staff_user_id)
        except refusals.RecordError as refusal:
            yield rx.toast.error(str(refusal))
            return
        self.delete_card_open = False
        yield rx.toast.success("The card was deleted. It no longer works on the customer's phone.")
        yield ProfileState.load


on_action(PanelHost.PROFILE, ProfileState, ProfileState._after_card_action)
