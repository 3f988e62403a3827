"""The template form's text fields ↔ a template's typed settings.

The form shows money as decimals (``35.00``), points as decimals (``12.5``) and
percentages as decimals; settings store integer cents, integer centipoints (×100) and
``Decimal`` strings. Parsing never goes through ``float``.

``settings_from_form`` starts from the stored settings and overlays what the form
submitted: a field that was not submitted (a disabled, locked input; a hidden section)
keeps its stored value. Row lists (milestones, tiers, levels) are taken from the form
only when their section marker (``<list>_shown``) was submitted.

Plain Python: no Reflex, no database.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from pydantic import ValidationError

from perkstar_ui.domain.card_types import BALANCE_UNITS, BalanceUnit, CardType

_AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")
_WHOLE = re.compile(r"\d{1,9}")

# Form fields that repeat once per row (sent as lists).
LIST_FIELDS = frozenset({
    "milestone", "tier_name", "tier_threshold", "tier_percent", "tier_price", "tier_limit",
    "level_name", "level_points", "level_kind", "level_usage",
    "issuing_key", "issuing_mode",
})
# The issuing form's rows (domain.signup): each field off, optional or required.
ISSUING_MODES = {"off": "Not asked", "optional": "Optional", "required": "Required"}

EXPIRATION_MODES = {"unlimited": "Unlimited", "fixed_date": "Fixed date", "days_after_issue": "Days after issue"}
REFERRAL_TRIGGERS = {"install": "Card installed", "first_visit": "First visit"}
STAMP_MECHANICS = {"stamps": "Stamps (staff choose)", "visit": "Visit (1 stamp per visit)", "spend": "Spend (stamps per amount)"}
STAMP_LIFE = {"unlimited": "Unlimited", "fixed_date": "Fixed date", "days_after_last_stamp": "Days after the last stamp"}
GIFT_REDEMPTION = {"multiple": "Multiple use", "single": "Single use"}
REWARD_MECHANICS = {"spend": "Spend", "visit": "Visit", "points": "Points (manual)"}
REWARD_KINDS = {"gift": "Gift", "percent_discount": "Percentage discount", "fixed_discount": "Fixed-amount discount"}
USAGE_LIMITS = {"none": "No limit", "day": "Once a day", "week": "Once a week", "month": "Once a month"}
MEMBERSHIP_MODES = {"manual": "Without Stripe", "stripe": "With Stripe", "v1": "Membership v1 (no tiers)"}
PERIODS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly", "quarterly": "Quarterly", "yearly": "Yearly"}


class TemplateFormError(ValueError):
    """Form text that cannot be read; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


# --- units ---------------------------------------------------------------------------


def hundredths_text(value: int | None) -> str:
    """Cents or centipoints as ``12.50`` (empty for None)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    value = abs(int(value))
    return f"{sign}{value // 100}.{value % 100:02d}"


def parse_hundredths(raw: str) -> int:
    """``35``, ``35.5``, ``35.00`` → 3500 (cents or centipoints); ValueError otherwise."""
    text = raw.strip()
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    return int(Decimal(text) * 100)


def parse_percent(raw: str) -> str:
    text = raw.strip()
    if not _AMOUNT.fullmatch(text) or Decimal(text) > 100:
        raise ValueError(text)
    return format(Decimal(text).normalize(), "f")


def referral_unit(card_type: CardType | str) -> BalanceUnit:
    """Referral rewards are counted in the card's own balance unit (customers.md §15)."""
    return BALANCE_UNITS[CardType(card_type)]


# --- settings → form -----------------------------------------------------------------


def _days(value: int | None) -> str:
    return "" if value is None else str(value)


def form_values(card_type: CardType | str, settings: dict) -> dict[str, str]:
    """The flat text values the form starts from (booleans as ``"on"`` / ``""``)."""
    card_type = CardType(card_type)
    s = settings
    expiration, referral = s.get("expiration") or {}, s.get("referral") or {}
    money_reward = referral_unit(card_type) in (BalanceUnit.CENTS, BalanceUnit.CENTIPOINTS)
    reward_text = hundredths_text if money_reward else (lambda v: str(v or 0))
    values = {
        "expiration_mode": expiration.get("mode", "unlimited"),
        "expiration_date": expiration.get("date") or "",
        "expiration_days": _days(expiration.get("days")),
        "referral_enabled": "on" if referral.get("enabled") else "",
        "referral_referrer_reward": reward_text(referral.get("referrer_reward", 0)),
        "referral_new_customer_reward": reward_text(referral.get("new_customer_reward", 0)),
        "referral_trigger": referral.get("trigger", "first_visit"),
    }
    if card_type == CardType.STAMP:
        values |= {
            "mechanic": s.get("mechanic", "stamps"),
            "spend_per_stamp": hundredths_text(s.get("spend_per_stamp_cents", 1000)),
            "stamp_count": str(s.get("stamp_count", 10)),
            "welcome_stamps": str(s.get("welcome_stamps", 0)),
            "stamp_life": s.get("stamp_life", "unlimited"),
            "stamp_life_date": s.get("stamp_life_date") or "",
            "stamp_life_days": _days(s.get("stamp_life_days")),
            "purchase_amount_required": "on" if s.get("purchase_amount_required") else "",
        }
    elif card_type == CardType.MULTIPASS:
        values |= {
            "bonus_points_per_visit": hundredths_text(s.get("bonus_centipoints_per_visit", 0)),
            "visit_life_days": _days(s.get("visit_life_days")),
            "points_life_days": _days(s.get("points_life_days")),
        }
    elif card_type == CardType.CASHBACK:
        values |= {
            "points_life_days": _days(s.get("points_life_days")),
            "welcome_points": hundredths_text(s.get("welcome_centipoints", 0)),
        }
    elif card_type == CardType.GIFT:
        values["redemption"] = s.get("redemption", "multiple")
    elif card_type == CardType.REWARD:
        values |= {
            "mechanic": s.get("mechanic", "spend"),
            "points_per_spend": hundredths_text(s.get("centipoints_per_spend_unit", 100)),
            "spend_unit": hundredths_text(s.get("spend_unit_cents", 100)),
            "points_per_visit": hundredths_text(s.get("centipoints_per_visit", 1000)),
            "one_visit_per_day": "on" if s.get("one_visit_per_day") else "",
            "welcome_points": hundredths_text(s.get("welcome_centipoints", 0)),
        }
    elif card_type == CardType.COUPON:
        linked = s.get("linked_template_id")
        values |= {"offer": s.get("offer", ""), "linked_template_id": "" if linked is None else str(linked)}
    elif card_type == CardType.MEMBERSHIP:
        values |= {
            "membership_mode": s.get("mode", "manual"),
            "period": s.get("period", "monthly"),
            "auto_renew": "on" if s.get("auto_renew", True) else "",
            "trial_days": str(s.get("trial_days", 0)),
            "unit_name": s.get("unit_name", "visits"),
        }
    return values


def form_rows(card_type: CardType | str, settings: dict) -> dict[str, list[dict[str, str]]]:
    """The row lists of the form: ``milestones``, ``tiers`` (spend or membership), ``levels``."""
    card_type = CardType(card_type)
    s = settings
    if card_type == CardType.STAMP:
        return {"milestones": [{"value": str(m)} for m in s.get("milestones", [])]}
    if card_type in (CardType.CASHBACK, CardType.DISCOUNT):
        return {"tiers": [
            {"name": t["name"], "threshold": hundredths_text(t["threshold_cents"]), "percent": str(t["percent"])}
            for t in s.get("tiers", [])
        ]}
    if card_type == CardType.MEMBERSHIP:
        return {"tiers": [
            {"name": t["name"], "price": hundredths_text(t["price_cents"]),
             "limit": "" if t.get("visit_limit") is None else str(t["visit_limit"])}
            for t in s.get("tiers", [])
        ]}
    if card_type == CardType.REWARD:
        return {"levels": [
            {"name": lv["name"], "points": hundredths_text(lv["centipoints"]), "kind": lv.get("kind", "gift"),
             "usage": lv.get("usage_limit", "none")}
            for lv in s.get("levels", [])
        ]}
    return {}


# --- form → settings -----------------------------------------------------------------


class _Reader:
    """Reads submitted text into settings values, collecting every problem."""

    def __init__(self, form: Mapping[str, object]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def has(self, key: str) -> bool:
        return key in self.form

    def text(self, key: str) -> str:
        value = self.form.get(key, "")
        return (value[-1] if value else "") if isinstance(value, list) else str(value).strip()

    def items(self, key: str) -> list[str]:
        value = self.form.get(key, [])
        return [str(v).strip() for v in (value if isinstance(value, list) else [value])]

    def flag(self, key: str) -> bool:
        return self.text(key).lower() not in ("", "0", "false", "off", "no")

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, message)

    def whole(self, key: str, label: str, raw: str | None = None, *, optional: bool = False) -> int | None:
        text = self.text(key) if raw is None else raw
        if optional and text == "":
            return None
        if not _WHOLE.fullmatch(text):
            self.fail(key, f"{label} must be a whole number.")
            return None
        return int(text)

    def hundredths(self, key: str, label: str, raw: str | None = None, example: str = "35.00") -> int | None:
        text = self.text(key) if raw is None else raw
        try:
            return parse_hundredths(text)
        except ValueError:
            self.fail(key, f"{label} must be a number with up to two decimals, like {example}.")
            return None

    def percent(self, key: str, label: str, raw: str) -> str | None:
        try:
            return parse_percent(raw)
        except ValueError:
            self.fail(key, f"{label} must be a percentage from 0 to 100 with up to two decimals.")
            return None

    def date(self, key: str, label: str) -> str | None:
        try:
            return dt.date.fromisoformat(self.text(key)).isoformat()
        except ValueError:
            self.fail(key, f"{label} needs a date.")
            return None

    def choice(self, key: str, label: str, options: Mapping[str, str]) -> str | None:
        value = self.text(key)
        if value not in options:
            self.fail(key, f"{label}: choose one of {', '.join(options.values())}.")
            return None
        return value


def _put(target: dict, key: str, value: object) -> None:
    if value is not None:
        target[key] = value


def settings_from_form(card_type: CardType | str, base: dict, form: Mapping[str, object]) -> dict:
    """The raw settings (still to validate with ``validate_settings``) of a submitted form.

    ``form`` maps field names to text, and the ``LIST_FIELDS`` to lists of text in row
    order. Raises ``TemplateFormError`` listing every field that cannot be read.
    """
    card_type = CardType(card_type)
    s = copy.deepcopy(base)
    r = _Reader(form)

    if r.has("expiration_mode"):
        mode = r.choice("expiration_mode", "Card expiration", EXPIRATION_MODES)
        expiration: dict = {"mode": mode or "unlimited", "date": None, "days": None}
        if mode == "fixed_date":
            expiration["date"] = r.date("expiration_date", "Expiration date")
        elif mode == "days_after_issue":
            expiration["days"] = r.whole("expiration_days", "Days after issue")
        s["expiration"] = expiration

    if r.has("referral_trigger"):
        money = referral_unit(card_type) in (BalanceUnit.CENTS, BalanceUnit.CENTIPOINTS)
        read = (lambda k, lbl: r.hundredths(k, lbl, example="5.00")) if money else r.whole
        referral = dict(s.get("referral") or {})
        referral["enabled"] = r.flag("referral_enabled")
        _put(referral, "referrer_reward", read("referral_referrer_reward", "Referrer reward"))
        _put(referral, "new_customer_reward", read("referral_new_customer_reward", "New customer reward"))
        _put(referral, "trigger", r.choice("referral_trigger", "Reward given on", REFERRAL_TRIGGERS))
        s["referral"] = referral

    if r.has("issuing_shown"):
        s["issuing_form"] = _issuing(r)

    if card_type == CardType.STAMP:
        _stamp(s, r)
    elif card_type == CardType.MULTIPASS:
        if r.has("bonus_points_per_visit"):
            _put(s, "bonus_centipoints_per_visit", r.hundredths("bonus_points_per_visit", "Bonus points per visit", example="20"))
        if r.has("visit_life_days"):
            s["visit_life_days"] = r.whole("visit_life_days", "Visit life (days)", optional=True)
        if r.has("points_life_days"):
            s["points_life_days"] = r.whole("points_life_days", "Points life (days)", optional=True)
    elif card_type in (CardType.CASHBACK, CardType.DISCOUNT):
        if card_type == CardType.CASHBACK:
            if r.has("points_life_days"):
                s["points_life_days"] = r.whole("points_life_days", "Points life (days)", optional=True)
            if r.has("welcome_points"):
                _put(s, "welcome_centipoints", r.hundredths("welcome_points", "Welcome points", example="10"))
        if r.has("tiers_shown"):
            s["tiers"] = _spend_tiers(r)
    elif card_type == CardType.GIFT:
        if r.has("redemption"):
            _put(s, "redemption", r.choice("redemption", "Redemption", GIFT_REDEMPTION))
    elif card_type == CardType.REWARD:
        _reward(s, r)
    elif card_type == CardType.COUPON:
        if r.has("offer"):
            s["offer"] = r.text("offer")
        if r.has("linked_template_id"):
            s["linked_template_id"] = r.whole("linked_template_id", "Linked loyalty card", optional=True)
    elif card_type == CardType.MEMBERSHIP:
        _membership(s, r)

    if r.errors:
        raise TemplateFormError(r.errors)
    return s


def _issuing(r: _Reader) -> dict:
    """The join form's fields in row order: ``issuing_key`` / ``issuing_mode`` per row, and
    ``issuing_unique:<key>`` ticked for a phone or email that must identify."""
    fields = []
    for n, (key, mode) in _rows(r, "issuing_key", "issuing_mode"):
        if mode not in ISSUING_MODES:
            r.fail(f"issuing:{n}", f"Issuing form row {n}: choose one of {', '.join(ISSUING_MODES.values())}.")
            continue
        if mode != "off" and key:
            fields.append({"key": key, "required": mode == "required", "unique": r.flag(f"issuing_unique:{key}")})
    return {"fields": fields}


def _stamp(s: dict, r: _Reader) -> None:
    if r.has("mechanic"):
        _put(s, "mechanic", r.choice("mechanic", "Reward program", STAMP_MECHANICS))
    if r.has("spend_per_stamp"):
        _put(s, "spend_per_stamp_cents", r.hundredths("spend_per_stamp", "Spend per stamp", example="10.00"))
    if r.has("stamp_count"):
        _put(s, "stamp_count", r.whole("stamp_count", "Stamp count"))
    if r.has("welcome_stamps"):
        _put(s, "welcome_stamps", r.whole("welcome_stamps", "Welcome stamps"))
    if r.has("stamp_life"):
        life = r.choice("stamp_life", "Stamp life", STAMP_LIFE)
        s["stamp_life"] = life or "unlimited"
        s["stamp_life_date"] = r.date("stamp_life_date", "Stamps expire on") if life == "fixed_date" else None
        s["stamp_life_days"] = (
            r.whole("stamp_life_days", "Days after the last stamp") if life == "days_after_last_stamp" else None
        )
    if r.has("milestones_shown"):
        milestones = []
        for index, raw in enumerate(r.items("milestone"), start=1):
            value = r.whole(f"milestone:{index}", f"Milestone {index}", raw)
            if value is not None:
                milestones.append(value)
        s["milestones"] = milestones
    s["purchase_amount_required"] = r.flag("purchase_amount_required")


def _rows(r: _Reader, *keys: str) -> list[tuple[int, list[str]]]:
    columns = [r.items(k) for k in keys]
    size = max((len(c) for c in columns), default=0)
    return [(i + 1, [c[i] if i < len(c) else "" for c in columns]) for i in range(size)]


def _spend_tiers(r: _Reader) -> list[dict]:
    tiers = []
    for n, (name, threshold, percent) in _rows(r, "tier_name", "tier_threshold", "tier_percent"):
        if not name:
            r.fail(f"tier:{n}:name", f"Tier {n} needs a name.")
        tiers.append({
            "name": name,
            "threshold_cents": r.hundredths(f"tier:{n}:threshold", f"Tier {n} spend threshold", threshold, "500.00"),
            "percent": r.percent(f"tier:{n}:percent", f"Tier {n} percentage", percent),
        })
    return tiers


def _reward(s: dict, r: _Reader) -> None:
    if r.has("mechanic"):
        _put(s, "mechanic", r.choice("mechanic", "Reward program", REWARD_MECHANICS))
    for key, field, label, example in (
        ("points_per_spend", "centipoints_per_spend_unit", "Points per spend", "10"),
        ("spend_unit", "spend_unit_cents", "Spend amount", "10.00"),
        ("points_per_visit", "centipoints_per_visit", "Points per visit", "10"),
        ("welcome_points", "welcome_centipoints", "Welcome points", "10"),
    ):
        if r.has(key):
            _put(s, field, r.hundredths(key, label, example=example))
    s["one_visit_per_day"] = r.flag("one_visit_per_day")
    if r.has("levels_shown"):
        levels = []
        for n, (name, points, kind, usage) in _rows(r, "level_name", "level_points", "level_kind", "level_usage"):
            if not name:
                r.fail(f"level:{n}:name", f"Level {n} needs a name.")
            if kind not in REWARD_KINDS:
                r.fail(f"level:{n}:kind", f"Level {n} needs a reward type.")
            if usage not in USAGE_LIMITS:
                r.fail(f"level:{n}:usage", f"Level {n} needs a usage limit.")
            levels.append({
                "name": name,
                "centipoints": r.hundredths(f"level:{n}:points", f"Level {n} points", points, "50"),
                "kind": kind,
                "usage_limit": usage,
            })
        s["levels"] = levels


def _membership(s: dict, r: _Reader) -> None:
    if r.has("membership_mode"):
        _put(s, "mode", r.choice("membership_mode", "Membership mode", MEMBERSHIP_MODES))
    if r.has("period"):
        _put(s, "period", r.choice("period", "Period", PERIODS))
    s["auto_renew"] = r.flag("auto_renew")
    if r.has("trial_days"):
        _put(s, "trial_days", r.whole("trial_days", "Free trial (days)"))
    if r.has("unit_name"):
        s["unit_name"] = r.text("unit_name")
    if r.has("tiers_shown"):
        tiers = []
        for n, (name, price, limit) in _rows(r, "tier_name", "tier_price", "tier_limit"):
            if not name:
                r.fail(f"tier:{n}:name", f"Tier {n} needs a name.")
            tiers.append({
                "name": name,
                "price_cents": r.hundredths(f"tier:{n}:price", f"Tier {n} price", price, "35.00"),
                "visit_limit": r.whole(f"tier:{n}:limit", f"Tier {n} visit limit", limit, optional=True),
            })
        s["tiers"] = tiers


# --- validation messages -------------------------------------------------------------

_LOC_NAMES = {
    "expiration": "Card expiration",
    "referral": "Referral program",
    "issuing_form": "Issuing form",
    "fields": "fields",
    "referrer_reward": "Referrer reward",
    "new_customer_reward": "New customer reward",
    "stamp_count": "Stamp count",
    "welcome_stamps": "Welcome stamps",
    "spend_per_stamp_cents": "Spend per stamp",
    "stamp_life_days": "Days after the last stamp",
    "milestones": "Milestones",
    "days": "Days after issue",
    "visit_life_days": "Visit life (days)",
    "points_life_days": "Points life (days)",
    "bonus_centipoints_per_visit": "Bonus points per visit",
    "welcome_centipoints": "Welcome points",
    "centipoints_per_spend_unit": "Points per spend",
    "spend_unit_cents": "Spend amount",
    "centipoints_per_visit": "Points per visit",
    "offer": "Offer",
    "trial_days": "Free trial (days)",
    "unit_name": "Limit unit name",
    "tiers": "Tier",
    "levels": "Level",
    "name": "name",
    "threshold_cents": "spend threshold",
    "percent": "percentage",
    "price_cents": "price",
    "visit_limit": "visit limit",
    "centipoints": "points",
}


def describe_validation_error(error: ValidationError) -> str:
    """One readable sentence per problem pydantic found in the settings."""
    messages = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        parts = []
        for part in problem["loc"]:
            if isinstance(part, int):
                parts.append(str(part + 1))
            else:
                parts.append(_LOC_NAMES.get(part, part.replace("_", " ")))
        where = " ".join(parts)
        text = f"{where}: {message}" if where else message
        messages.append(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."))
    return " ".join(dict.fromkeys(messages))
