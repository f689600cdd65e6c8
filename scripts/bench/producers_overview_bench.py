"""The producers overview at catalogue scale, without a build: the export is read, the producers
aggregated from its active rows (``ProducerService``'s fallback for builds without
``producers.parquet``: archived-only producers left out), then the grid's page requests are timed.

    python scripts/bench/producers_overview_bench.py [--catalog ../shared/data/catalog/export-...csv.gz]

Prints: producers, time of the first ``overview()`` (quality of every dataset), median server time
of a page request (default order, sorted by score, filtered by name, sorted by name) and the size
of one page as sent to the grid, against the size of every row sent at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

EXPORT = Path(__file__).resolve().parents[3] / "shared" / "data" / "catalog" / \
    "export-dataset-20260116-055249.csv.gz"


class _Artifacts:
    """No artifact file: ProducerService computes the producers from the rows."""

    dir = "(export only)"

    def __init__(self, datasets) -> None:
        self.manifest: dict = {}
        self.datasets = datasets
        self.embeddings = np.zeros((len(datasets), 1), dtype=np.float32)

    def has(self, name: str) -> bool:
        return False


def plain(records):
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in records]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", default=str(EXPORT))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from components import producers_page as pp
    from models.pipeline.ingest import read_catalog
    from models.serve.producers import ProducerService

    t = time.perf_counter()
    ds, _ = read_catalog(args.catalog)
    out = {"datasets": len(ds), "read_s": round(time.perf_counter() - t, 1)}
    P = ProducerService(_Artifacts(ds))
    t = time.perf_counter()
    overview = P.overview()
    out.update(producers=len(P), first_overview_s=round(time.perf_counter() - t, 2))
    asks = {"default": ([], {}), "sort_score": ([{"colId": "score", "sort": "asc"}], {}),
            "filter_name": ([], {"organization": {"filterType": "text", "type": "contains",
                                                  "filter": "commune"}}),
            "sort_name": ([{"colId": "organization", "sort": "asc"}], {})}
    for name, (sort, filters) in asks.items():
        times = []
        for _ in range(7):
            t = time.perf_counter()
            page, total = P.overview_page(0, pp.OVERVIEW_PAGE_SIZE, sort, filters)
            times.append(time.perf_counter() - t)
        rows = pp.overview_rows(plain(page.to_dict("records")))
        out[f"{name}_ms_median"] = round(1000 * statistics.median(times), 2)
        out[f"{name}_page_bytes"] = len(json.dumps({"rowData": rows, "rowCount": total}))
    every = pp.overview_rows(plain(overview.drop(columns="_folded").to_dict("records")))
    out["all_rows_at_once_bytes"] = len(json.dumps({"rowData": every}))
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
