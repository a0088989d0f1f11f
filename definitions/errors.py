"""The shared errors: `NotFound` (the one not-found type of every layer) and validation errors at
an exact location, for rules that span several fields."""

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


class NotFound(LookupError):
    """No object of this kind with this id: a definition, a team, a conversation, a run, ...

    `str(exc)` is a sentence for people; `message` overrides the default when it can say more
    (e.g. how to create the missing team). The API answers 404 naming the path parameter."""

    def __init__(self, kind: str, id: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} {id!r} not found")
        self.kind = kind
        self.id = id
        self.message = str(self)
