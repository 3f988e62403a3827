"""Who may be deleted (customers.md §9)."""

from __future__ import annotations

INSTALLED = "installed"


def customer_deletion_refusal(card_statuses: list[str]) -> str | None:
    """Why a customer cannot be deleted, or None when they can."""
    installed = sum(1 for status in card_statuses if status == INSTALLED)
    if installed:
        cards = "card is" if installed == 1 else f"{installed} cards are"
        return (
            f"Their {cards} installed on a phone. Delete the card first "
            "(profile → card → Delete card), then delete the customer."
        )
    return None
