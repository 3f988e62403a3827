"""segments and rfm: customer_rfm, the merchant's RFM settings, filter indexes, segment names

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('customer_rfm',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary_cents', sa.Integer(), nullable=False),
    sa.Column('r', sa.Integer(), nullable=True),
    sa.Column('f', sa.Integer(), nullable=True),
    sa.Column('m', sa.Integer(), nullable=True),
    sa.Column('fm', sa.Integer(), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], ),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('customer_rfm', schema=None) as batch_op:
        batch_op.create_index('ix_customer_rfm_merchant_segment', ['merchant_id', 'segment', 'customer_id'], unique=False)

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.create_index('ix_card_merchant_device_customer', ['merchant_id', 'device', 'customer_id'], unique=False)
        batch_op.create_index('ix_card_merchant_expires_customer', ['merchant_id', 'expires_on', 'customer_id'], unique=False)
        batch_op.create_index('ix_card_merchant_status_expires_customer', ['merchant_id', 'status', 'expires_on', 'customer_id'], unique=False)
        batch_op.create_index('ix_card_merchant_template_customer', ['merchant_id', 'template_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_card_merchant_activity_customer', ['merchant_id', 'last_activity_at', 'customer_id'], unique=False)
        # Foreign keys without an index made every deleted row scan the referencing table.
        batch_op.create_index('ix_card_referred_by_card_id', ['referred_by_card_id'], unique=False)

    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        # The new index starts with the old one's columns: it serves its queries too.
        batch_op.drop_index('ix_card_transaction_merchant_created')
        batch_op.create_index('ix_card_transaction_correction_of_id', ['correction_of_id'], unique=False)
        batch_op.create_index('ix_card_transaction_merchant_created_customer', ['merchant_id', 'created_at', 'customer_id', 'kind'], unique=False)

    with op.batch_alter_table('import_change', schema=None) as batch_op:
        batch_op.create_index('ix_import_change_card_id', ['card_id'], unique=False)

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rfm_window_days', sa.Integer(), server_default='365', nullable=False))
        batch_op.add_column(sa.Column('rfm_new_customer_days', sa.Integer(), server_default='30', nullable=False))

    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.text('CURRENT_TIMESTAMP')))
        batch_op.create_unique_constraint('uq_segment_merchant_name', ['merchant_id', 'name'])



def downgrade() -> None:
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_segment_merchant_name', type_='unique')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('import_change', schema=None) as batch_op:
        batch_op.drop_index('ix_import_change_card_id')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('rfm_new_customer_days')
        batch_op.drop_column('rfm_window_days')

    with op.batch_alter_table('card_transaction', schema=None) as batch_op:
        batch_op.drop_index('ix_card_transaction_merchant_created_customer')
        batch_op.drop_index('ix_card_transaction_correction_of_id')
        batch_op.create_index('ix_card_transaction_merchant_created', ['merchant_id', 'created_at'], unique=False)

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index('ix_card_merchant_template_customer')
        batch_op.drop_index('ix_card_merchant_activity_customer')
        batch_op.drop_index('ix_card_referred_by_card_id')
        batch_op.drop_index('ix_card_merchant_status_expires_customer')
        batch_op.drop_index('ix_card_merchant_expires_customer')
        batch_op.drop_index('ix_card_merchant_device_customer')

    with op.batch_alter_table('customer_rfm', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_rfm_merchant_segment')

    op.drop_table('customer_rfm')
