"""A one-line summary of what changed between two stored versions of a definition.

Pure: it compares the two JSON bodies (as `store.definitions_repo.dump_definition` writes them),
so the history never needs a stored diff and old versions get a summary too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Body = Mapping[str, Any]


def _quote(text: object) -> str:
    return f"'{text}'"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _steps_summary(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    old = {step.get("id"): step for step in before}
    new = {step.get("id"): step for step in after}
    added = [sid for sid in new if sid not in old]
    removed = [sid for sid in old if sid not in new]
    changed = [sid for sid in new if sid in old and new[sid] != old[sid]]
    parts: list[str] = []
    for ids, verb in ((added, "added"), (removed, "removed"), (changed, "changed")):
        if len(ids) == 1:
            parts.append(f"step {_quote(ids[0])} {verb}")
        elif ids:
            parts.append(f"{_count(len(ids), 'step')} {verb}")
    kept_old = [sid for sid in old if sid in new]
    kept_new = [sid for sid in new if sid in old]
    if kept_old != kept_new:
        parts.append("steps reordered")
    return parts


def _trigger_summary(before: Body, after: Body) -> list[str]:
    if before == after:
        return []
    if before.get("type") != after.get("type"):
        return [f"trigger {before.get('type')} → {after.get('type')}"]
    return ["trigger options changed"]


def _optional(key: str, before: Body, after: Body) -> list[str]:
    old, new = before.get(key), after.get(key)
    if old == new:
        return []
    if old is None:
        return [f"{key} set" + (f" to {_quote(new)}" if isinstance(new, str) else "")]
    if new is None:
        return [f"{key} removed"]
    return [f"{key} {_quote(old)} → {_quote(new)}" if isinstance(new, str) else f"{key} changed"]


def summarize_change(before: Body | None, after: Body, *, restored_from: int | None = None) -> str:
    """E.g. "created", "status draft → active", "step 'route' changed; 2 steps added",
    "restored version 2: name 'A' → 'B'"."""
    prefix = f"restored version {restored_from}" if restored_from is not None else ""
    if before is None:
        return prefix or "created"
    parts: list[str] = []
    if before.get("status") != after.get("status"):
        parts.append(f"status {before.get('status')} → {after.get('status')}")
    if before.get("name") != after.get("name"):
        parts.append(f"renamed {_quote(before.get('name'))} → {_quote(after.get('name'))}")
    if before.get("description", "") != after.get("description", ""):
        parts.append("description changed")
    parts += _trigger_summary(before.get("trigger") or {}, after.get("trigger") or {})
    parts += _steps_summary(list(before.get("steps") or []), list(after.get("steps") or []))
    parts += _optional("schedule", before, after)
    parts += _optional("on_failure", before, after)
    text = "; ".join(parts) or "no change"
    return f"{prefix}: {text}" if prefix else text
