"""The image our users build (`docker compose up --build`): Docker does not run here, so the test
builds the same wheel from exactly what the Dockerfile copies and imports every package from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copied_sources() -> list[str]:
    """The sources of the Dockerfile's COPY lines (globs as written)."""
    sources: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        match = re.match(r"COPY\s+(.+)\s+\S+$", line.strip())
        if match:
            sources += match.group(1).split()
    return sources


def test_the_image_copies_every_package_it_installs(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for source in copied_sources():
        for path in ROOT.glob(source):
            if path.is_dir():
                shutil.copytree(
                    path, context / path.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(path, context / path.name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(context),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("supportflow-*.whl")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for package in packages:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "definitions/templates/" in " ".join(names)
