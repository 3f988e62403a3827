"""Settings → Staff: labels `Email` and `Role`, button `staff-invite`; one `staff-row`
(attribute `data-email`) per login with the select `staff-role` and button `staff-deactivate`;
one `staff-invite-row` (attribute `data-email`) per pending invitation with its role, when it
was made (`Invited`) and when it expires, `staff-invite-email-status` (attribute `data-status`: queued,
sent, delivered, failed, skipped; the text says why a failed or skipped one did not go) and
button `staff-invite-revoke`."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.state.staff_settings import ROLE_CHOICES, InviteRowView, StaffRowView, StaffSettingsState

ROLE_LABELS = {"owner": "Owner", "manager": "Manager", "staff": "Staff"}


def _invite_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label("Email", html_for="staff-invite-email", class_name="rt-r-size-2", style={"font_weight": "500"}),
                rx.input(id="staff-invite-email", name="email", type="email", size="3", width="18em", required=True,
                         key=f"invite-email-{StaffSettingsState.form_version}"),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("Role", html_for="staff-invite-role", class_name="rt-r-size-2", style={"font_weight": "500"}),
                rx.el.select(*[rx.el.option(ROLE_LABELS[r], value=r) for r in ROLE_CHOICES], id="staff-invite-role",
                             name="role", value=StaffSettingsState.invite_role,
                             on_change=StaffSettingsState.set_invite_role, style={"min_height": "44px"}),
                spacing="1",
            ),
            rx.button(rx.icon("mail-plus", size=16), "Invite", type="submit", size="3", min_height="44px",
                      data_testid="staff-invite"),
            gap="12px", align="end", wrap="wrap",
        ),
        on_submit=StaffSettingsState.invite,
        reset_on_submit=False,
    )


def _row(row: StaffRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.email),
        rx.table.cell(
            rx.el.select(*[rx.el.option(ROLE_LABELS[r], value=r) for r in ROLE_CHOICES], value=row.role,
                         on_change=lambda role: StaffSettingsState.change_role(row.id, role),
                         aria_label="Role of " + row.email, disabled=~row.active, data_testid="staff-role",
                         style={"min_height": "40px"}),
        ),
        rx.table.cell(rx.cond(row.active, rx.badge("Active", color_scheme="green"), rx.badge("Deactivated", color_scheme="gray"))),
        rx.table.cell(
            rx.cond(row.active,
                    rx.button("Deactivate", variant="soft", color_scheme="red", size="2", min_height="40px",
                              on_click=StaffSettingsState.deactivate(row.id), data_testid="staff-deactivate")),
        ),
        data_testid="staff-row",
        data_email=row.email,
    )


def _invite_row(row: InviteRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.email),
        rx.table.cell(row.role),
        rx.table.cell(row.sent),
        rx.table.cell(row.expires),
        rx.table.cell(row.email_state, data_testid="staff-invite-email-status", data_status=row.email_status),
        rx.table.cell(
            rx.button("Revoke", variant="soft", color_scheme="red", size="2", min_height="40px",
                      aria_label="Revoke the invitation of " + row.email,
                      on_click=StaffSettingsState.revoke_invite(row.id), data_testid="staff-invite-revoke"),
        ),
        data_testid="staff-invite-row",
        data_email=row.email,
    )


def _pending_invites() -> rx.Component:
    return rx.cond(
        StaffSettingsState.invites.length() > 0,
        rx.box(
            rx.heading("Pending invitations", size="3", as_="h3", margin_y="8px"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ["Email", "Role", "Invited", "Expires", "Email status", ""]])),
                    rx.table.body(rx.foreach(StaffSettingsState.invites, _invite_row)),
                    width="100%",
                ),
                overflow_x="auto",
            ),
            margin_bottom="12px",
        ),
    )


def staff_settings_card() -> rx.Component:
    return rx.card(
        rx.heading("Staff", size="4", as_="h2", margin_bottom="4px"),
        rx.text("Invite people by email: the link lets them set a password within 48 hours. Inviting the same "
                "email again replaces the earlier link.", color_scheme="gray", size="2"),
        rx.cond(StaffSettingsState.invite_error != "",
                rx.callout(StaffSettingsState.invite_error, icon="triangle-alert", color_scheme="red",
                           data_testid="form-error", role="alert", margin_y="8px")),
        rx.box(_invite_form(), margin_y="12px"),
        _pending_invites(),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in ["Email", "Role", "Status", ""]])),
                rx.table.body(rx.foreach(StaffSettingsState.rows, _row)),
                width="100%",
            ),
            overflow_x="auto",
        ),
        rx.link("Audit trail", href="/settings/audit", data_testid="settings-audit-link"),
        on_mount=StaffSettingsState.load,
        width="100%",
    )
