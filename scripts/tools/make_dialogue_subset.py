"""A catalogue subset to measure the assistant on a machine that cannot rebuild everything.

Rows kept (non-archived only, the export's own columns and format): the 3,000-row sample, every
id the dialogue file and the relevance files expect, and hard negatives: for each word the
dialogues ask about, up to ``--per-topic`` other datasets whose title contains it (most viewed
first), so the assistant still has to choose among look-alikes (every « Défibrillateurs » of
every town, every « Piscines »). Deterministic.

    python scripts/tools/make_dialogue_subset.py --out artifacts/dialogue-subset.csv
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from models.core.config import DEFAULT_CATALOG, DEFAULT_RELEVANCE  # noqa: E402

log = logging.getLogger("make_dialogue_subset")

TOPICS = ("piscine", "vacances", "calendrier scolaire", "carburant", "covid", "défibrillateur",
          "accident", "qualité de l'air", "recharge", "valeurs foncières", "mutations", "arbres",
          "stationnement", "horaires", "bus", "prénoms", "élections", "écoles", "établissements",
          "cantine", "restauration scolaire", "toilettes", "wifi", "marchés publics", "jours fériés",
          "sirene", "entreprises", "finess", "santé", "cadastr", "subventions", "apport volontaire",
          "verre", "comptage", "vélo", "cyclable", "musées", "monuments", "météo", "climatolog",
          "radars", "recensement", "population")


def main(argv=None) -> int:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default=str(DEFAULT_CATALOG))
    ap.add_argument("--sample", default=str(Path(DEFAULT_CATALOG).parent / "sample-3000.csv"))
    ap.add_argument("--dialogues", type=Path, default=REPO / "tests" / "data" / "dialogues.jsonl")
    ap.add_argument("--per-topic", type=int, default=60)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    df = pd.read_csv(args.catalog, sep=";", dtype=str, keep_default_na=False)
    active = df[df["archived"] == "False"]
    sample_ids = set(pd.read_csv(args.sample, sep=";", dtype=str, usecols=["id"])["id"])
    keep = set(sample_ids)
    for line in args.dialogues.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for turn in json.loads(line)["turns"]:
                keep.update(turn.get("expected", []))
    for f in Path(DEFAULT_RELEVANCE).glob("*.csv"):
        keep.update(pd.read_csv(f, dtype=str)["expected"].dropna())
    views = pd.to_numeric(active["metric.views"], errors="coerce").fillna(0)
    for word in TOPICS:
        m = active["title"].str.contains(word, case=False, regex=False)
        keep.update(active.loc[views[m].sort_values(ascending=False).index[:args.per_topic], "id"])
    out = active[active["id"].isin(keep)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, sep=";", index=False)
    log.info("%d rows written to %s (%d from the sample)", len(out), args.out,
             int(out["id"].isin(sample_ids).sum()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
