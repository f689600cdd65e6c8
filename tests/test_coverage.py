"""Coverage of a question (models.serve.coverage): a département's count is what the territory
filter keeps of the answer set, national apart, gaps, per 100,000 inhabitants, bad input and the
command line."""

from __future__ import annotations

import json

import numpy as np

from models.serve.coverage import ANSWER_THRESHOLD, answer_mask, coverage

QUERY = "données"


def _placed_query(explorer):
    """A query whose answers are placed somewhere (the small build has few territories)."""
    for q in (QUERY, "commune", "plan", "liste"):
        out = coverage(explorer, q)
        if out["departements"]:
            return q, out
    raise AssertionError("no query of the small build has placed answers")


def test_departement_counts_equal_the_territory_filter(explorer):
    q, out = _placed_query(explorer)
    ans, errors = answer_mask(explorer, q)
    assert not errors and out["n_answers"] == int(ans.sum()) > 0
    for code, n in out["departements"].items():
        m = explorer.engine.filter_mask({"territory": [f"departement:{code}"]})
        assert n == int((ans & m).sum()), code
        # the same with the filter given to coverage itself
        one = coverage(explorer, q, filters={"territory": f"departement:{code}"})
        assert one["departements"][code] == n == one["n_answers"]
    for code, n in out["regions"].items():
        m = explorer.engine.filter_mask({"territory": [f"region:{code}"]})
        assert n == int((ans & m).sum()), code
    # gaps are the départements with no answer, none of them counted
    assert not set(out["gaps"]) & set(out["departements"])
    assert len(out["gaps"]) + len(out["departements"]) == 101


def test_the_rule_is_a_threshold_not_a_top_k(explorer):
    q, out = _placed_query(explorer)
    engine = explorer.engine
    sc = engine.mode_scores(engine.spell(q).text, "hybrid", understanding=engine.query_understanding(q))
    assert out["n_answers"] == int(np.count_nonzero(np.isfinite(sc) & (sc >= ANSWER_THRESHOLD)))
    assert out["threshold"] == ANSWER_THRESHOLD and "pas les k premiers" in out["rule"]


def test_national_apart_and_per_inhabitants(explorer):
    q, out = _placed_query(explorer)
    fr = explorer.catalogue.territories["pos"].get("pays:FR")
    if fr is not None:
        ans, _ = answer_mask(explorer, q)
        assert out["national"] == int(ans[explorer.catalogue.direct_rows_of(fr)].sum())
    per = coverage(explorer, q, per_inhabitants=True)["per_100k"]
    ents = explorer.territories.entities
    for code, v in per["departements"].items():
        pop = float(ents.at[f"departement:{code}", "population"])
        assert abs(v - out["departements"][code] * 100_000 / pop) < 1e-2


def test_filters_and_bad_input(explorer):
    q, out = _placed_query(explorer)
    fmt = explorer.catalogue.counts("format", np.arange(explorer.n))[0].value
    sub = coverage(explorer, q, filters={"format": fmt})
    assert sub["n_answers"] <= out["n_answers"]
    bad = coverage(explorer, q, filters={"couleur": "bleu", "territory": "departement:xx"})
    assert bad["messages"] and any("inconnu" in m for m in bad["messages"])
    assert bad["n_answers"] == out["n_answers"]
    empty = coverage(explorer, "")
    assert empty["n_answers"] == 0 and len(empty["gaps"]) == 101
    assert empty["gap_message"].startswith("Aucun jeu sur ce sujet pour 101 départements\u202f: ")
    browse = coverage(explorer, "", filters={"format": fmt})
    assert browse["n_answers"] == int(explorer.engine.filter_mask({"format": fmt}).sum())


def test_cli_coverage(built_root, explorer, capsys):
    from models.cli import main

    q, out = _placed_query(explorer)
    assert main(["coverage", "--artifacts", str(built_root), "--json", q]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {"national", "departements", "regions", "gaps"} <= set(got)
    assert got["departements"] == out["departements"] and got["gaps"] == out["gaps"]
    assert main(["coverage", "--artifacts", str(built_root), "--json", "--per-100k", q,
                 "--filter", "format=csv"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert "per_100k" in got and got["filters"] == {"format": ["csv"]}


def test_coverage_of_a_selection_counts_those_rows(explorer):
    q, out = _placed_query(explorer)
    ans, _ = answer_mask(explorer, q)
    sel = coverage(explorer, "", rows=[int(r) for r in np.flatnonzero(ans)] + [-1, 10**9])
    assert sel["selection"] and sel["threshold"] is None and "sélection" in sel["rule"]
    for key in ("departements", "regions", "gaps", "national", "n_answers"):
        assert sel[key] == out[key], key


def test_big_communes_counted_like_the_territory_filter(explorer):
    from models.serve.coverage import BIG_COMMUNE_POPULATION

    q, out = _placed_query(explorer)
    ans, _ = answer_mask(explorer, q)
    communes = out["communes"]
    assert out["commune_threshold"] == BIG_COMMUNE_POPULATION == 50_000
    codes = [c["code"] for c in communes]
    # the big communes of the 101 départements, largest first; no municipal arrondissement
    assert {"75056", "13055", "69123"} <= set(codes) and codes[0] == "75056"
    assert not {"75115", "13208", "69383"} & set(codes) and "98818" not in codes  # Nouméa: a COM
    assert all(c["population"] >= 50_000 for c in communes)
    assert [c["population"] for c in communes] == sorted((c["population"] for c in communes), reverse=True)
    for c in communes:
        m = explorer.engine.filter_mask({"territory": [f"commune:{c['code']}"]})
        assert c["n"] == int((ans & m).sum()), c["code"]
    assert out["commune_gaps"] == [c["code"] for c in communes if c["n"] == 0]
    # centroids from the build's COG folder: Lyon is where Lyon is
    lyon = next(c for c in communes if c["code"] == "69123")
    assert abs(lyon["lat"] - 45.76) < 0.1 and abs(lyon["lon"] - 4.84) < 0.1 and lyon["departement"] == "69"


def test_big_communes_from_rows_per_inhabitants_and_csv(explorer):
    from models.serve.coverage import coverage_csv

    placed = [int(r) for r in explorer.engine.filter_mask({"territory": ["commune:69123"]}).nonzero()[0]]
    if not placed:  # the small build may name no big commune: any commune rows of Paris then
        placed = [int(r) for r in explorer.engine.filter_mask({"territory": ["commune:75056"]}).nonzero()[0]]
    out = coverage(explorer, "", rows=placed, per_inhabitants=True)
    got = {c["code"]: c for c in out["communes"]}
    assert placed and sum(c["n"] for c in out["communes"]) >= 1
    for code, c in got.items():
        if c["n"]:
            assert abs(c["per_100k"] - c["n"] * 100_000 / c["population"]) < 1e-2
            assert out["per_100k"]["communes"][code] == c["per_100k"]
    lines = coverage_csv(out).strip().splitlines()
    commune_lines = [x for x in lines if x.startswith("commune,")]
    assert len(commune_lines) == len(out["communes"])  # those with none listed too, with 0
    assert any(x.startswith("commune,13055,Marseille,") for x in commune_lines)
    assert lines[-1].startswith("national,")


def test_coverage_of_an_embedding_cluster(explorer):
    from models.serve.coverage import cluster_rows, clusters_list

    labels, frame = explorer.topics.clusters()
    listed = clusters_list(explorer)
    assert [c["cluster"] for c in listed] and len(listed) == len(frame)
    assert [c["size"] for c in listed] == sorted((c["size"] for c in listed), reverse=True)
    for c in listed:
        rows = cluster_rows(explorer, c["cluster"])
        assert list(rows) == [int(r) for r in np.flatnonzero(labels == c["cluster"])]
        assert len(rows) == c["size"]
    big = listed[0]["cluster"]
    rows = cluster_rows(explorer, big)
    out = coverage(explorer, "", rows=rows, rule="r", label="l")
    assert out["n_answers"] == len(rows) and out["rule"] == "r" and out["label"] == "l"
    for code, n in out["departements"].items():
        m = explorer.engine.filter_mask({"territory": [f"departement:{code}"]})
        assert n == int(m[rows].sum()), code
    # noise, unknown clusters and non-integers are no cluster
    for bad in (-1, 10**6, True, "0", None, 1.0):
        assert cluster_rows(explorer, bad) is None, bad
