"""The filter builder's rows (domain.filter_rows): rows ↔ Filter, field and operator changes."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from perkstar_ui.domain import filter_rows as fr
from perkstar_ui.domain import filter_params as P
from perkstar_ui.domain import filters as F
from perkstar_ui.domain.filter_rows import Builder, GroupRow, Row, ValueKind
from perkstar_ui.domain.filters import Condition, Filter, Group, Match, Op, Param

PARAMS = P.catalog([P.CustomFieldRef("drink", "Favourite drink", "choice", ("Tea", "Coffee"))], ["Coffee card"])


def _ids():
    counter = itertools.count(1)
    return lambda: f"r{next(counter)}"


def test_a_new_row_is_name_contains_empty():
    row = fr.new_row("r1", PARAMS)
    assert (row.field, row.op, row.value, row.group) == (Param.NAME, Op.CONTAINS, "", fr.TOP_LEVEL)


@pytest.mark.parametrize(("field", "op", "kind"), [
    (Param.NAME, Op.CONTAINS, ValueKind.TEXT),
    (Param.BIRTHDAY_MONTH, Op.EQUALS, ValueKind.CHOICE),
    (Param.BIRTHDAY_MONTH, Op.ANY_OF, ValueKind.LIST),
    (Param.REGISTERED, Op.IN_LAST, ValueKind.DAYS),
    (Param.REGISTERED, Op.BETWEEN, ValueKind.DATE),
    (Param.BIRTHDAY, Op.IS_EMPTY, ValueKind.NONE),
    (Param.TOTAL_SPEND, Op.GREATER, ValueKind.NUMBER),
    ("cf:drink", Op.EQUALS, ValueKind.CHOICE),
])
def test_value_kind(field, op, kind):
    assert fr.value_kind(PARAMS[field], op.value) == kind


def test_choosing_a_choice_field_preselects_its_first_choice_and_a_text_field_keeps_the_text():
    row = replace(fr.new_row("r1", PARAMS), value="ann")
    assert fr.with_field(row, Param.EMAIL, PARAMS).value == "ann"  # text → text: kept
    month = fr.with_field(row, Param.BIRTHDAY_MONTH, PARAMS)
    assert (month.op, month.value) == (Op.EQUALS, "January")
    gender = fr.with_field(month, Param.GENDER, PARAMS)
    assert gender.value == "Male"  # another field's choices: not "January"


def test_an_operator_the_field_lacks_falls_back_to_its_first():
    row = fr.with_op(fr.new_row("r1", PARAMS), Op.CONTAINS.value, PARAMS)
    assert fr.with_field(row, Param.CARD_BALANCE, PARAMS).op == Op.EQUALS
    assert fr.with_op(row, "no-such-op", PARAMS) == row
    assert fr.with_op(row, Op.BETWEEN.value, PARAMS) == row  # text has no between


def test_leaving_between_drops_value_to_and_changing_kind_drops_the_value():
    row = Row("r1", Param.REGISTERED, Op.BETWEEN, "2024-01-01", "2024-02-01")
    equals = fr.with_op(row, Op.EQUALS.value, PARAMS)
    assert (equals.value, equals.value_to) == ("2024-01-01", "")
    assert fr.with_op(row, Op.IN_LAST.value, PARAMS).value == ""  # a date is not a number of days


def test_visits_in_days_gets_the_default_window():
    row = fr.with_field(fr.new_row("r1", PARAMS), Param.VISITS_IN_DAYS, PARAMS)
    assert row.days == str(F.DEFAULT_VISIT_DAYS)
    assert fr.with_field(row, Param.NAME, PARAMS).days == ""


def test_rows_become_a_filter_in_screen_order_and_back():
    builder = Builder(Match.ANY, (
        Row("g1r", Param.GENDER, Op.EQUALS, "Female", group="g1"),
        Row("r1", Param.NAME, Op.CONTAINS, "ann"),
        Row("g1s", Param.BIRTHDAY_MONTH, Op.EQUALS, "May", group="g1"),
        Row("r2", Param.CARD_BALANCE, Op.BETWEEN, "1", "5"),
    ), (GroupRow("g1", Match.ALL), GroupRow("empty", Match.ANY)))
    spec = fr.to_filter(builder)
    assert spec == Filter(Match.ANY, (
        Condition(Param.NAME, Op.CONTAINS, "ann"),
        Condition(Param.CARD_BALANCE, Op.BETWEEN, "1", "5"),
        Group(Match.ALL, (Condition(Param.GENDER, Op.EQUALS, "Female"), Condition(Param.BIRTHDAY_MONTH, Op.EQUALS, "May"))),
    ))
    assert [row.id for row in builder.ordered_rows()] == ["r1", "r2", "g1r", "g1s"]
    again = fr.from_filter(F.from_json(spec.dumps()), _ids())
    assert fr.to_filter(again) == spec
    assert [g.match for g in again.groups] == [Match.ALL]


def test_error_positions_count_rows_as_shown():
    builder = Builder(Match.ALL, (
        Row("g", Param.NAME, Op.CONTAINS, "x", group="g1"),
        Row("t", Param.CARD_BALANCE, Op.BETWEEN, "9", "2"),
    ), (GroupRow("g1"),))
    with pytest.raises(F.FilterError, match=r"Condition 1 \(Card balance\)"):
        F.check(fr.to_filter(builder), PARAMS)


def test_presets_round_trip_through_the_builder():
    for preset in F.PRESETS:
        assert fr.to_filter(fr.from_filter(preset.filter, _ids())) == preset.filter
        F.check(preset.filter, PARAMS)

