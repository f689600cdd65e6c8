"""Check the labelled dialogue file against the catalogue export.

Every expected id must exist in the export and not be archived; a turn whose slots name a
format must only expect datasets offering that format. Prints one line per problem and a
summary; exit code 1 if any problem.

    python scripts/tools/check_dialogues.py [--dialogues tests/data/dialogues.jsonl] [--catalog EXPORT]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from models.core.config import DEFAULT_CATALOG  # noqa: E402

log = logging.getLogger("check_dialogues")


def read_dialogues(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check(dialogues: list[dict], catalog) -> list[str]:
    """Problems found (empty: the file is consistent with the export)."""
    import pandas as pd

    df = pd.read_csv(catalog, sep=";", dtype=str, usecols=["id", "title", "archived", "resources_formats"],
                     keep_default_na=False)
    by_id = df.set_index("id")
    problems = []
    ids_seen = set()
    for d in dialogues:
        if d["id"] in ids_seen:
            problems.append(f"{d['id']}: duplicate dialogue id")
        ids_seen.add(d["id"])
        for t, turn in enumerate(d["turns"], 1):
            if not turn.get("user", "").strip():
                problems.append(f"{d['id']} turn {t}: empty question")
            fmt = (turn.get("slots") or {}).get("format")
            for ds in turn.get("expected", []):
                if ds not in by_id.index:
                    problems.append(f"{d['id']} turn {t}: {ds} not in the export")
                    continue
                row = by_id.loc[ds]
                if row["archived"] != "False":
                    problems.append(f"{d['id']} turn {t}: {ds} is archived ({row['archived']})")
                if fmt and fmt.lower() not in row["resources_formats"].lower():
                    problems.append(f"{d['id']} turn {t}: {ds} has no {fmt} resource "
                                    f"({row['resources_formats']})")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialogues", type=Path, default=REPO / "tests" / "data" / "dialogues.jsonl")
    ap.add_argument("--catalog", default=str(DEFAULT_CATALOG))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dialogues = read_dialogues(args.dialogues)
    problems = check(dialogues, args.catalog)
    for p in problems:
        log.error(p)
    turns = [t for d in dialogues for t in d["turns"]]
    ids = {i for t in turns for i in t.get("expected", [])}
    log.info("%d dialogues, %d turns (%d with expected ids), %d distinct ids: %s",
             len(dialogues), len(turns), sum("expected" in t for t in turns), len(ids),
             "OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
