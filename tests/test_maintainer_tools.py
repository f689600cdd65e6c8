"""Smoke tests of the maintainers' tools (``scripts/tools/``) on the session's 200-row build.

Each tool's ``main([...])`` runs in process with ``--artifacts`` the fixture build and tiny inputs
(a labelled file made of a few of the build's own titles), and what it prints is checked: the
tuner's report and the parameters it writes (to a temporary file, never the committed one), the
protocol's table and verdict, the spelling counts, the query classes, the family quantiles, the
coverage grid, the confidence fit, the dialogue check, the catalogue subset and the synthetic
build (loaded back). ``screenshots.py`` runs in a subprocess with headless Chromium (``browser``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models.core.config import REPO
from tests.browser_helpers import browser_test
from tests.fake_encoders import FakeEncoder

DIALOGUES = REPO / "tests" / "data" / "dialogues.jsonl"


@pytest.fixture(scope="module")
def titles_csv(explorer, tmp_path_factory) -> Path:
    """A labelled file (query, params, expected) of 12 of the build's titles, cut to 4 words,
    each expecting its own dataset."""
    ds = explorer.datasets
    rows = [(" ".join(t.split()[:4]), i) for t, i in zip(ds["title"].astype(str), ds["id"], strict=True)
            if len(t.split()) >= 2][:12]
    path = tmp_path_factory.mktemp("labelled") / "titles.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["query", "params", "expected"])
        w.writerows((q, "", i) for q, i in rows)
    return path


def test_tune_search_reports_folds_and_writes_the_fitted_constants(built_root, titles_csv, tmp_path, capsys):
    from models.serve.ranking import PARAMS_FILE, SearchParams
    from scripts.tools import tune_search

    committed = Path(PARAMS_FILE).read_bytes()
    out = tmp_path / "search_params.json"
    assert tune_search.main(["--artifacts", str(built_root), "--queries", str(titles_csv), "--folds", "2",
                             "--write", str(out), "--force"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "set", "MRR@10", "hit@1", "hit@3", "hit@10"]
    assert [line[32:54].strip() for line in lines[1:6]] == [
        "in-fold (training)", "held-out (CV)", "in-sample (final)", "explorer check", "defaults"]
    assert all(line.startswith("titles ") and len(line.split()) >= 6 for line in lines[1:6])
    assert lines[6].startswith("chosen: {") and lines[-1].startswith("verdict: ")
    assert any(line.startswith("POOLED") for line in lines)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["params"]) == set(SearchParams.__dataclass_fields__)
    assert report["n_datasets"] == 200 and report["folds"] == 2 and report["held_out"]["titles"]["n"] == 12
    assert Path(PARAMS_FILE).read_bytes() == committed  # the committed constants untouched


def test_compare_search_prints_the_table_and_the_verdict(built_root, titles_csv, capsys):
    from scripts.tools import compare_search

    assert compare_search.main(["--artifacts", str(built_root), "--queries", str(titles_csv),
                                "--change", "smooth_long=0.8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["set", "n", "A", "B", "B−A", "95", "%", "CI", "p", "changed"]
    sets = {line.split()[0]: line for line in lines[1:-1]}
    assert set(sets) == {"titles", "dialogues", "POOLED"}
    assert int(sets["titles"].split()[1]) == 12
    assert lines[-1].startswith("verdict: ") and " — " in lines[-1]


def test_compare_search_two_builds_pairs_their_queries(built_root, titles_csv, tmp_path, capsys, monkeypatch):
    """``--artifacts-b``: B is another build of the same datasets, scored with its own engine
    (its vectors, its query encoder) and its own assistant, the same queries paired; the same
    build twice changes nothing; a build of other datasets is refused in one line."""
    from models.serve import protocol
    from models.serve.explorer import Explorer
    from scripts.tools import compare_search

    other = tmp_path / "other"
    shutil.copytree(built_root, other, symlinks=True)
    loaded, seen = [], []
    real_load, real_scores = Explorer.load, protocol.scores

    def load(*args, **kw):
        loaded.append(real_load(*args, **kw))
        return loaded[-1]

    def scores(engine, assistant=None, **kw):
        seen.append((engine.records, assistant.engine.records))
        return real_scores(engine, assistant, **kw)

    monkeypatch.setattr(Explorer, "load", load)
    monkeypatch.setattr(protocol, "scores", scores)
    assert compare_search.main(["--artifacts", str(built_root), "--artifacts-b", str(other),
                                "--queries", str(titles_csv), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    roots = [exp.artifacts.dir.resolve().parents[1] for exp in loaded]
    assert roots == [built_root.resolve(), other.resolve()]
    # A is searched and its dialogues played on the first build, B on the second
    assert seen == [(loaded[0].records, loaded[0].records), (loaded[1].records, loaded[1].records)]
    assert verdict["files"]["titles"]["n"] == 12 and "dialogues" in verdict["files"]
    assert verdict["files"]["titles"]["changed"] == 0 and verdict["adopt"] is False  # same vectors
    from models.pipeline.steps import run_build
    from tests.conftest import small_settings

    fewer = tmp_path / "fewer"  # the first 120 datasets only
    run_build(small_settings(fewer, limit=120, lda_ks=(4,), lda_k=4), encoder=FakeEncoder(64))
    with pytest.raises(SystemExit, match="does not hold the same datasets"):
        compare_search.main(["--artifacts", str(built_root), "--artifacts-b", str(fewer),
                             "--queries", str(titles_csv), "--no-dialogues"])


def test_compare_search_table_shows_a_set_without_queries():
    """A labelled set none of whose datasets is in the build: n 0, no MRR (it crashed the table)."""
    from scripts.tools.compare_search import table

    empty = {"n": 0, "a": None, "b": None, "diff": 0.0, "ci95": [0.0, 0.0], "p_permutation": 1.0,
             "changed": 0}
    full = {"n": 3, "a": 0.5, "b": 0.6, "diff": 0.1, "ci95": [-0.1, 0.3], "p_permutation": 0.5, "changed": 1}
    text = table({"files": {"forum": empty, "titles": full}, "pooled": full, "adopt": False,
                  "reason": "no pooled gain"})
    assert "—" in text.splitlines()[1] and "0.600" in text.splitlines()[2]
    assert text.splitlines()[-1] == "verdict: do not adopt — no pooled gain"


def test_query_classes_prints_each_class_per_set(built_root, titles_csv, capsys):
    from scripts.tools import query_classes

    assert query_classes.main(["--artifacts", str(built_root), "--queries", str(titles_csv)]) == 0
    text = capsys.readouterr().out
    head, rest = text.split("\n\n", 1)
    lines = head.splitlines()
    assert lines[0].split()[:5] == ["set/class", "n", "keyword", "semantic", "hybrid"]
    classes = {line.split()[0]: int(line.split()[1]) for line in lines[1:]}
    assert sum(n for k, n in classes.items() if k.startswith("titles/")) == 12
    assert {k.split("/")[0] for k in classes} == {"titles", "ALL"}
    assert {k.split("/")[1] for k in classes} <= {"keyword", "question", "context"}
    assert "queries found in a side's top 10 and not in the hybrid's" in rest

    assert query_classes.main(["--artifacts", str(built_root), "--queries", str(titles_csv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["classes"]) == set(classes)
    assert all(set(v) == {"n", "keyword", "semantic", "hybrid"} for v in out["classes"].values())


def test_family_threshold_prints_quantiles_thresholds_and_diversity(built_root, capsys):
    from scripts.tools import family_threshold

    assert family_threshold.main(["--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["datasets"] == 200 and 0 < out["family_keys"] <= 200
    assert set(out["thresholds"]) == {str(t) for t in family_threshold.THRESHOLDS}
    assert out["different_key_pairs"] > 0 and len(out["different_key_quantiles"]) == 5
    div = out["diversity"]
    assert div["queries"] > 0 and 0 < div["mean_families_in_top10_off"] <= 10


def test_spelling_check_counts_titles_queries_and_typos(built_root, titles_csv, capsys):
    from scripts.tools import spelling_check

    assert spelling_check.main(["--artifacts", str(built_root), "--relevance", str(titles_csv.parent),
                                "--more", str(REPO / "tests" / "data" / "questions-forum.csv"),
                                "--examples", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 200 and out["titles"]["checked"] == 200
    assert 0 <= out["titles"]["touched"] <= 200 and len(out["titles"]["examples"]) <= 3
    q = out["queries"]
    assert q["labelled_checked"] == 12 and q["dialogue_turns_checked"] > 0 and q["more_checked"] > 0
    typos = out["typos"]["titles.csv"]
    assert typos["with_typo"] > 0
    assert typos["restored"] + typos["wrong"] + typos["untouched"] == typos["with_typo"]
    assert typos["restored"] == typos["replaced"] + typos["suggested"]


def test_typo_queries_writes_the_misspelt_file_and_counts(built_root, titles_csv, tmp_path, capsys):
    from scripts.tools import typo_queries

    out_csv = tmp_path / "typos.csv"
    assert typo_queries.main([str(titles_csv), str(out_csv), "--seed", "0", "--artifacts", str(built_root),
                              "--dialogues", str(DIALOGUES)]) == 0
    clean = pd.read_csv(titles_csv, dtype=str, keep_default_na=False)
    typed = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert list(typed["expected"]) == list(clean["expected"])
    assert (typed["query"] != clean["query"]).sum() > 0  # one error in each query with a long word
    out = json.loads(capsys.readouterr().out)
    assert out["queries"] == 12 and out["with_typo"] == int((typed["query"] != clean["query"]).sum())
    assert out["clean_checked"] > 12 and len(out["corrections"]) == out["with_typo"]
    assert out["restored"] == out["restored_replaced"] + out["restored_suggested"]


def test_coverage_threshold_prints_the_grid(built_root, titles_csv, tmp_path, capsys):
    from scripts.tools import coverage_threshold

    path = tmp_path / "grid.json"
    assert coverage_threshold.main(["--artifacts", str(built_root), "--queries", str(titles_csv),
                                    "--json", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads(path.read_text())
    grid = out["titles"]["grid"]
    assert out["titles"]["pairs"] == 12 and [g["threshold"] for g in grid] == list(coverage_threshold.GRID)
    assert all(0 <= g["recall"] <= 1 for g in grid)
    # a higher threshold never answers with more datasets
    assert [g["size_median"] for g in grid] == sorted((g["size_median"] for g in grid), reverse=True)


def test_fit_confidence_fits_and_writes_elsewhere(built_root, titles_csv, tmp_path, capsys):
    from models.serve.confidence import FEATURES, PARAMS_PATH
    from scripts.tools import fit_confidence

    committed = Path(PARAMS_PATH).read_bytes()
    out = tmp_path / "confidence.json"
    assert fit_confidence.main(["--artifacts", str(built_root), "--relevance", str(titles_csv),
                                "--out", str(out), "--folds", "2", "--repeats", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["features"] == list(FEATURES) and len(report["weights"]) == len(FEATURES)
    assert report["cross_validated"]["n"] > 12
    params = json.loads(out.read_text(encoding="utf-8"))
    assert params["model_id"] == FakeEncoder(64).model_id and 0 < params["threshold"] < 1
    assert params["meta"]["command"].startswith("python scripts/tools/fit_confidence.py --artifacts")
    assert Path(PARAMS_PATH).read_bytes() == committed


def test_check_dialogues_passes_a_consistent_file_and_fails_a_wrong_one(tmp_path, sample_path):
    from scripts.tools import check_dialogues

    sample = pd.read_csv(sample_path, sep=";", dtype=str, keep_default_na=False)
    active = sample[sample["archived"] == "False"]
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "d1", "turns": [
        {"user": active["title"].iat[0], "expected": [active["id"].iat[0]]},
        {"user": "autre chose ?"}]}) + "\n", encoding="utf-8")
    assert check_dialogues.main(["--dialogues", str(good), "--catalog", str(sample_path)]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + json.dumps({"id": "d1", "turns": [
        {"user": "", "expected": ["not-an-id"]}]}) + "\n", encoding="utf-8")
    problems = check_dialogues.check(check_dialogues.read_dialogues(bad), sample_path)
    assert problems == ["d1: duplicate dialogue id", "d1 turn 1: empty question",
                        "d1 turn 1: not-an-id not in the export"]
    assert check_dialogues.main(["--dialogues", str(bad), "--catalog", str(sample_path)]) == 1


def test_make_dialogue_subset_keeps_the_sample_and_hard_negatives(tmp_path, sample_path):
    from scripts.tools import make_dialogue_subset

    catalog = pd.read_csv(sample_path, sep=";", dtype=str, keep_default_na=False).head(300)
    cat_path, sample = tmp_path / "catalog.csv", tmp_path / "sample.csv"
    catalog.to_csv(cat_path, sep=";", index=False)
    catalog.head(20).to_csv(sample, sep=";", index=False)
    out = tmp_path / "subset.csv"
    assert make_dialogue_subset.main(["--catalog", str(cat_path), "--sample", str(sample),
                                      "--per-topic", "2", "--out", str(out)]) == 0
    subset = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    active = catalog[catalog["archived"] == "False"]
    assert list(subset.columns) == list(catalog.columns)
    assert set(subset["id"]) <= set(active["id"])  # non-archived rows only
    in_sample = set(active["id"]) & set(catalog.head(20)["id"])
    assert in_sample <= set(subset["id"])
    # hard negatives: for a topic word some titles outside the sample hold, such titles are kept
    outside = active[~active["id"].isin(in_sample)]
    words = [w for w in make_dialogue_subset.TOPICS
             if outside["title"].str.contains(w, case=False, regex=False).any()]
    assert words and len(subset) > len(in_sample)


def test_synthetic_build_is_a_build_the_app_loads(built_root, tmp_path, capsys):
    from models.serve.explorer import Explorer
    from scripts.tools import synthetic_build

    out = tmp_path / "synthetic"
    assert synthetic_build.main(["--from", str(built_root), "--out", str(out), "--n", "450"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_dir()
    exp = Explorer.load(out, encoder=FakeEncoder(64))  # every invariant of the loader checked
    assert exp.n == 450 and exp.artifacts.manifest["synthetic"]["tiles"] == 3
    assert exp.datasets["id"].is_unique and exp.datasets["id"].iat[400].endswith("-s2")
    assert exp.records.description_text(449) == exp.records.description_text(49)
    assert (exp.artifacts.neighbours < 450).all()  # the cut last tile points inside the build
    assert len(exp.search("déchets", k=5)) == 5
    from models.core import serving  # the serving step's tables tiled too: read, not computed

    kept = serving.read(exp.artifacts, "quality")
    assert kept is not None and len(kept) == 450 and kept["score"].iat[449] == kept["score"].iat[49]


@browser_test
def test_screenshots_of_every_page(built_root, tmp_path):
    """The README's screenshots script on the fixture build: one PNG per page, in headless
    Chromium (a subprocess: the script serves the app in its own process)."""
    out = tmp_path / "shots"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "tools" / "screenshots.py"),
                           "--artifacts", str(built_root), "--out", str(out), "--width", "1000",
                           "--timeout", "90"], cwd=REPO, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shots = sorted(p.name for p in out.glob("*.png"))
    assert shots == ["carte.png", "demander.png", "producteurs.png", "territoires.png", "themes.png"]
    assert all((out / name).stat().st_size > 20_000 for name in shots)  # drawn pages, not blanks
    assert (out / "carte.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_tool_has_a_smoke_test():
    """A new tool in scripts/tools/ comes with its smoke test here."""
    tools = {p.stem for p in (REPO / "scripts" / "tools").glob("*.py")}
    source = Path(__file__).read_text(encoding="utf-8")
    assert {t for t in tools if t not in source} == set()
