"""The customer grid: filters, sort and the one visible page; nothing more in state."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.services import customer_grid, customer_records
from perkstar_ui.state.auth import LOGIN_ROUTE, AuthState
from perkstar_ui.state.tiles import TilesState


@dataclasses.dataclass
class ColumnView:
    key: str  # sort key: a built-in column or "cf:<field key>"
    label: str
    testid: str  # cell test id


BUILT_IN_COLUMNS = [
    ColumnView("name", "User Name", "cell-name"),
    ColumnView("created", "Date Created", "cell-date-created"),
    ColumnView("birthdate", "Birthdate", "cell-birthdate"),
    ColumnView("phone", "Phone", "cell-phone"),
    ColumnView("rating", "Feedback Rating", "cell-feedback-rating"),
    ColumnView("utm", "UTM", "cell-utm"),
    ColumnView("device", "Device", "cell-device"),
    ColumnView("cards", "Customer Cards", "cell-cards"),
]


@dataclasses.dataclass
class RefusedView:
    name: str
    reason: str


class GridState(AuthState):
    search: str = ""
    sort: str = "created"
    descending: bool = True
    page: int = 1
    page_size: int = 50
    rows: list[customer_grid.GridRow] = []
    total: int = 0
    page_info: str = ""
    pages: int = 1
    custom_columns: list[ColumnView] = []
    selected_ids: list[int] = []
    loading: bool = False
    # bulk delete
    confirm_delete_open: bool = False
    report_open: bool = False
    deleted_names: list[str] = []
    refused: list[RefusedView] = []

    @rx.var
    def all_selected(self) -> bool:
        return bool(self.rows) and all(row.id in self.selected_ids for row in self.rows)

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected_ids)

    async def _fetch(self):
        merchant_id = await self.merchant_id()
        if merchant_id is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        query = customer_grid.GridQuery(self.search, self.sort, self.descending, self.page, self.page_size)
        self.loading = True
        page = await asyncio.to_thread(customer_grid.grid_page, merchant_id, query)
        self.custom_columns = [ColumnView(f"cf:{f.key}", f.label, f"cell-cf-{f.key}") for f in page.fields]
        self.rows = page.rows
        self.total, self.page, self.page_info, self.pages = page.total, page.page, page.page_info, page.pages
        self.loading = False
        return None

    @rx.event
    async def load(self):
        self.selected_ids = []
        return await self._fetch()

    @rx.event(supersedes=True)
    async def set_search(self, value: str):
        self.search = value[:100]
        self.page = 1
        return await self._fetch()

    @rx.event
    async def sort_by(self, key: str):
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in ("created", "rating", "cards")
        self.page = 1
        return await self._fetch()

    @rx.event
    async def next_page(self):
        if self.page < self.pages:
            self.page += 1
            return await self._fetch()

    @rx.event
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            return await self._fetch()

    @rx.event
    async def set_page_size(self, value: str):
        self.page_size = int(value) if value.isdigit() and int(value) in customer_grid.PAGE_SIZES else 50
        self.page = 1
        return await self._fetch()

    @rx.event
    def toggle_row(self, customer_id: int):
        if customer_id in self.selected_ids:
            self.selected_ids = [i for i in self.selected_ids if i != customer_id]
        else:
            self.selected_ids = [*self.selected_ids, customer_id]

    @rx.event
    def toggle_all(self):
        visible = [row.id for row in self.rows]
        if self.all_selected:
            self.selected_ids = [i for i in self.selected_ids if i not in visible]
        else:
            self.selected_ids = list(dict.fromkeys([*self.selected_ids, *visible]))

    @rx.event
    def ask_delete_selected(self):
        if not self.selected_ids:
            return rx.toast.warning("Select the customers to delete first.")
        self.confirm_delete_open = True

    @rx.event
    def cancel_delete(self):
        self.confirm_delete_open = False

    @rx.event
    async def delete_selected(self):
        merchant_id = await self.merchant_id()
        if merchant_id is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        report = await asyncio.to_thread(customer_records.delete_customers, merchant_id, list(self.selected_ids))
        self.confirm_delete_open = False
        self.deleted_names = report.deleted
        self.refused = [RefusedView(name, reason) for name, reason in report.refused]
        self.report_open = True
        self.selected_ids = []
        await self._fetch()
        return TilesState.refresh

    @rx.event
    def close_report(self):
        self.report_open = False
