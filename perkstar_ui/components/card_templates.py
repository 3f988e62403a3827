"""Card templates: the list, the create dialog and the edit dialog (ids in docs/testing.md)."""

from __future__ import annotations

import reflex as rx

from perkstar_ui.components.issuing_form import issuing_section
from perkstar_ui.components.join_links import join_cell
from perkstar_ui.domain import template_form as tf
from perkstar_ui.state.card_templates import (
    TYPE_OPTIONS,
    CardTemplatesState as S,
    LevelRow,
    MilestoneRow,
    TemplateRow,
    TierRow,
)

SELECT_STYLE = {"min_height": "40px", "width": "100%"}
STATUS_COLORS = {"Locked": "amber", "Active": "green", "Inactive": "gray"}


def _label(text, html_for, locked=None) -> rx.Component:  # noqa: ANN001
    return rx.el.label(
        text,
        rx.cond(locked, rx.icon("lock", size=12, margin_left="4px", aria_hidden="true")) if locked is not None else rx.fragment(),
        html_for=html_for, class_name="rt-r-size-2", style={"font_weight": "500"},
    )


def _locked(key: str) -> rx.Var:
    return S.locked_fields.contains(key)


def _hint(text) -> rx.Component:  # noqa: ANN001
    return rx.text(text, size="1", color_scheme="gray")


def _text_field(label: str, name: str, *, hint: str | rx.Var = "", kind: str = "text", locked_key: str | None = None,
                mode: str | None = None) -> rx.Component:
    input_id = f"template-{name.replace('_', '-')}"
    locked = _locked(locked_key) if locked_key else None
    props = {"disabled": locked} if locked is not None else {}
    if mode:
        props["input_mode"] = mode
    return rx.vstack(
        _label(label, input_id, locked),
        rx.input(id=input_id, name=name, type=kind, default_value=S.values.get(name, ""), size="2", width="100%",
                 **props),
        rx.fragment() if isinstance(hint, str) and not hint else _hint(hint),
        spacing="1", width="100%",
    )


def _select(label: str, name: str, options: dict[str, str], *, controlled: bool = False,
            locked_key: str | None = None) -> rx.Component:
    input_id = f"template-{name.replace('_', '-')}"
    locked = _locked(locked_key) if locked_key else None
    props: dict = {"disabled": locked} if locked is not None else {}
    if controlled:
        props |= {"value": S.values.get(name, ""), "on_change": lambda value: S.set_value(name, value)}
    else:
        props["default_value"] = S.values.get(name, "")
    return rx.vstack(
        _label(label, input_id, locked),
        rx.el.select(*[rx.el.option(text, value=value) for value, text in options.items()],
                     id=input_id, name=name, style=SELECT_STYLE, **props),
        spacing="1", width="100%",
    )


def _checkbox(label: str, name: str) -> rx.Component:
    input_id = f"template-{name.replace('_', '-')}"
    return rx.hstack(
        rx.el.input(type="checkbox", id=input_id, name=name, default_checked=S.values.get(name, "") == "on",
                    style={"width": "18px", "height": "18px"}),
        _label(label, input_id),
        align="center", spacing="2",
    )


def _grid(*children: rx.Component) -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", xs="2"), spacing="3", width="100%")


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.vstack(rx.heading(title, size="3", as_="h3"), *children, spacing="2", width="100%",
                     padding_top="8px", border_top=f"1px solid {rx.color('gray', 4)}")


def _remove_button(label, on_click, test_id: str, disabled=False) -> rx.Component:  # noqa: ANN001
    return rx.icon_button(rx.icon("trash-2", size=16), type="button", variant="soft", color_scheme="red",
                          aria_label=label, title=label, on_click=on_click, data_testid=test_id, disabled=disabled)


def _row_input(label, name: str, row_key, value, *, mode: str | None = None, disabled=None) -> rx.Component:  # noqa: ANN001
    input_id = f"template-{name.replace('_', '-')}-" + row_key
    props = {"disabled": disabled} if disabled is not None else {}
    if mode:
        props["input_mode"] = mode
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="rt-r-size-1"),
        rx.input(id=input_id, name=name, default_value=value, size="2", width="100%", **props),
        spacing="1", width="100%",
    )


def _row_select(label, name: str, row_key, value, options: dict[str, str]) -> rx.Component:  # noqa: ANN001
    input_id = f"template-{name.replace('_', '-')}-" + row_key
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="rt-r-size-1"),
        rx.el.select(*[rx.el.option(text, value=v) for v, text in options.items()],
                     id=input_id, name=name, default_value=value, style=SELECT_STYLE),
        spacing="1", width="100%",
    )


# --- common settings -----------------------------------------------------------------


def _expiration() -> rx.Component:
    mode = S.values.get("expiration_mode", "")
    return _section(
        "Card expiration",
        _grid(
            _select("Card expiration", "expiration_mode", tf.EXPIRATION_MODES, controlled=True, locked_key="expiration"),
            rx.match(
                mode,
                ("fixed_date", _text_field("Expiration date", "expiration_date", kind="date", locked_key="expiration")),
                ("days_after_issue", _text_field("Days after issue", "expiration_days", mode="numeric",
                                                 locked_key="expiration")),
                rx.fragment(),
            ),
        ),
    )


def _referral() -> rx.Component:
    return _section(
        "Referral program",
        _checkbox("Referral program active", "referral_enabled"),
        _grid(
            _text_field("Referrer reward", "referral_referrer_reward", hint=S.reward_hint, mode="decimal"),
            _text_field("New customer reward", "referral_new_customer_reward", hint=S.reward_hint, mode="decimal"),
            _select("Reward given on", "referral_trigger", tf.REFERRAL_TRIGGERS),
        ),
    )


# --- per type ------------------------------------------------------------------------


def _milestone(row: MilestoneRow, index: rx.Var) -> rx.Component:
    return rx.hstack(
        _row_input(f"Milestone {index + 1}", "milestone", row.key, row.value, mode="numeric",
                   disabled=_locked("milestones")),
        rx.cond(~_locked("milestones"),
                _remove_button(f"Remove milestone {index + 1}", S.remove_milestone(row.key), "milestone-remove")),
        align="end", width="100%", key=row.key, data_testid="milestone-row",
    )


def _stamp() -> rx.Component:
    life = S.values.get("stamp_life", "")
    return rx.fragment(
        _section(
            "Stamps",
            _grid(
                _select("Reward program", "mechanic", tf.STAMP_MECHANICS, controlled=True),
                rx.cond(S.values.get("mechanic", "") == "spend",
                        _text_field("Spend per stamp", "spend_per_stamp", hint="Amount, e.g. 10.00", mode="decimal")),
                _text_field("Stamp count", "stamp_count", hint="Stamps needed for one reward", mode="numeric",
                            locked_key="stamp_count"),
                _text_field("Welcome stamps", "welcome_stamps", hint="Given when the card is issued", mode="numeric",
                            locked_key="welcome_stamps"),
                _select("Stamp life", "stamp_life", tf.STAMP_LIFE, controlled=True, locked_key="stamp_life"),
                rx.match(
                    life,
                    ("fixed_date", _text_field("Stamps expire on", "stamp_life_date", kind="date", locked_key="stamp_life")),
                    ("days_after_last_stamp", _text_field("Days after the last stamp", "stamp_life_days", mode="numeric",
                                                          locked_key="stamp_life")),
                    rx.fragment(),
                ),
            ),
            _checkbox("Purchase amount required", "purchase_amount_required"),
        ),
        _section(
            "Multiple rewards",
            _hint("A reward at each milestone (stamps reached), below the stamp count."),
            rx.el.input(type="hidden", name="milestones_shown", value="1", disabled=_locked("milestones")),
            rx.vstack(rx.foreach(S.milestones, _milestone), width="100%", data_testid="milestone-list"),
            rx.cond(~_locked("milestones"),
                    rx.button(rx.icon("plus", size=14), "Add milestone", type="button", variant="soft", size="2",
                              on_click=S.add_milestone, data_testid="milestone-add")),
        ),
    )


def _multipass() -> rx.Component:
    return _section(
        "Visits and points",
        _grid(
            _text_field("Bonus points per visit", "bonus_points_per_visit", hint="Points per redeemed visit, e.g. 20",
                        mode="decimal"),
            _text_field("Visit life (days)", "visit_life_days", hint="Empty: visits never expire", mode="numeric"),
            _text_field("Points life (days)", "points_life_days", hint="Empty: points never expire", mode="numeric"),
        ),
    )


def _spend_tier(row: TierRow, index: rx.Var) -> rx.Component:
    n = index + 1
    return rx.hstack(
        _row_input(f"Tier {n} name", "tier_name", row.key, row.name),
        _row_input(f"Tier {n} spend threshold", "tier_threshold", row.key, row.threshold, mode="decimal"),
        _row_input(f"Tier {n} percentage", "tier_percent", row.key, row.percent, mode="decimal"),
        _remove_button(f"Remove tier {n}", S.remove_tier(row.key), "tier-remove"),
        align="end", width="100%", key=row.key, data_testid="tier-row",
    )


def _membership_tier(row: TierRow, index: rx.Var) -> rx.Component:
    n = index + 1
    return rx.hstack(
        _row_input(f"Tier {n} name", "tier_name", row.key, row.name),
        _row_input(f"Tier {n} price", "tier_price", row.key, row.price, mode="decimal"),
        _row_input(f"Tier {n} visit limit", "tier_limit", row.key, row.limit, mode="numeric"),
        _remove_button(f"Remove tier {n}", S.remove_tier(row.key), "tier-remove"),
        align="end", width="100%", key=row.key, data_testid="tier-row",
    )


def _tiers(title: str, hint: str, row) -> rx.Component:  # noqa: ANN001
    return _section(
        title,
        _hint(hint),
        rx.el.input(type="hidden", name="tiers_shown", value="1"),
        rx.vstack(rx.foreach(S.tiers, row), width="100%", data_testid="tier-list"),
        rx.button(rx.icon("plus", size=14), "Add tier", type="button", variant="soft", size="2",
                  on_click=S.add_tier, disabled=S.tiers.length() >= S.max_tiers, data_testid="tier-add"),
    )


def _cashback() -> rx.Component:
    return rx.fragment(
        _tiers("Cashback levels", "The first level starts at 0; thresholds are cumulative spend (e.g. 500.00), "
               "percentages of each purchase earned as points.", _spend_tier),
        _section(
            "Points",
            _grid(
                _text_field("Points life (days)", "points_life_days", hint="Empty: points never expire", mode="numeric"),
                _text_field("Welcome points", "welcome_points", hint="Points, e.g. 10", mode="decimal"),
            ),
        ),
    )


def _discount() -> rx.Component:
    return _tiers("Discount tiers", "Up to 6 tiers; the first starts at 0; thresholds are cumulative spend (e.g. 500.00).",
                  _spend_tier)


def _gift() -> rx.Component:
    return _section("Redemption", _grid(_select("Redemption", "redemption", tf.GIFT_REDEMPTION)))


def _level(row: LevelRow, index: rx.Var) -> rx.Component:
    n = index + 1
    return rx.vstack(
        rx.hstack(
            _row_input(f"Level {n} name", "level_name", row.key, row.name),
            _row_input(f"Level {n} points", "level_points", row.key, row.points, mode="decimal"),
            _remove_button(f"Remove level {n}", S.remove_level(row.key), "level-remove"),
            align="end", width="100%",
        ),
        rx.hstack(
            _row_select(f"Level {n} reward type", "level_kind", row.key, row.kind, tf.REWARD_KINDS),
            _row_select(f"Level {n} usage limit", "level_usage", row.key, row.usage, tf.USAGE_LIMITS),
            width="100%",
        ),
        width="100%", key=row.key, data_testid="level-row", spacing="2",
        padding_bottom="8px", border_bottom=f"1px dashed {rx.color('gray', 4)}",
    )


def _reward() -> rx.Component:
    mechanic = S.values.get("mechanic", "")
    return rx.fragment(
        _section(
            "Earning",
            _grid(
                _select("Reward program", "mechanic", tf.REWARD_MECHANICS, controlled=True),
                _text_field("Welcome points", "welcome_points", hint="Points, e.g. 10", mode="decimal"),
                rx.cond(mechanic == "spend", _text_field("Points per spend", "points_per_spend", hint="Points, e.g. 10",
                                                         mode="decimal")),
                rx.cond(mechanic == "spend", _text_field("Spend amount", "spend_unit", hint="For each amount spent, e.g. 10.00",
                                                         mode="decimal")),
                rx.cond(mechanic == "visit", _text_field("Points per visit", "points_per_visit", hint="Points, e.g. 10",
                                                         mode="decimal")),
            ),
            rx.cond(mechanic == "visit", _checkbox("At most one visit per day", "one_visit_per_day")),
        ),
        _section(
            "Reward levels",
            _hint("Each level costs its points when redeemed; a 0-point level is a welcome reward."),
            rx.el.input(type="hidden", name="levels_shown", value="1"),
            rx.vstack(rx.foreach(S.levels, _level), width="100%", data_testid="level-list"),
            rx.button(rx.icon("plus", size=14), "Add level", type="button", variant="soft", size="2",
                      on_click=S.add_level, data_testid="level-add"),
        ),
    )


def _coupon() -> rx.Component:
    return _section(
        "Offer",
        _text_field("Offer", "offer", hint="The one-time first-visit offer"),
        rx.vstack(
            _label("Linked loyalty card", "template-linked-template-id"),
            rx.el.select(
                rx.el.option("None", value=""),
                rx.foreach(S.link_options, lambda o: rx.el.option(o.name, value=o.id)),
                id="template-linked-template-id", name="linked_template_id",
                default_value=S.values.get("linked_template_id", ""), style=SELECT_STYLE,
            ),
            _hint("After redemption the coupon converts into this card."),
            spacing="1", width="100%",
        ),
    )


def _membership() -> rx.Component:
    return rx.fragment(
        _section(
            "Membership",
            _grid(
                _select("Membership mode", "membership_mode", tf.MEMBERSHIP_MODES, controlled=True),
                _select("Period", "period", tf.PERIODS),
                _text_field("Free trial (days)", "trial_days", hint="0 to 30", mode="numeric"),
                _text_field("Limit unit name", "unit_name", hint="e.g. visits"),
            ),
            _checkbox("Auto-renewal", "auto_renew"),
        ),
        rx.cond(
            S.values.get("membership_mode", "") != "v1",
            _tiers("Membership tiers", "Price per period (e.g. 35.00) and visit limit per period (empty: unlimited).",
                   _membership_tier),
        ),
    )


def _type_settings() -> rx.Component:
    return rx.match(
        S.edit_type,
        ("stamp", _stamp()),
        ("multipass", _multipass()),
        ("cashback", _cashback()),
        ("gift", _gift()),
        ("reward", _reward()),
        ("coupon", _coupon()),
        ("membership", _membership()),
        ("discount", _discount()),
        rx.fragment(),
    )


def edit_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.text.span("Edit "), S.edit_type_label, rx.text.span(" template")),
            rx.form(
                rx.vstack(
                    rx.cond(S.form_error != "",
                            rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                       data_testid="form-error", role="alert", width="100%")),
                    rx.cond(S.locked,
                            rx.callout("This template already has cards: its card type, expiration and the "
                                       "settings marked with a lock can no longer change.",
                                       icon="lock", color_scheme="amber", width="100%",
                                       data_testid="template-locked-note")),
                    rx.vstack(
                        _label("Template name", "template-name"),
                        rx.input(id="template-name", name="name", default_value=S.edit_name, size="3", width="100%",
                                 data_testid="template-name"),
                        spacing="1", width="100%",
                    ),
                    rx.text(rx.text.span("Card type: "), rx.text.span(S.edit_type_label, data_testid="template-type"),
                            size="2", color_scheme="gray"),
                    _type_settings(),
                    _expiration(),
                    _referral(),
                    issuing_section(S.editing_id, S.locked_fields.contains("issuing_form")),
                    rx.flex(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray", size="3")),
                        rx.button("Save", type="submit", size="3", loading=S.saving, data_testid="template-save"),
                        gap="3", justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=S.save,
                no_validate=True,
                reset_on_submit=False,
            ),
            max_width="720px",
            aria_describedby=None,
            data_testid="template-editor",
            data_card_type=S.edit_type,
            data_locked=rx.cond(S.locked, "true", "false"),
        ),
        open=S.edit_open,
        on_open_change=S.set_edit_open,
    )


def create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New card template"),
            rx.form(
                rx.vstack(
                    rx.cond(S.create_error != "",
                            rx.callout(S.create_error, icon="triangle-alert", color_scheme="red",
                                       data_testid="form-error", role="alert", width="100%")),
                    rx.vstack(
                        _label("Card type", "new-template-type"),
                        rx.el.select(*[rx.el.option(label, value=value) for value, label in TYPE_OPTIONS],
                                     id="new-template-type", name="card_type", value=S.create_type,
                                     on_change=S.set_create_type, style=SELECT_STYLE),
                        spacing="1", width="100%",
                    ),
                    rx.vstack(
                        _label("Template name", "new-template-name"),
                        rx.input(id="new-template-name", name="name", size="3", width="100%"),
                        spacing="1", width="100%",
                    ),
                    rx.flex(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray", size="3")),
                        rx.button("Create", type="submit", size="3", data_testid="template-create-confirm"),
                        gap="3", justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=S.create,
                no_validate=True,
                reset_on_submit=False,
            ),
            max_width="440px",
            aria_describedby=None,
            data_testid="template-create-dialog",
        ),
        open=S.create_open,
        on_open_change=S.set_create_open,
    )


def _template_row(row: TemplateRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium"), data_testid="template-row-name"),
        rx.table.cell(row.type_label, data_testid="template-row-type"),
        rx.table.cell(row.issued, data_testid="template-row-issued"),
        rx.table.cell(
            rx.badge(
                rx.cond(row.status == "Locked", rx.icon("lock", size=12)),
                row.status,
                color_scheme=rx.match(row.status, *STATUS_COLORS.items(), "gray"),
                data_testid="template-status",
            )
        ),
        rx.table.cell(join_cell(row.id)),
        rx.table.cell(
            rx.button(rx.icon("pencil", size=14), "Edit", variant="soft", size="2",
                      on_click=S.open_edit(row.id), data_testid="template-edit")
        ),
        data_testid="template-row",
        data_template_id=row.id,
        data_card_type=row.card_type,
        data_locked=rx.cond(row.status == "Locked", "true", "false"),
    )


def template_list() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                           ["Name", "Type", "Issued cards", "Status", "Join link", ""]])),
            rx.table.body(rx.foreach(S.templates, _template_row)),
            width="100%",
            data_testid="template-list",
        ),
        overflow_x="auto",
        width="100%",
    )
