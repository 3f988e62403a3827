"""Card serials: unambiguous alphabet, check character catches typing mistakes."""

from perkstar_ui.domain.serials import (
    ALPHABET,
    format_serial,
    is_valid_serial,
    normalise_serial,
    random_serial,
    serial_for_number,
)


def test_serials_use_only_unambiguous_characters():
    for _ in range(200):
        serial = random_serial()
        assert len(serial) == 9 and set(serial) <= set(ALPHABET) and is_valid_serial(serial)
    assert not set("01OIL") & set(ALPHABET)


def test_every_single_character_mistake_is_caught():
    serial = serial_for_number(42)
    for position in range(len(serial)):
        for char in ALPHABET:
            if char != serial[position]:
                typo = serial[:position] + char + serial[position + 1 :]
                assert not is_valid_serial(typo), typo


def test_swapping_neighbours_is_caught():
    serial = serial_for_number(4242)
    for i in range(len(serial) - 1):
        if serial[i] != serial[i + 1]:
            swapped = serial[:i] + serial[i + 1] + serial[i] + serial[i + 2 :]
            assert not is_valid_serial(swapped)


def test_numbered_serials_never_collide():
    assert len({serial_for_number(n) for n in range(100_000)}) == 100_000


def test_people_may_type_serials_loosely():
    serial = serial_for_number(7)
    assert normalise_serial(" " + format_serial(serial).lower() + " ") == serial
    assert is_valid_serial(format_serial(serial))
