"""GET /conversations/{id}: the desk mirror of one conversation (SPEC §3)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.deps import CanRead, SessionDep
from app.api.params import ConversationId
from app.errors import responses
from app.schemas import ConversationPublic
from definitions.errors import NotFound
from desk.state import conversation_view

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get(
    "/{conversation_id}",
    response_model=ConversationPublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
async def read_conversation(
    *, session: SessionDep, conversation_id: ConversationId
) -> ConversationPublic:
    """The conversation as supportflow mirrors it: status, tags, assignment, messages, tickets."""
    view = await run_in_threadpool(conversation_view, session, conversation_id)
    if view is None:
        raise NotFound("conversation", conversation_id)
    return ConversationPublic.model_validate(view)
