"""CSV written line by line: UTF-8 with BOM (Excel), every cell neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from perkstar_ui.domain.csv_safety import safe_row

BOM = "\ufeff"


def csv_lines(header: list[str], rows: Iterable[list[object]], chunk: int = 1000, *,
              neutralised: bool = False) -> Iterator[bytes]:
    """The BOM and header, then ``chunk`` rows per yielded piece (``writerows`` on a
    buffer): memory stays at one chunk whatever the number of rows. Every cell is
    neutralised unless the rows say they already are (``neutralised=True``: the customer
    export, which knows which of its columns hold people's text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(safe_row(header))
    pending: list[list[str]] = []
    for row in rows:
        pending.append(row if neutralised else safe_row(row))
        if len(pending) >= chunk:
            writer.writerows(pending)
            pending.clear()
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(pending)
    yield buffer.getvalue().encode()
