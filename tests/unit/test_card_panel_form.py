"""The card action dialog is a form: its fields arrive with Apply (``CardPanelState.apply``'s
``form_data``). Any websocket client may send any payload, so only the dialog's own fields
are taken, as text, capped; the rest of the state is out of reach."""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace

import pytest

from perkstar_ui.components.card_panels import type_panel
from perkstar_ui.domain.permissions import Role
from perkstar_ui.state.card_panels import FORM_FIELDS, MAX_FIELD_CHARS, STALE_PAGE_MESSAGE, CardPanelState
from tests.unit.test_guard_matrix import _tab, _user

take_fields = CardPanelState._take_fields


def _panel() -> SimpleNamespace:
    return SimpleNamespace(value="1", purchase="", comment="", choice="Coffee", date="2027-01-01",
                           dialog_open=True, form_error="", card_id=5, verb="add-stamps", _action_key="k1")


def test_the_submitted_fields_replace_the_defaults_and_absent_ones_stay():
    panel = _panel()
    take_fields(panel, {"value": "3", "comment": "birthday"})
    assert (panel.value, panel.comment, panel.purchase, panel.choice) == ("3", "birthday", "", "Coffee")


def test_only_the_dialogs_fields_are_taken_as_capped_text():
    panel = _panel()
    take_fields(panel, {"comment": "x" * (MAX_FIELD_CHARS + 50), "purchase": 12.5, "date": None, "card_id": 99,
                        "verb": "delete-card", "dialog_open": False, "_action_key": "forged"})
    assert len(panel.comment) == MAX_FIELD_CHARS and panel.purchase == "12.5" and panel.date == ""
    assert (panel.card_id, panel.verb, panel.dialog_open, panel._action_key) == (5, "add-stamps", True, "k1")


def test_a_payload_that_is_not_a_form_changes_nothing():
    for payload in (None, "value=9", ["value", "9"], 9):
        panel = _panel()
        take_fields(panel, payload)
        assert vars(panel) == vars(_panel())


def test_the_dialogs_inputs_are_named_after_the_fields_apply_takes():
    """A renamed input would silently send nothing the state reads."""
    rendered = str(type_panel())
    assert set(re.findall(r'name:"(\w+)"', rendered)) == set(FORM_FIELDS)
    assert "noValidate:true" in rendered  # the browser would block a half-typed date without a word


@pytest.mark.parametrize("payload", [None, "value=9", ["value", "9"]])
def test_an_apply_without_the_form_is_refused_as_a_stale_page(merchant, unique, payload):
    """A tab still running the page from before the form sends per-keystroke setters (gone)
    and an Apply with no fields: applying the dialog's defaults (1 stamp) would be wrong."""
    token = _user(merchant, f"s-{unique}@shop.test", Role.STAFF)
    tab = _tab(token)
    vars(tab).update(vars(_panel()))
    tab._take_fields = lambda form: pytest.fail("no field may be taken from a stale page")

    async def run() -> list:
        return [event async for event in CardPanelState.apply.fn(tab, payload)]

    assert asyncio.run(run()) == []
    assert tab.form_error == STALE_PAGE_MESSAGE and tab.dialog_open is True
