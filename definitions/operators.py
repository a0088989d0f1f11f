"""Condition operators: which field types they fit, what value they need, and how they compare."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import re2

from definitions.fields import FieldSpec, FieldType
from definitions.utc import as_utc


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"
    GREATER_THAN = "greater_than"
    GREATER_OR_EQUAL = "greater_or_equal"
    LESS_THAN = "less_than"
    LESS_OR_EQUAL = "less_or_equal"
    IN = "in"
    NOT_IN = "not_in"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    CONTAINS_ANY_WORD = "contains_any_word"
    CONTAINS_NO_WORD = "contains_no_word"


Op = Operator
_PRESENCE = {Op.IS_SET, Op.IS_NOT_SET}
_MEMBERSHIP = {Op.IN, Op.NOT_IN}
_ORDER = {Op.GREATER_THAN, Op.GREATER_OR_EQUAL, Op.LESS_THAN, Op.LESS_OR_EQUAL}
_WORDS = {Op.CONTAINS_ANY_WORD, Op.CONTAINS_NO_WORD}
_TEXT = {Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.MATCHES, *_WORDS}

OPERATORS_BY_TYPE: dict[FieldType, frozenset[Operator]] = {
    FieldType.STRING: frozenset({Op.EQUALS, Op.NOT_EQUALS, *_TEXT, *_MEMBERSHIP, *_PRESENCE}),
    FieldType.NUMBER: frozenset({Op.EQUALS, Op.NOT_EQUALS, *_ORDER, *_MEMBERSHIP, *_PRESENCE}),
    FieldType.DATETIME: frozenset({Op.EQUALS, Op.NOT_EQUALS, *_ORDER, *_PRESENCE}),
    FieldType.LIST: frozenset({Op.CONTAINS, Op.NOT_CONTAINS, *_MEMBERSHIP, *_PRESENCE}),
    FieldType.ATTRIBUTE: frozenset(
        {Op.EQUALS, Op.NOT_EQUALS, *_TEXT, *_ORDER, *_MEMBERSHIP, *_PRESENCE}
    ),
}


def check_operator(spec: FieldSpec, operator: Operator) -> None:
    allowed = OPERATORS_BY_TYPE[spec.type]
    if operator not in allowed:
        raise ValueError(
            f"operator {operator.value!r} does not fit field {spec.path!r} ({spec.type.value}); "
            f"use one of: {', '.join(sorted(o.value for o in allowed))}"
        )


def normalise_value(spec: FieldSpec, operator: Operator, value: Any) -> Any:
    """Check a rule's value against the field and operator; return it in canonical form."""
    if operator in _PRESENCE:
        if value is not None:
            raise ValueError(f"operator {operator.value!r} takes no value")
        return None
    if value is None:
        raise ValueError(f"operator {operator.value!r} needs a value to compare {spec.path!r} with")
    if operator in _MEMBERSHIP:
        if not isinstance(value, list) or not value:
            raise ValueError(f"operator {operator.value!r} needs a non-empty list of values")
        return [_scalar(spec, operator, item) for item in value]
    if operator is Op.MATCHES:
        if not isinstance(value, str):
            raise ValueError("operator 'matches' needs a regular expression string")
        check_regex(value)
        return value
    if operator in _WORDS:
        return _word_list(operator, value)
    return _scalar(spec, operator, value)


def _word_list(operator: Operator, value: Any) -> list[str]:
    """Words or phrases: a non-empty list of texts, each with at least one word in it."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"operator {operator.value!r} needs a non-empty list of words or phrases")
    for item in value:
        if not isinstance(item, str) or not _words_of(item):
            raise ValueError(
                f"operator {operator.value!r}: {item!r} is not a word or phrase (it needs at least "
                "one letter or digit)"
            )
    return list(value)


def _scalar(spec: FieldSpec, operator: Operator, value: Any) -> Any:
    if spec.type is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"field {spec.path!r} is a number: the value must be a number")
        return value
    if spec.type is FieldType.DATETIME:
        if not isinstance(value, str):
            raise ValueError(f"field {spec.path!r} is a datetime: give an ISO-8601 string")
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 datetime") from None
        return value
    if spec.type is FieldType.ATTRIBUTE:
        if operator in _ORDER:
            if _orderable(value) is None:
                raise ValueError(
                    f"operator {operator.value!r} on {spec.path!r} needs a number or an "
                    "ISO-8601 datetime"
                )
            return value
        if not isinstance(value, str | int | float):
            raise ValueError(f"field {spec.path!r} needs a text, number or true/false value")
        return value
    if not isinstance(value, str):
        kind = "a list of texts" if spec.type is FieldType.LIST else "text"
        raise ValueError(f"field {spec.path!r} is {kind}: the value must be a string")
    text = value
    if spec.allowed and operator in {Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN}:
        if text.lower() not in spec.allowed:
            raise ValueError(
                f"{text!r} is not a possible value of {spec.path!r}; "
                f"use one of: {', '.join(spec.allowed)}"
            )
    return text


def check_regex(pattern: str) -> None:
    """Raise ValueError when a pattern is not valid RE2 syntax."""
    try:
        re2.compile(pattern, options=_quiet_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise ValueError(f"invalid RE2 regular expression {pattern!r}: {reason}") from None


def regex_search(pattern: str, text: str) -> bool:
    """Case-insensitive RE2 search (linear time: no catastrophic backtracking)."""
    return _compiled(pattern).search(text) is not None


# ---------------------------------------------------------------- whole words and phrases

#: A word character: a letter, a mark, a digit, or `_` (Unicode, unlike RE2's ASCII `\b`).
_WORD_CHAR = r"[\pL\pM\pN_]"
_NON_WORD = r"[^\pL\pM\pN_]"


def _words_of(phrase: str) -> list[str]:
    return [word for word in _word_splitter().split(phrase) if word]


@lru_cache(maxsize=1)
def _word_splitter() -> Any:
    return re2.compile(_NON_WORD + "+")


@lru_cache(maxsize=1024)
def _words_pattern(phrases: tuple[str, ...]) -> Any:
    """One RE2 pattern for "any of these words or phrases, whole": each phrase's words in order,
    separated by anything that is not a word character, not inside a longer word. Linear."""
    alternatives = "|".join(
        (_NON_WORD + "+").join(re2.escape(word) for word in _words_of(phrase)) for phrase in phrases
    )
    pattern = f"(?:^|{_NON_WORD})(?:{alternatives})(?:{_NON_WORD}|$)"
    return re2.compile(pattern, options=_ignore_case())


def contains_any_word(text: str, phrases: Sequence[str]) -> bool:
    """Whether `text` contains one of `phrases` as whole words (case-insensitive)."""
    return _words_pattern(tuple(phrases)).search(text) is not None


def pattern_set(patterns: Sequence[str]) -> Any | None:
    """One RE2 set searching all `patterns` at once, as `regex_search` searches each (`.Match(text)`
    gives the indices of those found); None when RE2 cannot build it (then search one by one)."""
    try:
        found = re2.Set.SearchSet(options=_ignore_case())
        for pattern in patterns:
            found.Add(pattern)
        found.Compile()
    except (re2.error, ValueError, TypeError):
        return None
    return found


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    """Patterns are compiled once per process, not once per event."""
    return re2.compile(pattern, options=_ignore_case())


def apply_operator(operator: Operator, actual: Any, expected: Any) -> bool:
    """Compare a resolved field value with a rule's value. Text comparisons ignore case."""
    if operator is Op.IS_SET:
        return not _is_empty(actual)
    if operator is Op.IS_NOT_SET:
        return _is_empty(actual)
    if actual is None:
        # A missing value only satisfies the negative operators.
        return operator in {Op.NOT_EQUALS, Op.NOT_CONTAINS, Op.NOT_IN, Op.CONTAINS_NO_WORD}
    if isinstance(actual, list):
        return _apply_list(operator, [_fold(a) for a in actual], expected)
    if operator is Op.MATCHES:
        return regex_search(str(expected), str(actual))
    if operator in _WORDS:
        hit = contains_any_word(str(actual), expected)
        return hit if operator is Op.CONTAINS_ANY_WORD else not hit
    if operator in _ORDER:
        return _apply_order(operator, actual, expected)
    if operator in _MEMBERSHIP:
        hit = any(_equal(actual, item) for item in expected)
        return hit if operator is Op.IN else not hit
    if operator is Op.EQUALS:
        return _equal(actual, expected)
    if operator is Op.NOT_EQUALS:
        return not _equal(actual, expected)
    text, needle = _fold(actual), _fold(expected)
    if operator is Op.CONTAINS:
        return needle in text
    if operator is Op.NOT_CONTAINS:
        return needle not in text
    if operator is Op.STARTS_WITH:
        return text.startswith(needle)
    if operator is Op.ENDS_WITH:
        return text.endswith(needle)
    raise ValueError(f"operator {operator!r} cannot compare {actual!r}")


def _apply_list(operator: Operator, items: Sequence[str], expected: Any) -> bool:
    if operator is Op.CONTAINS:
        return _fold(expected) in items
    if operator is Op.NOT_CONTAINS:
        return _fold(expected) not in items
    if operator in _MEMBERSHIP:
        hit = any(_fold(e) in items for e in expected)
        return hit if operator is Op.IN else not hit
    raise ValueError(f"operator {operator.value!r} does not apply to a list")


def _apply_order(operator: Operator, actual: Any, expected: Any) -> bool:
    left, right = _orderable(actual), _orderable(expected)
    if isinstance(left, float) and isinstance(right, float):
        return _compare(operator, left, right)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return _compare(operator, left, right)
    return False


def _compare(operator: Operator, left: Any, right: Any) -> bool:
    if operator is Op.GREATER_THAN:
        return bool(left > right)
    if operator is Op.GREATER_OR_EQUAL:
        return bool(left >= right)
    if operator is Op.LESS_THAN:
        return bool(left < right)
    return bool(left <= right)


def _orderable(value: Any) -> float | datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return as_utc(value)  # naive ones are UTC, so any two datetimes compare
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) or _is_number(expected):
        left, right = _orderable(actual), _orderable(expected)
        return isinstance(left, float) and isinstance(right, float) and left == right
    if _fold(actual) == _fold(expected):
        return True
    # The same instant written two ways ("...Z" and "...+00:00") is equal.
    left, right = _orderable(actual), _orderable(expected)
    return isinstance(left, datetime) and isinstance(right, datetime) and left == right


def _fold(value: Any) -> str:
    return str(value).casefold()


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _quiet_options() -> Any:
    options = re2.Options()
    options.log_errors = False
    return options


def _ignore_case() -> Any:
    options = _quiet_options()
    options.case_sensitive = False
    return options
