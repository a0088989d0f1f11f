"""/templates: the built-in gallery (placeholder until definitions.gallery lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/templates", tags=["templates"])
