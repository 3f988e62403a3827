"""The four dashboard tiles: four numbers in state, counted by the database."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.domain.permissions import Permission
from perkstar_ui.services.dashboard import load_tiles
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.guard import current_login, requires


class TilesState(AuthState):
    # Plain values per the contract (digits, one-decimal rating, "" when none).
    total_customers: str = ""
    card_transactions: str = ""
    reviews: str = ""
    feedback_rating: str = ""

    @rx.event
    @requires(Permission.VIEW_CUSTOMERS)
    async def refresh(self):
        """Reload the tiles; other states call this after they change data."""
        await self._refresh(current_login().merchant_id)

    async def _refresh(self, merchant_id: int) -> None:
        tiles = await asyncio.to_thread(load_tiles, merchant_id)
        self.total_customers = str(tiles.total_customers)
        self.card_transactions = str(tiles.card_transactions)
        self.reviews = str(tiles.reviews)
        self.feedback_rating = tiles.feedback_rating_text
