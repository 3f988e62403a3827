"""The filter condition model (customers.md §13.1), pure: the stored form, checking typed
values with messages that name the condition, presets and the one-line description."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain.filters import Condition, Filter, FilterError, Group, Kind, Match, Op, Param

FIELDS = [
    P.CustomFieldRef("drink", "Favourite drink", "text"),
    P.CustomFieldRef("shoe-size", "Shoe size", "number"),
    P.CustomFieldRef("joined", "Joined club", "date"),
    P.CustomFieldRef("tier", "Tier", "choice", ("Gold", "Silver")),
]
PARAMS = P.catalog(FIELDS, ["Coffee stamp card", "Gift card"])


def one(field: str, op: str, value: str = "", value_to: str = "", days: str = "") -> Filter:
    return Filter(Match.ALL, (Condition(field, op, value, value_to, days),))


def checked_one(field: str, op: str, value: str = "", value_to: str = "", days: str = "") -> F.Checked:
    result = F.check(one(field, op, value, value_to, days), PARAMS)
    assert len(result.items) == 1
    return result.items[0]


def refusal(spec: Filter) -> FilterError:
    with pytest.raises(FilterError) as caught:
        F.check(spec, PARAMS)
    return caught.value


# --- the stored form ------------------------------------------------------------------


def test_round_trip_with_a_group_and_every_optional_part():
    spec = Filter(Match.ANY, (
        Condition("card_status", "equals", "Installed"),
        Group(Match.ALL, (Condition("visits_in_days", "greater", "2", days="30"),
                          Condition("registered", "between", "2026-01-01", "2026-01-31"))),
        Condition("cf:drink", "contains", "flat “white”, ünïcode"),
    ))
    assert F.from_json(spec.dumps()) == spec
    assert F.from_json(spec.to_json()) == spec  # the dict form too
    assert "ünïcode" in spec.dumps()  # stored as text, not \u escapes


@pytest.mark.parametrize("empty", [None, "", {}])
def test_nothing_is_the_empty_filter(empty):
    assert F.from_json(empty) == Filter() and Filter().empty


@pytest.mark.parametrize("raw, message", [
    ("{not json", "The filter is malformed."),
    ("[1, 2]", "The filter is malformed."),
    ('{"items": {"field": "name"}}', "The filter is malformed."),
    ('{"items": null}', "The filter is malformed."),
    ('{"items": ["name"]}', "A filter condition is malformed."),
    ('{"items": [{"match": "all", "conditions": {"field": "name"}}]}', "A filter group is malformed."),
    ('{"match": "xor", "items": []}', "Match must be all or any."),
    ('{"items": [{"match": "some", "conditions": []}]}', "Match must be all or any."),
])
def test_malformed_json_is_refused(raw, message):
    with pytest.raises(FilterError, match=message):
        F.from_json(raw)


def test_more_than_max_conditions_is_refused_groups_included():
    condition = Condition("name", "contains", "a")
    at_limit = Filter(Match.ALL, (condition,) * (F.MAX_CONDITIONS - 2) + (Group(Match.ANY, (condition, condition)),))
    assert len(F.from_json(at_limit.dumps()).conditions()) == F.MAX_CONDITIONS
    over = Filter(Match.ALL, (condition,) * (F.MAX_CONDITIONS - 1) + (Group(Match.ANY, (condition, condition)),))
    with pytest.raises(FilterError, match=f"at most {F.MAX_CONDITIONS} conditions"):
        F.from_json(over.dumps())


# --- check(): values by kind ------------------------------------------------------------


@pytest.mark.parametrize("text, number", [("12", Decimal("12")), ("12,5", Decimal("12.5")), (" 0.25 ", Decimal("0.25")),
                                          ("-3", Decimal("-3"))])
def test_numbers_accept_comma_decimals(text, number):
    assert checked_one("card_balance", "greater", text).values == (number,)


@pytest.mark.parametrize("text", ["twelve", "NaN", "Infinity", "1e13", "1,2,3"])
def test_not_a_number_is_refused_naming_the_condition(text):
    error = refusal(one("uses", "equals", text))
    assert str(error) == f"Condition 1 (Current number of uses): “{text}” is not a number."
    assert error.position == 1


@pytest.mark.parametrize("text, cents", [("12", 1200), ("12.5", 1250), ("12,50", 1250), ("0.01", 1)])
def test_money_is_compared_in_cents(text, cents):
    assert checked_one("total_spend", "greater", text).values == (cents,)


@pytest.mark.parametrize("text", ["12.345", "0,001"])
def test_money_with_more_than_two_decimals_is_refused(text):
    assert str(refusal(one("total_spend", "less", text))) == (
        f"Condition 1 (Total spend): “{text}” has more than two decimal places.")


def test_dates_parse_and_not_dates_are_refused_in_the_spec_wording():
    assert checked_one("registered", "equals", "2026-02-28").values == (dt.date(2026, 2, 28),)
    for text in ("x", "2026-02-30", "28/02/2026"):
        assert str(refusal(one("registered", "equals", text))) == (
            f"Condition 1 (Registration date): “{text}” is not a date (YYYY-MM-DD).")


def test_between_needs_from_not_after_to_naming_the_condition():
    spec = Filter(Match.ALL, (Condition("name", "contains", "a"),
                              Group(Match.ANY, (Condition("uses", "greater", "1"),
                                                Condition("registered", "between", "2026-01-05", "2026-01-01")))))
    error = refusal(spec)
    assert str(error) == "Condition 3 (Registration date): “between” needs from ≤ to."
    assert error.position == 3
    assert checked_one("uses", "between", "3", "3").values == (3, 3)  # equal ends are a range of one
    assert checked_one("total_spend", "between", "9,99", "10").values == (999, 1000)
    assert str(refusal(one("uses", "between", "3"))) == "Condition 1 (Current number of uses): “between” needs a value to."


def test_a_value_is_needed():
    assert str(refusal(one("name", "contains", "  "))) == "Condition 1 (Name): a value is needed."


def test_contains_is_at_most_200_characters():
    assert checked_one("name", "contains", "a" * 200).values == ("a" * 200,)
    assert "longer than 200" in str(refusal(one("name", "contains", "a" * 201)))


def test_unknown_field_and_operator():
    assert str(refusal(one("shoe", "equals", "1"))) == "Condition 1 (shoe): unknown field “shoe”."
    assert str(refusal(one("name", "like", "a"))) == "Condition 1 (Name): unknown operator “like”."


def test_a_removed_custom_field_is_named():
    assert str(refusal(one("cf:hat-size", "equals", "3"))) == (
        "Condition 1 (cf:hat-size): the custom field “hat-size” no longer exists.")


@pytest.mark.parametrize("field, op, label", [
    ("name", "greater", "Name cannot use “greater than”"),
    ("uses", "contains", "Current number of uses cannot use “contains”"),
    ("gender", "is_empty", "Gender cannot use “is empty”"),
    ("registered", "in_next", "Registration date cannot use “in the next N days”"),
    ("last_visit", "in_next", "Last visit cannot use “in the next N days”"),
    ("birthday", "not_in_last", "Customer birthday cannot use “not in the last N days”"),
    ("cf:tier", "contains", "Tier cannot use “contains”"),
])
def test_operator_not_allowed_for_the_parameter(field, op, label):
    assert label in str(refusal(one(field, op, "1")))


def test_every_built_in_parameter_allows_only_its_kinds_operators():
    for spec in P.BUILT_IN:
        assert spec.operators and set(spec.operators) <= set(P.OPS_BY_KIND[spec.kind]) | {Op.IN_NEXT, Op.IN_LAST}
    assert Op.IN_NEXT in PARAMS["birthday"].operators and Op.IN_NEXT in PARAMS["card_expiration"].operators


def test_any_of_lists_split_on_commas_and_lines_and_drop_repeats():
    assert checked_one("email", "any_of", "a@x.com, b@x.com\nc@x.com,,a@x.com").values == ("a@x.com", "b@x.com", "c@x.com")
    assert checked_one("gender", "any_of", "male, FEMALE").values == ("Male", "Female")
    assert checked_one("cf:tier", "any_of", "gold").values == ("Gold",)
    assert str(refusal(one("email", "any_of", " , "))) == "Condition 1 (Email): list at least one value."
    many = ",".join(str(i) for i in range(F.MAX_LIST + 1))
    assert f"at most {F.MAX_LIST} values" in str(refusal(one("utm", "any_of", many)))
    assert "“Purple” is not one of: Gold, Silver" in str(refusal(one("cf:tier", "any_of", "Gold, Purple")))


COMMA_TEMPLATES = P.catalog([], ["Coffee", "Coffee, tea", "Gift card", "Tea"])


def test_any_of_is_read_as_csv_so_quotes_keep_a_comma():
    values = F.check(one("card_template", "any_of", '"Coffee, tea", Gift card'), COMMA_TEMPLATES).items[0].values
    assert values == ("Coffee, tea", "Gift card")
    assert checked_one("email", "any_of", '"a@x.com", b@x.com').values == ("a@x.com", "b@x.com")
    assert checked_one("cf:drink", "any_of", '"Flat white, oat", "say ""hi""", tea').values == (
        "Flat white, oat", 'say "hi"', "tea")
    assert checked_one("name", "any_of", "O'Brien, O\"Neil").values == ("O'Brien", 'O"Neil')  # mid-value quotes are text


def test_an_unquoted_whole_choice_with_a_comma_is_taken_only_when_splitting_fails():
    def values(text: str) -> tuple:
        return F.check(one("card_template", "any_of", text), COMMA_TEMPLATES).items[0].values

    assert values("Coffee, tea") == ("Coffee", "Tea")  # both split parts are choices: the split wins
    assert values('"Coffee, tea"') == ("Coffee, tea",)  # quoted: the one choice
    assert values("coffee,  TEA") == ("Coffee", "Tea")
    only_whole = P.catalog([], ["Coffee, tea", "Gift card"])
    assert F.check(one("card_template", "any_of", " Coffee, tea "), only_whole).items[0].values == ("Coffee, tea",)
    assert F.check(one("card_template", "equals", "Coffee, tea"), only_whole).items[0].values == ("Coffee, tea",)
    # Several values with an unquoted comma choice among them cannot be told apart: quote it.
    with pytest.raises(FilterError, match=r"“Coffee” is not one of: Coffee, tea, Gift card \(put a choice that "
                                          r"contains a comma in double quotes\)\."):
        F.check(one("card_template", "any_of", "Coffee, tea, Gift card"), only_whole)
    # Without a comma in any choice the message stays the plain one.
    assert str(refusal(one("cf:tier", "any_of", "Gold, Purple"))) == (
        "Condition 1 (Tier): “Purple” is not one of: Gold, Silver.")


def test_join_list_quotes_what_split_list_would_cut():
    values = ["Coffee, tea", 'say "hi"', "two\nlines", "plain"]
    text = F.join_list(values)
    assert text == '"Coffee, tea", "say ""hi""", "two\nlines", plain'
    assert F.split_list(text) == values
    assert F.join_list(["Apple Wallet", "Google Wallet"]) == "Apple Wallet, Google Wallet"


def test_choices_are_case_insensitive_and_named_in_the_error():
    assert checked_one("birthday_month", "equals", "february").values == ("February",)
    assert checked_one("card_template", "equals", "gift card").values == ("Gift card",)
    assert "is not one of: Male, Female, Other, Unknown" in str(refusal(one("gender", "equals", "M")))
    no_templates = P.catalog()
    with pytest.raises(FilterError, match="is not one of: nothing yet"):
        F.check(one("card_template", "equals", "Gift card"), no_templates)


def test_not_installed_is_an_alias_for_uninstalled():
    assert checked_one("card_status", "equals", "Not installed").values == ("Uninstalled",)
    assert checked_one("card_status", "any_of", "not installed, Expired").values == ("Uninstalled", "Expired")
    with pytest.raises(FilterError):  # only on card status
        F.check(one("device", "equals", "Not installed"), PARAMS)


@pytest.mark.parametrize("field", ["registered", "birthday", "last_visit", "card_expiration", "cf:joined"])
def test_day_operators_need_whole_days_within_range(field):
    op = "in_last"
    assert checked_one(field, op, "1").days == 1
    assert checked_one(field, op, f" {F.MAX_DAYS} ").days == F.MAX_DAYS
    label = PARAMS[field].label
    # "The last N days" are today and the N-1 before it (RFM's window): 0 days is no window.
    for day_op in sorted({op.value for op in PARAMS[field].operators} & {o.value for o in F.DAY_OPS}):
        assert str(refusal(one(field, day_op, "0"))) == f"Condition 1 ({label}): the number of days must be at least 1."
    for text, reason in (("", "must be a whole number"), ("2.5", "must be a whole number"),
                         ("-1", f"must be between 0 and {F.MAX_DAYS}"), (str(F.MAX_DAYS + 1), f"must be between 0 and {F.MAX_DAYS}")):
        assert str(refusal(one(field, op, text))) == f"Condition 1 ({label}): The number of days {reason}."


def test_visits_in_days_window():
    assert checked_one("visits_in_days", "greater", "2").days == F.DEFAULT_VISIT_DAYS
    assert checked_one("visits_in_days", "greater", "2", days="7").days == 7
    assert "at least 1" in str(refusal(one("visits_in_days", "greater", "2", days="0")))
    assert "whole number" in str(refusal(one("visits_in_days", "greater", "2", days="week")))


def test_empty_operators_take_no_value():
    assert checked_one("email", "is_empty", "ignored").values == ()
    assert checked_one("cf:joined", "not_empty").values == ()


def test_custom_fields_take_their_kind():
    assert PARAMS["cf:drink"].kind == Kind.TEXT and PARAMS["cf:shoe-size"].kind == Kind.NUMBER
    assert PARAMS["cf:joined"].kind == Kind.DATE and PARAMS["cf:tier"].choices == ("Gold", "Silver")
    assert checked_one("cf:shoe-size", "between", "9,5", "11").values == (Decimal("9.5"), Decimal("11"))
    assert checked_one("cf:joined", "between", "2026-01-01", "2026-12-31").values == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_empty_groups_are_dropped_and_the_position_counts_across_groups():
    spec = Filter(Match.ALL, (Group(Match.ANY, ()), Condition("name", "contains", "a"),
                              Group(Match.ANY, (Condition("uses", "greater", "1"), Condition("uses", "less", "x")))))
    assert refusal(spec).position == 3
    checked = F.check(Filter(Match.ALL, (Group(Match.ANY, ()), Condition("name", "contains", "a"))), PARAMS)
    assert len(checked.items) == 1 and checked.items[0].param.key == Param.NAME


# --- presets and description ----------------------------------------------------------------


@pytest.mark.parametrize("preset", F.PRESETS, ids=lambda p: p.key)
def test_every_preset_checks_against_the_catalog(preset):
    checked = F.check(preset.filter, P.catalog())
    assert checked.items and F.PRESETS_BY_KEY[preset.key] is preset
    assert F.from_json(preset.filter.dumps()) == preset.filter


def test_presets_cover_the_spec_groups():
    keys = set(F.PRESETS_BY_KEY)
    assert {"not-installed", "unknown-gender", "empty-birthday", "installed", "apple-wallet", "wallet-passes",
            "google-pay", "pwa"} <= keys
    assert {F.kebab(name) for name in F.RFM_SEGMENTS} <= keys


def test_describe():
    spec = Filter(Match.ALL, (Condition("card_status", "equals", "Installed"),
                              Condition("birthday_month", "equals", "May")))
    assert F.describe(spec, PARAMS) == "Card status equals Installed and Birthday month equals May"
    spec = Filter(Match.ANY, (
        Condition("registered", "in_last", "30"),
        Group(Match.ALL, (Condition("visits_in_days", "greater", "2", days="7"),
                          Condition("total_spend", "between", "10", "20"))),
        Condition("email", "is_empty"),
        Condition("registered", "greater", "2026-01-01"),
    ))
    assert F.describe(spec, PARAMS) == (
        "Registration date in the last 30 days or (Visits in the last N days (last 7 days) greater than 2 and "
        "Total spend between 10 and 20) or Email is empty or Registration date after 2026-01-01")
    assert F.describe(one("cf:gone", "equals", "x"), PARAMS) == "cf:gone equals x"


# --- a property: every valid filter survives storage and checks ------------------------------------


def _value(spec: F.ParamSpec) -> st.SearchStrategy[str]:
    if spec.kind in (Kind.NUMBER, Kind.MONEY):
        return st.decimals(min_value=-10_000, max_value=10_000, places=2).map(lambda d: str(d).replace(".", ","))
    if spec.kind == Kind.DATE:
        return st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat)
    if spec.kind == Kind.CHOICE:
        return st.sampled_from(spec.choices)
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"), min_size=1,
                   max_size=30).filter(str.strip)


@st.composite
def conditions(draw) -> Condition:  # noqa: ANN001
    spec = draw(st.sampled_from(list(PARAMS.values())))
    op = draw(st.sampled_from(spec.operators))
    days = str(draw(st.integers(1, F.MAX_DAYS))) if spec.key == Param.VISITS_IN_DAYS else ""
    if op in F.NO_VALUE_OPS:
        return Condition(spec.key, op.value, days=days)
    if op in F.DAY_OPS:
        return Condition(spec.key, op.value, str(draw(st.integers(1, F.MAX_DAYS))), days=days)
    if op == Op.ANY_OF:
        # The app writes lists with join_list (values with commas or quotes quoted).
        listed = draw(st.lists(_value(spec), min_size=1, max_size=5))
        return Condition(spec.key, op.value, F.join_list(listed), days=days)
    if op == Op.BETWEEN:
        ends = sorted([draw(_value(spec)), draw(_value(spec))],
                      key=lambda text: F._parse_one(spec, text))  # type: ignore[arg-type]
        return Condition(spec.key, op.value, ends[0], ends[1], days)
    return Condition(spec.key, op.value, draw(_value(spec)), days=days)


filters = st.builds(
    Filter,
    st.sampled_from(Match),
    st.lists(st.one_of(conditions(), st.builds(Group, st.sampled_from(Match), st.lists(conditions(), max_size=3).map(tuple))),
             max_size=5).map(tuple),
).filter(lambda f: len(f.conditions()) <= F.MAX_CONDITIONS)


@settings(max_examples=200, deadline=None)
@given(filters)
def test_any_valid_filter_round_trips_and_checks(spec):
    stored = spec.dumps()
    again = F.from_json(stored)
    assert again == spec and again.dumps() == stored
    assert F.from_json(json.loads(stored)) == spec
    checked = F.check(again, PARAMS)
    assert len([c for item in checked.items for c in getattr(item, "conditions", (item,))]) == len(
        [c for item in spec.items if not (isinstance(item, Group) and not item.conditions)
         for c in (item.conditions if isinstance(item, Group) else (item,))])


def test_every_preset_stores_plain_text_and_reads_back_the_same():
    for preset in F.PRESETS:
        stored = json.loads(preset.filter.dumps())
        assert preset.filter.to_json() == stored  # no enum objects left in the stored form
        assert all(type(c["field"]) is str and type(c["op"]) is str for c in preset.filter.to_json()["items"])
        assert F.from_json(stored) == preset.filter
