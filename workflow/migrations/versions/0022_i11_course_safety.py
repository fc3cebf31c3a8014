"""Course safety: approval date, product lot per infusion, adverse events; the dosing
weight's reason gets room for the exemption it names.

Revision ID: 0022_i11_course_safety
Revises: 0021_i13_duties
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import workflow.models

revision: str = "0022_i11_course_safety"
down_revision: str | None = "0021_i13_duties"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_on", sa.Date(), nullable=True))
        batch_op.alter_column(
            "dosing_weight_rule",
            existing_type=sa.String(length=40),
            type_=sa.String(length=200),
            existing_nullable=False,
        )
    # Courses approved before this migration: the approval's clinical date from history.
    op.execute(
        "UPDATE courses SET approved_on = (SELECT MAX(events.clinical_date) FROM events "
        "WHERE events.course_id = courses.id AND events.trigger = 'approve')"
    )
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_infusions_lot"), ["lot"], unique=False)
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", workflow.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_adverse_events_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_events_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_events_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("adverse_events")
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_infusions_lot"))
        batch_op.drop_column("lot")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.alter_column(
            "dosing_weight_rule",
            existing_type=sa.String(length=200),
            type_=sa.String(length=40),
            existing_nullable=False,
        )
        batch_op.drop_column("approved_on")
