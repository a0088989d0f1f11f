"""supportflow's data converter: pydantic JSON, decoded leniently (`definitions.wire`).

Every payload decoded from Temporal (workflow and activity inputs, results, signals, queries,
histories replayed) is validated with the context `WIRE`: unknown fields are dropped and the
save-time checks are skipped, so a payload written by a newer API, or a definition saved under
older rules, never fails a run. Encoding is the SDK's pydantic converter, unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

import temporalio.api.common.v1
from pydantic import TypeAdapter
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from definitions.wire import WIRE


@functools.lru_cache(maxsize=1024)
def _adapter(type_hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_hint)


class WireJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    """The SDK's pydantic JSON converter, validating with the context `WIRE`."""

    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        hint: Any = type_hint if type_hint is not None else Any
        try:
            adapter = _adapter(hint)
        except TypeError:  # an unhashable hint: no cache
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data, context=WIRE)


class WirePayloadConverter(CompositePayloadConverter):
    """The SDK's default converters with JSON replaced by `WireJSONPayloadConverter`."""

    def __init__(self) -> None:
        json_converter = WireJSONPayloadConverter()
        super().__init__(
            *(
                json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


#: The data converter of every client and replayer of supportflow.
data_converter = DataConverter(payload_converter_class=WirePayloadConverter)
