"""Every event handler the app registers and every API route declares what it needs.

The app is built (importing ``perkstar_ui.perkstar_ui``), then every ``rx.State``
subclass's ``event_handlers`` are walked: each of ours must carry a permission, or be
declared ``public`` / ``local`` (state.guard). Reflex's own handlers (hydrate, setvar…)
are the framework's and are listed by name so a new one is noticed.
"""

from __future__ import annotations

import reflex as rx

import perkstar_ui.perkstar_ui  # noqa: F401  builds the app: registers every state and page
from perkstar_ui.api.routes import api
from perkstar_ui.domain.permissions import Declared, Permission, declared

OURS = "perkstar_ui."
# Reflex's own handlers on every state. ``setvar`` lets a client set any public var of a
# state: such a var only ever steers a guarded handler, which checks login, role and
# merchant itself (services scope every query to the session's merchant).
FRAMEWORK = {"handle_frontend_exception", "hydrate", "hydrate_and_load", "on_load_internal", "set_is_hydrated",
             "setvar", "update_vars_internal"}


def _all_states(cls: type[rx.State]) -> list[type[rx.State]]:
    found = [cls]
    for sub in cls.get_substates():
        found.extend(_all_states(sub))
    return found


def _handlers() -> tuple[dict[str, object], set[str]]:
    """Ours by qualified name, and the names of the framework's."""
    ours, framework = {}, set()
    for state in _all_states(rx.State):
        for name, handler in state.event_handlers.items():
            fn = handler.fn
            module = getattr(getattr(fn, "__wrapped__", fn), "__module__", "") or ""
            if module.startswith(OURS):
                ours[f"{state.__module__}.{state.__name__}.{name}"] = fn
            else:
                framework.add(name)
    return ours, framework


def _our_handlers() -> dict[str, object]:
    return _handlers()[0]


def test_the_only_other_handlers_are_reflexs_known_ones():
    assert _handlers()[1] == FRAMEWORK


def test_the_walk_finds_the_apps_handlers():
    handlers = _our_handlers()
    assert len(handlers) > 100
    assert any(name.endswith("PageGateState.require_login") for name in handlers)


def test_every_event_handler_declares_a_permission():
    missing = sorted(name for name, fn in _our_handlers().items() if declared(fn) is None)
    assert missing == [], f"{len(missing)} handlers declare no permission: {missing}"


def test_every_route_declares_a_permission():
    routes = {f"{' '.join(sorted(route.methods or []))} {route.path}": route.endpoint for route in api.routes}
    assert len(routes) > 10
    missing = sorted(name for name, endpoint in routes.items() if declared(endpoint) is None)
    assert missing == [], f"{len(missing)} routes declare no permission: {missing}"


def test_the_private_routes_name_their_permission():
    by_path = {route.path: declared(route.endpoint) for route in api.routes}
    assert by_path["/api/customers/export.csv"] is Permission.EXPORT
    assert by_path["/api/imports"] is Permission.IMPORT
    assert by_path["/api/session"] is Declared.PUBLIC
