"""The RFM tab: segment counts and shares, the R × FM chart, Recalculate, and opening the
grid filtered to one segment. Holds only what the tab shows (7 segments, ≤ 25 cells)."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from perkstar_ui.db.models import as_utc
from perkstar_ui.domain import rfm as rule
from perkstar_ui.domain.filter_params import RFM_SEGMENTS
from perkstar_ui.domain.filters import kebab
from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services import rfm
from perkstar_ui.state.auth import LOGIN_ROUTE, AuthState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.customer_filters import FilterState

PROGRESS_POLL_S = 0.2


@dataclasses.dataclass
class SegmentView:
    name: str
    count: int
    share: str


def _computed_text(summary: rfm.RfmSummary) -> str:
    if summary.computed_at is None:
        return "Not calculated yet."
    return f"Last calculated {as_utc(summary.computed_at):%Y-%m-%d %H:%M} UTC."


class RfmState(AuthState):
    segments: list[SegmentView] = []
    # The non-empty cells of the R × FM grid as the scatter chart reads them: fm, r, count, segment.
    cells: list[dict[str, int | str]] = []
    customers: int = 0
    computed_text: str = ""
    recalculating: bool = False
    progress: int = 0

    def _show(self, summary: rfm.RfmSummary) -> None:
        self.segments = [SegmentView(s.segment, s.count, s.share) for s in summary.segments]
        self.cells = [{"fm": fm, "r": r, "count": count, "segment": rule.segment_for(r, fm).value}
                      for (r, fm), count in sorted(summary.cells.items())]
        self.customers = summary.customers
        self.computed_text = _computed_text(summary)

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def load(self):
        """``on_load`` of the page that mounts the tab (and after a run elsewhere)."""
        merchant_id = current_login().merchant_id
        self._show(await asyncio.to_thread(rfm.summary, merchant_id))
        return None

    @rx.event(background=True)
    @requires(Permission.OPEN_SETTINGS)
    async def recalculate(self):
        async with self:
            context = await self._login()
            busy = self.recalculating
            if context is not None and not busy:
                self.recalculating, self.progress = True, 0
        if context is None:
            yield rx.redirect(LOGIN_ROUTE, replace=True)
            return
        if busy:  # a second click while a run is going: that run's result is coming
            return
        share = {"done": 0.0}
        work = asyncio.create_task(asyncio.to_thread(
            rfm.recompute, context.merchant_id, lambda fraction: share.__setitem__("done", fraction)
        ))
        try:
            while not work.done():
                await asyncio.sleep(PROGRESS_POLL_S)
                async with self:
                    self.progress = int(share["done"] * 100)
            run = work.result()
            summary = await asyncio.to_thread(rfm.summary, context.merchant_id)
        finally:
            async with self:
                self.recalculating = False
        async with self:
            self.progress = 100
            self._show(summary)
        yield rx.toast.success(f"Segments recalculated for {run.customers} customers.")

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def open_segment(self, name: str):
        """Show the customer grid filtered to one segment (the preset of that name)."""
        if name not in RFM_SEGMENTS:
            return None
        # The segment's preset: the filter builder shows it and the grid follows.
        return FilterState.apply_preset(kebab(name))
