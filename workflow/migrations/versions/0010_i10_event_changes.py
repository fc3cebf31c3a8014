"""History rows keep the old and new values of a correction (``patient update``).

Revision ID: 0010_i10_event_changes
Revises: 0020_i16_fhir_imports
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_i10_event_changes"
down_revision: str | Sequence[str] | None = "0020_i16_fhir_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("changes")
