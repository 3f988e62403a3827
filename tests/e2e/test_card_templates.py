"""Card templates (/cards) in Chromium: create a stamp template, edit it, and its locks once activated."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from perkstar_ui import config
from perkstar_ui.db.models import CardTemplate, utcnow
from perkstar_ui.db.tenancy import tenant_session
from perkstar_ui.services import templates as svc
from tests.e2e.conftest import goto, log_in


def row_of(page: Page, name: str):
    return page.get_by_test_id("template-row").filter(has_text=name)


def stored(merchant_id: int, name: str):
    return next(t for t in svc.list_templates(merchant_id) if t.name == name)


def test_create_edit_and_lock_a_stamp_template(page: Page, demo_merchant: int):
    name = f"Coffee {uuid.uuid4().hex[:6]}"
    log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
    page.get_by_test_id("nav-cards").click()
    page.wait_for_url("**/cards")
    expect(page.get_by_test_id("template-list")).to_be_visible()
    expect(page.get_by_test_id("template-row")).not_to_have_count(0)

    # Create: pick the type and a name; the editor opens on the new template.
    page.get_by_test_id("template-create").click()
    create = page.get_by_test_id("template-create-dialog")
    create.get_by_label("Card type").select_option("stamp")
    create.get_by_label("Template name").fill(name)
    page.get_by_test_id("template-create-confirm").click()
    editor = page.get_by_test_id("template-editor")
    expect(editor).to_have_attribute("data-card-type", "stamp")
    expect(editor).to_have_attribute("data-locked", "false")
    expect(editor.get_by_label("Template name")).to_have_value(name)
    editor.get_by_label("Stamp count", exact=True).fill("8")
    editor.get_by_label("Welcome stamps", exact=True).fill("1")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    row = row_of(page, name)
    expect(row).to_have_attribute("data-card-type", "stamp")
    expect(row.get_by_test_id("template-row-issued")).to_have_text("0")
    expect(row.get_by_test_id("template-status")).to_have_text("Active")
    template = stored(demo_merchant, name)
    settings = svc.load_template(demo_merchant, template.id).settings
    assert (settings["stamp_count"], settings["welcome_stamps"]) == (8, 1)

    # Edit: a refused edit shows form-error and keeps what was typed; then fix and save.
    row.get_by_test_id("template-edit").click()
    expect(editor.get_by_label("Stamp count", exact=True)).to_have_value("8")
    editor.get_by_label("Welcome stamps", exact=True).fill("8")
    editor.get_by_test_id("milestone-add").click()
    editor.get_by_label("Milestone 1", exact=True).fill("4")
    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Welcome stamps must be fewer than the stamp count")
    expect(editor.get_by_label("Milestone 1", exact=True)).to_have_value("4")
    editor.get_by_label("Welcome stamps", exact=True).fill("2")
    editor.get_by_label("Card expiration", exact=True).select_option("days_after_issue")
    editor.get_by_label("Days after issue", exact=True).fill("365")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    settings = svc.load_template(demo_merchant, template.id).settings
    assert (settings["welcome_stamps"], settings["milestones"]) == (2, [4])
    assert settings["expiration"] == {"mode": "days_after_issue", "date": None, "days": 365}

    # Activation (the first issued card sets activated_at): the locked settings are disabled.
    with tenant_session(demo_merchant) as session:
        session.get(CardTemplate, template.id).activated_at = utcnow()
        session.commit()
    goto(page, "/cards")
    row = row_of(page, name)
    expect(row).to_have_attribute("data-locked", "true")
    expect(row.get_by_test_id("template-status")).to_have_text("Locked")
    row.get_by_test_id("template-edit").click()
    expect(editor).to_have_attribute("data-locked", "true")
    expect(page.get_by_test_id("template-locked-note")).to_be_visible()
    for label in ("Stamp count", "Welcome stamps", "Stamp life", "Card expiration", "Days after issue", "Milestone 1"):
        expect(editor.get_by_label(label, exact=True)).to_be_disabled()
    expect(editor.get_by_test_id("milestone-add")).to_have_count(0)
    for label in ("Template name", "Reward program", "Referrer reward", "New customer reward"):
        expect(editor.get_by_label(label, exact=True)).to_be_enabled()
    editor.get_by_label("Referral program active", exact=True).check()
    editor.get_by_label("Referrer reward", exact=True).fill("2")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    settings = svc.load_template(demo_merchant, template.id).settings
    assert settings["referral"]["enabled"] is True and settings["referral"]["referrer_reward"] == 2
    assert (settings["stamp_count"], settings["welcome_stamps"], settings["milestones"]) == (8, 2, [4])
    assert settings["expiration"]["days"] == 365


def create_template(page: Page, card_type: str, name: str):
    page.get_by_test_id("template-create").click()
    create = page.get_by_test_id("template-create-dialog")
    create.get_by_label("Card type").select_option(card_type)
    create.get_by_label("Template name").fill(name)
    page.get_by_test_id("template-create-confirm").click()
    editor = page.get_by_test_id("template-editor")
    expect(editor).to_have_attribute("data-card-type", card_type)
    return editor


def test_tier_and_level_rows_in_money_points_and_percent(page: Page, demo_merchant: int):
    suffix = uuid.uuid4().hex[:6]
    log_in(page, config.DEMO_EMAIL, config.DEMO_PASSWORD)
    goto(page, "/cards")

    # Membership: replace the starter tiers by one typed tier; removing a row keeps the others' text.
    editor = create_template(page, "membership", f"Gym {suffix}")
    expect(editor.get_by_test_id("tier-row")).to_have_count(2)
    editor.get_by_test_id("tier-add").click()
    editor.get_by_label("Tier 3 name", exact=True).fill("Family")
    editor.get_by_label("Tier 3 price", exact=True).fill("99.50")
    editor.get_by_label("Tier 3 visit limit", exact=True).fill("")
    editor.get_by_label("Tier 2 price", exact=True).fill("70")
    editor.get_by_role("button", name="Remove tier 1").click()
    expect(editor.get_by_test_id("tier-row")).to_have_count(2)
    expect(editor.get_by_label("Tier 1 price", exact=True)).to_have_value("70")
    expect(editor.get_by_label("Tier 2 name", exact=True)).to_have_value("Family")
    editor.get_by_label("Period", exact=True).select_option("yearly")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    settings = svc.load_template(demo_merchant, stored(demo_merchant, f"Gym {suffix}").id).settings
    assert settings["tiers"] == [
        {"name": "Premium", "price_cents": 7000, "visit_limit": 90},
        {"name": "Family", "price_cents": 9950, "visit_limit": None},
    ]
    assert settings["period"] == "yearly"

    # Cashback: tiers must ascend; the refusal names the problem and saves nothing.
    editor = create_template(page, "cashback", f"Cash {suffix}")
    editor.get_by_label("Tier 3 spend threshold", exact=True).fill("250.00")
    editor.get_by_label("Tier 2 percentage", exact=True).fill("2.5")
    page.get_by_test_id("template-save").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("thresholds must be distinct and ascending")
    editor.get_by_label("Tier 3 spend threshold", exact=True).fill("1000.00")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    tiers = svc.load_template(demo_merchant, stored(demo_merchant, f"Cash {suffix}").id).settings["tiers"]
    assert [(t["threshold_cents"], t["percent"]) for t in tiers] == [(0, "1"), (50000, "2.5"), (100000, "5")]

    # Reward: add a 0-point welcome level with its type and usage limit.
    editor = create_template(page, "reward", f"Points {suffix}")
    editor.get_by_test_id("level-add").click()
    editor.get_by_label("Level 3 name", exact=True).fill("Welcome drink")
    editor.get_by_label("Level 3 points", exact=True).fill("0")
    editor.get_by_label("Level 3 reward type", exact=True).select_option("gift")
    editor.get_by_label("Level 3 usage limit", exact=True).select_option("week")
    page.get_by_test_id("template-save").click()
    expect(editor).to_have_count(0)
    levels = svc.load_template(demo_merchant, stored(demo_merchant, f"Points {suffix}").id).settings["levels"]
    assert levels[-1] == {"name": "Welcome drink", "centipoints": 0, "kind": "gift", "usage_limit": "week"}
