"""Builds the tests make besides the shared fixture: one crafted row among real ones, and a copy
of the shared build marked partial (a first run's sample). One place, so no test re-implements
them."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from models.core.config import BuildSettings
from tests.conftest import SAMPLE
from tests.fake_encoders import FakeEncoder

PARTIAL = {"n_rows": 200, "n_total": 70575, "full_build_seconds": 3600}


def build_with_crafted_row(folder: Path, record: dict, *, n_real: int = 40) -> Path:
    """``n_real`` non-archived rows of the sample after one crafted row (``record``: column ->
    value, the others empty), built with the tests' encoder (no territories: not needed to show
    a dataset). Returns the artifacts root."""
    from models.pipeline.steps import STEPS, run_build

    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        archived = header.index("archived")
        rows = []
        for row in reader:
            if len(row) == len(header) and row[archived] in ("", "False", "false"):
                rows.append(row)
            if len(rows) == n_real:
                break
    rec = dict.fromkeys(header, "") | {"archived": "False", "created_at": "2024-01-01T00:00:00",
                                       "last_modified": "2025-12-01T00:00:00"} | record
    path = folder / "crafted.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerow([rec[c] for c in header])
        w.writerows(rows)
    root = folder / "artifacts"
    steps = [s for s in STEPS if s[0] != "territories"]
    run_build(BuildSettings(catalog=str(path), out=root, model="fake-64", lda_ks=(4,), lda_k=4,
                            show_progress=False), encoder=FakeEncoder(64), steps=steps)
    return root


def partial_copy(built_root: Path, root: Path, partial: dict = PARTIAL) -> dict:
    """``built_root`` copied to ``root`` with its current build marked partial; its manifest."""
    shutil.copytree(built_root, root, symlinks=True)
    first = (root / "current").resolve()
    m = json.loads((first / "manifest.json").read_text())
    m["partial"] = dict(partial)
    (first / "manifest.json").write_text(json.dumps(m))
    return m


def with_description(explorer, row: int, raw: str, datasets=None):
    """A new Explorer over ``explorer``'s build (and query encoder) whose row ``row`` has the
    description ``raw`` (raw and plain text alike; the app reads descriptions from the build's
    Descriptions, not from its frame), and whose frame is ``datasets`` when given."""
    import dataclasses

    from models.core.store import Descriptions
    from models.serve.explorer import Explorer

    n = explorer.n
    raws = [raw if i == row else explorer.records.description(i) for i in range(n)]
    texts = [raw if i == row else explorer.records.description_text(i) for i in range(n)]
    arts = dataclasses.replace(explorer.artifacts, descriptions=Descriptions.from_columns(raws, texts),
                               datasets=explorer.datasets if datasets is None else datasets)
    return Explorer(arts, encoder=explorer.engine.semantic.encoder, max_query_chars=explorer.max_query_chars)
