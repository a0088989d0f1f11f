"""apply_operator over every operator and every field type, and which operators fit which type."""

import time
from typing import Any

import pytest

from definitions.fields import FieldType, field_spec
from definitions.operators import (
    OPERATORS_BY_TYPE,
    Operator,
    apply_operator,
    check_operator,
    normalise_value,
)

O = Operator  # noqa: E741

# (operator, actual, expected, result): one row per behaviour worth pinning down.
STRING_CASES: list[tuple[Operator, Any, Any, bool]] = [
    (O.EQUALS, "Ada Lovelace", "ada lovelace", True),
    (O.EQUALS, "Ada", "Bob", False),
    (O.EQUALS, "STRASSE", "straße", True),  # casefold, not just lower()
    (O.NOT_EQUALS, "Ada", "ADA", False),
    (O.NOT_EQUALS, "Ada", "Bob", True),
    (O.CONTAINS, "I want a REFUND now", "refund", True),
    (O.CONTAINS, "hello", "refund", False),
    (O.NOT_CONTAINS, "hello", "refund", True),
    (O.NOT_CONTAINS, "Refund please", "REFUND", False),
    (O.STARTS_WITH, "Refund for order 7", "refund", True),
    (O.STARTS_WITH, "My refund", "refund", False),
    (O.ENDS_WITH, "ada@Example.COM", "@example.com", True),
    (O.ENDS_WITH, "ada@example.org", "@example.com", False),
    (O.MATCHES, "Order #12345 is late", r"#\d{5}", True),
    (O.MATCHES, "ORDER LATE", r"order\s+late", True),  # case-insensitive
    (O.MATCHES, "order on time", r"^late", False),
    (O.IN, "Gold", ["silver", "gold"], True),
    (O.IN, "bronze", ["silver", "gold"], False),
    (O.NOT_IN, "bronze", ["silver", "gold"], True),
    (O.NOT_IN, "GOLD", ["silver", "gold"], False),
    (O.IS_SET, "x", None, True),
    (O.IS_SET, "", None, False),
    (O.IS_NOT_SET, "", None, True),
    (O.IS_NOT_SET, "x", None, False),
]

NUMBER_CASES: list[tuple[Operator, Any, Any, bool]] = [
    (O.EQUALS, 3, 3, True),
    (O.EQUALS, 3, 3.0, True),
    (O.EQUALS, 3.5, 3, False),
    (O.NOT_EQUALS, 3, 4, True),
    (O.NOT_EQUALS, 3, 3, False),
    (O.GREATER_THAN, 31, 30, True),
    (O.GREATER_THAN, 30, 30, False),
    (O.GREATER_OR_EQUAL, 30, 30, True),
    (O.GREATER_OR_EQUAL, 29.9, 30, False),
    (O.LESS_THAN, -0.7, -0.5, True),
    (O.LESS_THAN, -0.5, -0.5, False),
    (O.LESS_OR_EQUAL, -0.5, -0.5, True),
    (O.LESS_OR_EQUAL, 0, -0.5, False),
    (O.IN, 2, [1, 2, 3], True),
    (O.IN, 5, [1, 2, 3], False),
    (O.NOT_IN, 5, [1, 2, 3], True),
    (O.NOT_IN, 2, [1, 2, 3], False),
    (O.IS_SET, 0, None, True),  # zero is a value
    (O.IS_NOT_SET, 0, None, False),
]

DATETIME_CASES: list[tuple[Operator, Any, Any, bool]] = [
    (O.EQUALS, "2026-11-27T10:00:00Z", "2026-11-27T10:00:00+00:00", True),
    (O.EQUALS, "2026-11-27T10:00:00Z", "2026-11-27T10:00:00", True),  # no offset = UTC
    (O.EQUALS, "2026-11-27T10:00:00Z", "2026-11-27T11:00:00+01:00", True),
    (O.EQUALS, "2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z", False),
    (O.NOT_EQUALS, "2026-11-27T10:00:00Z", "2026-11-28T10:00:00Z", True),
    (O.GREATER_THAN, "2026-11-27T10:00:00Z", "2026-11-27T09:00:00", True),  # aware vs naive
    (O.GREATER_THAN, "2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z", False),
    (O.GREATER_OR_EQUAL, "2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z", True),
    (O.LESS_THAN, "2026-01-01T00:00:00Z", "2026-11-27", True),
    (O.LESS_THAN, "2027-01-01T00:00:00Z", "2026-11-27", False),
    (O.LESS_OR_EQUAL, "2026-11-27T00:00:00Z", "2026-11-27", True),
    (O.IS_SET, "2026-11-27T10:00:00Z", None, True),
    (O.IS_NOT_SET, "2026-11-27T10:00:00Z", None, False),
]

LIST_CASES: list[tuple[Operator, Any, Any, bool]] = [
    (O.CONTAINS, ["VIP", "billing"], "vip", True),
    (O.CONTAINS, ["vip-support"], "vip", False),  # a member, not a substring
    (O.NOT_CONTAINS, ["billing"], "vip", True),
    (O.NOT_CONTAINS, ["Billing"], "billing", False),
    (O.IN, ["billing", "refund"], ["REFUND", "spam"], True),  # shares a member
    (O.IN, ["billing"], ["refund", "spam"], False),
    (O.NOT_IN, ["billing"], ["refund", "spam"], True),
    (O.NOT_IN, ["billing", "spam"], ["refund", "spam"], False),
    (O.IS_SET, ["billing"], None, True),
    (O.IS_SET, [], None, False),
    (O.IS_NOT_SET, [], None, True),
]

ATTRIBUTE_CASES: list[tuple[Operator, Any, Any, bool]] = [
    (O.EQUALS, "Gold", "gold", True),
    (O.EQUALS, 1200, "1200", True),  # numbers compare as numbers
    (O.EQUALS, "1200", 1200, True),
    (O.EQUALS, True, "true", True),
    (O.NOT_EQUALS, "gold", "silver", True),
    (O.CONTAINS, "Enterprise Plus", "enterprise", True),
    (O.STARTS_WITH, "EU-West", "eu-", True),
    (O.ENDS_WITH, "acme.io", ".IO", True),
    (O.MATCHES, "ACME-42", r"^acme-\d+$", True),
    (O.GREATER_THAN, 1200, 1000, True),
    (O.GREATER_THAN, "1200", 1000, True),  # numeric text reads as a number
    (O.GREATER_THAN, "lots", 1000, False),  # not a number: no order
    (O.LESS_OR_EQUAL, 999.5, 1000, True),
    (O.LESS_THAN, "2026-01-01", "2026-06-01T00:00:00Z", True),
    (O.IN, "Gold", ["gold", "platinum"], True),
    (O.NOT_IN, 3, [1, 2], True),
    (O.IS_SET, False, None, True),  # false is a value
    (O.IS_NOT_SET, None, None, True),
]


def _ids(cases: list[tuple[Operator, Any, Any, bool]]) -> list[str]:
    return [f"{op.value}-{actual!r}-{expected!r}" for op, actual, expected, _ in cases]


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"), STRING_CASES, ids=_ids(STRING_CASES)
)
def test_string_operators(operator: Operator, actual: Any, expected: Any, result: bool) -> None:
    assert apply_operator(operator, actual, expected) is result


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"), NUMBER_CASES, ids=_ids(NUMBER_CASES)
)
def test_number_operators(operator: Operator, actual: Any, expected: Any, result: bool) -> None:
    assert apply_operator(operator, actual, expected) is result


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"), DATETIME_CASES, ids=_ids(DATETIME_CASES)
)
def test_datetime_operators(operator: Operator, actual: Any, expected: Any, result: bool) -> None:
    assert apply_operator(operator, actual, expected) is result


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"), LIST_CASES, ids=_ids(LIST_CASES)
)
def test_list_operators(operator: Operator, actual: Any, expected: Any, result: bool) -> None:
    assert apply_operator(operator, actual, expected) is result


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "result"), ATTRIBUTE_CASES, ids=_ids(ATTRIBUTE_CASES)
)
def test_custom_attribute_operators(
    operator: Operator, actual: Any, expected: Any, result: bool
) -> None:
    assert apply_operator(operator, actual, expected) is result


# A missing value (None) satisfies exactly the negative operators and is_not_set.
MISSING_EXPECTED: dict[Operator, Any] = {
    O.EQUALS: "x",
    O.NOT_EQUALS: "x",
    O.CONTAINS: "x",
    O.NOT_CONTAINS: "x",
    O.STARTS_WITH: "x",
    O.ENDS_WITH: "x",
    O.MATCHES: ".*",
    O.GREATER_THAN: 1,
    O.GREATER_OR_EQUAL: 1,
    O.LESS_THAN: 1,
    O.LESS_OR_EQUAL: 1,
    O.IN: ["x"],
    O.NOT_IN: ["x"],
    O.IS_SET: None,
    O.IS_NOT_SET: None,
    O.CONTAINS_ANY_WORD: ["x"],
    O.CONTAINS_NO_WORD: ["x"],
}
MISSING_TRUE = {O.NOT_EQUALS, O.NOT_CONTAINS, O.NOT_IN, O.IS_NOT_SET, O.CONTAINS_NO_WORD}


def test_missing_table_covers_every_operator() -> None:
    assert set(MISSING_EXPECTED) == set(Operator)


@pytest.mark.parametrize("operator", list(Operator), ids=[o.value for o in Operator])
def test_missing_value(operator: Operator) -> None:
    expected = MISSING_EXPECTED[operator]
    assert apply_operator(operator, None, expected) is (operator in MISSING_TRUE)


@pytest.mark.parametrize("empty", ["", []], ids=["empty-text", "empty-list"])
def test_empty_values_are_not_set(empty: Any) -> None:
    assert apply_operator(O.IS_NOT_SET, empty, None) is True
    assert apply_operator(O.IS_SET, empty, None) is False


# Which operators fit which field type (the save-time check).
FIELD_OF_TYPE = {
    FieldType.STRING: "customer.name",
    FieldType.NUMBER: "conversation.message_count",
    FieldType.DATETIME: "conversation.created_at",
    FieldType.LIST: "conversation.tags",
    FieldType.ATTRIBUTE: "customer.attributes.mrr",
}
FITS = {
    FieldType.STRING: {
        "equals",
        "not_equals",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "matches",
        "contains_any_word",
        "contains_no_word",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    },
    FieldType.NUMBER: {
        "equals",
        "not_equals",
        "greater_than",
        "greater_or_equal",
        "less_than",
        "less_or_equal",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    },
    FieldType.DATETIME: {
        "equals",
        "not_equals",
        "greater_than",
        "greater_or_equal",
        "less_than",
        "less_or_equal",
        "is_set",
        "is_not_set",
    },
    FieldType.LIST: {"contains", "not_contains", "in", "not_in", "is_set", "is_not_set"},
    FieldType.ATTRIBUTE: {o.value for o in Operator},
}


def test_field_of_type_table_is_complete() -> None:
    assert set(FIELD_OF_TYPE) == set(FieldType) == set(OPERATORS_BY_TYPE)
    for type_, path in FIELD_OF_TYPE.items():
        spec = field_spec(path)
        assert spec is not None and spec.type is type_


@pytest.mark.parametrize(
    ("field_type", "operator"),
    [(t, o) for t in FieldType for o in Operator],
    ids=[f"{t.value}-{o.value}" for t in FieldType for o in Operator],
)
def test_operator_fits_field_type(field_type: FieldType, operator: Operator) -> None:
    spec = field_spec(FIELD_OF_TYPE[field_type])
    assert spec is not None
    if operator.value in FITS[field_type]:
        check_operator(spec, operator)
    else:
        with pytest.raises(ValueError, match="does not fit field"):
            check_operator(spec, operator)


def test_matches_is_linear_time_on_a_pathological_pattern() -> None:
    # (a+)+$ backtracks exponentially in `re`; RE2 answers at once.
    assert apply_operator(O.MATCHES, "a" * 5000 + "!", r"(a+)+$") is False


# Whole words and phrases (Zendesk's "contains at least one / none of the following words").
WORD_CASES: list[tuple[str, list[str], bool]] = [
    ("I want a REFUND now", ["refund"], True),
    ("refunded yesterday", ["refund"], False),  # not inside a longer word
    ("prefix-refund", ["refund"], True),  # punctuation is a boundary
    ("Money-back please", ["money back"], True),  # a phrase, any separator between its words
    ("money, then back", ["money back"], False),
    ("Die Straße ist kaputt", ["straße"], True),
    ("ÉLEVÉ", ["élevé"], True),  # Unicode case folding
    ("élevéx", ["élevé"], False),  # Unicode word boundary (RE2's \b would say yes)
    ("naïve question", ["na"], False),
    ("hello", ["bye", "hello"], True),
    ("", ["x"], False),
    ("a+b (c)", ["(c)"], True),  # the words of a phrase, regex characters escaped
]


@pytest.mark.parametrize(
    ("text", "words", "hit"), WORD_CASES, ids=[c[0] or "empty" for c in WORD_CASES]
)
def test_word_operators(text: str, words: list[str], hit: bool) -> None:
    assert apply_operator(O.CONTAINS_ANY_WORD, text, words) is hit
    assert apply_operator(O.CONTAINS_NO_WORD, text, words) is (not hit)


def test_word_operators_are_linear() -> None:

    text = "a " * 200_000 + "b"
    words = [f"word{i} phrase{i}" for i in range(200)]
    started = time.perf_counter()
    assert apply_operator(O.CONTAINS_ANY_WORD, text, words) is False
    assert time.perf_counter() - started < 2.0


def test_word_operator_values_are_checked() -> None:
    spec = field_spec("message.content")
    assert spec is not None
    assert normalise_value(spec, O.CONTAINS_ANY_WORD, "refund") == ["refund"]
    for bad in ([], ["!!"], [3], None):
        with pytest.raises(ValueError):
            normalise_value(spec, O.CONTAINS_NO_WORD, bad)
