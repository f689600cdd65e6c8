"""The layers of docs/ARCHITECTURE.md (« Layers and the import contract »), checked by import-linter
with the contracts of pyproject.toml ([tool.importlinter]): the same check as ``lint-imports``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    # a fresh process: import-linter builds its graph from the files, not from what pytest imported
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
