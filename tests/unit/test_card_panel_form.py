"""The card action dialog is a form: its fields arrive with Apply (``CardPanelState.apply``'s
``form_data``). Any websocket client may send any payload, so only the dialog's own fields
are taken, as text, capped; the rest of the state is out of reach."""

from __future__ import annotations

import re
from types import SimpleNamespace

from perkstar_ui.components.card_panels import type_panel
from perkstar_ui.state.card_panels import FORM_FIELDS, MAX_FIELD_CHARS, CardPanelState

take_fields = CardPanelState._take_fields


def _panel() -> SimpleNamespace:
    return SimpleNamespace(value="1", purchase="", comment="", choice="Coffee", date="2027-01-01",
                           dialog_open=True, card_id=5, verb="add-stamps", _action_key="k1")


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
    names = set(re.findall(r'name:"(\w+)"', str(type_panel())))
    assert names == set(FORM_FIELDS)
