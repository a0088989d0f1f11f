"""A custom import-linter contract: who may import a *submodule* of a third-party package.

import-linter's graph knows a third-party package only as a whole (`temporalio`), so its built-in
`forbidden` contract cannot tell `temporalio.client` from `temporalio.workflow`. This contract reads
the recorded import lines of every import of the package instead.

    [[tool.importlinter.contracts]]
    type = "external_submodule"
    submodule = "temporalio.client"
    allowed_importers = ["temporal_edge", "worker"]
"""

from __future__ import annotations

import re
from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


class ExternalSubmoduleContract(Contract):
    """Only `allowed_importers` (packages) import `submodule` of an external package directly."""

    type_name = "external_submodule"

    submodule = fields.StringField()
    allowed_importers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        del verbose
        submodule = str(self.submodule)
        package, _, name = submodule.rpartition(".")
        root = submodule.split(".")[0]
        # `import a.b`, `from a.b import X`, `from a import b`
        pattern = re.compile(
            rf"(\b{re.escape(submodule)}\b)|(from\s+{re.escape(package)}\s+import\s+.*\b{name}\b)"
        )
        allowed = [str(a) for a in self.allowed_importers]  # type: ignore[attr-defined]
        violations: list[Any] = []
        if root in graph.modules:
            for importer in sorted(graph.find_modules_that_directly_import(root)):
                if any(importer == a or importer.startswith(a + ".") for a in allowed):
                    continue
                for detail in graph.get_import_details(importer=importer, imported=root):
                    if pattern.search(detail["line_contents"]):
                        violations.append(detail)
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for detail in check.metadata["violations"]:
            output.print_error(
                f"{detail['importer']}:{detail['line_number']}: {detail['line_contents']}",
                bold=False,
            )
        output.new_line()
