"""Creatinine clearance on measurements (``patient measure --creatinine-clearance``).

Revision ID: 0019_i12_measurement_clearance
Revises: 0018_i17_merge_heads
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_i12_measurement_clearance"
down_revision: str | Sequence[str] | None = "0018_i17_merge_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("creatinine_clearance_ml_min", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_column("creatinine_clearance_ml_min")
