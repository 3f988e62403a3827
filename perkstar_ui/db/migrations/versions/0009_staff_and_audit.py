"""staff and audit: staff activity and two-factor sign-in, invitations, the audit log, login
attempts by IP, tickets bound to a browser, account settings (currency, date format)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:15:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_merchant_action_created', ['merchant_id', 'action', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_log_merchant_created', ['merchant_id', 'created_at'], unique=False)

    op.create_table('staff_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['staff_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invite_merchant_id'), ['merchant_id'], unique=False)

    # A Stripe subscription's state in a ledger entry's detail outgrew 200 characters.
    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        batch_op.alter_column('detail', existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=500), existing_nullable=True)

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index('ix_login_attempt_ip_at', ['ip', 'attempted_at'], unique=False)

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), server_default='GBP', nullable=False))
        batch_op.add_column(sa.Column('date_format', sqlmodel.sql.sqltypes.AutoString(length=20), server_default='YYYY-MM-DD', nullable=False))
        batch_op.add_column(sa.Column('require_2fa_for_managers', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_secret_enc', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('recovery_code_hashes', sa.JSON(), server_default='[]', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('recovery_code_hashes')
        batch_op.drop_column('totp_enabled')
        batch_op.drop_column('totp_secret_enc')
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('active')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('require_2fa_for_managers')
        batch_op.drop_column('date_format')
        batch_op.drop_column('currency')

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_column('browser_hash')

    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        batch_op.alter_column('detail', existing_type=sqlmodel.sql.sqltypes.AutoString(length=500),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=200), existing_nullable=True)

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_ip_at')
        batch_op.drop_column('ip')

    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invite_merchant_id'))

    op.drop_table('staff_invite')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_merchant_created')
        batch_op.drop_index('ix_audit_log_merchant_action_created')

    op.drop_table('audit_log')
