"""Courses listed by state, newest first, through one index; flagged courses indexed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_courses_state_requested_at", ["state", "requested_at"], unique=False
        )
        batch_op.create_index(
            "ix_courses_suspected_relapse",
            ["requested_at"],
            unique=False,
            sqlite_where=sa.text("suspected_relapse IS NOT NULL"),
            postgresql_where=sa.text("suspected_relapse IS NOT NULL"),
        )
        batch_op.drop_index("ix_courses_state")


def downgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index("ix_courses_state", ["state"], unique=False)
        batch_op.drop_index("ix_courses_suspected_relapse")
        batch_op.drop_index("ix_courses_state_requested_at")
