"""conversation inbox, attributes, last activity, fields our actions changed; customer phone;
priority may be none

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("inbox", sa.String(), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("attributes", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "conversations", sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "conversations",
        sa.Column("changed_by_actions", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("customers", sa.Column("phone", sa.String(), nullable=True))
    # SQLite cannot drop NOT NULL in place: the batch rebuilds that table.
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column("priority", existing_type=sa.VARCHAR(length=16), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column("priority", existing_type=sa.VARCHAR(length=16), nullable=False)
        batch_op.drop_column("changed_by_actions")
        batch_op.drop_column("last_activity_at")
        batch_op.drop_column("attributes")
        batch_op.drop_column("inbox")
