"""My Segments: the list (with live counts), the save form, open, edit, duplicate, delete.

Holds only what the screen shows. Every handler resolves the merchant from the session
cookie; segment ids from the browser are looked up inside that merchant's tenant session
by the service, so another merchant's id is simply "not found". The filter being saved
is always ``GridState.filter_json`` (what the grid shows), never one sent by the browser.

From ``/segments`` open and edit navigate to ``/customers?segment=<id>`` (``&edit=1``);
that page's ``on_load`` runs ``_open_from_url``, so the link also survives a reload.
"""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlencode

import reflex as rx

from perkstar_ui.domain import filters
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import segments
from perkstar_ui.services.refusals import RecordError
from perkstar_ui.state.auth import HOME_ROUTE, AuthState
from perkstar_ui.state.guard import current_login, local, requires
from perkstar_ui.state.customer_filters import FilterState
from perkstar_ui.state.customer_grid import GridState

SEGMENT_PARAM = "segment"
EDIT_PARAM = "edit"
NO_EDIT = 0  # editing_id when the next save creates a new segment


@dataclasses.dataclass
class SavedSegmentView:
    id: int
    name: str
    summary: str
    count: str  # bare digits; "" when the filter no longer applies
    problem: str


def customers_link(segment_id: int, edit: bool = False) -> str:
    query = {SEGMENT_PARAM: segment_id, **({EDIT_PARAM: 1} if edit else {})}
    return f"{HOME_ROUTE}?{urlencode(query)}"


class SegmentsState(AuthState):
    segments: list[SavedSegmentView] = []
    loading: bool = False
    # A segment that could not be opened (removed, or its filter no longer applies).
    open_error: str = ""
    # The save form; editing_id names the segment the next save overwrites.
    save_open: bool = False
    save_name: str = ""
    form_error: str = ""
    editing_id: int = NO_EDIT
    editing_name: str = ""
    # Delete confirmation.
    delete_open: bool = False
    delete_id: int = 0
    delete_name: str = ""

    async def _reload(self, merchant_id: int) -> None:
        rows = await asyncio.to_thread(segments.list_segments, merchant_id)
        self.segments = [
            SavedSegmentView(r.id, r.name, r.summary, "" if r.count is None else str(r.count), r.problem) for r in rows
        ]
        self.loading = False

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def load(self):
        merchant_id = current_login().merchant_id
        self.loading, self.open_error = True, ""
        yield  # the spinner shows while the counts run
        await self._reload(merchant_id)

    # --- the save form ---------------------------------------------------------------

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    async def open_save(self):
        self.form_error = ""
        self.save_name = self.editing_name
        self.save_open = True
        return None

    @rx.event
    @local
    def set_save_open(self, value: bool):
        self.save_open = bool(value)

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    def save_as_new(self):
        """Leave edit mode: the next save creates a segment instead of overwriting one."""
        self.editing_id, self.editing_name = NO_EDIT, ""

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    async def save_current(self, form_data: dict):
        merchant_id = current_login().merchant_id
        grid = await self.get_state(GridState)
        name = str(form_data.get("name", ""))[: segments.MAX_NAME * 2]
        self.save_name = name
        editing = self.editing_id or None
        try:
            await asyncio.to_thread(segments.save_segment, merchant_id, name, grid.filter_json, editing,
                                    staff_user_id=current_login().staff_user_id)
        except RecordError as refusal:
            self.form_error = str(refusal)
            return
        self.save_open, self.form_error = False, ""
        self.editing_id, self.editing_name = NO_EDIT, ""
        yield rx.toast.success("Segment updated." if editing else "Segment saved.")
        await self._reload(merchant_id)

    # --- open and edit -------------------------------------------------------------------

    async def _openable(self, merchant_id: int, segment_id: int, edit: bool) -> segments.SegmentDetail | None:
        """The segment, or None with the reason in ``open_error``. A filter that no longer
        applies can still be edited (to repair it), not opened."""
        try:
            detail = await asyncio.to_thread(segments.get_segment, merchant_id, segment_id)
        except RecordError as refusal:
            self.open_error = str(refusal)
            return None
        try:
            await asyncio.to_thread(segments.segment_filter, merchant_id, segment_id)
            self.open_error = ""
        except filters.FilterError as problem:
            self.open_error = f"“{detail.name}” cannot be opened: {problem}"
            return detail if edit else None
        return detail

    async def _show(self, segment_id: int, edit: bool) -> list:
        """The events that put the segment's filter into the grid (and, to edit, into the
        builder, remembering the segment so the next save overwrites it)."""
        merchant_id = current_login().merchant_id
        detail = await self._openable(merchant_id, int(segment_id), edit)
        if detail is None:
            return [rx.toast.error(self.open_error)]
        summary = f"{detail.name}: {detail.summary}" if detail.summary else detail.name
        if self.open_error:
            # Editing one that no longer applies: the grid shows no stale filter, so a save
            # before the builder's repaired filter is applied cannot overwrite it by mistake.
            shown = [GridState.apply_filter("", ""), rx.toast.warning(self.open_error)]
        else:
            shown = [GridState.apply_filter(detail.filter_json, summary)]
        if edit:
            self.editing_id, self.editing_name = detail.id, detail.name
            shown.append(FilterState.load_filter(detail.filter_json))
        else:
            # The grid now shows another segment: a save must not overwrite the one being
            # edited with it.
            self.editing_id, self.editing_name = NO_EDIT, ""
        return shown

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def open_segment(self, segment_id: int):
        """``segment-open`` on /customers: filter the grid to the segment."""
        return await self._show(segment_id, edit=False)

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def edit_segment(self, segment_id: int):
        """``segment-edit`` on /customers: the filter into the grid and the builder; the next
        save overwrites the segment (its name prefilled)."""
        return await self._show(segment_id, edit=True)

    async def _go_to_customers(self, segment_id: int, edit: bool):
        """From /segments: checked here first, so a segment that cannot be opened says
        why where it was clicked instead of on another page."""
        merchant_id = current_login().merchant_id
        if await self._openable(merchant_id, int(segment_id), edit) is None:
            return rx.toast.error(self.open_error)
        return rx.redirect(customers_link(int(segment_id), edit))

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def open_on_customers(self, segment_id: int):
        """``segment-open`` on /segments: the customers page opens it (see ``_open_from_url``)."""
        return await self._go_to_customers(segment_id, edit=False)

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def edit_on_customers(self, segment_id: int):
        return await self._go_to_customers(segment_id, edit=True)

    async def _open_from_url(self) -> list:
        """/customers' load: ``?segment=<id>`` (``&edit=1``) opens that segment."""
        raw = str(self.router.url.query_parameters.get(SEGMENT_PARAM, ""))
        if not raw.isdigit():
            return []
        edit = self.router.url.query_parameters.get(EDIT_PARAM, "") == "1"
        return await self._show(int(raw), edit)

    # --- duplicate and delete ---------------------------------------------------------------

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    async def duplicate(self, segment_id: int):
        merchant_id = current_login().merchant_id
        try:
            copy_id = await asyncio.to_thread(segments.duplicate_segment, merchant_id, int(segment_id),
                                            staff_user_id=current_login().staff_user_id)
        except RecordError as refusal:
            await self._reload(merchant_id)
            return rx.toast.error(str(refusal))
        await self._reload(merchant_id)
        name = next((s.name for s in self.segments if s.id == copy_id), "")
        return rx.toast.success(f"Saved as “{name}”.")

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    async def ask_delete(self, segment_id: int):
        # Only a segment this tab was shown (the merchant's own) can be asked about.
        shown = next((s for s in self.segments if s.id == int(segment_id)), None)
        if shown is not None:
            self.delete_id, self.delete_name, self.delete_open = shown.id, shown.name, True
        return None

    @rx.event
    @local
    def cancel_delete(self):
        self.delete_open = False

    @rx.event
    @requires(Permission.MANAGE_SEGMENTS)
    async def delete(self):
        merchant_id = current_login().merchant_id
        self.delete_open = False
        try:
            await asyncio.to_thread(segments.delete_segment, merchant_id, self.delete_id,
                                    staff_user_id=current_login().staff_user_id)
        except RecordError as refusal:
            await self._reload(merchant_id)
            return rx.toast.error(str(refusal))
        if self.editing_id == self.delete_id:
            self.editing_id, self.editing_name = NO_EDIT, ""
        await self._reload(merchant_id)
        return rx.toast.success(f"Segment “{self.delete_name}” deleted.")
