"""``/invite/[token]`` (public): labels `Password` and `Repeat password`, button
`invite-accept`; a used or expired link says so (`invite-invalid`)."""

import reflex as rx

from perkstar_ui.components.app_ready import app_ready
from perkstar_ui.state.invite import InviteState as S

ROUTE = "/invite/[token]"


def _password(label: str, name: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"invite-{name}", class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.input(id=f"invite-{name}", name=name, type="password", auto_complete="new-password", size="3",
                 width="100%", required=True, min_length=8),
        spacing="1", width="100%",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.heading("Join ", S.business, size="5", as_="h1"),
        rx.text("Set a password for ", rx.text.strong(S.email), ".", size="2"),
        rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                               data_testid="form-error", role="alert", width="100%")),
        rx.form(
            rx.vstack(
                _password("Password", "password"),
                _password("Repeat password", "repeat_password"),
                rx.button("Set password", type="submit", size="3", width="100%", loading=S.busy,
                          data_testid="invite-accept"),
                spacing="3", width="100%",
            ),
            on_submit=S.accept,
            reset_on_submit=False,
            width="100%",
        ),
        spacing="3", width="100%",
    )


def _invalid() -> rx.Component:
    return rx.vstack(
        rx.heading("This invitation is no longer valid", size="5", as_="h1"),
        rx.text("This invitation is no longer valid: it was used already, withdrawn, replaced by a newer one, "
                "or is older than 48 hours. Ask the owner for a new one.",
                data_testid="invite-invalid"),
        spacing="3",
    )


def invite_page() -> rx.Component:
    return rx.box(
        app_ready(),
        rx.box(
            rx.cond(
                S.loaded,
                rx.card(rx.cond(S.found, _form(), _invalid()), width="100%"),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            as_="main", width="100%", max_width="420px", margin_x="auto", padding="16px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
