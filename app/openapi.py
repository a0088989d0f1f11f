"""OpenAPI generation fix for the nested tagged unions of the language.

A step is tagged by `type`, and an action step again by `action`. pydantic puts the inner union's
whole schema (not a `$ref` string) into the outer discriminator's `mapping`, which is invalid
OpenAPI and makes FastAPI fail to build `/openapi.json`. This generator drops the `discriminator`
hint of such a union (its `oneOf` stays, and the inner union keeps its own valid discriminator).
"""

from __future__ import annotations

from typing import Any

from fastapi._compat import v2 as _fastapi_v2
from pydantic_core import core_schema

_Base: Any = _fastapi_v2.GenerateJsonSchema


class GenerateJsonSchema(_Base):  # type: ignore[misc]
    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> Any:
        json_schema = super().tagged_union_schema(schema)
        mapping = json_schema.get("discriminator", {}).get("mapping", {})
        if any(not isinstance(target, str) for target in mapping.values()):
            del json_schema["discriminator"]
        return json_schema


def install() -> None:
    """Make FastAPI use the generator above (idempotent)."""
    if not issubclass(_fastapi_v2.GenerateJsonSchema, GenerateJsonSchema):
        _fastapi_v2.GenerateJsonSchema = GenerateJsonSchema  # type: ignore[misc]
