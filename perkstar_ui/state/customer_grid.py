"""The customer grid: filters, sort and the one visible page; nothing more in state."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.domain import filters
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import customer_filters, customer_grid, customer_records
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, local, requires
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


SHOWN_REFUSALS = 200  # the report lists at most this many refused customers by name


@dataclasses.dataclass
class RefusedView:
    name: str
    reason: str


class GridState(AuthState):
    search: str = ""
    # The active filter as stored (domain.filters JSON); "" shows everyone.
    filter_json: str = ""
    filter_summary: str = ""
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
    # "All N matching": every customer the search and filter match, on every page.
    all_matching: bool = False
    loading: bool = False
    grid_error: str = ""
    # bulk delete
    confirm_delete_open: bool = False
    deleting: bool = False
    report_open: bool = False
    deleted_count: int = 0
    refused: list[RefusedView] = []

    @rx.var
    def all_selected(self) -> bool:
        return self.all_matching or (bool(self.rows) and all(row.id in self.selected_ids for row in self.rows))

    @rx.var
    def selected_count(self) -> int:
        return self.total if self.all_matching else len(self.selected_ids)

    @rx.var
    def filter_active(self) -> bool:
        return self.filter_json != ""

    @rx.var
    def can_select_all_matching(self) -> bool:
        return self.all_selected and not self.all_matching and self.total > len(self.rows)

    def _selection(self) -> customer_filters.Selection:
        """What a bulk action acts on; resolved on the server, never a list of every id."""
        return customer_filters.Selection(
            ids=tuple(self.selected_ids), every_match=self.all_matching,
            filter=filters.from_json(self.filter_json) if self.filter_json else None, search=self.search,
        )

    async def _fetch(self):
        merchant_id = current_login().merchant_id
        spec = filters.from_json(self.filter_json) if self.filter_json else None
        query = customer_grid.GridQuery(self.search, spec, self.sort, self.descending, self.page, self.page_size)
        try:
            page = await asyncio.to_thread(customer_grid.grid_page, merchant_id, query)
        except filters.FilterError as error:
            # e.g. a saved segment's custom field was removed since: say so, show no one.
            self.grid_error, self.loading = str(error), False
            self.rows, self.total, self.page_info, self.pages = [], 0, "0 of 0", 1
            return None
        self.custom_columns = [ColumnView(f"cf:{f.key}", f.label, f"cell-cf-{f.key}") for f in page.fields]
        self.rows = page.rows
        self.total, self.page, self.page_info, self.pages = page.total, page.page, page.page_info, page.pages
        self.loading, self.grid_error = False, ""
        return None

    async def _reload(self):
        """Show the spinner first (the browser only sees state at a yield), then the page."""
        self.loading = True
        yield
        redirect = await self._fetch()
        if redirect is not None:
            yield redirect

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def apply_filter(self, filter_json: str, summary: str = ""):
        """Show everyone a filter matches (the builder, a preset, a segment, an RFM
        segment): checked again here against the merchant's fields; page 1, selection
        cleared. "" shows everyone."""
        merchant_id = current_login().merchant_id
        try:
            spec = await asyncio.to_thread(customer_filters.validate, merchant_id, str(filter_json)[:20_000])
        except filters.FilterError as error:
            self.grid_error = str(error)
            return
        self.filter_json = "" if spec.empty else spec.dumps()
        self.filter_summary = str(summary)[:300] if self.filter_json else ""
        self.page, self.selected_ids, self.all_matching = 1, [], False
        async for update in self._reload():
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def load(self):
        async for update in self._open():
            yield update

    async def _open(self):  # noqa: ANN202  an async generator of UI updates
        """The page (again) with nothing selected: /customers' load, and after new rows."""
        self.selected_ids, self.all_matching = [], False
        async for update in self._reload():
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def refresh(self):
        """Rows again after a change elsewhere (import, card issue); the selection stays."""
        async for update in self._reload():
            yield update

    @rx.event(supersedes=True)
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_search(self, value: str):
        """Typing, debounced; the same text again (the echo of an Enter) reloads nothing."""
        if str(value)[:100] == self.search:
            return
        async for update in self._search_for(str(value)):
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def submit_search(self, form: dict):
        """Enter in the search field: at once, without waiting for the debounce."""
        async for update in self._search_for(str(form.get("search", ""))):
            yield update

    async def _search_for(self, value: str):  # noqa: ANN202
        self.search = value[:100]
        self.page, self.all_matching = 1, False
        async for update in self._reload():
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def sort_by(self, key: str):
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in ("created", "rating", "cards")
        self.page = 1
        async for update in self._reload():
            yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def next_page(self):
        if self.page < self.pages:
            self.page += 1
            async for update in self._reload():
                yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            async for update in self._reload():
                yield update

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def set_page_size(self, value: str):
        self.page_size = int(value) if value.isdigit() and int(value) in customer_grid.PAGE_SIZES else 50
        self.page = 1
        async for update in self._reload():
            yield update

    def _leave_all_matching(self) -> None:
        """Picking rows by hand after "all matching": start from the rows on screen."""
        if self.all_matching:
            self.all_matching = False
            self.selected_ids = [row.id for row in self.rows]

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    def toggle_row(self, customer_id: int):
        self._leave_all_matching()
        if customer_id in self.selected_ids:
            self.selected_ids = [i for i in self.selected_ids if i != customer_id]
        else:
            self.selected_ids = [*self.selected_ids, customer_id]

    @rx.event
    @local
    def toggle_all(self):
        visible = [row.id for row in self.rows]
        if self.all_selected:
            self.all_matching = False
            self.selected_ids = [i for i in self.selected_ids if i not in visible]
        else:
            self.selected_ids = list(dict.fromkeys([*self.selected_ids, *visible]))

    @rx.event
    @local
    def select_all_matching(self):
        if self.total:
            self.all_matching = True

    @rx.event
    @local
    def clear_selection(self):
        self.selected_ids, self.all_matching = [], False

    @rx.event
    @requires(Permission.DELETE_CUSTOMERS)
    def ask_delete_selected(self):
        if not self.selected_count:
            return rx.toast.warning("Select the customers to delete first.")
        self.confirm_delete_open = True

    @rx.event
    @local
    def cancel_delete(self):
        self.confirm_delete_open = False

    @rx.event(background=True)
    @requires(Permission.DELETE_CUSTOMERS)
    async def delete_selected(self):
        """A background event: deleting thousands of matches must not hold the tab's state."""
        async with self:
            if self.deleting:
                return  # a second click while the first runs
            merchant_id, staff_user_id = current_login().merchant_id, current_login().staff_user_id
            selection = self._selection()
            self.deleting = True
        try:
            report = await asyncio.to_thread(
                lambda: customer_records.delete_customers(
                    merchant_id, customer_filters.selected_customers(merchant_id, selection),
                    staff_user_id=staff_user_id)
            )
        except filters.FilterError as error:
            async with self:
                self.deleting, self.confirm_delete_open = False, False
            yield rx.toast.error(f"Nothing was deleted: {error}")
            return
        except Exception:  # noqa: BLE001  the delete rolled back: say so, keep the selection
            async with self:
                self.deleting = False
            yield rx.toast.error("Nothing was deleted: the delete failed and was rolled back. Try again.")
            raise
        async with self:
            self.deleting, self.confirm_delete_open = False, False
            self.deleted_count = len(report.deleted)
            self.refused = [RefusedView(name, reason) for name, reason in report.refused[:SHOWN_REFUSALS]]
            self.report_open = True
            self.selected_ids, self.all_matching = [], False
        yield GridState.refresh
        yield TilesState.refresh

    @rx.event
    @local
    def close_report(self):
        self.report_open = False
