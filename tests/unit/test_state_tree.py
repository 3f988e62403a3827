"""What one event costs in state: with Redis, Reflex loads (unpickles) the event's state,
all of its substates and its parents for every event, and writes back what was touched.

A handler on a state with page states below it (``AuthState``) would load every page's
state on each event: ``require_login`` did that on every navigation (issue 15's load test).
This keeps every handler of ours on a state whose event loads a handful of states, by the
rule Reflex's own ``StateManagerRedis`` applies.
"""

from __future__ import annotations

import functools
import types

import reflex as rx
from reflex.istate.manager.redis import StateManagerRedis

import perkstar_ui.perkstar_ui  # builds the app: registers every state and page
from perkstar_ui.state.auth import AuthState

MAX_STATES_PER_EVENT = 4  # root, AuthState, the state, one substate or dependant
# Handlers allowed to load the whole tree: they reset it (rare, once per session).
WHOLE_TREE = {"AuthState.log_out"}


def _loaded_by_an_event_on(state: type[rx.State]) -> set[type[rx.State]]:
    manager = types.SimpleNamespace()
    manager._get_required_state_classes = functools.partial(StateManagerRedis._get_required_state_classes, manager)
    return manager._get_required_state_classes(state, subclasses=True)


def _our_states(cls: type[rx.State]) -> list[type[rx.State]]:
    found = [cls] if cls.__module__.startswith("perkstar_ui.") else []
    for sub in cls.get_substates():
        found.extend(_our_states(sub))
    return found


def test_the_rule_is_reflexs_and_sees_the_tree():
    # An event on AuthState itself loads every page state under it: the rule is live.
    assert len(_loaded_by_an_event_on(AuthState)) > 20


def test_every_handler_of_ours_loads_a_handful_of_states():
    heavy = {}
    for state in _our_states(rx.State):
        loaded = len(_loaded_by_an_event_on(state))
        for name in state.event_handlers:
            if name in ("setvar", "set_is_hydrated"):
                continue
            if f"{state.__name__}.{name}" not in WHOLE_TREE and loaded > MAX_STATES_PER_EVENT:
                heavy[f"{state.__name__}.{name}"] = loaded
    assert heavy == {}, f"handlers whose events load more than {MAX_STATES_PER_EVENT} states: {heavy}"


def test_the_counter_tablets_pages_load_in_one_event():
    """Each ``on_load`` event is a lock, a load and a save in Redis, a login check and a
    delta: the pages a counter tablet moves between load in one event each."""
    app = perkstar_ui.perkstar_ui.app
    for route in ("/customers", "/customers/5", "/counter"):
        assert len(app.get_load_events(route)) == 1, (route, app.get_load_events(route))
    assert max(len(app.get_load_events(route)) for route in app._load_events) <= 2


def test_every_page_load_is_on_a_state_with_the_shells_vars():
    """A ``page=True`` load sets the shell's vars and ``access_denied`` on its own state
    (inherited from ``AuthState``): on any other state Reflex refuses an undeclared var."""
    pages = {f"{state.__name__}.{name}": issubclass(state, AuthState)
             for state in _our_states(rx.State)
             for name, handler in state.event_handlers.items() if getattr(handler.fn, "loads_page", False)}
    assert "PosterState.load" in pages and "ProfileState.load" in pages
    assert [name for name, ok in pages.items() if not ok] == []
