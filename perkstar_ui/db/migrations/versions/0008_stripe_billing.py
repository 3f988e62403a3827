"""stripe billing: merchant Stripe secrets (encrypted) and webhook token, card subscription
links and cache (status, period end, watermark), stripe_event outcome/error/retries/links

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:46:45
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_subscription_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('stripe_customer_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('subscription_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('subscription_period_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('stripe_watermark', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_card_stripe_customer', ['stripe_customer_id'], unique=False)
        batch_op.create_index('ix_card_stripe_subscription', ['stripe_subscription_id'], unique=False)

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_secret_key_enc', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('stripe_webhook_secret_enc', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('stripe_webhook_token', sqlmodel.sql.sqltypes.AutoString(length=43), nullable=True))
        batch_op.create_unique_constraint('uq_merchant_stripe_webhook_token', ['stripe_webhook_token'])

    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subscription_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_stripe_event_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_stripe_event_outcome_next_attempt', ['outcome', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_stripe_event_subscription', ['subscription_id'], unique=False)
        batch_op.create_foreign_key('fk_stripe_event_card_id', 'card', ['card_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_stripe_event_card_id', type_='foreignkey')
        batch_op.drop_index('ix_stripe_event_subscription')
        batch_op.drop_index('ix_stripe_event_outcome_next_attempt')
        batch_op.drop_index('ix_stripe_event_customer')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('error')
        batch_op.drop_column('outcome')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('subscription_id')
        batch_op.drop_column('card_id')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_constraint('uq_merchant_stripe_webhook_token', type_='unique')
        batch_op.drop_column('stripe_webhook_token')
        batch_op.drop_column('stripe_webhook_secret_enc')
        batch_op.drop_column('stripe_secret_key_enc')

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index('ix_card_stripe_subscription')
        batch_op.drop_index('ix_card_stripe_customer')
        batch_op.drop_column('stripe_watermark')
        batch_op.drop_column('subscription_period_end')
        batch_op.drop_column('subscription_status')
        batch_op.drop_column('stripe_customer_id')
        batch_op.drop_column('stripe_subscription_id')
