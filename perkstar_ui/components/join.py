"""The public sign-up screens for phones (``/join/[code]``, ``/r/[code]``): the template's
issuing form with consent, "Lost your card?", the neutral answer and the code entry.
Ids and labels per e2e-contract.md ("The counter and the front door")."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.controls import NATIVE_CONTROL, TOUCH_HEIGHT
from perkstar_ui.domain.signup import HONEYPOT_FIELD, NEUTRAL_DONE
from perkstar_ui.state.join import JoinField, JoinState as S, Step

_LABEL = {"font_weight": "500"}
_KINDS = {"tel": "tel", "email": "email", "date": "date", "number": "text"}
_AUTOCOMPLETE = {"first_name": "given-name", "last_name": "family-name", "phone": "tel", "email": "email",
                 "birthdate": "bday"}


def _error(text: rx.Var, test_id: str) -> rx.Component:
    return rx.cond(text != "", rx.callout(text, icon="triangle-alert", color_scheme="red", data_testid=test_id,
                                          role="alert", width="100%"))


def _control(field: JoinField) -> rx.Component:
    control_id = "join-" + field.key
    return rx.cond(
        field.kind == "choice",
        rx.el.select(
            rx.el.option("", value=""),
            rx.foreach(field.choices, lambda choice: rx.el.option(choice, value=choice)),
            id=control_id, name=field.key, style={**NATIVE_CONTROL, "width": "100%"},
        ),
        rx.input(id=control_id, name=field.key, size="3", width="100%", style=TOUCH_HEIGHT,
                 type=rx.match(field.kind, *[(k, v) for k, v in _KINDS.items()], "text"),
                 input_mode=rx.cond(field.kind == "number", "decimal", ""),
                 auto_complete=rx.match(field.key, *[(k, v) for k, v in _AUTOCOMPLETE.items()], "off")),
    )


def _field(field: JoinField) -> rx.Component:
    # The label is the field's name alone (get_by_label("Email", exact=True) finds it); the
    # required / optional mark sits beside it.
    return rx.vstack(
        rx.hstack(
            rx.el.label(field.label, html_for="join-" + field.key, class_name="rt-r-size-2", style=_LABEL),
            rx.cond(field.required, rx.el.span("*", aria_hidden="true", style={"color": "var(--red-11)"}),
                    rx.text("optional", size="1", color_scheme="gray")),
            spacing="1",
            align="baseline",
        ),
        _control(field),
        spacing="1",
        width="100%",
    )


def _consent(label: str, name: str) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", id=f"join-{name}", name=name, style={"width": "20px", "height": "20px"}),
        label,
        html_for=f"join-{name}",
        class_name="rt-r-size-2",
        style={"display": "flex", "align_items": "center", "gap": "8px", "min_height": "44px", **_LABEL},
    )


def _honeypot() -> rx.Component:
    # People never see or reach it; form-filling bots do (services.signup answers them neutrally).
    return rx.el.div(
        rx.el.label("Website", html_for="join-website"),
        rx.el.input(id="join-website", name=HONEYPOT_FIELD, type="text", tab_index=-1, auto_complete="off"),
        aria_hidden="true",
        style={"position": "absolute", "left": "-10000px", "width": "1px", "height": "1px", "overflow": "hidden"},
    )


def heading(page: str) -> rx.Component:
    return rx.vstack(
        rx.text(S.business, size="2", color_scheme="gray", data_testid=f"{page}-business"),
        rx.cond(
            S.referrer != "",
            rx.heading(S.referrer, " invites you to ", S.card_name, size="6", as_="h1"),
            rx.heading("Join ", S.card_name, size="6", as_="h1"),
        ),
        rx.text("Get your ", S.type_label.lower(), " card on your phone.", size="3"),
        spacing="2",
        width="100%",
    )


def sign_up_form(page: str) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.foreach(S.fields, _field),
            _consent("SMS consent", "sms_consent"),
            _consent("Email consent", "email_consent"),
            _honeypot(),
            _error(S.form_error, "form-error"),
            rx.button("Get my card", type="submit", size="3", width="100%", style=TOUCH_HEIGHT, loading=S.busy,
                      data_testid=f"{page}-submit"),
            spacing="3",
            width="100%",
            position="relative",
        ),
        on_submit=S.submit,
        no_validate=True,  # the server's messages, the same in every browser
        width="100%",
    )


def restore() -> rx.Component:
    return rx.vstack(
        rx.button("Lost your card?", variant="ghost", size="3", style=TOUCH_HEIGHT, on_click=S.toggle_restore,
                  data_testid="join-restore-open", type="button"),
        rx.cond(
            S.restore_open,
            rx.form(
                rx.vstack(
                    rx.el.label("Phone or email", html_for="join-restore-contact", class_name="rt-r-size-2",
                                style=_LABEL),
                    rx.input(id="join-restore-contact", name="contact", size="3", width="100%", style=TOUCH_HEIGHT,
                             auto_complete="tel"),
                    rx.button("Send me a code", type="submit", size="3", width="100%", variant="soft",
                              style=TOUCH_HEIGHT, loading=S.busy, data_testid="join-restore-request"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.request_restore,
                no_validate=True,
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
        align="center",
    )


def _code_form(button: str) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label("Code", html_for="join-code", class_name="rt-r-size-2", style=_LABEL),
            rx.input(id="join-code", name="code", size="3", width="100%", style=TOUCH_HEIGHT, input_mode="numeric",
                     auto_complete="one-time-code", max_length=12),
            _error(S.code_error, "code-error"),
            rx.button(button, type="submit", size="3", width="100%", style=TOUCH_HEIGHT, loading=S.busy,
                      data_testid="join-code-submit"),
            spacing="2",
            width="100%",
        ),
        on_submit=S.confirm_code,
        no_validate=True,
        width="100%",
    )


def done() -> rx.Component:
    return rx.vstack(
        rx.callout(NEUTRAL_DONE, icon="mail-check", color_scheme="green", size="2", data_testid="join-done",
                   width="100%"),
        _code_form("Open my card"),
        spacing="3",
        width="100%",
    )


def verify() -> rx.Component:
    return rx.vstack(
        rx.callout("Your card is ready. We sent a 6-digit code to your phone or email: enter it to receive your "
                   "welcome bonus.", icon="mail-check", size="2", data_testid="join-verify", width="100%"),
        _code_form("Confirm"),
        rx.button("Open my card now", variant="ghost", size="3", style=TOUCH_HEIGHT, on_click=S.skip_verify,
                  data_testid="join-verify-skip", type="button"),
        spacing="3",
        width="100%",
    )


def join_card(page: str) -> rx.Component:
    """``page``: ``join`` or ``referral``, the prefix of the page's own ids (the contract's
    ``join-submit`` / ``referral-submit``)."""
    return rx.card(
        rx.vstack(
            heading(page),
            rx.match(
                S.step,
                (Step.DONE.value, done()),
                (Step.VERIFY.value, verify()),
                rx.vstack(sign_up_form(page), restore(), spacing="3", width="100%"),
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def invalid_link() -> rx.Component:
    return rx.callout("This link is not valid any more.", icon="link-2-off", color_scheme="gray", size="3",
                      data_testid="not-found", width="100%")
