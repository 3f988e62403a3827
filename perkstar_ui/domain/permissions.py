"""Roles and what each may do: the one permission table (pure, no Reflex, no database).

Contract ("Accounts, staff and audit"): staff, the counter role, may search, add and
edit customers, open profiles and apply card actions; it may not export, import, bulk
delete, delete customers, send campaigns, edit templates, or open ``/settings``.

Decisions beyond the contract (issue 13):
- **owner**: everything. Only owners manage staff (invite, change roles, deactivate),
  change account settings (business name, country, timezone, currency, date format,
  consent, Stripe keys, the two-factor requirement) and read the audit log.
- **manager**: everything a business needs day to day (exports, imports, deletions,
  bulk actions, campaigns, templates, segments, RFM and custom-field settings, i.e.
  ``/settings`` opens for them) but no staff management, account settings or audit.
- **staff**: ``VIEW_CUSTOMERS``, ``EDIT_CUSTOMERS``, ``CARD_ACTIONS`` and
  ``SIGNED_IN`` only. A card correction is a card action (it is recorded, names the
  staff user and is itself visible in the audit log); deleting a card is not.

``SIGNED_IN`` is what every role has: the pages' login check, log-out, a user's own
two-factor set-up.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    STAFF = "staff"


class Permission(enum.StrEnum):
    SIGNED_IN = "signed-in"
    VIEW_CUSTOMERS = "view-customers"  # grid, search, filters, profiles, dashboard tiles
    EDIT_CUSTOMERS = "edit-customers"  # add and edit one customer
    CARD_ACTIONS = "card-actions"  # issue one card, stamps/points/visits…, corrections
    DELETE_CUSTOMERS = "delete-customers"  # one or many (bulk delete), and cards
    BULK_ACTIONS = "bulk-actions"  # bulk issue cards
    EXPORT = "export"
    IMPORT = "import"
    MANAGE_SEGMENTS = "manage-segments"  # save, rename, delete saved segments
    MANAGE_TEMPLATES = "manage-templates"
    MANAGE_CAMPAIGNS = "manage-campaigns"  # compose, schedule and send
    OPEN_SETTINGS = "open-settings"  # /settings: custom fields, RFM settings
    ACCOUNT_SETTINGS = "account-settings"  # business, country, timezone, currency, consent, Stripe
    MANAGE_STAFF = "manage-staff"
    VIEW_AUDIT = "view-audit"


STAFF_PERMISSIONS: frozenset[Permission] = frozenset(
    {Permission.SIGNED_IN, Permission.VIEW_CUSTOMERS, Permission.EDIT_CUSTOMERS, Permission.CARD_ACTIONS}
)
OWNER_ONLY: frozenset[Permission] = frozenset(
    {Permission.ACCOUNT_SETTINGS, Permission.MANAGE_STAFF, Permission.VIEW_AUDIT}
)

TABLE: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset(Permission) - OWNER_ONLY,
    Role.STAFF: STAFF_PERMISSIONS,
}


def parse_role(value: str | None) -> Role | None:
    """The role stored on a staff user, or None for anything unknown (which may do nothing)."""
    try:
        return Role(value or "")
    except ValueError:
        return None


def allowed(role: Role | str | None, permission: Permission) -> bool:
    resolved = role if isinstance(role, Role) else parse_role(role)
    return resolved is not None and permission in TABLE[resolved]


# How handlers and routes declare what they need (the guards in state/guard.py and
# api/guard.py set it; the enumeration test reads it).
GUARD_ATTR = "__perkstar_guard__"


class Declared(enum.StrEnum):
    """What a handler or route that needs no permission declares instead."""

    PUBLIC = "public"  # no login: public pages, webhooks, login itself; found by a token or a signature
    LOCAL = "local"  # event handlers only: sets this tab's own view vars, touches nothing on the server


def declared(fn: object) -> Permission | Declared | None:
    """What a handler function or route endpoint declares; None when it declares nothing."""
    return getattr(fn, GUARD_ATTR, None)


def mark(fn, what: Permission | Declared):  # noqa: ANN001, ANN201
    setattr(fn, GUARD_ATTR, what)
    return fn
