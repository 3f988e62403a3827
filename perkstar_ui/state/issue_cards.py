"""The "Issue cards" dialog (customers.md §11): template, the settings that apply to its
type, delivery; confirm issues to the grid's selected customers in a worker thread."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain.card_types import CARD_TYPE_LABELS, CardType
from perkstar_ui.domain.filters import FilterError
from perkstar_ui.domain.ledger import Refused
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import bulk_issue, importing
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.tiles import TilesState

NO_SELECTION = "Select the customers to issue cards to first (tick their rows in the grid)."


@dataclasses.dataclass
class IssueTemplateOption:
    id: str
    name: str
    type_label: str


class IssueCardsState(AuthState):
    open: bool = False
    templates: list[IssueTemplateOption] = []
    template_id: str = ""
    card_type: str = ""
    # Starting balance: its unit ("none" hides it) and a hint naming that unit.
    balance_unit: str = "none"
    balance_hint: str = ""
    starting_balance: str = ""
    welcome_stamps: str = ""  # stamp cards only; the template's by default
    tiers: list[str] = []  # membership in manual mode only (empty hides Tier and Period)
    tier: str = ""
    period: str = ""
    can_expire: bool = False
    expires_on: str = ""
    delivery: str = "none"
    selected_count: int = 0
    form_error: str = ""
    issuing: bool = False
    summary: str = ""  # the last result, also shown as the toast

    @rx.var
    def type_label(self) -> str:
        return CARD_TYPE_LABELS[CardType(self.card_type)] if self.card_type else ""

    def _clear_settings(self) -> None:
        self.card_type, self.balance_unit, self.balance_hint = "", "none", ""
        self.starting_balance = self.welcome_stamps = self.tier = self.period = self.expires_on = ""
        self.tiers, self.can_expire = [], False

    @rx.event
    @requires(Permission.BULK_ACTIONS)
    async def open_dialog(self):
        context = current_login()
        grid = await self.get_state(GridState)
        if not grid.selected_count:
            return rx.toast.warning(NO_SELECTION)
        templates = await asyncio.to_thread(importing.list_templates, context.merchant_id)
        self.templates = [
            IssueTemplateOption(str(i), name, CARD_TYPE_LABELS[CardType(kind)]) for i, name, kind in templates
        ]
        self.selected_count = grid.selected_count
        self.template_id, self.delivery, self.form_error, self.summary = "", "none", "", ""
        self._clear_settings()
        self.open = True
        return None

    @rx.event
    @local
    def set_open(self, value: bool):
        if not self.issuing:
            self.open = value

    @rx.event
    @requires(Permission.BULK_ACTIONS)
    async def set_template(self, value: str):
        context = current_login()
        self.form_error = ""
        self._clear_settings()
        if not any(t.id == value for t in self.templates):
            self.template_id = ""
            return None
        form = await asyncio.to_thread(bulk_issue.issue_form, context.merchant_id, int(value))
        if form is None:
            self.template_id, self.form_error = "", "This card template no longer exists."
            return None
        self.template_id, self.card_type = value, form.card_type
        self.balance_unit, self.balance_hint = form.balance_unit, form.balance_hint
        self.welcome_stamps, self.tiers = form.welcome_stamps, form.tiers
        self.tier, self.period = (form.tiers[0] if form.tiers else ""), form.period
        self.can_expire = form.can_expire
        return None

    @rx.event
    @local
    def set_starting_balance(self, value: str):
        self.starting_balance = value[:20]

    @rx.event
    @local
    def set_welcome_stamps(self, value: str):
        self.welcome_stamps = value[:10]

    @rx.event
    @local
    def set_tier(self, value: str):
        self.tier = value[:40]

    @rx.event
    @local
    def set_period(self, value: str):
        self.period = value[:20]

    @rx.event
    @local
    def set_expires_on(self, value: str):
        self.expires_on = value[:10]

    @rx.event
    @local
    def set_delivery(self, value: str):
        self.delivery = value if value in bulk_issue.DELIVERIES else "none"

    @rx.event(background=True)
    @requires(Permission.BULK_ACTIONS)
    async def confirm(self):
        async with self:
            context = current_login()
        async with self:
            if self.issuing:
                return  # a double click: the first one is under way
            grid = await self.get_state(GridState)
            selection = grid._selection()
            if selection.empty:
                self.form_error = NO_SELECTION
                return
            if not self.template_id:
                self.form_error = "Choose a card template."
                return
            template_id = int(self.template_id)
            request = bulk_issue.IssueRequest(self.starting_balance, self.welcome_stamps, self.tier, self.period,
                                              self.expires_on)
            delivery, origin = self.delivery, self.router.headers.origin or ""
            self.issuing, self.form_error = True, ""
        try:
            report = await asyncio.to_thread(
                bulk_issue.issue_selected, context.merchant_id, selection, template_id, request,
                delivery=delivery, staff_user_id=context.staff_user_id, origin=origin,
            )
        except (Refused, FilterError) as refusal:
            async with self:
                self.issuing, self.form_error = False, f"No cards were issued: {refusal}"
            return
        except Exception:  # noqa: BLE001  the issuing transaction rolled back
            async with self:
                self.issuing = False
                self.form_error = "Issuing failed: something went wrong. Check the grid's cards column, then try again."
            raise
        text = bulk_issue.summary(report)
        async with self:
            self.issuing, self.open, self.summary = False, False, text
        if report.skipped:
            yield rx.toast.warning(text, duration=10_000)
        else:
            yield rx.toast.success(text)
        yield GridState.load  # the cards column shows the new cards (and the selection is cleared)
        yield TilesState.refresh
