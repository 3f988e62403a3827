"""My Segments on the real database: saved filters, live counts, names, tenancy."""

import pytest

from perkstar_ui.domain import filters
from perkstar_ui.domain.filters import Condition, Filter, Match, Op, Param
from perkstar_ui.services import custom_fields, customer_filters, segments
from perkstar_ui.services.refusals import RecordError
from tests.helpers import add_customer, give_card, recorded_statements

NOT_INSTALLED = filters.PRESETS_BY_KEY["not-installed"].filter
NAMED_ADA = Filter(Match.ALL, (Condition(Param.NAME.value, Op.CONTAINS.value, "Ada"),))


def _people(merchant_id: int) -> None:
    """Two customers without an installed card, one with."""
    add_customer(merchant_id, "Ada", "Lovelace")
    give_card(merchant_id, add_customer(merchant_id, "Bob", "Builder"))
    give_card(merchant_id, add_customer(merchant_id, "Cy", "Installed"), status="installed")


def _row(merchant_id: int, name: str) -> segments.SegmentRow:
    return next(row for row in segments.list_segments(merchant_id) if row.name == name)


def test_saved_segments_list_with_live_counts(merchant):
    _people(merchant)
    segments.save_segment(merchant, "  Not   installed yet ", NOT_INSTALLED.dumps())
    segments.save_segment(merchant, "Ada", NAMED_ADA.to_json())
    rows = segments.list_segments(merchant)
    assert [row.name for row in rows] == ["Ada", "Not installed yet"]  # trimmed, by name
    assert rows[1].count == customer_filters.count_matching(merchant, NOT_INSTALLED) == 2
    assert rows[0].count == customer_filters.count_matching(merchant, NAMED_ADA) == 1
    assert rows[1].summary == "Card status does not equal Installed" and rows[1].problem == ""


def test_segments_are_evaluated_when_used(merchant):
    _people(merchant)
    segment_id = segments.save_segment(merchant, "Not installed", NOT_INSTALLED.dumps())
    add_customer(merchant, "Dee", "New")
    assert _row(merchant, "Not installed").count == 3
    spec = segments.segment_filter(merchant, segment_id)
    assert customer_filters.count_matching(merchant, spec) == 3


def test_name_and_filter_are_required(merchant):
    with pytest.raises(RecordError, match="name") as refused:
        segments.save_segment(merchant, "   ", NOT_INSTALLED.dumps())
    assert "name" in refused.value.errors
    with pytest.raises(RecordError, match="at most 120"):
        segments.save_segment(merchant, "x" * 121, NOT_INSTALLED.dumps())
    with pytest.raises(RecordError, match="Apply a filter first"):
        segments.save_segment(merchant, "Everyone", "")
    with pytest.raises(RecordError, match="Condition 1"):
        segments.save_segment(merchant, "Bad", Filter(Match.ALL, (Condition(Param.STAMPS, Op.GREATER, "lots"),)).dumps())
    assert segments.list_segments(merchant) == []


def test_names_are_unique_per_merchant_ignoring_case(merchant, other_merchant):
    first = segments.save_segment(merchant, "VIP", NOT_INSTALLED.dumps())
    with pytest.raises(RecordError, match="already exists"):
        segments.save_segment(merchant, "vip", NAMED_ADA.dumps())
    second = segments.save_segment(merchant, "Regulars", NAMED_ADA.dumps())
    with pytest.raises(RecordError, match="already exists"):
        segments.rename_segment(merchant, second, " Vip ")
    segments.save_segment(other_merchant, "VIP", NOT_INSTALLED.dumps())  # another merchant may
    segments.rename_segment(merchant, first, "vip")  # its own name in another case is fine
    assert [row.name for row in segments.list_segments(merchant)] == ["Regulars", "vip"]


def test_edit_overwrites_name_and_filter(merchant):
    _people(merchant)
    segment_id = segments.save_segment(merchant, "Mine", NOT_INSTALLED.dumps())
    assert segments.save_segment(merchant, "Only Ada", NAMED_ADA.dumps(), segment_id=segment_id) == segment_id
    detail = segments.get_segment(merchant, segment_id)
    assert (detail.name, filters.from_json(detail.filter_json)) == ("Only Ada", NAMED_ADA)
    assert [(row.name, row.count) for row in segments.list_segments(merchant)] == [("Only Ada", 1)]


def test_duplicates_are_named_copy_then_numbered(merchant):
    source = segments.save_segment(merchant, "Lapsed", NOT_INSTALLED.dumps())
    copy = segments.duplicate_segment(merchant, source)
    again = segments.duplicate_segment(merchant, source)
    of_copy = segments.duplicate_segment(merchant, copy)
    names = {segments.get_segment(merchant, i).name for i in (copy, again, of_copy)}
    assert names == {"Lapsed (copy)", "Lapsed (copy 2)", "Lapsed (copy 3)"}
    assert segments.get_segment(merchant, copy).filter_json == NOT_INSTALLED.dumps()
    long_name = segments.save_segment(merchant, "L" * 120, NOT_INSTALLED.dumps())
    assert segments.get_segment(merchant, segments.duplicate_segment(merchant, long_name)).name == "L" * 113 + " (copy)"


def test_rename_and_delete(merchant):
    segment_id = segments.save_segment(merchant, "Old", NOT_INSTALLED.dumps())
    segments.rename_segment(merchant, segment_id, "New")
    assert segments.get_segment(merchant, segment_id).name == "New"
    segments.delete_segment(merchant, segment_id)
    assert segments.list_segments(merchant) == []
    with pytest.raises(RecordError, match="no longer exists"):
        segments.get_segment(merchant, segment_id)


def test_another_merchant_can_neither_see_nor_touch_a_segment(merchant, other_merchant):
    _people(merchant)
    segment_id = segments.save_segment(merchant, "Private", NOT_INSTALLED.dumps())
    assert segments.list_segments(other_merchant) == []
    for attempt in (
        lambda: segments.get_segment(other_merchant, segment_id),
        lambda: segments.segment_filter(other_merchant, segment_id),
        lambda: segments.rename_segment(other_merchant, segment_id, "Mine now"),
        lambda: segments.duplicate_segment(other_merchant, segment_id),
        lambda: segments.delete_segment(other_merchant, segment_id),
        lambda: segments.save_segment(other_merchant, "Mine now", NOT_INSTALLED.dumps(), segment_id=segment_id),
    ):
        with pytest.raises(RecordError, match="no longer exists"):
            attempt()
    assert segments.list_segments(other_merchant) == []
    assert [(row.name, row.count) for row in segments.list_segments(merchant)] == [("Private", 2)]


def test_a_segment_whose_custom_field_was_removed_lists_with_a_problem(merchant):
    field_id = custom_fields.add_custom_field(merchant, "Favourite drink", "text")
    add_customer(merchant, "Ada", "Lovelace", **{"favourite-drink": "Tea"})
    by_drink = Filter(Match.ALL, (Condition("cf:favourite-drink", Op.EQUALS, "tea"),))
    segment_id = segments.save_segment(merchant, "Tea drinkers", by_drink.dumps())
    segments.save_segment(merchant, "Everyone named Ada", NAMED_ADA.dumps())
    assert _row(merchant, "Tea drinkers").count == 1
    custom_fields.remove_custom_field(merchant, field_id)
    row = _row(merchant, "Tea drinkers")
    assert row.count is None and "the custom field “favourite-drink” no longer exists" in row.problem
    assert _row(merchant, "Everyone named Ada").count == 1  # the others still count
    assert segments.get_segment(merchant, segment_id).name == "Tea drinkers"  # opening still works
    with pytest.raises(filters.FilterError, match="no longer exists"):
        segments.segment_filter(merchant, segment_id)
    assert segments.get_segment(merchant, segments.duplicate_segment(merchant, segment_id)).name == "Tea drinkers (copy)"


def test_listing_loads_the_catalog_once_then_one_count_per_segment(merchant):
    """The catalog (custom fields, templates) is read once for the whole list, not per
    segment: with 10 segments, 10 COUNTs plus a fixed 4 reads (the segments, the custom
    fields, the template names, the merchant's region) — 14 statements, 43 before."""
    _people(merchant)
    custom_fields.add_custom_field(merchant, "Tier", "choice", ["Gold", "Silver"])
    tier = Filter(Match.ALL, (Condition("cf:tier", Op.EQUALS.value, "Gold"),))
    for i in range(10):
        segments.save_segment(merchant, f"Segment {i}", (tier if i % 2 else NOT_INSTALLED).dumps())

    with recorded_statements() as statements:
        rows = segments.list_segments(merchant)
    assert [row.count for row in rows] == [2, 0] * 5 and all(not row.problem for row in rows)
    counts = [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT")]
    assert len(counts) == 10
    assert len(statements) <= 4 + 10, "\n".join(statements)
