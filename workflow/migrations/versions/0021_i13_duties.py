"""Separation of duties and accounts: who entered each request, who minted each API
token, a session generation per user, and an audit of account events.

Existing requests were entered by the actor of their ``request`` history row (else
their requester). Existing tokens have no known minter: they are marked
``(unknown)``, so they keep working but cannot review until their holder mints a
new one.

Revision ID: 0021_i13_duties
Revises: 0010_i10_event_changes
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import workflow.models

revision: str = "0021_i13_duties"
down_revision: str | None = "0010_i10_event_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_by", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE courses SET entered_by = COALESCE((SELECT e.actor FROM events e"
        " WHERE e.course_id = courses.id AND e.trigger = 'request'"
        " ORDER BY e.id LIMIT 1), requested_by)"
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.alter_column("entered_by", existing_type=sa.String(length=200), nullable=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_token_minted_by", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE users SET api_token_minted_by = '(unknown)' WHERE api_token_hash IS NOT NULL"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_generation", server_default=None)

    op.create_table(
        "user_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_audit")),
    )
    with op.batch_alter_table("user_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_audit_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_audit_username"))
    op.drop_table("user_audit")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
        batch_op.drop_column("api_token_minted_by")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("entered_by")
