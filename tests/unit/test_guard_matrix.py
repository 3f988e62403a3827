"""The guard as each role and as another merchant's user, against real sessions.

The handlers run through the real guard (``state.guard.requires``) with the session
cookie a browser would send on the websocket handshake, resolved against the database;
the stand-in for Reflex's state object carries only what the guard reads (the router's
cookie header) and the ``access_denied`` flag it sets. The API guard runs through
Starlette's TestClient. Then every representative handler of the app is checked to be
wrapped with the permission the table gives it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from perkstar_ui.api import routes
from perkstar_ui.api.guard import SESSION_COOKIE, login_of, route_requires
from perkstar_ui.db.models import LoginSession, StaffUser
from perkstar_ui.db.tenancy import system_session
from perkstar_ui.domain import security
from perkstar_ui.domain.permissions import TABLE, Permission, Role, declared
from perkstar_ui.services import audit
from perkstar_ui.services.audit import AuditFilter
from perkstar_ui.services.metrics import REGISTRY
from perkstar_ui.state.campaigns import CampaignComposeState
from perkstar_ui.state.card_panels import CardPanelState
from perkstar_ui.state.card_templates import CardTemplatesState
from perkstar_ui.state.counter import CounterState
from perkstar_ui.state.custom_fields import CustomFieldsState
from perkstar_ui.state.customer_form import CustomerFormState
from perkstar_ui.state.customer_grid import GridState
from perkstar_ui.state.guard import LOGIN_ROUTE, current_login, leave_tab, requires
from perkstar_ui.state.import_export import ExportState, ImportState
from perkstar_ui.state.issue_cards import IssueCardsState
from perkstar_ui.state.profile import ProfileState
from perkstar_ui.state.segments import SegmentsState
from perkstar_ui.state.stripe_settings import StripeSettingsState
from tests.helpers import add_customer, give_card

PASSWORD = "correct-horse"


def _user(merchant_id: int, email: str, role: Role, *, active: bool = True) -> str:
    """A staff user of ``role`` with a live session; the session cookie's value."""
    token = security.new_token()
    with system_session() as session:
        user = StaffUser(merchant_id=merchant_id, email=email, password_hash=security.hash_password(PASSWORD),
                         role=role.value, active=active)
        session.add(user)
        session.flush()
        session.add(LoginSession(merchant_id=merchant_id, staff_user_id=user.id, token_hash=security.token_hash(token),
                                 expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
        session.commit()
    return token


class _Root:
    """Stands for the tab's root state: the guard resets it when no login is behind the tab."""

    def __init__(self) -> None:
        self.is_hydrated, self.resets = True, 0

    def reset(self) -> None:
        self.is_hydrated, self.resets = False, self.resets + 1


def _tab(token: str | None) -> SimpleNamespace:
    cookie = f"other=1; {SESSION_COOKIE}={token}" if token else "other=1"
    tab = SimpleNamespace(router=SimpleNamespace(headers=SimpleNamespace(cookie=cookie)), access_denied=False,
                          root=_Root(), merchant_name="", staff_email="", staff_role="", manager_tools=False,
                          owner_tools=False)

    async def get_state(_cls):  # noqa: ANN001, ANN202
        return tab.root

    tab.get_state = get_state
    return tab


def _handler(permission: Permission, **options):  # noqa: ANN003, ANN202
    @requires(permission, **options)
    async def handler(self, value: int):  # noqa: ANN001, ANN202
        return ("ran", current_login().merchant_id, current_login().role, value)

    return handler


def _call(handler, tab):  # noqa: ANN001, ANN202
    return asyncio.run(handler(tab, 7))


@pytest.fixture
def logins(merchant: int, other_merchant: int, unique: str) -> dict[str, tuple[int, str]]:
    return {
        "owner": (merchant, _user(merchant, f"o2-{unique}@shop.test", Role.OWNER)),
        "manager": (merchant, _user(merchant, f"m-{unique}@shop.test", Role.MANAGER)),
        "staff": (merchant, _user(merchant, f"s-{unique}@shop.test", Role.STAFF)),
        "other-merchant-owner": (other_merchant, _user(other_merchant, f"o3-{unique}@shop.test", Role.OWNER)),
    }


ROLE_OF = {"owner": Role.OWNER, "manager": Role.MANAGER, "staff": Role.STAFF, "other-merchant-owner": Role.OWNER}


def test_every_permission_as_every_role_and_another_merchant(logins):
    for permission in Permission:
        handler = _handler(permission)
        for who, (merchant_id, token) in logins.items():
            result = _call(handler, _tab(token))
            if permission in TABLE[ROLE_OF[who]]:
                # Runs for the merchant of the cookie's session, whatever the browser sends.
                assert result == ("ran", merchant_id, ROLE_OF[who].value, 7), (permission, who)
            else:
                assert result.handler.fn.__qualname__.endswith("_call_function"), (permission, who)  # a toast
                assert "You don" in repr(result) and "t have access" in repr(result), (permission, who)


def test_no_session_a_stale_one_or_a_deactivated_user_is_sent_to_login(merchant, unique):
    handler = _handler(Permission.VIEW_CUSTOMERS)
    deactivated = _user(merchant, f"gone-{unique}@shop.test", Role.OWNER, active=False)
    for tab in (_tab(None), _tab("not-a-session"), _tab(deactivated)):
        refusal = _call(handler, tab)
        # The page leaves as at logout: its client token dropped, /login loaded anew (a new
        # token, so states of the old login that this event did not load are never read again).
        assert refusal.handler.fn.__qualname__.endswith("_call_script")
        assert _script(refusal) == (f"window.sessionStorage.removeItem('token'); "
                                    f"window.location.replace('{LOGIN_ROUTE}');")
        # What the event loaded is dropped too (a logout in another tab), the page stays hydrated.
        assert (tab.root.resets, tab.root.is_hydrated) == (1, True)


def _script(event) -> str:  # noqa: ANN001
    """The JavaScript an ``rx.call_script`` event runs in the page."""
    return dict((name._js_expr, value._var_value) for name, value in event.args)["javascript_code"]


def test_logout_leaves_the_tab_the_same_way():
    refusal = _call(_handler(Permission.VIEW_CUSTOMERS), _tab(None))
    logout = leave_tab(end_session=True)
    assert _script(logout).startswith("fetch('/api/logout', {method: 'POST', credentials: 'same-origin'})")
    assert _script(logout).endswith(f".finally(() => {{ {_script(refusal)} }})")


def test_a_page_the_role_may_not_open_shows_access_denied(logins):
    page_load = _handler(Permission.OPEN_SETTINGS, page=True)
    staff_tab = _tab(logins["staff"][1])
    assert _call(page_load, staff_tab) is None and staff_tab.access_denied is True
    manager_tab = _tab(logins["manager"][1])
    assert _call(page_load, manager_tab)[0] == "ran" and manager_tab.access_denied is False
    # A page's load is its login check too: the shell shows who is here, for either answer.
    assert (staff_tab.staff_role, staff_tab.manager_tools) == ("staff", False)
    assert (manager_tab.staff_role, manager_tab.manager_tools, manager_tab.owner_tools) == ("manager", True, False)
    assert manager_tab.staff_email and manager_tab.merchant_name


def test_async_generators_keep_the_context_across_yields_and_release_it(logins):
    @requires(Permission.CARD_ACTIONS)
    async def steps(self):  # noqa: ANN001, ANN202
        yield current_login().role
        await asyncio.sleep(0)
        yield current_login().merchant_id

    async def run(tab):  # noqa: ANN001, ANN202
        seen = [event async for event in steps(tab)]
        with pytest.raises(RuntimeError):
            current_login()  # nothing leaks past the handler
        return seen

    merchant_id, token = logins["staff"]
    assert asyncio.run(run(_tab(token))) == ["staff", merchant_id]


def test_api_routes_answer_401_and_403(logins):
    @route_requires(Permission.EXPORT)
    async def export(request):  # noqa: ANN001, ANN202
        return PlainTextResponse(str(login_of(request).merchant_id))

    client = TestClient(Starlette(routes=[Route("/x", export)]), base_url="http://localhost")
    assert client.get("/x").status_code == 401
    for who, (merchant_id, token) in logins.items():
        response = client.get("/x", cookies={SESSION_COOKIE: token})
        if who == "staff":
            assert response.status_code == 403
        else:
            assert response.status_code == 200 and response.text == str(merchant_id)


def _expected() -> dict:
    return {
        GridState.load: Permission.VIEW_CUSTOMERS,
        ProfileState.load: Permission.VIEW_CUSTOMERS,
        CustomerFormState.save: Permission.EDIT_CUSTOMERS,
        CardPanelState.apply: Permission.CARD_ACTIONS,
        ProfileState.apply_correction: Permission.CARD_ACTIONS,
        CounterState.load: Permission.VIEW_CUSTOMERS,
        CounterState.submit: Permission.VIEW_CUSTOMERS,
        CounterState.tap: Permission.CARD_ACTIONS,
        CounterState.undo: Permission.CARD_ACTIONS,
        ProfileState.delete_customer: Permission.DELETE_CUSTOMERS,
        GridState.delete_selected: Permission.DELETE_CUSTOMERS,
        IssueCardsState.confirm: Permission.BULK_ACTIONS,
        ExportState.export: Permission.EXPORT,
        ProfileState.download_history: Permission.EXPORT,  # a card's history CSV is an export
        ImportState.confirm: Permission.IMPORT,
        SegmentsState.save_current: Permission.MANAGE_SEGMENTS,
        CardTemplatesState.save: Permission.MANAGE_TEMPLATES,
        CampaignComposeState.send: Permission.MANAGE_CAMPAIGNS,
        CustomFieldsState.load: Permission.OPEN_SETTINGS,
        StripeSettingsState.save: Permission.ACCOUNT_SETTINGS,
    }


def test_the_apps_handlers_are_wrapped_with_the_tables_permission():
    for handler, permission in _expected().items():
        assert declared(handler.fn) is permission, handler.fn.__qualname__


def test_a_cards_history_csv_is_an_export_staff_cannot_download(logins, merchant):
    """Contract: staff (the counter role) may not export. The route refuses them; the
    others get the CSV, audited as an export naming the card and the rows sent."""
    assert declared(routes.card_history_csv) is Permission.EXPORT
    card_id, serial = give_card(merchant, add_customer(merchant, "Ada", "Lovelace"), transactions=2)
    client = TestClient(routes.api, base_url="http://localhost")
    url = f"/api/cards/{card_id}/history.csv"
    answers = {who: client.get(url, cookies={SESSION_COOKIE: token}).status_code for who, (_, token) in logins.items()}
    assert answers == {"owner": 200, "manager": 200, "staff": 403, "other-merchant-owner": 404}
    exports = audit.list_entries(merchant, AuditFilter(action="export"))[0]
    assert [(e.detail["card_history"], e.detail["rows"], e.detail["complete"]) for e in exports] == [(serial, 2, True)] * 2


def test_each_guarded_call_is_timed_for_the_metrics(logins):
    handler = _handler(Permission.VIEW_CUSTOMERS)
    label = {"handler": handler.__qualname__}
    count_before = REGISTRY.get_sample_value("perkstar_event_seconds_count", label) or 0
    assert _call(handler, _tab(logins["owner"][1]))[0] == "ran"
    assert REGISTRY.get_sample_value("perkstar_event_seconds_count", label) == count_before + 1
