"""staff invitations (issue 13 review): revoked_at, and the outbox message that carries the
link; the link is minted when the message is sent, so stored bodies hold a placeholder.
Bodies already stored lose their link: a sent one keeps working from the email it was sent
in. Per merchant and email, one open invitation stays (the app's rule from now on): the
newest, tied to the newest queued email of its role (its link minted at send); the email's
other open invitations are revoked, and every other queued invitation email (of a revoked
invitation, of another role, or of none) is skipped, "invitation no longer valid".
Downgrade: revoked invitations expire (the old code knows no revoked_at) and queued emails
holding the placeholder are skipped (the old code would mail it as it is).

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 09:30:00
"""
import datetime as dt
import re
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# services.staff_invites.LINK_SLOT, copied: a migration must not change when the app does.
_SLOT = "[invitation link]"
_LINK = re.compile(r"\S*/invite/[A-Za-z0-9_-]+")


_ROLE = re.compile(r" as (owner|manager|staff)\. Set your password")  # services.staff_invites' body
_CLOSED = "invitation no longer valid"  # domain.messages.SkipReason.INVITE_CLOSED, copied

_message = sa.table('message', sa.column('id', sa.Integer), sa.column('merchant_id', sa.Integer),
                    sa.column('customer_id', sa.Integer), sa.column('channel', sa.String),
                    sa.column('recipient', sa.String), sa.column('body', sa.String), sa.column('status', sa.String),
                    sa.column('reason', sa.String), sa.column('created_at', sa.DateTime(timezone=True)))
_invite = sa.table('staff_invite', sa.column('id', sa.Integer), sa.column('merchant_id', sa.Integer),
                   sa.column('email', sa.String), sa.column('role', sa.String),
                   sa.column('accepted_at', sa.DateTime(timezone=True)), sa.column('expires_at', sa.DateTime(timezone=True)),
                   sa.column('created_at', sa.DateTime(timezone=True)), sa.column('message_id', sa.Integer),
                   sa.column('revoked_at', sa.DateTime(timezone=True)))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _role_of(body: str) -> str | None:
    found = _ROLE.findall(body)
    return found[-1] if found else None


def upgrade() -> None:
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_invite_message_id'), ['message_id'], unique=False)
        batch_op.create_foreign_key('fk_staff_invite_message_id_message', 'message', ['message_id'], ['id'],
                                    ondelete='SET NULL')

    connection = op.get_bind()
    now = _now()
    message, invite = _message, _invite
    stored = connection.execute(
        sa.select(message.c.id, message.c.merchant_id, message.c.recipient, message.c.body, message.c.status)
        .where(message.c.customer_id.is_(None), message.c.channel == 'email', message.c.body.like('%/invite/%'))
        .order_by(message.c.created_at.desc(), message.c.id.desc())  # newest first
    ).all()
    queued: dict[tuple[int, str], list] = {}
    for row in stored:
        connection.execute(message.update().where(message.c.id == row.id).values(body=_LINK.sub(_SLOT, row.body)))
        if row.status == 'queued':
            queued.setdefault((row.merchant_id, row.recipient), []).append(row)
    open_invites = connection.execute(
        sa.select(invite.c.id, invite.c.merchant_id, invite.c.email, invite.c.role)
        .where(invite.c.accepted_at.is_(None), invite.c.expires_at > now)
        .order_by(invite.c.created_at.desc(), invite.c.id.desc())  # newest first
    ).all()
    kept: set[tuple[int, str]] = set()
    tied: set[int] = set()
    for found in open_invites:
        key = (found.merchant_id, found.email)
        if key in kept:  # an older open invitation of the email: its link dies
            connection.execute(invite.update().where(invite.c.id == found.id).values(revoked_at=now))
            continue
        kept.add(key)
        newest = next((row for row in queued.get(key, []) if _role_of(row.body) == found.role), None)
        if newest is not None:
            connection.execute(invite.update().where(invite.c.id == found.id).values(message_id=newest.id))
            tied.add(newest.id)
    untied = [row.id for rows in queued.values() for row in rows if row.id not in tied]
    if untied:
        connection.execute(message.update().where(message.c.id.in_(untied))
                           .values(status='skipped', reason=_CLOSED))


def downgrade() -> None:
    connection = op.get_bind()
    now = _now()
    # The old code knows no revoked_at: a revoked invitation must not come back to life.
    connection.execute(_invite.update().where(_invite.c.revoked_at.is_not(None), _invite.c.expires_at > now)
                       .values(expires_at=now))
    # The old code mails a stored body as it is: one holding the placeholder carries no link.
    connection.execute(_message.update().where(_message.c.status == 'queued', _message.c.customer_id.is_(None),
                                               _message.c.channel == 'email', _message.c.body.like(f'%{_SLOT}%'))
                       .values(status='skipped', reason=_CLOSED))
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.drop_constraint('fk_staff_invite_message_id_message', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_invite_message_id'))
        batch_op.drop_column('message_id')
        batch_op.drop_column('revoked_at')
