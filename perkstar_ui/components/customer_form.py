"""Add / edit customer dialog (labels per the contract, submit ``customer-save``)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.state.customer_form import CustomerFormState, FieldInput


def _error(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2", role="alert"))


def _field(label: str, name: str, value: rx.Var, kind: str = "text", autocomplete: str = "off", **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"customer-{name}", class_name="rt-r-size-2", style={"font_weight": "500"}),
        rx.input(id=f"customer-{name}", name=name, type=kind, default_value=value, auto_complete=autocomplete,
                 size="3", width="100%", **props),
        _error(CustomerFormState.errors.get(name, "")),
        spacing="1",
        width="100%",
    )


def _custom_input(field: FieldInput) -> rx.Component:
    input_id = "customer-cf-" + field.key
    name = "cf_" + field.key
    control = rx.match(
        field.field_type,
        ("choice", rx.el.select(
            rx.el.option("—", value=""),
            rx.foreach(field.choices, lambda choice: rx.el.option(choice, value=choice)),
            id=input_id, name=name, default_value=field.value,
            style={"min_height": "40px", "width": "100%"},
        )),
        ("date", rx.input(id=input_id, name=name, type="date", default_value=field.value, size="3", width="100%")),
        ("number", rx.input(id=input_id, name=name, input_mode="decimal", default_value=field.value, size="3", width="100%")),
        rx.input(id=input_id, name=name, default_value=field.value, size="3", width="100%"),
    )
    return rx.vstack(
        rx.el.label(field.label, html_for=input_id, class_name="rt-r-size-2", style={"font_weight": "500"}),
        control,
        _error(field.error),
        spacing="1",
        width="100%",
    )


def _consent_box(label: str, name: str, checked: rx.Var, disabled: rx.Var) -> rx.Component:
    # A native checkbox: submitted with the form like the other uncontrolled inputs.
    return rx.el.label(
        rx.el.input(type="checkbox", id=f"customer-{name}", name=name, default_checked=checked, disabled=disabled,
                    style={"width": "20px", "height": "20px"}),
        label,
        html_for=f"customer-{name}",
        class_name="rt-r-size-2",
        style={"display": "flex", "align_items": "center", "gap": "8px", "min_height": "44px", "font_weight": "500"},
    )


def _consent_boxes() -> rx.Component:
    not_collected = (CustomerFormState.editing_id == 0) & ~CustomerFormState.consent_at_signup
    return rx.vstack(
        rx.flex(
            _consent_box("SMS consent", "sms_consent", CustomerFormState.sms_consent, not_collected),
            _consent_box("Email consent", "email_consent", CustomerFormState.email_consent, not_collected),
            gap="24px",
            wrap="wrap",
        ),
        rx.cond(
            not_collected,
            rx.text("New customers start without marketing consent (Settings: consent is not collected at "
                    "sign-up). Edit the customer to record it once they agree.", size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def customer_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(CustomerFormState.title),
            rx.form(
                rx.vstack(
                    rx.cond(
                        CustomerFormState.form_error != "",
                        rx.callout(CustomerFormState.form_error, icon="triangle-alert", color_scheme="red",
                                   data_testid="form-error", role="alert", width="100%"),
                    ),
                    rx.grid(
                        _field("First name", "first_name", CustomerFormState.first_name, autocomplete="given-name"),
                        _field("Last name", "last_name", CustomerFormState.last_name, autocomplete="family-name"),
                        columns=rx.breakpoints(initial="1", xs="2"),
                        spacing="3",
                        width="100%",
                    ),
                    _field("Phone", "phone", CustomerFormState.phone, kind="tel", autocomplete="tel"),
                    _field("Email", "email", CustomerFormState.email, kind="email", autocomplete="email"),
                    _field("Date of birth", "birthdate", CustomerFormState.birthdate, kind="date"),
                    rx.foreach(CustomerFormState.custom_fields, _custom_input),
                    _consent_boxes(),
                    rx.flex(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray", size="3")),
                        rx.button("Save", type="submit", size="3", loading=CustomerFormState.saving, data_testid="customer-save"),
                        gap="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=CustomerFormState.save,
                no_validate=True,  # our messages, the same on every browser
                reset_on_submit=False,
            ),
            max_width="560px",
            aria_describedby=None,
        ),
        open=CustomerFormState.open,
        on_open_change=CustomerFormState.set_open,
    )
