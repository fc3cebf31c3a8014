"""Joins the two heads that landed at once (voids and self-report) into one chain.

Revision ID: 0018_i17_merge_heads
Revises: 0003_i14_voids, 0017_i17_self_report
Create Date: 2026-11-29
"""

from collections.abc import Sequence

revision: str = "0018_i17_merge_heads"
down_revision: str | Sequence[str] | None = ("0003_i14_voids", "0017_i17_self_report")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
