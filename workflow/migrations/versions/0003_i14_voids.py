"""Voidable records: infusions, assessments and measurements can be voided, not deleted.

A voided record keeps its row with ``voided_at``, ``voided_by`` and ``void_reason``;
one live infusion a day (a voided day may be entered again).

Revision ID: 0003_i14_voids
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflow.models import UTCDateTime

revision: str = "0003_i14_voids"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("infusions", "assessments", "measurements")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("voided_at", UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("voided_by", sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_infusions_course_id", type_="unique")
        batch_op.create_index(
            "uq_infusions_live_course_date",
            ["course_id", "date"],
            unique=True,
            sqlite_where=sa.text("voided_at IS NULL"),
            postgresql_where=sa.text("voided_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.drop_index("uq_infusions_live_course_date")
        batch_op.create_unique_constraint("uq_infusions_course_id", ["course_id", "date"])
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("void_reason")
            batch_op.drop_column("voided_by")
            batch_op.drop_column("voided_at")
