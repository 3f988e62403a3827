"""Globally unique card codes (serials, referral codes, install tokens)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from perkstar_ui.db.tenancy import system_session


def unused_codes(make: Callable[[], str], column, count: int) -> list[str]:  # noqa: ANN001
    """``count`` fresh codes that no card of any merchant has yet (the column is unique
    across merchants); redrawn until none collides, so a big batch cannot fail on one."""
    codes: set[str] = set()
    while len(codes) < count:
        draw = {make() for _ in range(count - len(codes))} - codes
        with system_session() as session:  # uniqueness is global: look across merchants
            taken = set(session.exec(select(column).where(column.in_(list(draw)))).all()) if draw else set()
        codes |= draw - taken
    return list(codes)
