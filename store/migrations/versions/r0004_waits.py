"""waits: the journal of conversation changes and the rows of runs waiting in a wait_for

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_conversation_changes_lookup",
        "conversation_changes",
        ["conversation_id", "kind"],
        unique=False,
    )
    op.create_index(
        op.f("ix_conversation_changes_event_id"),
        "conversation_changes",
        ["event_id"],
        unique=False,
    )
    op.create_table(
        "run_waits",
        sa.Column("workflow_id", sa.String(length=400), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("to_statuses", sa.JSON(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "step_id"),
    )
    op.create_index(
        op.f("ix_run_waits_conversation_id"), "run_waits", ["conversation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_run_waits_conversation_id"), table_name="run_waits")
    op.drop_table("run_waits")
    op.drop_index(op.f("ix_conversation_changes_event_id"), table_name="conversation_changes")
    op.drop_index("ix_conversation_changes_lookup", table_name="conversation_changes")
    op.drop_table("conversation_changes")
