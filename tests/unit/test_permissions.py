"""The permission table (domain.permissions) as the contract states it."""

from __future__ import annotations

import pytest

from perkstar_ui.domain.permissions import TABLE, Declared, Permission, Role, allowed, declared, mark, parse_role

STAFF_MAY = {Permission.SIGNED_IN, Permission.VIEW_CUSTOMERS, Permission.EDIT_CUSTOMERS, Permission.CARD_ACTIONS}
# The contract: staff may not export, import, bulk delete, delete customers, send campaigns,
# edit templates, or open /settings.
STAFF_MAY_NOT = {Permission.EXPORT, Permission.IMPORT, Permission.DELETE_CUSTOMERS, Permission.BULK_ACTIONS,
                 Permission.MANAGE_CAMPAIGNS, Permission.MANAGE_TEMPLATES, Permission.OPEN_SETTINGS,
                 Permission.ACCOUNT_SETTINGS, Permission.MANAGE_STAFF, Permission.VIEW_AUDIT,
                 Permission.MANAGE_SEGMENTS}
OWNER_ONLY = {Permission.MANAGE_STAFF, Permission.ACCOUNT_SETTINGS, Permission.VIEW_AUDIT}


def test_staff_has_exactly_the_counter_permissions():
    assert set(TABLE[Role.STAFF]) == STAFF_MAY
    assert STAFF_MAY | STAFF_MAY_NOT == set(Permission)
    for permission in STAFF_MAY_NOT:
        assert not allowed("staff", permission), permission


def test_owner_may_do_everything_and_manager_all_but_staff_account_and_audit():
    assert all(allowed(Role.OWNER, p) for p in Permission)
    for permission in Permission:
        assert allowed(Role.MANAGER, permission) is (permission not in OWNER_ONLY), permission


@pytest.mark.parametrize("role", ["", None, "admin", "OWNER", "root"])
def test_an_unknown_role_may_do_nothing(role):
    assert parse_role(role) is None
    assert not any(allowed(role, p) for p in Permission)


def test_declarations_are_read_back():
    def handler():
        return None

    assert declared(handler) is None
    assert declared(mark(handler, Permission.EXPORT)) is Permission.EXPORT
    assert declared(mark(handler, Declared.PUBLIC)) is Declared.PUBLIC


def test_card_actions_imply_viewing_customers():
    # The card panel's action refreshes its host page (the profile, the counter) inside the
    # same event, under CARD_ACTIONS: whoever may act may also see what the page shows.
    for role in Role:
        if allowed(role, Permission.CARD_ACTIONS):
            assert allowed(role, Permission.VIEW_CUSTOMERS), role
