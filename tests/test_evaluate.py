"""Search-quality metrics on hand-computed cases, the labelled-file reader, the command."""

from __future__ import annotations

import json
import math

import pytest

from models.serve.evaluate import (
    METRIC_KEYS,
    RelevanceFileError,
    aggregate,
    evaluate,
    first_relevant_rank,
    hit_at,
    ndcg_at,
    parse_relevance,
    query_metrics,
    reciprocal_rank,
)


def test_first_rank_hits_and_reciprocal_rank():
    ranked = ["a", "b", "c", "d"]
    assert first_relevant_rank(ranked, {"c", "d"}) == 3
    assert first_relevant_rank(ranked, {"z"}) is None
    assert hit_at(3, 3) == 1.0 and hit_at(3, 1) == 0.0 and hit_at(None, 10) == 0.0
    assert reciprocal_rank(4) == 0.25 and reciprocal_rank(11, 10) == 0.0
    assert reciprocal_rank(None) == 0.0


def test_ndcg_hand_computed():
    # relevant at ranks 2 and 4, two relevant in all: DCG = 1/log2(3) + 1/log2(5)
    # ideal = 1/log2(2) + 1/log2(3)
    got = ndcg_at(["x", "a", "y", "b"], {"a", "b"}, 10)
    want = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert got == pytest.approx(want)
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x"], {"a"}, 10) == 0.0
    # many relevant: the ideal is capped at k results
    assert ndcg_at(list("abcdefghij"), set("abcdefghijklmnop"), 10) == pytest.approx(1.0)
    # a relevant result beyond k does not count
    assert ndcg_at(list("xxxxxxxxxxa"), {"a"}, 10) == 0.0


def test_aggregate_means():
    per = [query_metrics(["a", "b"], {"a"}), query_metrics(["x", "y", "b"], {"b"}),
           query_metrics(["x"], {"q"})]
    agg = aggregate(per, skipped=2)
    assert agg["n"] == 3 and agg["skipped"] == 2
    assert agg["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert agg["hit@3"] == pytest.approx(2 / 3, abs=1e-4)
    assert agg["mrr@10"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)
    ndcg_b = 1 / math.log2(4)
    assert agg["ndcg@10"] == pytest.approx((1 + ndcg_b) / 3, abs=1e-4)
    assert aggregate([], 1)["mrr@10"] is None


def test_parse_groups_rows_into_relevant_sets():
    text = ("query,params,expected\n"
            "élus,,A\nélus,,B\nélus,,A\n"
            ",tag=association,C\n"
            "vide,,\n")
    qs = parse_relevance(text)
    assert [(q.query, q.params, q.expected) for q in qs] == [
        ("élus", "", ["A", "B"]), ("", "tag=association", ["C"])]
    assert qs[1].search_args() == ("", "association")
    assert qs[0].search_args() == ("élus", None)


def test_parse_rejects_bad_files():
    with pytest.raises(RelevanceFileError, match="colonnes manquantes"):
        parse_relevance("a;b;c\n1;2;3\n")
    with pytest.raises(RelevanceFileError, match="aucune requête"):
        parse_relevance("query,params,expected\n")
    with pytest.raises(RelevanceFileError, match="trop grand"):
        parse_relevance("query,expected\n" + "".join(f"q{i},x\n" for i in range(5)), max_queries=3)


def test_evaluate_counts_skipped_and_ranks(explorer):
    ids = explorer.datasets["id"]
    title = explorer.datasets["title"].iat[4]
    text = ("query,params,expected\n"
            f"\"{title}\",,{ids.iat[4]}\n"
            "absent,,000000000000000000000000\n")
    res = evaluate(explorer.engine, parse_relevance(text), ["keyword", "hybrid"], k=10)
    assert res["skipped"] == ["absent"]
    m = res["metrics"]["keyword"]
    assert m["n"] == 1 and m["skipped"] == 1
    assert set(m) == {"n", "skipped", *METRIC_KEYS}
    assert res["per_query"][0]["ranks"]["keyword"] is not None


def test_evaluate_command_json(built_root, tmp_path, capsys):
    import pandas as pd

    from models import cli

    df = pd.read_parquet(next(built_root.glob("builds/*/datasets.parquet")))
    lines = ["query,params,expected"] + [f"\"{t}\",,{i}" for t, i in zip(df.title[:6], df.id[:6],
                                                                         strict=True)]
    lines.append("absent,,nope")
    f = tmp_path / "q.csv"
    f.write_text("\n".join(lines) + "\n")
    rc = cli.main(["evaluate", "--artifacts", str(built_root), "--queries", str(f), "--json",
                   "--per-query"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"keyword", "semantic", "hybrid", "word", "per_query", "params"}
    # the search constants in effect (fitted by scripts/tools/tune_search.py) are part of the report
    assert {"alpha_short", "beta_short", "alpha_long", "beta_long", "place_boost"} <= set(out["params"])
    for mode in ("keyword", "semantic", "hybrid", "word"):
        assert list(out[mode]) == ["n", "skipped", *METRIC_KEYS]
        assert out[mode]["n"] == 6 and out[mode]["skipped"] == 1
        assert all(0.0 <= out[mode][k] <= 1.0 for k in METRIC_KEYS)
    assert out["keyword"]["hit@10"] == 1.0  # a title finds itself
    assert len(out["per_query"]) == 6 and "hybrid" in out["per_query"][0]

    rc = cli.main(["evaluate", "--artifacts", str(built_root), "--queries", str(f), "--json",
                   "--mode", "keyword", "--k", "3"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and set(out) == {"keyword", "params"}
    assert cli.main(["evaluate", "--artifacts", str(built_root), "--queries", str(f),
                     "--mode", "bogus"]) == 2
