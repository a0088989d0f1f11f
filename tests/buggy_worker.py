"""`supportflow worker` with a deliberate bug in the interpreter, for tests/test_long_runs.py.

The bug is in workflow code (a passed-through class the sandbox shares): advancing past an action
step raises, as a real bug in the step after a long wait would. Only this test process has it; the
fixed worker is the plain `supportflow worker`.
"""

from __future__ import annotations

from typing import Any

from cli.main import app
from definitions.cursor import StepCursor

#: The log line the test looks for in the failure's message.
BUG = "injected bug: the step after an action"

_after = StepCursor.after


def _buggy_after(self: StepCursor, position: Any, *args: Any, **kwargs: Any) -> Any:
    if self.step_at(position).type == "action":
        raise RuntimeError(BUG)
    return _after(self, position, *args, **kwargs)


if __name__ == "__main__":
    StepCursor.after = _buggy_after  # type: ignore[method-assign]
    app(["worker"], prog_name="supportflow")
