"""FHIR import: the Observations already imported (``ivig fhir import`` is idempotent).

Revision ID: 0020_i16_fhir_imports
Revises: 0013_i13_outbox
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflow.models import UTCDateTime

revision: str = "0020_i16_fhir_imports"
down_revision: str | Sequence[str] | None = "0013_i13_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("measurement_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_imported_observations_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["measurements.id"],
            name=op.f("fk_imported_observations_measurement_id_measurements"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_imported_observations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_observations")),
        sa.UniqueConstraint("source_id", name=op.f("uq_imported_observations_source_id")),
    )
    op.create_index(
        op.f("ix_imported_observations_patient_id"),
        "imported_observations",
        ["patient_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_imported_observations_patient_id"), table_name="imported_observations")
    op.drop_table("imported_observations")
