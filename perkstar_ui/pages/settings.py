"""``/settings``: the business (name, country, timezone, currency, date format, consent at sign-up) and
staff (owners only), custom fields, the RFM settings and Stripe."""

import reflex as rx

from perkstar_ui.components.merchant_settings import merchant_settings_card
from perkstar_ui.components.shell import shell
from perkstar_ui.components.signup_settings import signup_settings_card
from perkstar_ui.components.staff_settings import staff_settings_card
from perkstar_ui.components.stripe_settings import stripe_settings_card
from perkstar_ui.state.auth import AuthState
from perkstar_ui.state.custom_fields import CustomFieldsState, FieldRow
from perkstar_ui.state.rfm_settings import NEW_CUSTOMER_DAYS_RANGE, WINDOW_DAYS_RANGE, RfmSettingsState

TYPE_LABELS = {"text": "Text", "number": "Number", "date": "Date", "choice": "Choice"}


def _field_row(field: FieldRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="field_id", value=field.id.to_string()),
                    rx.input(name="label", default_value=field.label, aria_label="Display name", size="2", key=field.id,
                             data_testid="custom-field-label"),
                    rx.button("Rename", type="submit", variant="soft", size="2"),
                    align="center",
                ),
                on_submit=CustomFieldsState.rename,
                reset_on_submit=False,
            )
        ),
        rx.table.cell(rx.code(field.key)),
        rx.table.cell(rx.match(field.field_type, *TYPE_LABELS.items(), field.field_type)),
        rx.table.cell(field.choices),
        rx.table.cell(
            rx.hstack(
                rx.icon_button(rx.icon("arrow-up", size=16), variant="soft", aria_label="Move up",
                               on_click=CustomFieldsState.move(field.id, -1)),
                rx.icon_button(rx.icon("arrow-down", size=16), variant="soft", aria_label="Move down",
                               on_click=CustomFieldsState.move(field.id, 1)),
                rx.icon_button(rx.icon("trash-2", size=16), variant="soft", color_scheme="red",
                               aria_label="Remove field", on_click=CustomFieldsState.remove(field.id)),
            )
        ),
        data_testid="custom-field-row",
        data_key=field.key,
    )


def _add_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label("Field name", html_for="new-field-label", class_name="rt-r-size-2"),
                rx.input(id="new-field-label", name="label", size="3", required=True),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("Field type", html_for="new-field-type", class_name="rt-r-size-2"),
                rx.el.select(
                    *[rx.el.option(label, value=key) for key, label in TYPE_LABELS.items()],
                    id="new-field-type", name="field_type", value=CustomFieldsState.new_type, on_change=CustomFieldsState.set_new_type,
                    style={"min_height": "40px"},
                ),
                spacing="1",
            ),
            rx.cond(
                CustomFieldsState.new_type == "choice",
                rx.vstack(
                    rx.el.label("Choices (comma-separated)", html_for="new-field-choices", class_name="rt-r-size-2"),
                    rx.input(id="new-field-choices", name="choices", size="3"),
                    spacing="1",
                ),
            ),
            rx.button(rx.icon("plus", size=16), "Add field", type="submit", size="3", data_testid="add-custom-field"),
            gap="12px",
            align="end",
            wrap="wrap",
        ),
        on_submit=CustomFieldsState.add,
        reset_on_submit=True,
    )


def _days_input(label: str, name: str, value: rx.Var, bounds: tuple[int, int]) -> rx.Component:
    low, high = bounds
    return rx.vstack(
        rx.el.label(label, html_for=f"rfm-{name}", class_name="rt-r-size-2"),
        rx.input(id=f"rfm-{name}", name=name, default_value=value, key=f"{name}-{RfmSettingsState.form_version}",
                 input_mode="numeric", size="3", width="10em", aria_describedby="rfm-settings-hint"),
        rx.text(f"{low}–{high}", size="1", color_scheme="gray"),
        spacing="1",
    )


def _rfm_settings() -> rx.Component:
    return rx.card(
        rx.heading("RFM segments", size="4", as_="h2", margin_bottom="4px"),
        rx.text("Segments look at visits and purchases in the window; customers without a visit in it count as new "
                "for the given days after they were added.", id="rfm-settings-hint", color_scheme="gray", size="2"),
        rx.cond(RfmSettingsState.form_error != "",
                rx.callout(RfmSettingsState.form_error, icon="triangle-alert", color_scheme="red",
                           data_testid="form-error", role="alert", margin_y="8px")),
        rx.form(
            rx.flex(
                _days_input("RFM window (days)", "window_days", RfmSettingsState.window_days, WINDOW_DAYS_RANGE),
                _days_input("New customer (days)", "new_customer_days", RfmSettingsState.new_customer_days,
                            NEW_CUSTOMER_DAYS_RANGE),
                rx.button("Save", type="submit", size="3", min_height="44px", data_testid="rfm-settings-save"),
                gap="12px", align="center", wrap="wrap", margin_top="12px",
            ),
            on_submit=RfmSettingsState.save,
            reset_on_submit=False,
        ),
        on_mount=RfmSettingsState.load,  # the page's on_load belongs to the custom fields
        width="100%",
    )


def settings_page() -> rx.Component:
    return shell(
        # Owners only (the handlers refuse anyone else on the server; the cards are absent for them).
        rx.cond(AuthState.owner_tools, merchant_settings_card()),
        rx.cond(AuthState.owner_tools, staff_settings_card()),
        rx.cond(AuthState.owner_tools, signup_settings_card()),
        rx.card(
            rx.heading("Custom fields", size="4", as_="h2", margin_bottom="4px"),
            rx.text("Extra facts about your customers. Each field becomes a grid column, a form input and a profile value.",
                    color_scheme="gray", size="2"),
            rx.cond(CustomFieldsState.form_error != "",
                    rx.callout(CustomFieldsState.form_error, icon="triangle-alert", color_scheme="red",
                               data_testid="form-error", role="alert", margin_y="8px")),
            rx.box(_add_form(), margin_y="12px"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in ["Name", "Key", "Type", "Choices", "Order"]])),
                    rx.table.body(rx.foreach(CustomFieldsState.fields, _field_row)),
                    width="100%",
                ),
                overflow_x="auto",
            ),
            width="100%",
        ),
        _rfm_settings(),
        stripe_settings_card(),
        title="Settings",
    )
