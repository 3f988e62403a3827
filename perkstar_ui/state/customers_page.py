"""/customers' one ``on_load``: the tiles, the grid, the filter builder and a segment
named in the URL, in one event.

Each event costs a lock, a load and a save of its states in Redis, a login check and a
delta; four separate loads made "back to customers" the slowest step of the load test
(issue 15). A leaf state, so the event loads the root, ``AuthState``, this and the four
states it fills (``get_state``).
"""

from __future__ import annotations

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.customer_filters import FilterState
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.guard import current_login, requires
from perkstar_ui.state.segments import SegmentsState
from perkstar_ui.state.tiles import TilesState


class CustomersPageState(AuthState):
    @rx.event
    @requires(Permission.VIEW_CUSTOMERS, page=True)
    async def load(self):
        merchant_id = current_login().merchant_id
        grid = await self.get_state(GridState)
        async for update in grid._open():  # the spinner first
            yield update
        yield  # the rows, before the tiles and the builder are counted
        await (await self.get_state(TilesState))._refresh(merchant_id)
        await (await self.get_state(FilterState))._open(merchant_id)
        for event in await (await self.get_state(SegmentsState))._open_from_url():
            yield event
