"""join and restore (issue 14): a public join code per card template, sign-up limits and
"verify contact for bonus" per merchant, held bonuses on cards, confirmation codes;
referral programs that paid on installation by the old form's default pay on the first visit
(each active program so changed gets an audit entry, template-update, for its merchant to
see). The downgrade takes ``issuing_form`` out of template settings (older code refuses
unknown settings keys); the triggers stay on the first visit.

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 09:40:00
"""
import datetime as dt
import json
import secrets
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0012'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# domain.serials.ALPHABET, copied: a migration must not change when the app does.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def _code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


_TRIGGER_CHANGE = "referral trigger install→first visit (migration)"


def _templates() -> sa.TableClause:
    return sa.table('card_template', sa.column('id', sa.Integer), sa.column('merchant_id', sa.Integer),
                    sa.column('name', sa.String), sa.column('join_code', sa.String), sa.column('settings', sa.JSON))


def upgrade() -> None:
    op.create_table('contact_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['card_template.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_code', schema=None) as batch_op:
        batch_op.create_index('ix_contact_code_merchant_customer', ['merchant_id', 'customer_id', 'purpose'], unique=False)

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signup_ip_per_hour', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('signup_code_per_day', sa.Integer(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('signup_template_per_day', sa.Integer(), server_default='200', nullable=False))
        batch_op.add_column(sa.Column('verify_contact_for_bonus', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bonus_hold', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('card_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    connection = op.get_bind()
    template = _templates()
    audit_log = sa.table('audit_log', sa.column('merchant_id', sa.Integer), sa.column('staff_user_id', sa.Integer),
                         sa.column('actor_email', sa.String), sa.column('action', sa.String),
                         sa.column('detail', sa.JSON), sa.column('created_at', sa.DateTime(timezone=True)))
    now = dt.datetime.now(dt.timezone.utc)
    rows = connection.execute(sa.select(template.c.id, template.c.merchant_id, template.c.name,
                                        template.c.settings).order_by(template.c.id)).all()
    for template_id, merchant_id, name, settings in rows:
        values = {'join_code': _code()}
        settings = json.loads(settings) if isinstance(settings, str) else dict(settings or {})
        referral = dict(settings.get('referral') or {})
        # The old form pre-selected "Card installed", which paid referral farms (issue 14):
        # no merchant can be said to have chosen it, so programs pay on the first visit.
        if referral.get('trigger', 'install') == 'install':
            referral['trigger'] = 'first_visit'
            values['settings'] = {**settings, 'referral': referral}
            if referral.get('enabled'):  # a live program's rule changed: say so in its audit log
                connection.execute(sa.insert(audit_log).values(
                    merchant_id=merchant_id, staff_user_id=None, actor_email='', action='template-update',
                    detail={'template': template_id, 'name': name, 'change': _TRIGGER_CHANGE}, created_at=now))
        connection.execute(sa.update(template).where(template.c.id == template_id).values(**values))
    with op.batch_alter_table('card_template', schema=None) as batch_op:
        batch_op.alter_column('join_code', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False)
        batch_op.create_unique_constraint('uq_card_template_join_code', ['join_code'])


def downgrade() -> None:
    connection = op.get_bind()
    template = _templates()
    for template_id, settings in connection.execute(sa.select(template.c.id, template.c.settings)).all():
        settings = json.loads(settings) if isinstance(settings, str) else dict(settings or {})
        if 'issuing_form' in settings:  # unknown to the code before 0012 (extra="forbid")
            settings.pop('issuing_form')
            connection.execute(sa.update(template).where(template.c.id == template_id).values(settings=settings))
    with op.batch_alter_table('card_template', schema=None) as batch_op:
        batch_op.drop_constraint('uq_card_template_join_code', type_='unique')
        batch_op.drop_column('join_code')
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_column('bonus_hold')
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('verify_contact_for_bonus')
        batch_op.drop_column('signup_template_per_day')
        batch_op.drop_column('signup_code_per_day')
        batch_op.drop_column('signup_ip_per_hour')
    with op.batch_alter_table('contact_code', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_code_merchant_customer')
    op.drop_table('contact_code')
