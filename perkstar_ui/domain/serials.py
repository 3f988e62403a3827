"""Card serials and link codes: short, unambiguous, with a check character.

The alphabet leaves out 0/O, 1/I/L and U so a serial read aloud or typed at the
counter cannot be misread; the last character is a Luhn mod-31 check so one mistyped
character or one swap of neighbours is caught before any lookup.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # 30 characters
_BASE = len(ALPHABET)
SERIAL_BODY = 8  # 30**8 ≈ 6.6e11 serials
_SPACE = _BASE**SERIAL_BODY
_MULTIPLIER = 7**13  # coprime with 30**8, so the mapping is a bijection


def _check_char(body: str) -> str:
    """Luhn mod N over the body (N = alphabet size)."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // _BASE + addend % _BASE
    return ALPHABET[(_BASE - total % _BASE) % _BASE]


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, _BASE)
        chars.append(ALPHABET[rest])
    return "".join(reversed(chars))


def with_check(body: str) -> str:
    return body + _check_char(body)


def is_valid_serial(serial: str) -> bool:
    serial = normalise_serial(serial)
    return (
        len(serial) == SERIAL_BODY + 1
        and all(c in ALPHABET for c in serial)
        and _check_char(serial[:-1]) == serial[-1]
    )


def normalise_serial(text: str) -> str:
    return text.strip().upper().replace("-", "").replace(" ", "")


def random_serial() -> str:
    return with_check(_encode(secrets.randbelow(_SPACE), SERIAL_BODY))


def serial_for_number(number: int) -> str:
    """A scattered but collision-free serial for a sequence number (demo data)."""
    return with_check(_encode((number * _MULTIPLIER + 7_919) % _SPACE, SERIAL_BODY))


def random_code(length: int = 8) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def format_serial(serial: str) -> str:
    """For people: ``ABCD-EFGH-J``."""
    return f"{serial[:4]}-{serial[4:8]}-{serial[8:]}"
