"""What may change on a card template once it is activated (cards.md §0.3).

A template is activated when its first card is issued (``activated_at`` set). From then
on the card type and the card expiration setting are locked for every type, and on
stamp cards the stamp life, stamp count, welcome stamps and milestones too: customers
already hold cards promising them. The issuing form (customers.md §12) locks once a card
was issued through the join page (``form_locked``): before that no customer filled it
in, so a template that had cards before join pages existed can still be given one.
Everything else (name, referral program, tiers, reward levels, ...) stays editable.

Plain Python: no Reflex, no database. Settings are compared in their stored JSON form
(``validate_settings(...).model_dump(mode="json")``).
"""

from __future__ import annotations

from perkstar_ui.domain.card_types import CardType, validate_settings

# Settings keys locked on every type, and per type on top of them.
LOCKED_COMMON: tuple[str, ...] = ("expiration",)
FORM_KEY = "issuing_form"  # locked once a card came through the join page (customers.md §12)
LOCKED_BY_TYPE: dict[CardType, tuple[str, ...]] = {
    CardType.STAMP: ("stamp_count", "welcome_stamps", "stamp_life", "stamp_life_date", "stamp_life_days", "milestones"),
}

# Human names for the refusal message (also the labels of the form).
FIELD_NAMES: dict[str, str] = {
    "card_type": "Card type",
    "expiration": "Card expiration",
    "issuing_form": "Issuing form",
    "stamp_count": "Stamp count",
    "welcome_stamps": "Welcome stamps",
    "stamp_life": "Stamp life",
    "stamp_life_date": "Stamp life",
    "stamp_life_days": "Stamp life",
    "milestones": "Reward milestones",
}


class LockedEditError(ValueError):
    """An edit of an activated template that touches a locked setting."""

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.fields = fields


def locked_settings(card_type: CardType | str, *, form_locked: bool = False) -> tuple[str, ...]:
    """The settings keys that cannot change once a template of this type is activated
    (with the issuing form once a card was issued through the join page)."""
    return LOCKED_COMMON + ((FORM_KEY,) if form_locked else ()) + LOCKED_BY_TYPE.get(CardType(card_type), ())


def changed_locked_fields(card_type: CardType | str, old: dict, new: dict, *, form_locked: bool = False) -> list[str]:
    """Locked keys whose value differs between the stored and the submitted settings
    (both normalised through the type's settings model, so defaults compare equal)."""
    before = validate_settings(card_type, old).model_dump(mode="json")
    after = validate_settings(card_type, new).model_dump(mode="json")
    return [key for key in locked_settings(card_type, form_locked=form_locked) if before.get(key) != after.get(key)]


def check_edit(
    *,
    activated: bool,
    old_type: CardType | str,
    new_type: CardType | str,
    old_settings: dict,
    new_settings: dict,
    form_locked: bool = False,
) -> None:
    """Refuse an edit of an activated template that changes a locked setting;
    ``form_locked``: a card was issued through the join page (the issuing form locks)."""
    if not activated and not form_locked:
        return
    changed: list[str] = []
    if CardType(old_type) != CardType(new_type):
        changed.append("card_type")
    else:
        changed += changed_locked_fields(old_type, old_settings, new_settings, form_locked=form_locked)
    if changed:
        names = list(dict.fromkeys(FIELD_NAMES.get(key, key) for key in changed))
        raise LockedEditError(
            "This template already has cards, so these settings are locked: " + ", ".join(names) + ".",
            changed,
        )
