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
        m = explorer.filter_mask({"territory": [f"departement:{code}"]})
        assert n == int((ans & m).sum()), code
        # the same with the filter given to coverage itself
        one = coverage(explorer, q, filters={"territory": f"departement:{code}"})
        assert one["departements"][code] == n == one["n_answers"]
    for code, n in out["regions"].items():
        m = explorer.filter_mask({"territory": [f"region:{code}"]})
        assert n == int((ans & m).sum()), code
    # gaps are the départements with no answer, none of them counted
    assert not set(out["gaps"]) & set(out["departements"])
    assert len(out["gaps"]) + len(out["departements"]) == 101


def test_the_rule_is_a_threshold_not_a_top_k(explorer):
    q, out = _placed_query(explorer)
    sc = explorer.mode_scores(explorer.spell(q).text, "hybrid",
                              understanding=explorer.query_understanding(q))
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
    assert browse["n_answers"] == int(explorer.filter_mask({"format": fmt}).sum())


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
