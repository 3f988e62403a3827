"""CSV written line by line: UTF-8 with BOM (Excel), every cell neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from perkstar_ui.domain.csv_safety import safe_row

BOM = "\ufeff"


def csv_lines(header: list[str], rows: Iterable[list[object]], chunk: int = 500) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(safe_row(header))
    for count, row in enumerate(rows, 1):
        writer.writerow(safe_row(row))
        if count % chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
