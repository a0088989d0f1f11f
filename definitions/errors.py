"""Validation errors at an exact location, for rules that span several fields."""

from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def reject_at(
    loc: tuple[str | int, ...], message: str, value: Any, *, title: str, kind: str = "invalid"
) -> NoReturn:
    """Fail validation at `loc` (relative to the model being validated), so the API's 422 names
    the offending field rather than the whole body."""
    error = PydanticCustomError(kind, "{message}", {"message": message})
    raise ValidationError.from_exception_data(
        title, [InitErrorDetails(type=error, loc=loc, input=value)]
    )
