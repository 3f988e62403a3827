"""RFM segments (docs: /shared/spec/rfm.md): quintile scores and the R × FM grid.

Pure pandas: the service reads one row per customer from the ledger, this module turns
those rows into scores and a segment. No database, no Reflex.

Reading of rfm.md where it leaves room, pinned by ``tests/unit/test_rfm.py``:

- Scores rank the scored customers by the value, ties broken by customer id ascending
  (sort by value then id, ``rank(method="first")``), and cut the ranks into five equal
  groups with ``qcut``. For Frequency and Monetary the group of the largest values scores
  5; for Recency the group of the *fewest* days scores 5 (so recency days 1..10 give
  R = 5,5,4,4,3,3,2,2,1,1). Within a tie the lower id has the lower rank: on F and M it
  lands in the lower group, on R (fewer days is better) in the higher one.
- Fewer than five scored customers: ``qcut`` into as many groups as customers (each
  customer its own group) and number the groups from the best down: the best gets 5,
  the next 4, and so on (1 → 5; 2 → 5, 4; 4 → 5, 4, 3, 2). The spec only fixes the
  one-customer case; counting down from 5 keeps a tiny shop's customers in the recent /
  frequent half instead of spreading two customers over 5 and 1.
- FM = round-half-up((F + M) / 2), i.e. ``(F + M + 1) // 2`` on integers.
- Unscored customers (no visit in the window): New Customers when created within the
  last ``new_customer_days`` days (today counts as day 0), else Lost Customers when they
  ever visited, else no segment (``None``).

What a run stores per customer (``STORED``) holds the day of the last visit, not the
recency in days: recency grows by one every day for everyone, the day does not, so a run
on the next day rewrites only the customers whose scores, segment or visits changed
(``changes``). Recency is derived from the day where it is needed (``recency_days``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perkstar_ui.domain.filter_params import RFM_SEGMENTS

SCORES = (1, 2, 3, 4, 5)
QUINTILES = len(SCORES)
NO_SEGMENT_LABEL = "—"  # how the UI shows a customer without a segment

# Input columns of ``score`` (one row per customer).
CUSTOMER_ID = "customer_id"
CREATED_AT = "created_at"  # datetime/date (UTC) of the customer's creation
CREATED_DAYS = "created_days"  # or: whole days since creation (either column will do)
RECENCY_DAYS = "recency_days"  # days since the last visit in the window; NaN when none
FREQUENCY = "frequency"
MONETARY_CENTS = "monetary_cents"
EVER_VISITED = "ever_visited"
# Output columns.
R, F, M, FM, SEGMENT = "r", "f", "m", "fm", "segment"
# Stored per customer (besides CUSTOMER_ID): the day of the last visit ever as a day number
# (``day_number``; NaN when none), visits and monetary in the window, the scores, the segment.
LAST_VISIT_DAY = "last_visit_day"
STORED = (LAST_VISIT_DAY, FREQUENCY, MONETARY_CENTS, R, F, M, FM, SEGMENT)
_EPOCH = dt.date(1970, 1, 1)


class Segment(str, enum.Enum):
    """rfm.md's segment names; values are exactly ``filters.RFM_SEGMENTS`` (display order)."""

    CHAMPIONS = "Champions"
    LOYAL = "Loyal Customers"
    POTENTIAL_LOYALISTS = "Potential Loyalists"
    NEW = "New Customers"
    NEEDS_ATTENTION = "Needs Attention"
    AT_RISK = "At-Risk Customers"
    LOST = "Lost Customers"


if tuple(s.value for s in Segment) != RFM_SEGMENTS:  # one list of names for the filter and the tab
    raise RuntimeError("rfm.Segment and filters.RFM_SEGMENTS disagree")

_C, _L, _P, _N = Segment.CHAMPIONS, Segment.LOYAL, Segment.POTENTIAL_LOYALISTS, Segment.NEW
_A, _R, _X = Segment.NEEDS_ATTENTION, Segment.AT_RISK, Segment.LOST
# rfm.md's segment grid: GRID[r][fm - 1] for R = 5 (top row) down to 1.
GRID: dict[int, tuple[Segment, ...]] = {
    5: (_N, _P, _P, _C, _C),
    4: (_N, _P, _P, _L, _C),
    3: (_A, _P, _P, _L, _L),
    2: (_X, _X, _R, _R, _R),
    1: (_X, _X, _R, _R, _R),
}
# The same grid as an array indexed [r - 1, fm - 1], for vectorised look-ups.
_GRID_ARRAY = np.array([[cell.value for cell in GRID[r]] for r in SCORES], dtype=object)


def segment_for(r: int, fm: int) -> Segment:
    return GRID[r][fm - 1]


def fm_score(f, m):  # noqa: ANN001, ANN201  ints or integer arrays/Series
    """round-half-up((F + M) / 2): 3 and 4 → 4 (Python's ``round`` would give 4 but 2 and 3 → 2)."""
    return (f + m + 1) // 2


def quintile_scores(values: pd.Series, ids: pd.Series, *, fewer_is_better: bool = False) -> pd.Series:
    """Scores 1..5 for ``values`` (index aligned with ``ids``), per the rules in the module docstring."""
    count = len(values)
    if count == 0:
        return pd.Series([], dtype="int64", index=values.index)
    # Sorted by value, then id: rank(method="first") of the sorted values is their position.
    order = np.lexsort((ids.to_numpy(), values.to_numpy()))
    ranks = np.empty(count, dtype="float64")
    ranks[order] = np.arange(1, count + 1)
    groups = min(QUINTILES, count)
    group = pd.qcut(ranks, groups, labels=False).astype("int64")  # 0 = smallest values
    best_first = group if fewer_is_better else (groups - 1 - group)  # 0 = the best group
    return pd.Series(QUINTILES - best_first, index=values.index, dtype="int64")


def _created_days(frame: pd.DataFrame, today: dt.date) -> pd.Series:
    if CREATED_DAYS in frame:
        return frame[CREATED_DAYS].astype("int64")
    created = pd.to_datetime(frame[CREATED_AT], utc=True).dt.tz_convert(None).dt.normalize()
    return (pd.Timestamp(today) - created).dt.days


def score(frame: pd.DataFrame, today: dt.date, new_customer_days: int) -> pd.DataFrame:
    """R, F, M, FM and segment per customer (index and ``customer_id`` kept from ``frame``).

    ``frame``: customer_id, created_at (or created_days), recency_days (NaN = no visit in the
    window), frequency, monetary_cents, ever_visited. R/F/M/FM are nullable integers, empty
    for unscored customers; segment is a name of ``Segment`` or ``None``.
    """
    count = len(frame)
    is_scored = frame[RECENCY_DAYS].notna().to_numpy()
    scores = {column: np.ones(count, dtype="int64") for column in (R, F, M, FM)}  # 1: a placeholder under the mask
    segment = np.full(count, None, dtype=object)
    scored = frame[is_scored]
    if len(scored):
        ids = scored[CUSTOMER_ID]
        r = quintile_scores(scored[RECENCY_DAYS], ids, fewer_is_better=True).to_numpy()
        f = quintile_scores(scored[FREQUENCY], ids).to_numpy()
        m = quintile_scores(scored[MONETARY_CENTS], ids).to_numpy()
        fm = fm_score(f, m)
        for column, values in ((R, r), (F, f), (M, m), (FM, fm)):
            scores[column][is_scored] = values
        segment[is_scored] = _GRID_ARRAY[r - 1, fm - 1]

    unscored = frame[~is_scored]
    is_new = (_created_days(unscored, today) < new_customer_days).to_numpy()
    visited = unscored[EVER_VISITED].astype(bool).to_numpy()
    positions = np.flatnonzero(~is_scored)
    segment[positions[is_new]] = Segment.NEW.value
    segment[positions[~is_new & visited]] = Segment.LOST.value
    return pd.DataFrame({
        CUSTOMER_ID: frame[CUSTOMER_ID],
        **{column: pd.Series(pd.arrays.IntegerArray(values, ~is_scored), index=frame.index)
           for column, values in scores.items()},
        SEGMENT: pd.Series(segment, index=frame.index, dtype=object),
    }, index=frame.index)


# --- what a run stores, and what it has to change -----------------------------------------


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: a calendar day as an integer that pandas compares cheaply."""
    return (day - _EPOCH).days


def day_of(number: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(number))


def recency_days(last_visit_on: dt.date | None, today: dt.date) -> int | None:
    """rfm.md's Recency of a stored last visit day: whole days from it to ``today``."""
    return None if last_visit_on is None else (today - last_visit_on).days


def stored_rows(inputs: pd.DataFrame, scored: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """What a run stores: CUSTOMER_ID + ``STORED`` of the customers that have a segment
    (the others get no row). ``inputs`` is ``score``'s input and may carry LAST_VISIT_DAY
    (the last visit ever, also outside the window); without it the day comes from
    RECENCY_DAYS."""
    keep = scored[SEGMENT].notna().to_numpy()
    if LAST_VISIT_DAY in inputs:
        last_visit = inputs[LAST_VISIT_DAY].astype("float64")
    else:
        last_visit = day_number(today) - inputs[RECENCY_DAYS].astype("float64")
    return pd.DataFrame({
        CUSTOMER_ID: inputs[CUSTOMER_ID].astype("int64"),
        LAST_VISIT_DAY: last_visit,
        FREQUENCY: inputs[FREQUENCY].astype("int64"),
        MONETARY_CENTS: inputs[MONETARY_CENTS].astype("int64"),
        **{column: scored[column].astype("float64") for column in (R, F, M, FM)},
        SEGMENT: scored[SEGMENT],
    })[keep].reset_index(drop=True)


@dataclass(frozen=True)
class Changes:
    """What turns the stored rows into a run's rows: rows to add and rows to rewrite (both
    CUSTOMER_ID + ``STORED``), and the customer ids whose row goes."""

    inserts: pd.DataFrame
    updates: pd.DataFrame
    deletes: list[int]

    @property
    def count(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)


def _same(new: pd.Series, old: pd.Series) -> np.ndarray:
    """Element-wise equality where two missing values are equal (numbers as float64)."""
    if not (pd.api.types.is_numeric_dtype(new) and pd.api.types.is_numeric_dtype(old)):  # the segment
        return new.fillna("").to_numpy(dtype=object) == old.fillna("").to_numpy(dtype=object)
    a, b = new.to_numpy(dtype="float64"), old.to_numpy(dtype="float64")
    return (a == b) | (np.isnan(a) & np.isnan(b))


def changes(new: pd.DataFrame, stored: pd.DataFrame) -> Changes:
    """Compare a run's rows with the stored ones (both CUSTOMER_ID + ``STORED``, numbers
    as floats with NaN or nullable integers, any order)."""
    new = new.set_index(CUSTOMER_ID)
    old = stored.set_index(CUSTOMER_ID)
    both = new.index.intersection(old.index)
    a, b = new.loc[both], old.loc[both]
    same = np.ones(len(both), dtype=bool)
    for column in STORED:
        same &= _same(a[column], b[column])
    return Changes(
        inserts=new.loc[new.index.difference(old.index)].reset_index(),
        updates=a[~same].reset_index(),
        deletes=[int(i) for i in old.index.difference(new.index)],
    )
