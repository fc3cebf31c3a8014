"""Sessions and hostile input: a signing key per database, sign-in throttling, and
MRNs matched without regard to case (``patients.mrn_key``).

Existing patients get ``mrn_key`` = their MRN in lower case. Where two existing MRNs
differ only by case (``P001`` and ``p001``), the older patient keeps the plain key
(any spelling finds it) and the later one's key gets ``#<id>``, so the upgrade
succeeds, nothing is lost, and the pair can be reviewed (docs/decisions.md).

Revision ID: 0023_i13_sessions
Revises: 0015_i15_course_sections
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import workflow.models

revision: str = "0023_i13_sessions"
down_revision: str | None = "0015_i15_course_sections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", workflow.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mrn_key", sa.String(length=80), nullable=True))
    op.execute(
        "UPDATE patients SET mrn_key = CASE WHEN EXISTS (SELECT 1 FROM patients p"
        " WHERE LOWER(p.mrn) = LOWER(patients.mrn) AND p.id < patients.id)"
        " THEN LOWER(mrn) || '#' || CAST(id AS VARCHAR(20)) ELSE LOWER(mrn) END"
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.alter_column("mrn_key", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_patients_mrn_key"), ["mrn_key"])


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_patients_mrn_key"), type_="unique")
        batch_op.drop_column("mrn_key")
    op.drop_table("sign_in_throttle")
    op.drop_table("app_secrets")
