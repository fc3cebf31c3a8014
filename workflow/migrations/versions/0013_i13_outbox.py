"""The reminders table becomes the general outbox: messages with their own id, not only
follow-up reminders (a nullable follow-up, the course and patient they are about).

Existing rows keep their meaning: each gets the message id its follow-up and kind
give (``followup-<id>-<kind>``), and its follow-up's course and patient.

Revision ID: 0013_i13_outbox
Revises: 0019_i12_measurement_clearance
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_i13_outbox"
down_revision: str | None = "0019_i12_measurement_clearance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("course_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE reminders SET message_id = 'followup-' || CAST(followup_id AS VARCHAR(20))"
        " || '-' || kind,"
        " course_id = (SELECT f.course_id FROM followups f WHERE f.id = reminders.followup_id),"
        " patient_id = (SELECT f.patient_id FROM followups f WHERE f.id = reminders.followup_id)"
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("message_id", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("followup_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=20), type_=sa.String(length=30)
        )
        batch_op.drop_constraint("uq_reminders_followup_channel", type_="unique")
        batch_op.create_unique_constraint("uq_reminders_message_channel", ["message_id", "channel"])
        batch_op.create_index("ix_reminders_followup", ["followup_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_reminders_course_id_courses"), "courses", ["course_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reminders_patient_id_patients"), "patients", ["patient_id"], ["id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM reminders WHERE followup_id IS NULL")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reminders_patient_id_patients"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_reminders_course_id_courses"), type_="foreignkey")
        batch_op.drop_index("ix_reminders_followup")
        batch_op.drop_constraint("uq_reminders_message_channel", type_="unique")
        batch_op.create_unique_constraint(
            "uq_reminders_followup_channel", ["followup_id", "channel", "kind"]
        )
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=30), type_=sa.String(length=20)
        )
        batch_op.alter_column("followup_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("patient_id")
        batch_op.drop_column("course_id")
        batch_op.drop_column("message_id")
