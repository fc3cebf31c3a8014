"""Patients report their own outcomes: enrolment, invitations, assessment source.

Revision ID: 0017_i17_self_report
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import workflow.models

revision: str = "0017_i17_self_report"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("self_report", sa.String(length=10), server_default="none", nullable=False)
        )
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("postal_address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("self_report_consent_on", sa.Date(), nullable=True))
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=12), server_default="clinician", nullable=False)
        )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("reminder_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", workflow.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("letter_printed_at", workflow.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", workflow.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_invitations_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"], ["followups.id"], name=op.f("fk_invitations_followup_id_followups")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_invitations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("followup_id", name=op.f("uq_invitations_followup_id")),
        sa.UniqueConstraint("reminder_token_hash", name=op.f("uq_invitations_reminder_token_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_patient_id"))
    op.drop_table("invitations")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("self_report_consent_on")
        batch_op.drop_column("postal_address")
        batch_op.drop_column("email")
        batch_op.drop_column("self_report")
