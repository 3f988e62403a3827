"""Import and export at scale: 100,000 realistic CSV rows (unicode names, mixed phone
formats, 2% bad rows). Timed beside bare baselines in the same run: pandas ``read_csv``
of the file, a bare ``executemany`` insert of the same rows, a bare SELECT for export."""

from __future__ import annotations

import random
import resource
import time



FIRST = ["Zoë", "José", "Łukasz", "Søren", "Anaïs", "Olivia", "Noah", "Amelia", "Mateo", "Priya", "Ada", "Björn"]
LAST = ["Müller", "García", "O'Brien", "Nowak", "Smith", "Jones", "Dubois", "Okafor", "Tanaka", "Silva"]


def make_csv(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["first_name,last_name,phone,email,birthdate,gender,balance"]
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        national = f"7400{i:06d}"
        phone = rng.choice([f"0{national}", f"+44 {national[:4]} {national[4:]}", f"(0{national[:4]}) {national[4:]}"])
        email = f"c{i}@example.com"
        birth = f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.02:  # 2% bad rows of several kinds
            kind = rng.randrange(3)
            email = "not-an-email" if kind == 0 else email
            birth = "1990-02-30" if kind == 1 else birth
            first = "" if kind == 2 else first
        lines.append(f'"{first}","{last}",{phone},{email},{birth},,{rng.randint(0, 9)}')
    return ("\n".join(lines) + "\n").encode("utf-8")


def measure(backend: str, rows: int = 100_000) -> None:
    import io

    import pandas as pd

    from perkstar_ui.api.csv_stream import csv_lines
    from perkstar_ui.db.engine import get_engine
    from perkstar_ui.services import accounts, exporting, importing, uploads

    merchant = accounts.create_merchant("Import bench", f"bench-{time.time_ns()}@example.com", "bench-password")
    raw = make_csv(rows)
    token = uploads.store_upload(merchant, iter([raw]))

    started = time.perf_counter()
    pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    bare_parse = time.perf_counter() - started

    started = time.perf_counter()
    preview = importing.preview(merchant, token, None)
    preview_s = time.perf_counter() - started

    started = time.perf_counter()
    summary = importing.apply_import(merchant, None, token, "bench.csv", None)
    apply_s = time.perf_counter() - started

    # Bare insert of the same rows (another merchant, same table and indexes).
    other = accounts.create_merchant("Bare insert", f"bare-{time.time_ns()}@example.com", "bench-password")
    table = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    values = [(other, r.first_name, r.last_name, f"+44{i:010d}", f"b{i}@example.com", "", "") for i, r in enumerate(table.itertuples())]
    engine = get_engine()
    placeholder = "?" if backend == "sqlite" else "%s"
    statement = (
        "INSERT INTO customer (merchant_id, first_name, last_name, phone, email, search_name, search_text, created_at, updated_at)"
        f" VALUES ({', '.join([placeholder] * 7)}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    started = time.perf_counter()
    connection = engine.raw_connection()
    cursor = connection.cursor()
    cursor.executemany(statement, values)
    connection.commit()
    connection.close()
    bare_insert = time.perf_counter() - started

    started = time.perf_counter()
    header, exported = exporting.export_rows(merchant)
    size = sum(len(chunk) for chunk in csv_lines(header, exported, neutralised=True))
    export_s = time.perf_counter() - started
    started = time.perf_counter()
    connection = engine.raw_connection()
    cursor = connection.cursor()
    cursor.execute(f"SELECT first_name, last_name, phone, email, birthdate, created_at, utm FROM customer WHERE merchant_id = {merchant}")
    count = len(cursor.fetchall())
    connection.close()
    bare_export = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n[{backend}] import of {rows} rows: {summary.text}; preview said create {preview.create}, "
          f"reject {len(preview.rejected)}; export {count} rows, {size / 1e6:.1f} MB")
    print(f"{'step':<34}{'seconds':>9}{'rows/s':>10}{'bare s':>9}{'ratio':>8}")
    for name, seconds, bare in [
        ("parse + validate + preview", preview_s, bare_parse),
        ("confirm (one transaction)", apply_s, bare_insert),
        ("whole import (preview + confirm)", preview_s + apply_s, bare_parse + bare_insert),
        ("export (streamed CSV)", export_s, bare_export),
    ]:
        print(f"{name:<34}{seconds:>9.2f}{rows / seconds:>10.0f}{bare:>9.2f}{seconds / bare:>8.1f}")
    print(f"peak memory of this process (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    import argparse

    from bench.common import bench_database

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with bench_database(args.backend):
        measure(args.backend, args.rows)
