"""Every change to a merchant's configuration writes an audit entry through its real code
path (issue 13 review): card template creation and Stripe price mapping, custom fields,
segments, Stripe keys (never the key itself: the last four characters at most), the
two-factor requirement and a user's own two-factor switch. Against a real database."""

from __future__ import annotations

import json

import pyotp
import pytest
from sqlmodel import select

from perkstar_ui.db.models import AuditEntry
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.domain import filters
from perkstar_ui.services import audit, custom_fields, segments, stripe_account, templates, two_factor
from perkstar_ui.services.audit import Action, AuditFilter
from perkstar_ui.services.refusals import RecordError
from tests.helpers import set_template

SECRET_KEY = "sk_test_51PerkstarAuditKey00000000wxyz"
WEBHOOK_SECRET = "whsec_auditSigningSecret0000qrst"
TIERS = [{"name": "Basic", "price_cents": 3_500, "visit_limit": 3}]






def _entries(merchant_id: int, action: Action) -> list[audit.AuditRow]:
    """Oldest first."""
    return audit.list_entries(merchant_id, AuditFilter(action=action.value), page_size=100)[0][::-1]


def _raw_trail(merchant_id: int) -> str:
    """Everything the audit table holds for the merchant, as one string (to search for secrets)."""
    with tenant_session(merchant_id) as session:
        return json.dumps([[e.action, e.detail] for e in session.exec(select(AuditEntry)).all()], ensure_ascii=False)


def test_creating_a_template_and_mapping_a_tier_price_are_audited(merchant, owner):
    template_id = templates.create_template(merchant, "  Lunch card ", "stamp", staff_user_id=owner.id)
    [created] = _entries(merchant, Action.TEMPLATE_CREATE)
    assert (created.actor, created.detail) == (owner.email, {"template": template_id, "name": "Lunch card",
                                                             "type": "stamp"})
    with pytest.raises(templates.TemplateError):
        templates.create_template(merchant, " ", "stamp", staff_user_id=owner.id)
    assert len(_entries(merchant, Action.TEMPLATE_CREATE)) == 1  # a refusal writes nothing
    membership = set_template(merchant, "membership", mode="stripe", tiers=TIERS,
                              stripe_prices={"Basic": "price_basic_1"})
    stripe_account.map_tier_price(merchant, membership, "Basic", "", staff_user_id=owner.id)  # unmap: no Stripe call
    [mapped] = _entries(merchant, Action.TEMPLATE_UPDATE)
    assert mapped.actor == owner.email
    assert {k: mapped.detail[k] for k in ("template", "change", "tier", "price")} == {
        "template": membership, "change": "stripe-price", "tier": "Basic", "price": ""}


def test_custom_field_add_rename_move_and_remove_are_audited(merchant, owner):
    drink = custom_fields.add_custom_field(merchant, "Favourite drink", "choice", ["Tea", "Coffee"],
                                           staff_user_id=owner.id)
    custom_fields.add_custom_field(merchant, "Table", "text", staff_user_id=owner.id)
    custom_fields.rename_custom_field(merchant, drink, "Drink", staff_user_id=owner.id)
    custom_fields.rename_custom_field(merchant, drink, "Drink", staff_user_id=owner.id)  # no change: no entry
    custom_fields.move_custom_field(merchant, drink, 1, staff_user_id=owner.id)
    custom_fields.move_custom_field(merchant, drink, 1, staff_user_id=owner.id)  # already last: no entry
    custom_fields.remove_custom_field(merchant, drink, staff_user_id=owner.id)
    with pytest.raises(RecordError):
        custom_fields.add_custom_field(merchant, "Table", "text", staff_user_id=owner.id)  # refused: nothing written
    rows = _entries(merchant, Action.CUSTOM_FIELD_UPDATE)
    assert [(r.detail["change"], r.detail["field"]) for r in rows] == [
        ("added", "favourite-drink"), ("added", "table"), ("renamed", "favourite-drink"),
        ("moved", "favourite-drink"), ("removed", "favourite-drink")]
    assert {r.actor for r in rows} == {owner.email}
    assert rows[2].detail["from"] == "Favourite drink" and rows[2].detail["to"] == "Drink"
    assert rows[3].detail["position"] == 2 and rows[4].detail["label"] == "Drink"


def test_segment_create_update_duplicate_and_delete_are_audited(merchant, owner):
    spec = filters.PRESETS_BY_KEY["not-installed"].filter.dumps()
    segment_id = segments.save_segment(merchant, "Regulars", spec, staff_user_id=owner.id)
    segments.save_segment(merchant, "Regular guests", spec, segment_id, staff_user_id=owner.id)
    copy_id = segments.duplicate_segment(merchant, segment_id, staff_user_id=owner.id)
    with pytest.raises(RecordError):
        segments.save_segment(merchant, "regular GUESTS", spec, staff_user_id=owner.id)  # name taken
    segments.delete_segment(merchant, copy_id, staff_user_id=owner.id)
    rows = _entries(merchant, Action.SEGMENT_UPDATE)
    assert [(r.detail["change"], r.detail["name"]) for r in rows] == [
        ("created", "Regulars"), ("updated", "Regular guests"), ("duplicated", "Regular guests (copy)"),
        ("deleted", "Regular guests (copy)")]
    assert rows[1].detail["segment"] == segment_id and rows[3].detail["segment"] == copy_id
    assert {r.actor for r in rows} == {owner.email}


def test_stripe_keys_saved_and_removed_are_audited_without_the_keys(merchant, owner, secret_key):
    stripe_account.save_keys(merchant, SECRET_KEY, "", staff_user_id=owner.id)
    stripe_account.save_keys(merchant, "", WEBHOOK_SECRET, staff_user_id=owner.id)
    stripe_account.save_keys(merchant, "", "", staff_user_id=owner.id)  # nothing typed: nothing changed
    with pytest.raises(stripe_account.StripeSetupError):
        stripe_account.save_keys(merchant, "pk_test_publishable", "", staff_user_id=owner.id)
    stripe_account.remove_keys(merchant, staff_user_id=owner.id)
    stripe_account.remove_keys(merchant, staff_user_id=owner.id)  # nothing saved any more: no entry
    rows = _entries(merchant, Action.SETTINGS_UPDATE)
    assert [r.detail for r in rows] == [
        {"changed": "stripe_secret_key", "stripe_secret_key": "…wxyz"},
        {"changed": "stripe_webhook_secret", "stripe_webhook_secret": "…qrst"},
        {"changed": "stripe_secret_key, stripe_webhook_secret", "removed": True}]
    assert {r.actor for r in rows} == {owner.email}
    trail = _raw_trail(merchant)
    for secret in (SECRET_KEY, WEBHOOK_SECRET):
        assert secret[:-4] not in trail and secret[-5:] not in trail  # at most the last four characters


def test_two_factor_requirement_and_a_users_own_switch_are_audited(merchant, owner, secret_key):
    two_factor.set_required_for_managers(merchant, owner.id, True)
    two_factor.set_required_for_managers(merchant, owner.id, True)  # unchanged: no entry
    two_factor.set_required_for_managers(merchant, owner.id, False)
    assert [r.detail for r in _entries(merchant, Action.SETTINGS_UPDATE)] == [
        {"changed": "require_2fa_for_managers", "to": True}, {"changed": "require_2fa_for_managers", "to": False}]
    setup = two_factor.begin_setup(merchant, owner.id)
    totp = pyotp.TOTP(setup.secret)
    codes = two_factor.confirm_setup(merchant, owner.id, totp.now())
    two_factor.disable(merchant, owner.id, "correct-horse", codes[0])  # the fixture merchant's password
    changes = [(r.actor, r.detail["change"]) for r in _entries(merchant, Action.STAFF_UPDATE)]
    assert changes == [(owner.email, "two-factor-on"), (owner.email, "two-factor-off")]
    assert setup.secret not in _raw_trail(merchant)
