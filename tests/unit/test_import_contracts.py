"""The import contracts of pyproject.toml ([tool.importlinter]) hold for the whole tree.

The library knows no service, command line or benchmark; the services never import
each other; the command line sits on the services. import-linter reads the real
import graph, so a stray import anywhere fails this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([linter, "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
