"""Path and query parameters shared by the routes, with the limits of SPEC §3.1.

An id in a path or a query is a printable line of at most 200 characters (a run id, which holds an
event id, at most 500), so a NUL or a megabyte of text is a 422 naming the parameter, never a
database error. `offset` stops at 1,000,000.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from definitions.limits import LINE_PATTERN, MAX_NAME, MAX_OFFSET

MAX_RUN_ID = 500
MAX_CURSOR = 4096


def id_path(description: str, example: str, max_length: int = MAX_NAME) -> Any:
    """`Path(...)` for an id."""
    return Path(
        min_length=1,
        max_length=max_length,
        pattern=LINE_PATTERN,
        description=description,
        examples=[example],
    )


def id_query(description: str) -> Any:
    """`Query(...)` for an optional id filter."""
    return Query(min_length=1, max_length=MAX_NAME, pattern=LINE_PATTERN, description=description)


WorkflowId = Annotated[str, id_path("Workflow id", "wf_3f9a1c2b7d4e5f60")]
ConversationId = Annotated[str, id_path("Conversation id", "c-9")]
TemplateId = Annotated[str, id_path("Template id", "refund-request-ticket")]
TeamId = Annotated[str, id_path("Team id", "vip-support")]
AgentId = Annotated[str, id_path("Agent id", "ana")]
RunId = Annotated[
    str,
    id_path(
        "The run id, e.g. `run:wf_3f9a1c2b7d4e5f60:evt-123` (URL-encode it if it has a `/`)",
        "run:wf_3f9a1c2b7d4e5f60:evt-123",
        max_length=MAX_RUN_ID,
    ),
]

WorkflowFilter = Annotated[str | None, id_query("Only runs of this workflow definition")]
ConversationFilter = Annotated[str | None, id_query("Only runs for this conversation")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        pattern=r"^[A-Za-z0-9_\-]*={0,2}$",
        description="`next_cursor` of the previous page",
    ),
]
