"""/templates: the built-in gallery (definitions.gallery) — browse, preview, start a draft."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import CanRead, CanWrite, PrincipalDep, SessionDep
from app.api.params import TemplateId
from app.api.routes.workflows import with_warnings
from app.errors import responses
from app.schemas import TemplateCard, TemplatesPublic, TemplateUse, WorkflowPublic
from definitions.errors import NotFound
from definitions.gallery import Template, TemplateCategory, get_template, list_templates
from store import definitions_repo

router = APIRouter(prefix="/templates", tags=["templates"])


def _template(template_id: TemplateId) -> Template:
    template = get_template(template_id)
    if template is None:
        raise NotFound("template", template_id)
    return template


@router.get(
    "", response_model=TemplatesPublic, dependencies=[CanRead], responses=responses(401, 403, 422)
)
def list_gallery(
    *,
    category: Annotated[
        TemplateCategory | None, Query(description="customer_service, sales or operations")
    ] = None,
) -> TemplatesPublic:
    """Browse the built-in templates, optionally of one category."""
    templates = list_templates(category)
    return TemplatesPublic(
        data=[TemplateCard.from_template(t) for t in templates], count=len(templates)
    )


@router.get(
    "/{template_id}",
    response_model=Template,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
def read_template(*, template_id: TemplateId) -> Template:
    """Preview one template with its full definition."""
    return _template(template_id)


@router.post(
    "/{template_id}/use",
    response_model=WorkflowPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 422),
)
async def use_template(
    *,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    template_id: TemplateId,
    use: Annotated[TemplateUse | None, Body(description="Optional overrides")] = None,
) -> WorkflowPublic:
    """Create a draft workflow from a template."""
    template = _template(template_id)
    changes: dict[str, str] = {"status": "draft"}
    if use is not None and use.name is not None:
        changes["name"] = use.name
    draft = template.definition.model_copy(update=changes)
    definition = type(template.definition).model_validate(definitions_repo.dump_definition(draft))
    row = await run_in_threadpool(
        lambda: definitions_repo.create(session, definition, changed_by=principal.actor)
    )
    response.headers["Location"] = f"/workflows/{row.id}"
    response.headers["ETag"] = f'"{row.version}"'
    return await with_warnings(session, WorkflowPublic.from_row(row, 0), row)
