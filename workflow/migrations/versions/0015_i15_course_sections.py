"""The worklist's requested-course sections read from partial indexes.

Revision ID: 0015_i15_course_sections
Revises: 0022_i11_course_safety
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_i15_course_sections"
down_revision: str | None = "0022_i11_course_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "state = 'requested' AND awaiting_information IS NULL"
AWAITING = "state = 'requested' AND awaiting_information IS NOT NULL"


def upgrade() -> None:
    for name, where in (
        ("ix_courses_requested_pending", PENDING),
        ("ix_courses_requested_awaiting", AWAITING),
    ):
        op.create_index(
            name,
            "courses",
            ["state", "requested_at", "id"],
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    op.drop_index("ix_courses_requested_awaiting", table_name="courses")
    op.drop_index("ix_courses_requested_pending", table_name="courses")
