"""who saved each workflow version, and which version a restore brought back

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: versions saved before this revision have no recorded author.
    with op.batch_alter_table("workflow_versions") as batch_op:
        batch_op.add_column(sa.Column("changed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("restored_from", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_versions") as batch_op:
        batch_op.drop_column("restored_from")
        batch_op.drop_column("changed_by")
