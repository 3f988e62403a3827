"""The four dashboard tiles: four numbers in state, counted by the database."""

from __future__ import annotations

import asyncio

import reflex as rx

from perkstar_ui.services.dashboard import load_tiles
from perkstar_ui.state.auth import LOGIN_ROUTE, AuthState


class TilesState(AuthState):
    # Plain values per the contract (digits, one-decimal rating, "" when none).
    total_customers: str = ""
    card_transactions: str = ""
    reviews: str = ""
    feedback_rating: str = ""

    @rx.event
    async def refresh(self):
        """Reload the tiles; other states call this after they change data."""
        context = await self.login()
        if context is None:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        tiles = await asyncio.to_thread(load_tiles, context.merchant_id)
        self.total_customers = str(tiles.total_customers)
        self.card_transactions = str(tiles.card_transactions)
        self.reviews = str(tiles.reviews)
        self.feedback_rating = tiles.feedback_rating_text
