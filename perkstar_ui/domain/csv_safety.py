"""CSV cells that spreadsheets cannot execute (OWASP "CSV injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is read as a
formula by Excel and LibreOffice; prefixing a single quote makes it plain text. Signed
numbers we write ourselves (``-1``, ``+2.50``) are left alone: they are data, not
formulas, and merchants need them as numbers.
"""

from __future__ import annotations

import re

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_SET = frozenset(_TRIGGERS)  # all single characters: a set lookup on the first one
FORMULA_TRIGGERS = _TRIGGER_SET
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    if text[:1] in _TRIGGER_SET and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(cells: list[object]) -> list[str]:
    """``neutralise`` on every cell; most cells are text not starting with a trigger and
    cost one type check and one set lookup."""
    out = []
    append = out.append
    for cell in cells:
        text = cell if type(cell) is str else ("" if cell is None else str(cell))
        if text[:1] in _TRIGGER_SET and not _PLAIN_NUMBER.fullmatch(text):
            text = "'" + text
        append(text)
    return out
