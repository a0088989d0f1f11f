"""Placeholder templates: "Hi {{customer.name | default: \"there\"}}". Rendering never runs code."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from definitions.fields import describe_unknown, field_spec

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_EXPRESSION = re.compile(
    r"""^\s*(?P<path>[A-Za-z_][\w.\-]*)\s*
        (?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*)?$""",
    re.VERBOSE,
)
STEP_PREFIX = "steps."


@dataclass(frozen=True)
class Placeholder:
    path: str
    default: str | None


def parse_placeholders(template: str) -> list[Placeholder]:
    """Every placeholder of a template; ValueError names the first malformed one."""
    found = []
    for match in _PLACEHOLDER.finditer(template):
        expression = _EXPRESSION.match(match.group(1))
        if not expression:
            raise ValueError(
                f"malformed placeholder {match.group(0)!r}: write {{{{field.path}}}} or "
                '{{field.path | default: "text"}}'
            )
        default = expression.group("dq")
        if default is None:
            default = expression.group("sq")
        found.append(Placeholder(expression.group("path"), default))
    if "{{" in _PLACEHOLDER.sub("", template):
        raise ValueError("unclosed placeholder: every '{{' needs a matching '}}'")
    return found


def check_field_placeholders(template: str) -> list[Placeholder]:
    """Validate placeholders over catalogue fields; return the step-output ones for later checks."""
    step_refs = []
    for placeholder in parse_placeholders(template):
        if placeholder.path.startswith(STEP_PREFIX):
            step_refs.append(placeholder)
        elif field_spec(placeholder.path) is None:
            unknown = describe_unknown(placeholder.path)
            raise ValueError(f"unknown placeholder {{{{{placeholder.path}}}}}: {unknown}")
    return step_refs


def resolve_path(context: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path through nested mappings; None when any part is missing."""
    current: Any = context
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def render(template: str, context: Mapping[str, Any]) -> str:
    """Replace each placeholder by its value (lists joined by ", "), or its default, or ""."""

    def substitute(match: re.Match[str]) -> str:
        expression = _EXPRESSION.match(match.group(1))
        if not expression:
            return match.group(0)
        value = resolve_path(context, expression.group("path"))
        if value is None or value == "" or value == []:
            default = expression.group("dq")
            return default if default is not None else (expression.group("sq") or "")
        if isinstance(value, list):
            return ", ".join(_text(item) for item in value)
        return _text(value)

    return _PLACEHOLDER.sub(substitute, template)


def _text(value: Any) -> str:
    """How a value reads in a message: 45.0 -> "45", True -> "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
