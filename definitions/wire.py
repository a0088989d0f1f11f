"""Strict when saved, lenient on the wire: one set of models, two ways of reading them.

A definition, an event or a run input is checked in full when it enters supportflow (the API,
ingestion). What a workflow or an activity decodes from Temporal was checked then, possibly by
another version of the code: a run waiting 30 days replays under today's validators, and during a
rolling deploy the API may be newer than a worker. Refusing such a payload would fail the run
(TEMPORAL.md "Decoding must not fail a run"), so payloads decoded from Temporal are validated with
the context `WIRE` (`temporal_edge`'s data converter), under which:

- unknown fields are dropped (`Strict` models forbid them otherwise);
- the save-time checks that read a catalogue or a limit (known fields, operators, patterns, the
  definition's size and consistency, the longest wait) are skipped: validators ask `on_the_wire`.

The types and Field constraints (lengths, counts, patterns) still apply: loosening them is safe,
tightening one can break runs in flight (see README §Operating it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

#: The validation context of every payload decoded from Temporal.
WIRE: dict[str, Any] = {"supportflow_wire": True}


def on_the_wire(info: ValidationInfo) -> bool:
    """True when validating a payload decoded from Temporal (context `WIRE`)."""
    context = info.context
    return isinstance(context, dict) and context.get("supportflow_wire") is True


class Strict(BaseModel):
    """Forbids unknown fields when saved; drops them on the wire."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _wire_drops_unknown(cls, raw: Any, info: ValidationInfo) -> Any:
        if not isinstance(raw, dict) or not on_the_wire(info):
            return raw
        known = set(cls.model_fields)
        known.update(f.alias for f in cls.model_fields.values() if f.alias)
        if raw.keys() <= known:
            return raw
        return {key: value for key, value in raw.items() if key in known}
