"""Template settings of the eight card types: defaults, validation, JSON round trip."""

import datetime as dt

import pytest
from pydantic import ValidationError

from perkstar_ui.domain.card_types import CardType, default_settings, validate_settings


@pytest.mark.parametrize("card_type", list(CardType))
def test_defaults_are_valid_and_round_trip_through_json(card_type):
    stored = default_settings(card_type).model_dump(mode="json")
    assert validate_settings(card_type, stored) == default_settings(card_type)


@pytest.mark.parametrize(
    "card_type,raw,message",
    [
        ("stamp", {"stamp_count": 0}, "greater than or equal to 1"),
        ("stamp", {"stamp_count": 5, "welcome_stamps": 5}, "fewer than the stamp count"),
        ("stamp", {"stamp_count": 9, "milestones": [3, 9]}, "between 1 and the stamp count"),
        ("stamp", {"stamp_life": "fixed_date"}, "needs a date"),
        ("cashback", {"tiers": [{"name": "A", "threshold_cents": 100, "percent": "1"}]}, "start at a spend of 0"),
        ("cashback", {"tiers": [{"name": "A", "threshold_cents": 0, "percent": "101"}]}, "less than or equal to 100"),
        ("discount", {"tiers": [{"name": f"T{i}", "threshold_cents": i, "percent": "1"} for i in range(7)]}, "between 1 and 6"),
        ("discount", {"tiers": [{"name": "A", "threshold_cents": 0, "percent": "1"},
                                {"name": "B", "threshold_cents": 0, "percent": "2"}]}, "distinct and ascending"),
        ("membership", {"trial_days": 31}, "less than or equal to 30"),
        ("gift", {"redemption": "sometimes"}, "'multiple' or 'single'"),
        ("stamp", {"expiration": {"mode": "days_after_issue"}}, "number of days"),
        ("coupon", {"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(card_type, raw, message):
    with pytest.raises(ValidationError, match=message):
        validate_settings(card_type, raw)


def test_expiration_dates():
    issued = dt.date(2026, 3, 1)
    assert validate_settings("gift", {}).expiration.expires_on(issued) is None
    after = validate_settings("gift", {"expiration": {"mode": "days_after_issue", "days": 30}})
    assert after.expiration.expires_on(issued) == dt.date(2026, 3, 31)
    fixed = validate_settings("gift", {"expiration": {"mode": "fixed_date", "date": "2026-12-31"}})
    assert fixed.expiration.expires_on(issued) == dt.date(2026, 12, 31)


def test_unknown_card_type_is_refused():
    with pytest.raises(ValueError):
        validate_settings("loyalty", {})
