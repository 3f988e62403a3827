"""The RFM rule of rfm.md, pinned on hand-made frames (no database)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from perkstar_ui.domain import rfm
from perkstar_ui.domain.filters import RFM_SEGMENTS

TODAY = dt.date(2026, 11, 30)
NAN = math.nan


def _frame(recency, frequency=None, monetary=None, ids=None, created_days=None, ever=None) -> pd.DataFrame:  # noqa: ANN001
    count = len(recency)
    return pd.DataFrame({
        rfm.CUSTOMER_ID: ids or list(range(1, count + 1)),
        rfm.CREATED_DAYS: created_days or [400] * count,
        rfm.RECENCY_DAYS: recency,
        rfm.FREQUENCY: frequency or [1] * count,
        rfm.MONETARY_CENTS: monetary or [100] * count,
        rfm.EVER_VISITED: ever or [not math.isnan(r) for r in recency],
    })


def _scores(values, ids=None, fewer_is_better=False) -> list[int]:  # noqa: ANN001
    series = pd.Series(values)
    return rfm.quintile_scores(series, pd.Series(ids or list(range(1, len(values) + 1))),
                               fewer_is_better=fewer_is_better).tolist()


def test_segment_names_are_the_filters_names_in_display_order():
    assert tuple(s.value for s in rfm.Segment) == RFM_SEGMENTS


def test_recency_example_of_the_spec():
    out = rfm.score(_frame(list(range(1, 11))), TODAY, 30)
    assert out[rfm.R].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_recency_example_in_shuffled_order_keeps_each_customer_s_score():
    days = [7, 2, 10, 1, 5, 9, 3, 6, 8, 4]
    out = rfm.score(_frame(days), TODAY, 30)
    expected = {1: 5, 2: 5, 3: 4, 4: 4, 5: 3, 6: 3, 7: 2, 8: 2, 9: 1, 10: 1}
    assert out[rfm.R].tolist() == [expected[d] for d in days]


def test_frequency_and_monetary_larger_is_better():
    assert _scores([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert _scores([5, 4, 3, 2, 1]) == [5, 4, 3, 2, 1]


def test_ties_are_broken_by_customer_id_ascending():
    # Ten equal values: the rank follows the id, whatever the row order.
    ids = [10, 3, 7, 1, 9, 2, 8, 4, 6, 5]
    by_id_f = dict(zip(ids, _scores([4] * 10, ids)))
    assert [by_id_f[i] for i in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Recency: the lower id ranks first, and fewer days is better, so it scores higher.
    by_id_r = dict(zip(ids, _scores([4] * 10, ids, fewer_is_better=True)))
    assert [by_id_r[i] for i in range(1, 11)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # A tie across a group border: the lower id stays in the lower group.
    assert _scores([1, 2, 3, 3, 4, 5, 6, 7, 8, 9], ids=[1, 2, 4, 3, 5, 6, 7, 8, 9, 10]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert _scores([1, 2, 3, 3, 4, 5, 6, 7, 8, 9], ids=[1, 2, 3, 99, 5, 6, 7, 8, 9, 10])[2:4] == [2, 2]
    assert _scores([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], ids=[6, 7, 8, 9, 10, 1, 2, 3, 4, 5]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_fewer_than_five_customers_count_down_from_five():
    assert _scores([3]) == [5]
    assert _scores([3], fewer_is_better=True) == [5]
    assert _scores([3, 8]) == [4, 5]
    assert _scores([3, 8], fewer_is_better=True) == [5, 4]
    assert _scores([9, 1, 5, 7]) == [5, 2, 3, 4]
    assert _scores([9, 1, 5, 7], fewer_is_better=True) == [2, 5, 4, 3]
    assert _scores([2, 2], ids=[8, 4]) == [5, 4]  # the tie: id 4 ranks first, so lower


def test_one_scored_customer_gets_all_fives_and_is_a_champion():
    out = rfm.score(_frame([12.0], [1], [0]), TODAY, 30)
    assert out.loc[0, [rfm.R, rfm.F, rfm.M, rfm.FM]].tolist() == [5, 5, 5, 5]
    assert out.loc[0, rfm.SEGMENT] == rfm.Segment.CHAMPIONS


def test_fm_rounds_half_up():
    assert [rfm.fm_score(f, m) for f, m in [(1, 1), (1, 2), (2, 3), (3, 4), (4, 5), (2, 2), (1, 5), (5, 5)]] == \
        [1, 2, 3, 4, 5, 2, 3, 5]
    # Python's round would give 2 for 2.5 (banker's rounding): the rule says 3.
    assert rfm.fm_score(2, 3) == 3 and round((2 + 3) / 2) == 2


@pytest.mark.parametrize(("r", "row"), [
    (5, ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"]),
    (4, ["New Customers", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"]),
    (3, ["Needs Attention", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"]),
    (2, ["Lost Customers", "Lost Customers", "At-Risk Customers", "At-Risk Customers", "At-Risk Customers"]),
    (1, ["Lost Customers", "Lost Customers", "At-Risk Customers", "At-Risk Customers", "At-Risk Customers"]),
])
def test_every_grid_cell(r, row):
    assert [rfm.segment_for(r, fm).value for fm in range(1, 6)] == row


def test_score_reaches_every_grid_cell_through_the_data():
    """25 customers, one per (R, FM) cell: the vectorised look-up agrees with the table."""
    cells = [(r, fm) for r in range(1, 6) for fm in range(1, 6)]
    # Five customers per R score: recency days decide R, F = M = FM within each R group.
    recency, frequency, monetary, ids = [], [], [], []
    for index, (r, fm) in enumerate(cells):
        ids.append(index + 1)
        recency.append(float((5 - r) * 100 + fm))  # R groups of five by days
        frequency.append(fm * 100 + index)  # F ranks: fm is the quintile of frequency
        monetary.append(fm * 100 + index)
    out = rfm.score(_frame(recency, frequency, monetary, ids), TODAY, 30)
    got = {(int(a), int(b)): s for a, b, s in zip(out[rfm.R], out[rfm.FM], out[rfm.SEGMENT])}
    assert len(got) == 25
    assert all(got[(r, fm)] == rfm.segment_for(r, fm).value for r, fm in cells)


def test_unscored_customers_new_lost_or_none():
    frame = _frame(
        recency=[NAN, NAN, NAN, NAN, NAN, 3.0],
        created_days=[0, 29, 30, 30, 400, 400],
        ever=[False, True, True, False, False, True],
    )
    out = rfm.score(frame, TODAY, 30)
    assert out[rfm.SEGMENT].tolist() == [
        "New Customers", "New Customers", "Lost Customers", None, None, "Champions",
    ]
    assert out.loc[:4, rfm.R].isna().all() and out.loc[:4, rfm.FM].isna().all()


def test_new_customer_days_from_created_at_and_the_setting():
    frame = _frame([NAN, NAN, NAN], ever=[False, False, False]).drop(columns=rfm.CREATED_DAYS)
    frame[rfm.CREATED_AT] = [
        dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone.utc),  # today
        dt.datetime(2026, 11, 24, 0, 1, tzinfo=dt.timezone.utc),  # 6 days ago
        dt.datetime(2026, 11, 23, 23, 59, tzinfo=dt.timezone.utc),  # 7 days ago
    ]
    assert rfm.score(frame, TODAY, 7)[rfm.SEGMENT].tolist() == ["New Customers", "New Customers", None]
    assert rfm.score(frame, TODAY, 1)[rfm.SEGMENT].tolist() == ["New Customers", None, None]


def test_a_recently_created_scored_customer_is_scored_not_new():
    frame = _frame([1.0, 2.0, 3.0, 4.0, 5.0], frequency=[1, 2, 3, 4, 5], monetary=[1, 2, 3, 4, 5],
                   created_days=[0, 0, 0, 0, 0])
    out = rfm.score(frame, TODAY, 30)
    assert out[rfm.SEGMENT].tolist() == ["New Customers", "Potential Loyalists", "Potential Loyalists",
                                         "At-Risk Customers", "At-Risk Customers"]


def test_no_customers():
    out = rfm.score(_frame([]), TODAY, 30)
    assert out.empty and list(out.columns) == [rfm.CUSTOMER_ID, rfm.R, rfm.F, rfm.M, rfm.FM, rfm.SEGMENT]


def _stored(rows) -> pd.DataFrame:  # noqa: ANN001  (customer_id, last visit day, F, M, R, F, M, FM, segment)
    columns = [rfm.CUSTOMER_ID, rfm.LAST_VISIT_DAY, rfm.FREQUENCY, rfm.MONETARY_CENTS, rfm.R, rfm.F, rfm.M, rfm.FM,
               rfm.SEGMENT]
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: [] for c in columns})
    return frame.astype({rfm.CUSTOMER_ID: "int64", rfm.FREQUENCY: "int64", rfm.MONETARY_CENTS: "int64",
                         **{c: "float64" for c in (rfm.LAST_VISIT_DAY, rfm.R, rfm.F, rfm.M, rfm.FM)}})


def test_stored_rows_keep_the_last_visit_day_not_the_recency():
    frame = _frame([1.0, 2.0, NAN, NAN], created_days=[400, 400, 0, 400], ever=[True, True, False, False])
    out = rfm.score(frame, TODAY, 30)
    rows = rfm.stored_rows(frame, out, TODAY)
    today = rfm.day_number(TODAY)
    # The customer without any segment (4: not new, never visited) gets no row.
    assert rows[rfm.CUSTOMER_ID].tolist() == [1, 2, 3]
    assert rows[rfm.LAST_VISIT_DAY].tolist()[:2] == [today - 1, today - 2] and math.isnan(rows[rfm.LAST_VISIT_DAY][2])
    assert rows[rfm.SEGMENT].tolist() == ["Champions", "Champions", "New Customers"]
    # The stored day gives the recency back on any later day.
    assert rfm.recency_days(rfm.day_of(today - 1), TODAY + dt.timedelta(days=5)) == 6
    assert rfm.recency_days(None, TODAY) is None
    assert rfm.day_of(rfm.day_number(TODAY)) == TODAY


def test_changes_lists_only_the_rows_that_differ():
    stored = _stored([
        (1, 100.0, 3, 500, 5.0, 4.0, 4.0, 4.0, "Champions"),  # unchanged
        (2, 90.0, 1, 100, 1.0, 1.0, 1.0, 1.0, "Lost Customers"),  # F and M move
        (3, NAN, 0, 0, NAN, NAN, NAN, NAN, "New Customers"),  # unchanged, all missing
        (4, 80.0, 0, 0, NAN, NAN, NAN, NAN, "Lost Customers"),  # loses its segment: deleted
        (6, 70.0, 0, 0, NAN, NAN, NAN, NAN, "Lost Customers"),  # gets scores
    ])
    new = _stored([
        (6, 70.0, 1, 200, 2.0, 2.0, 2.0, 2.0, "Lost Customers"),
        (5, 101.0, 1, 100, 5.0, 1.0, 1.0, 1.0, "New Customers"),  # new row
        (3, NAN, 0, 0, NAN, NAN, NAN, NAN, "New Customers"),
        (2, 90.0, 2, 300, 1.0, 2.0, 3.0, 3.0, "Lost Customers"),
        (1, 100.0, 3, 500, 5.0, 4.0, 4.0, 4.0, "Champions"),
    ])
    # The run's scores arrive as nullable integers: equal values still compare equal.
    for column in (rfm.R, rfm.F, rfm.M, rfm.FM):
        new[column] = new[column].astype("Int64")
    diff = rfm.changes(new, stored)
    assert diff.inserts[rfm.CUSTOMER_ID].tolist() == [5]
    assert sorted(diff.updates[rfm.CUSTOMER_ID].tolist()) == [2, 6]
    assert diff.deletes == [4] and diff.count == 4
    assert diff.updates.set_index(rfm.CUSTOMER_ID).loc[2, rfm.MONETARY_CENTS] == 300
    assert rfm.changes(stored, stored).count == 0
    # Only the last visit day moved (a new visit that changed no score): still rewritten.
    moved = stored.copy()
    moved.loc[0, rfm.LAST_VISIT_DAY] = 101.0
    assert rfm.changes(moved, stored).updates[rfm.CUSTOMER_ID].tolist() == [1]
    # Nothing stored yet: every row is inserted; nothing new: every row deleted.
    assert len(rfm.changes(new, _stored([])).inserts) == 5
    assert sorted(rfm.changes(_stored([]), stored).deletes) == [1, 2, 3, 4, 6]
