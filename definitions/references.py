"""The directory entries a definition names: teams, agents and its schedule.

Pure: it reads the stored JSON body (as `store.definitions_repo.dump_definition` writes it), so
steps added later (nested ones included) are covered as long as they keep the `params` shape:
`team` names a team, `agent` an agent, and escalate's `to` an agent. The store checks that they
exist (`store.references`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["team", "agent", "schedule"]
Loc = tuple[str | int, ...]

#: Params of an action that name a directory entry (escalate's `to` is an agent).
_PARAM_KINDS: dict[str, Kind] = {"team": "team", "agent": "agent"}


@dataclass(frozen=True)
class Reference:
    loc: Loc  # where in the definition, e.g. ("steps", 1, "params", "team")
    kind: Kind
    id: str
    step_id: str | None = None  # None for the definition's own `schedule` / `on_failure`

    def describe(self) -> str:
        where = f"step {self.step_id!r}" if self.step_id else "the workflow"
        return f"{where} names {self.kind} {self.id!r}, which does not exist"


def _action_refs(step: Mapping[str, Any], loc: Loc) -> Iterator[Reference]:
    params = step.get("params")
    if not isinstance(params, Mapping):
        return
    for key, value in params.items():
        kind = _PARAM_KINDS.get(key) or (
            "agent" if key == "to" and step.get("action") == "escalate" else None
        )
        if kind and isinstance(value, str) and value:
            yield Reference((*loc, "params", key), kind, value, str(step.get("id")))


def _step_refs(step: Mapping[str, Any], loc: Loc) -> Iterator[Reference]:
    if step.get("type") == "action":
        yield from _action_refs(step, loc)
    for key, value in step.items():  # nested steps (branches) wherever they are kept
        if isinstance(value, list):
            for index, child in enumerate(value):
                if isinstance(child, Mapping) and "type" in child and "id" in child:
                    yield from _step_refs(child, (*loc, key, index))


def references(body: Mapping[str, Any]) -> list[Reference]:
    """Every team, agent and schedule a stored definition body names, in document order."""
    found: list[Reference] = []
    for index, step in enumerate(body.get("steps") or []):
        if isinstance(step, Mapping):
            found += _step_refs(step, ("steps", index))
    schedule = body.get("schedule")
    if isinstance(schedule, str) and schedule:
        found.append(Reference(("schedule",), "schedule", schedule))
    notify = (body.get("on_failure") or {}).get("notify") or {}
    for key in ("team", "agent"):
        if isinstance(notify.get(key), str):
            found.append(Reference(("on_failure", "notify", key), key, notify[key]))  # type: ignore[arg-type]
    return found
