"""Search-quality floor with the real e5 model on the 3,000-row sample (which holds every dataset
the labelled files expect): a regression in keyword, semantic or hybrid search fails CI.

One build per session (real e5; cheap LDA: one K, one seed). Embeddings come from the repo's
cache (``artifacts/cache/embeddings``, copied, never written) when it holds the sample's passages,
else they are computed (~2,600 passages: 2–3 minutes on 2 cores). Floors are the numbers measured
on this build (README) minus a margin for model/BLAS noise; they are floors, not targets.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.core.config import REPO
from tests.conftest import SAMPLE, SHARED

pytestmark = pytest.mark.slow

RELEVANCE = SHARED / "relevance"
# mode -> file -> (hit@10, MRR@10) floors; measured on this build with the parameters fitted on
# it (search-indicator / questions-public, 50 / 15 queries evaluated; the committed parameters are
# now fitted on the full catalogue and also pass): keyword 0.94 / 0.787 and
# 0.80 / 0.556, semantic 0.70 / 0.523 and 0.867 / 0.662, hybrid 0.96 / 0.940 and 0.80 / 0.733.
# Hybrid on questions-public: 0.80 / 0.600 since the Rocchio feedback was dropped (2026-12-07,
# docs/search-protocol.md): it had been fitted on these 20 questions and no pooled test over 241
# labelled queries and turns supports it (the other sets gain or stay without it); floor lowered.
# 0.867 / 0.697 since the neighbour smoothing was removed too (2026-12-07, fifth session: no
# significant gain on the sets it was not fitted on); on this sample it had cost these questions
# (0.80 / 0.600 with it)
FLOORS = {
    "keyword": {"search-indicator-datasets": (0.85, 0.70), "questions-public": (0.70, 0.45)},
    "semantic": {"search-indicator-datasets": (0.60, 0.45), "questions-public": (0.75, 0.55)},
    "hybrid": {"search-indicator-datasets": (0.90, 0.85), "questions-public": (0.75, 0.55)},
}


@pytest.fixture(scope="session")
def real_sample(tmp_path_factory):
    """An Explorer over the sample built with the real e5 model (session-wide)."""
    from models.core.config import BuildSettings
    from models.pipeline.steps import run_build
    from models.serve.explorer import Explorer

    root = tmp_path_factory.mktemp("real-sample")
    cache = root / "cache"
    repo_cache = REPO / "artifacts" / "cache" / "embeddings"
    if repo_cache.is_dir():
        shutil.copytree(repo_cache, cache, symlinks=False)
    models_dir = REPO / "artifacts" / "models"
    if not models_dir.is_dir():
        models_dir = root / "models"
    settings = BuildSettings(catalog=str(SAMPLE), out=root / "artifacts", model="e5-small-offline",
                             lda_ks=(10,), lda_k=10, lda_seeds=1, lda_passes=1, show_progress=False,
                             cache_dir=cache, models_dir=models_dir)
    run_build(settings)
    return Explorer.load(root / "artifacts", models_dir=models_dir)


@pytest.mark.parametrize("name", ["search-indicator-datasets", "questions-public"])
def test_quality_floors(real_sample, name):
    from models.serve.evaluate import evaluate, read_relevance

    res = evaluate(real_sample.engine, read_relevance(RELEVANCE / f"{name}.csv"),
                   ["keyword", "semantic", "hybrid"])
    for mode, floors in FLOORS.items():
        m = res["metrics"][mode]
        hit, mrr = floors[name]
        assert m["hit@10"] >= hit and m["mrr@10"] >= mrr, (name, mode, m)


def _rows_of(explorer, key):
    return set(explorer.catalogue.territory_rows(key).tolist())


@pytest.mark.parametrize("query, place", [
    ("transports en commun à Toulouse", "commune:31555"),
    # the sample holds Rennes's noise map but no Rennes waste dataset: « … sur les déchets ? »
    # is rightly answered there by a national waste dataset (a place is a boost, not a filter)
    ("Où trouver les données de Rennes sur le bruit ?", "commune:35238"),
    ("budget de la ville de Paris", "commune:75056"),
    ("marchés publics en Bretagne", "region:53"),
])
def test_a_question_naming_a_place_ranks_that_place_first(real_sample, query, place):
    u = real_sample.engine.understand(query)
    assert place in [f"{s.value[0]}:{s.value[1]}" for s in u.territories], u.as_dict()
    rows = _rows_of(real_sample, place)
    assert rows, f"the sample has no dataset about {place}"
    hits = real_sample.search(query, mode="hybrid", k=10)
    assert hits[0].row in rows, [real_sample.datasets["title"].iat[h.row] for h in hits[:5]]
    # the same question without the place is answered with other places or national data too
    plain = real_sample.search(query, mode="hybrid", k=10, ignore_slots=(f"territory:{place}",))
    assert sum(h.row in rows for h in hits) >= sum(h.row in rows for h in plain)


def test_cli_search_with_filters_and_facets(real_sample, capsys):
    import json

    from models.cli import main

    root = real_sample.artifacts.dir.parent.parent
    assert main(["search", "--artifacts", str(root), "--json", "--facets", "--k", "5",
                 "--filter", "format=csv", "--filter", "modified=2020-2026", "--sort", "recent",
                 "qualité de l'air"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"results", "facets"} and len(out["results"]) == 5
    assert {"id", "title", "organization", "score", "why"} <= set(out["results"][0])
    fmt = dict((v, c) for v, c in out["facets"]["format"])
    assert fmt.get("csv", 0) >= 5
    rows = [real_sample.records.row_of(r["id"]) for r in out["results"]]
    order = real_sample.catalogue.modified_order[rows]
    assert list(order) == sorted(order, reverse=True)
    assert np.all(real_sample.catalogue.modified_year[rows] >= 2020)
