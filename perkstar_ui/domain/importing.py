"""Reading and checking a customer import file (no database, no framework).

``read_table`` turns the uploaded bytes into a table of strings (pandas; UTF-8 with or
without BOM, else Windows-1252/Latin-1; comma, semicolon or tab; quoted fields with
separators and line breaks). ``match_columns`` maps headers to the template, case and
spacing insensitive, and reports unknown or missing columns before any row is read.
``check_rows`` validates every row like the manual form and rejects duplicates inside
the file after their first occurrence. Deciding create / update / unchanged against
the merchant's existing customers is the service's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from perkstar_ui.domain import contacts

# Spec Q8: the template's columns, in order, before one column per custom field; then
# the optional marketing consent columns (issue 11).
CONSENT_COLUMNS = ["sms_consent", "email_consent"]
TEMPLATE_COLUMNS = ["first_name", "last_name", "phone", "email", "birthdate", "gender", "balance", *CONSENT_COLUMNS]
REQUIRED_COLUMNS = ["first_name", "last_name", "phone", "email"]
GENDERS = {"male": "male", "female": "female", "other": "other", "unknown": None, "": None}
# Consent cells: blank = not stated (a new customer: no; an existing one: unchanged).
CONSENT_VALUES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}
MAX_ROWS = 100_000
EXAMPLE_ROW = {
    "first_name": "Ada", "last_name": "Lovelace", "phone": "+447400123456", "email": "ada@example.com",
    "birthdate": "1990-12-10", "gender": "female", "balance": "8", "sms_consent": "yes", "email_consent": "no",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (encoding, shape, columns)."""


def header_key(text: str) -> str:
    """``" First  Name "``, ``first-name`` and ``FIRST_NAME`` all become ``first_name``."""
    return re.sub(r"[\s_\-]+", "_", str(text).strip().lstrip("\ufeff").lower()).strip("_")


def decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Excel's "CSV" on Windows: cp1252 is a superset of Latin-1's printable range.
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def sniff_separator(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(raw: bytes) -> pd.DataFrame:
    """All cells as stripped strings; empty cells as ``""``."""
    if b"\x00" in raw[:4096]:
        raise ImportFileError("This is not a CSV file (it looks binary, e.g. an Excel .xlsx). Save it as CSV first.")
    text = decode(raw)
    if not text.strip():
        raise ImportFileError("The file is empty.")
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=sniff_separator(text), dtype=str, keep_default_na=False,
            skip_blank_lines=True, quoting=csv.QUOTE_MINIMAL, engine="c",
        )
    except (pd.errors.ParserError, csv.Error) as error:
        raise ImportFileError(f"The file could not be read as CSV: {error}") from None
    if len(table) > MAX_ROWS:
        raise ImportFileError(f"The file has {len(table)} rows; at most {MAX_ROWS} can be imported at once.")
    # Short rows leave NaN even with keep_default_na=False: every cell becomes text.
    table = table.fillna("").astype(str)
    return table.apply(lambda column: column.str.strip())


@dataclass(frozen=True)
class CustomFieldSpec:
    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()


def match_columns(headers: list[str], custom: list[CustomFieldSpec]) -> dict[str, str]:
    """Template key → header in the file; raises with every unknown and missing column."""
    known = {key: key for key in TEMPLATE_COLUMNS}
    for spec in custom:
        known[header_key(spec.key)] = f"cf:{spec.key}"
        known[header_key(spec.label)] = f"cf:{spec.key}"
    mapping: dict[str, str] = {}
    unknown, repeated = [], []
    for header in headers:
        target = known.get(header_key(header))
        if target is None:
            unknown.append(str(header))
        elif target in mapping:
            repeated.append(str(header))
        else:
            mapping[target] = header
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping]
    problems = []
    if missing:
        problems.append("Missing required column(s): " + ", ".join(missing) + ".")
    if unknown:
        problems.append("Unknown column(s): " + ", ".join(unknown) + ". Use the template's column names.")
    if repeated:
        problems.append("Column(s) given twice: " + ", ".join(repeated) + ".")
    if problems:
        raise ImportFileError(" ".join(problems))
    return mapping


@dataclass
class CleanRow:
    line: int  # the CSV record number, header = 1
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    birthdate: dt.date | None
    gender: str | None
    balance: str  # digits as typed ("" = none); its meaning depends on the card type
    custom: dict[str, str] = field(default_factory=dict)  # key → canonical value
    sms_consent: bool | None = None  # None: the cell was blank or the column absent
    email_consent: bool | None = None


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class CheckedRows:
    rows: list[CleanRow]
    rejected: list[Rejection]


BALANCE_PATTERN = re.compile(r"\d+(\.\d{1,2})?")


def check_rows(
    table: pd.DataFrame,
    mapping: dict[str, str],
    custom: list[CustomFieldSpec],
    default_region: str,
    today: dt.date | None = None,
) -> CheckedRows:
    """Check every row, then reject repeats of an earlier row's phone or email.

    The cyclic GC is paused meanwhile: 100k rows make ~1M live objects, none of them in
    cycles, that it would otherwise walk again and again.
    """
    today = today or dt.date.today()
    columns = {target: table[header].tolist() for target, header in mapping.items()}
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _reject_repeats(_check_each(columns, custom, default_region, today))
    finally:
        if enabled:
            gc.enable()


def _parsed(values: list[str], parse: Callable[..., object], *args: object) -> list[tuple[object, str]]:
    """``(value, "")`` or ``(None, message)`` for each cell, each distinct cell parsed once
    (every parser here is a pure function of the cell, so a repeat gets the same answer)."""
    seen: dict[str, tuple[object, str]] = {}
    out = []
    append = out.append
    for raw in values:
        result = seen.get(raw)
        if result is None:
            try:
                result = (parse(raw, *args), "")
            except ValueError as error:
                result = (None, str(error))
            seen[raw] = result
        append(result)
    return out


def _name(label: str) -> Callable[[str], str]:
    return lambda raw: contacts.clean_name(raw, label)


def _gender(raw: str) -> str | None:
    text = raw.lower()
    if text not in GENDERS:
        raise ValueError(f"Gender “{raw}” is not one of Male, Female, Other, Unknown.")
    return GENDERS[text]


def _consent(label: str) -> Callable[[str], bool | None]:
    def parse(raw: str) -> bool | None:
        if not raw:
            return None
        value = CONSENT_VALUES.get(raw.lower())
        if value is None:
            raise ValueError(f"{label} “{raw}” must be yes or no.")
        return value
    return parse


def _balance(raw: str) -> str:
    balance = raw.replace(" ", "")
    if balance and not BALANCE_PATTERN.fullmatch(balance):
        raise ValueError(f"Balance “{raw}” must be digits only (no currency sign).")
    return balance


def _check_each(
    columns: dict[str, list[str]], custom: list[CustomFieldSpec], default_region: str, today: dt.date
) -> list[tuple[int, CleanRow | None, str]]:
    """(line, clean row or None, problems) for every row, each on its own.

    Column by column (each distinct cell checked once), then row by row in the order
    the form reports problems: names, phone, email, birthdate, gender, balance, custom.
    """
    size = len(next(iter(columns.values()), []))
    empty = [""] * size
    checks = [
        _parsed(columns.get("first_name", empty), _name("First name")),
        _parsed(columns.get("last_name", empty), _name("Last name")),
        _parsed(columns.get("phone", empty), contacts.normalise_phone, default_region),
        _parsed(columns.get("email", empty), contacts.normalise_email),
        _parsed(columns.get("birthdate", empty), contacts.parse_birthdate, today),
        _parsed(columns.get("gender", empty), _gender),
        _parsed(columns.get("balance", empty), _balance),
    ]
    keys = [spec.key for spec in custom]
    custom_checks = [
        _parsed(columns.get(f"cf:{spec.key}", empty), lambda raw, s=spec: contacts.parse_custom_value(s.field_type, s.label, raw, list(s.choices)))
        for spec in custom
    ]
    # Only the consent columns present are checked: files without them keep the fast path.
    consent_names = [name for name in CONSENT_COLUMNS if name in columns]
    consent_checks = [
        _parsed(columns[name], _consent("SMS consent" if name == "sms_consent" else "Email consent"))
        for name in consent_names
    ]
    custom_end = 7 + len(custom_checks)
    results = []
    append = results.append
    for index, cells in enumerate(zip(*checks, *custom_checks, *consent_checks)):
        line = index + 2
        problems = [message for _, message in cells if message]
        if problems:
            append((line, None, " ".join(problems)))
            continue
        (first, _), (last, _), (phone, _), (email, _), (birthdate, _), (gender, _), (balance, _) = cells[:7]
        if not phone and not email:
            append((line, None, "A phone number or an email is needed to identify the customer."))
            continue
        values = {key: value for key, (value, _) in zip(keys, cells[7:custom_end]) if value is not None}
        row = CleanRow(line, first, last, phone, email, birthdate, gender, balance, values)
        for name, (value, _) in zip(consent_names, cells[custom_end:]):
            setattr(row, name, value)
        append((line, row, ""))
    return results


def _reject_repeats(checked: list[tuple[int, CleanRow | None, str]]) -> CheckedRows:
    rows: list[CleanRow] = []
    rejected: list[Rejection] = []
    first_seen: dict[str, int] = {}
    for line, row, problems in checked:
        if row is None:
            rejected.append(Rejection(line, problems))
            continue
        identities = [i for i in (f"phone:{row.phone}" if row.phone else None, f"email:{row.email}" if row.email else None) if i]
        repeat = next((i for i in identities if i in first_seen), None)
        if repeat:
            rejected.append(Rejection(line, f"Duplicate of row {first_seen[repeat]} (same {repeat.split(':', 1)[0]})."))
            continue
        for identity in identities:
            first_seen[identity] = line
        rows.append(row)
    return CheckedRows(rows, rejected)


def template_csv_header(custom: list[CustomFieldSpec]) -> list[str]:
    return TEMPLATE_COLUMNS + [spec.key for spec in custom]


def template_example(custom: list[CustomFieldSpec]) -> list[str]:
    examples = {"text": "example", "number": "3", "date": "2026-01-31"}
    return [EXAMPLE_ROW[c] for c in TEMPLATE_COLUMNS] + [
        (spec.choices[0] if spec.choices else "") if spec.field_type == "choice" else examples.get(spec.field_type, "")
        for spec in custom
    ]
