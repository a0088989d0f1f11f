"""The built-in template gallery: realistic definitions shipped as JSON files in `templates/`.

Each file is `{"id", "category", "title"?, "summary", "definition"}`; `definition` is a
WorkflowDefinitionIn, validated like any definition an admin saves. The files are read once (the
only I/O of this package: its own data, through importlib.resources) and served as copies, so a
caller may change what it gets without changing the gallery.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from definitions.models import WorkflowDefinitionIn

TemplateCategory = Literal["customer_service", "sales", "operations"]
TEMPLATE_CATEGORIES: tuple[str, ...] = get_args(TemplateCategory)


class Template(BaseModel):
    """A built-in template: a ready-made definition to start a draft from."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9\-]+$", examples=["vip-auto-route"]
    )
    category: TemplateCategory = Field(description="customer_service, sales or operations")
    name: str = Field(min_length=1, max_length=200, examples=["VIP Customer Auto-Route"])
    summary: str = Field(
        min_length=1, description="What it does and what to adapt, for the gallery"
    )
    definition: WorkflowDefinitionIn = Field(description="The definition a draft starts from")


class _TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    category: TemplateCategory
    title: str | None = None
    summary: str
    definition: WorkflowDefinitionIn


def list_templates(category: str | None = None) -> list[Template]:
    """Every template, or those of one category (none for an unknown category), by category
    then name."""
    return [t.model_copy(deep=True) for t in _load() if category is None or t.category == category]


def get_template(template_id: str) -> Template | None:
    """One template by id, or None."""
    for template in _load():
        if template.id == template_id:
            return template.model_copy(deep=True)
    return None


@cache
def _load() -> tuple[Template, ...]:
    folder = resources.files("definitions") / "templates"
    templates: list[Template] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            raw = _TemplateFile.model_validate(json.loads(entry.read_text(encoding="utf-8")))
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"built-in template {entry.name} is invalid: {exc}") from exc
        if entry.name != f"{raw.id}.json":
            raise ValueError(
                f"built-in template {entry.name} has id {raw.id!r}: name it {raw.id}.json"
            )
        templates.append(
            Template(
                id=raw.id,
                category=raw.category,
                name=raw.title or raw.definition.name,
                summary=raw.summary,
                definition=raw.definition,
            )
        )
    order = {category: index for index, category in enumerate(TEMPLATE_CATEGORIES)}
    templates.sort(key=lambda t: (order[t.category], t.name.casefold()))
    return tuple(templates)
