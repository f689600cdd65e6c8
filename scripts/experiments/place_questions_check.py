"""Do questions naming a place still rank that place's datasets first? For a list of questions
(the quality floor's four and eight more), the rank of the first dataset about the place in the
hybrid top 10 and how many of the 10 are about it, for each neighbour-smoothing weight γ of long
queries (every other constant is the committed one).

    python scripts/experiments/place_questions_check.py --artifacts artifacts --smooth 0,0.4,0.8

Prints one JSON line per γ: ``{"smooth_long": γ, "queries": {query: [first rank or null,
local datasets in the top 10]}}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.serve.explorer import Explorer

QUESTIONS = (
    ("transports en commun à Toulouse", "commune:31555"),
    ("Où trouver les données de Rennes sur les déchets ?", "commune:35238"),
    ("Où trouver les données de Rennes sur le bruit ?", "commune:35238"),
    ("budget de la ville de Paris", "commune:75056"),
    ("marchés publics en Bretagne", "region:53"),
    ("Où sont les piscines à Toulouse ?", "commune:31555"),
    ("Quelle est la qualité de l'air à Lyon ?", "commune:69123"),
    ("Où sont les parkings à Bordeaux ?", "commune:33063"),
    ("Où trouver les horaires des bus à Nantes ?", "commune:44109"),
    ("Quels sont les arbres plantés à Paris ?", "commune:75056"),
    ("les élus du conseil municipal de Strasbourg", "commune:67482"),
    ("Où recharger sa voiture électrique en Occitanie ?", "region:76"),
    ("Combien d'habitants en Gironde ?", "departement:33"),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--smooth", default="0,0.8", help="γ values for long queries, comma-separated")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    exp = Explorer.load(args.artifacts)
    for g in (float(x) for x in args.smooth.split(",")):
        engine = exp.engine.with_params(smooth_long=g)
        out = {}
        for q, place in QUESTIONS:
            rows = set(exp.catalogue.territory_rows(place).tolist())
            hits = engine.search(q, mode="hybrid", k=10)
            first = next((i for i, h in enumerate(hits, 1) if h.row in rows), None)
            out[q] = [first, sum(h.row in rows for h in hits)]
        print(json.dumps({"smooth_long": g, "queries": out}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
