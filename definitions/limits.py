"""The input limits of SPEC §3.1, in one place, as constants and annotated string types.

Every limit is a pydantic constraint, so it is checked before anything is written, a 422 names the
offending field, and the OpenAPI document shows it (`maxLength`, `maxItems`, `pattern`). Strings
are printable: PostgreSQL rejects NUL in text, and no id, name or tag needs a control character;
free text (message content, templates, descriptions) may hold newlines and tabs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import Field

MAX_BODY_BYTES = 1024 * 1024  # a request body (413 above it)
MAX_TEXT = 64 * 1024  # any string
MAX_NAME = 200  # names, ids, tags
MAX_ITEMS = 200  # any list (event tags, rule values, ...)
MAX_ACTION_TAGS = 50  # tags of one add_tag action
MAX_DEFINITION_BYTES = 256 * 1024  # a definition as JSON
MAX_STEPS = 100
MAX_CONDITION_DEPTH = 5  # condition groups nested in a condition step
MAX_OFFSET = 1_000_000

# Control characters, DEL and lone surrogates (which cannot be encoded as UTF-8 for the database).
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # \t \n \r allowed
# The same rules as patterns: pydantic checks them and the OpenAPI document shows them.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _where(found: re.Match[str]) -> str:
    return f"found {found.group()!r} at position {found.start()}"


def printable_text(value: str) -> str:
    """`value` if it holds no control character but newline, carriage return and tab."""
    found = _NOT_TEXT.search(value)
    if found:
        raise ValueError(
            "must be printable: no NUL or control characters except newline and tab "
            f"({_where(found)})"
        )
    return value


#: An id, a name or a tag: one printable line of at most 200 characters.
Name = Annotated[str, Field(max_length=MAX_NAME, pattern=LINE_PATTERN)]
#: One printable line of any length up to the string limit (a subject, a run id, ...).
Line = Annotated[str, Field(max_length=MAX_TEXT, pattern=LINE_PATTERN)]
#: Free text (message content, templates, descriptions): newlines and tabs allowed.
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=TEXT_PATTERN)]


def check_value(value: Any) -> Any:
    """A rule's free-form value: at most `MAX_ITEMS` items, each string printable and within the
    string limit. Raises ValueError."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} values, got {len(items)}")
    for item in items:
        if isinstance(item, str):
            if len(item) > MAX_TEXT:
                raise ValueError(f"a value is at most {MAX_TEXT} characters")
            printable_text(item)
    return value


def too_deep_group(
    condition: Any, limit: int = MAX_CONDITION_DEPTH
) -> tuple[str | int, ...] | None:
    """The location (relative to `condition`) of the first condition group nested more than
    `limit` deep, counting `condition`'s own group as 1; None when it is shallow enough.

    Walks the raw input without recursion, so a body nested thousands deep costs nothing more
    than its size."""
    for _node, loc, depth in _groups(condition):
        if depth > limit:
            return loc
    return None


def _groups(root: Any) -> Iterator[tuple[Any, tuple[str | int, ...], int]]:
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(root, (), 1)]
    while stack:
        node, loc, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        for key in ("all", "any"):
            members = node.get(key)
            if isinstance(members, list):
                yield node, loc, depth
                stack.extend(
                    (member, (*loc, key, index), depth + 1) for index, member in enumerate(members)
                )
