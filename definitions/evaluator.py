"""The pure condition evaluator: every rule's resolved value and result, for the trace."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from definitions.models import AllGroup, AnyGroup, Condition, Rule
from definitions.operators import apply_operator
from definitions.placeholders import resolve_path


class RuleOutcome(BaseModel):
    field: str
    operator: str
    expected: Any = None
    actual: Any = None
    result: bool


class ConditionOutcome(BaseModel):
    result: bool
    rules: list[RuleOutcome]


def evaluate_condition(condition: Condition, context: dict[str, Any]) -> ConditionOutcome:
    """Evaluate a rule or a nested all/any group. Every rule is evaluated (no short cut), so the
    trace shows each value even when an earlier member already decided the group."""
    rules: list[RuleOutcome] = []
    result = _evaluate(condition, context, rules)
    return ConditionOutcome(result=result, rules=rules)


def _evaluate(condition: Condition, context: dict[str, Any], out: list[RuleOutcome]) -> bool:
    if isinstance(condition, Rule):
        actual = resolve_path(context, condition.field)
        result = apply_operator(condition.operator, actual, condition.value)
        out.append(
            RuleOutcome(
                field=condition.field,
                operator=condition.operator.value,
                expected=condition.value,
                actual=actual,
                result=result,
            )
        )
        return result
    if isinstance(condition, AllGroup):
        # A list, not a generator: every member is evaluated so the trace shows all values.
        return all([_evaluate(member, context, out) for member in condition.all])  # noqa: C419
    if isinstance(condition, AnyGroup):
        return any([_evaluate(member, context, out) for member in condition.any])  # noqa: C419
    raise TypeError(f"not a condition: {condition!r}")
