"""Topics (LDA, several K), embedding clusters, the topics command and the "Thèmes" page."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from models.core import topic_math as TM
from models.core.text import STOP_WORDS, TOPIC_STOP_WORDS, is_label_word
from models.pipeline import lda as T
from models.pipeline.clusters import class_tfidf, min_cluster_size_for, renumber_by_size


# ---- formulas -----------------------------------------------------------------------------------
def test_relevance_formula_and_ranking():
    p_wt = np.array([0.20, 0.05])  # frequent everywhere vs. specific to the topic
    p_w = np.array([0.10, 0.001])
    assert np.allclose(TM.relevance(p_wt, p_w, 1.0), np.log(p_wt))
    assert np.allclose(TM.relevance(p_wt, p_w, 0.0), np.log(p_wt / p_w))
    lam = 0.6
    expected = lam * np.log(p_wt) + (1 - lam) * np.log(p_wt / p_w)
    assert np.allclose(TM.relevance(p_wt, p_w, lam), expected)
    assert np.argmax(TM.relevance(p_wt, p_w, 1.0)) == 0  # λ=1: by probability in the topic
    assert np.argmax(TM.relevance(p_wt, p_w, 0.0)) == 1  # λ=0: by lift
    with pytest.raises(ValueError):
        TM.relevance(p_wt, p_w, 1.5)


def test_candidate_terms_hold_the_top_for_every_slider_step():
    rng = np.random.default_rng(0)
    p_wt = rng.dirichlet(np.full(500, 0.1))
    p_w = rng.dirichlet(np.full(500, 1.0))
    cand = set(T.candidate_terms(p_wt, p_w, n=10).tolist())
    for lam in T.LAMBDA_GRID:
        top = np.argsort(-TM.relevance(p_wt, p_w, lam))[:10]
        assert set(top.tolist()) <= cand


def test_js_distance_properties():
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(50), size=6)
    d = TM.js_distance_matrix(p)
    assert np.allclose(d, d.T)  # symmetric
    assert np.allclose(np.diag(d), 0.0)  # zero on identity
    assert (d >= 0).all() and (d <= 1.0 + 1e-12).all()  # base 2: bounded by 1
    assert np.allclose(d[0, 1], jensenshannon(p[0], p[1], base=2))
    # disjoint supports: the maximum, 1 in base 2, ln 2 for the divergence in base e
    a, b = np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 0.5, 0.5]])
    assert math.isclose(TM.js_distance_matrix(a, b)[0, 0], 1.0)
    assert math.isclose(TM.js_divergence_matrix(a, b, base=math.e)[0, 0], math.log(2))
    assert TM.js_distance_matrix(p[:1], p[:1])[0, 0] == pytest.approx(0.0, abs=1e-7)
    # triangle inequality (JS distance is a metric)
    for i in range(6):
        for j in range(6):
            assert (d[i, j] <= d[i] + d[:, j] + 1e-12).all()


def test_best_match_similarity_and_default_k():
    a = [["eau", "rivière", "pollution"], ["bus", "train", "gare"]]
    assert np.allclose(T.best_match_similarity(a, [a[::-1], a]), 1.0)  # order does not matter
    assert np.allclose(T.best_match_similarity(a, [[["vote", "élection", "bureau"]]]), 0.0)
    half = T.best_match_similarity(a, [[["eau", "rivière", "forêt"], ["bus", "vélo", "route"]]])
    assert np.allclose(half, [0.5, 0.2])
    models = [{"k": 10, "coherence_cv": 0.50, "coherence_umass": -3.0},
              {"k": 20, "coherence_cv": 0.55, "coherence_umass": -4.0},
              {"k": 30, "coherence_cv": 0.55, "coherence_umass": -5.0}]
    assert T.choose_default_k(models) == 20  # best c_v, tie broken by u_mass then smaller K
    models.append({"k": 50, "coherence_cv": None, "coherence_umass": -1.0})
    assert T.choose_default_k(models) == 20
    assert T.choose_default_k([{"k": 5, "coherence_cv": None, "coherence_umass": -2.0},
                               {"k": 8, "coherence_cv": None, "coherence_umass": -1.0}]) == 8


# ---- LDA on a corpus with known themes ----------------------------------------------------------------
THEMES = {
    "eau": "rivière eau pollution nappe captage assainissement station épuration bassin",
    "transport": "bus train gare horaire ligne arrêt tramway voyageur réseau",
    "élection": "élection vote bureau candidat scrutin résultat tour électeur suffrage",
}


def _themed_tokens(n_per_theme: int = 40, seed: int = 0) -> tuple[list[list[str]], list[str]]:
    rng = np.random.default_rng(seed)
    docs, truth = [], []
    for name, words in THEMES.items():
        vocab = words.split()
        for _ in range(n_per_theme):
            docs.append([str(w) for w in rng.choice(vocab, size=12)])
            truth.append(name)
    return docs, truth


def test_lda_is_deterministic_and_finds_the_themes():
    docs, truth = _themed_tokens()
    lc = T.prepare_corpus(docs, bigrams=False, no_above=0.9)
    r1 = T.fit_k(lc, 3, [7, 8, 9], passes=5, chunksize=2000)
    r2 = T.fit_k(T.prepare_corpus(docs, bigrams=False, no_above=0.9), 3, [7, 8, 9], passes=5,
                 chunksize=2000)
    assert np.array_equal(r1.doc_topics, r2.doc_topics)  # same seeds, same result
    assert np.array_equal(r1.topic_word, r2.topic_word)
    assert np.allclose(r1.doc_topics.sum(axis=1), 1.0, atol=1e-5)
    # each theme's documents share one dominant topic, different for each theme
    dom = r1.doc_topics.argmax(axis=1)
    truth = np.array(truth)
    by_theme = {name: np.bincount(dom[truth == name], minlength=3).argmax() for name in THEMES}
    assert len(set(by_theme.values())) == 3
    for name, t in by_theme.items():
        assert (dom[truth == name] == t).mean() > 0.9
        assert set(r1.top_terms[t][:5]) <= set(THEMES[name].split())
    assert (r1.stability > 0.5).all()  # found again with the other seeds


def test_lda_models_trained_by_two_processes_are_the_same_models():
    """The build trains its (K, seed) models in two processes: each model, its topics and its
    documents' topics are exactly those trained in the build's own process."""
    docs, _ = _themed_tokens()
    lc = T.prepare_corpus(docs, bigrams=False, no_above=0.9)
    jobs = [(k, seed) for k in (2, 3) for seed in (7, 8)]
    here = T.train_all(lc, jobs, passes=3, chunksize=2000, workers=1)
    seen = []
    there = T.train_all(lc, jobs, passes=3, chunksize=2000, workers=2, progress=seen.append)
    assert set(there) == set(jobs) and seen == [1] * len(jobs)
    for job in jobs:
        assert np.array_equal(here[job][0].get_topics(), there[job][0].get_topics()), job
    a = T.fit_k(lc, 3, [7, 8], passes=3, chunksize=2000, trained=here)
    b = T.fit_k(lc, 3, [7, 8], passes=3, chunksize=2000, trained=there)
    assert np.array_equal(a.doc_topics, b.doc_topics) and a.top_terms == b.top_terms


def test_topic_tokens_lemmatise_and_drop_generic_words():
    df = pd.DataFrame({"title": ["Les écoles primaires de la commune"],
                       "description_text": ["Ce jeu de données recense les écoles publiques, "
                                            "mis à jour en janvier. Données ouvertes."],
                       "tags": [["donnees-ouvertes", "education-nationale", "plu"]]})
    toks = T.topic_tokens(df)[0]
    assert "école" in toks and "écoles" not in toks  # lemmas
    assert "éducation" in toks or "education" in toks  # tag slugs split into words
    assert "plu" in toks  # acronyms are not "lemmatised" (plu -> plaire)
    for generic in ("données", "donnée", "janvier", "recenser", "ouvert", "jour", "les", "de"):
        assert generic not in toks


# ---- the build ----------------------------------------------------------------------------------
def _build(built_root):
    from models.core.store import load_artifacts

    return load_artifacts(built_root)


def test_build_writes_every_k_and_the_default(built_root):
    arts = _build(built_root)
    summary = arts.json("lda_models.json")
    assert [m["k"] for m in summary["models"]] == [4, 8]
    assert summary["default_k"] == 8 and summary["chosen_by"] == "settings.lda_k"
    assert [m["default"] for m in summary["models"]] == [False, True]
    assert arts.manifest["topics"]["default_k"] == 8
    assert arts.manifest["parameters"]["lda"]["ks"] == [4, 8]
    assert "lda" in arts.manifest["steps"] and "clusters" in arts.manifest["steps"]
    for m in summary["models"]:
        k = m["k"]
        assert -1 <= m["coherence_cv"] <= 1 and m["coherence_umass"] <= 0
        assert 0 <= m["stability_mean"] <= 1
        dt = arts.npy(f"lda/k{k}_doc_topics.npy")
        assert dt.shape == (arts.n, k) and dt.dtype == np.float32
        assert np.allclose(dt.sum(axis=1), 1.0, atol=1e-4)
        topics = arts.parquet(f"lda/k{k}_topics.parquet")
        assert topics["topic"].tolist() == list(range(k))
        assert topics["prevalence"].sum() == pytest.approx(1.0)
        assert topics[["x", "y", "stability", "coherence_cv"]].notna().all().all()
        dist = arts.npy(f"lda/k{k}_distances.npy")
        assert dist.shape == (k, k) and np.allclose(dist, dist.T)
        terms = arts.parquet(f"lda/k{k}_terms.parquet")
        assert {"topic", "rank", "term", "weight", "p_w", "count"} <= set(terms.columns)
        assert (terms.groupby("topic")["rank"].min() == 0).all()
    # the default K under the historical names, same content
    assert np.array_equal(arts.npy("lda_doc_topics.npy"), arts.npy("lda/k8_doc_topics.npy"))
    legacy = arts.parquet("lda_terms.parquet")
    assert list(legacy.columns) == ["topic", "rank", "term", "weight"]
    assert list(arts.parquet("lda_topics.parquet").columns) == ["topic", "label", "prevalence"]
    vocab = arts.parquet("lda_vocab.parquet")
    assert vocab["p_w"].sum() == pytest.approx(1.0) and (vocab["count"] > 0).all()
    assert not set(vocab["term"]) & TOPIC_STOP_WORDS


def test_clusters_have_french_labels_without_stop_words(built_root):
    arts = _build(built_root)
    labels = arts.npy("clusters.npy")
    frame = arts.parquet("clusters.parquet")
    assert labels.dtype == np.int32 and len(labels) == arts.n and labels.min() >= -1
    assert len(frame) >= 2, "the 200-row fixture should give a few clusters"
    assert frame["cluster"].tolist() == list(range(len(frame)))
    counts = np.bincount(labels[labels >= 0], minlength=len(frame))
    assert frame["size"].tolist() == counts.tolist()
    assert frame["size"].is_monotonic_decreasing  # numbered by size
    for rec in frame.itertuples(index=False):
        assert rec.label == " · ".join([w for w in rec.terms if is_label_word(w)][:3])
        for w in rec.terms:
            assert w not in STOP_WORDS and w not in TOPIC_STOP_WORDS and w == w.lower()
    params = arts.manifest["parameters"]["clusters"]
    assert params["min_cluster_size"] == min_cluster_size_for(arts.n)


def test_class_tfidf_labels_what_sets_a_cluster_apart():
    docs = [["eau", "rivière", "commune"]] * 5 + [["bus", "gare", "commune"]] * 5 + [["commune"]] * 2
    labels = np.array([0] * 5 + [1] * 5 + [-1] * 2)
    terms = class_tfidf(docs, labels, n_terms=2)
    assert set(terms) == {0, 1}  # noise gets no label
    assert {w for w, _ in terms[0]} == {"eau", "rivière"}  # "commune" is everywhere
    assert {w for w, _ in terms[1]} == {"bus", "gare"}
    assert renumber_by_size(np.array([3, 3, -1, 5, 5, 5])).tolist() == [1, 1, -1, 0, 0, 0]
    assert min_cluster_size_for(200) == 5 and min_cluster_size_for(70_575) == 89
    assert is_label_word("transport") and is_label_word("carte bruit")
    for junk in ("l562-1", "ddt65", "celui-ci", "données", "de"):
        assert not is_label_word(junk)


# ---- the service and the command ----------------------------------------------------------------
def test_topic_service(explorer):
    svc = explorer.topics
    assert svc.ks() == [4, 8] and svc.default_k == 8
    with pytest.raises(ValueError, match="K=5"):
        svc.check_k(5)
    dom, labels = svc.dominant_topics(4)
    assert dom.shape == (explorer.n,) and len(labels) == 4 and dom.max() < 4
    t0 = svc.topic_terms(8, 0, n=10, lam=1.0)
    assert t0["weight"].is_monotonic_decreasing
    t1 = svc.topic_terms(8, 0, n=10, lam=0.0)
    lift = (t1["weight"] / t1["p_w"]).to_numpy()
    assert (np.diff(lift) <= 1e-12).all()  # λ=0 ranks by lift
    years = svc.years(8, 0)
    # plausible creation years only; the others (unknown, year 0003, ...) are counted apart
    assert years["datasets"].sum() + years.attrs["left_out"] == len(explorer.datasets)
    assert years["datasets"].sum() <= explorer.datasets["created_year"].notna().sum()
    assert years["share"].between(0, 1).all()
    prod = svc.top_producers(8, 0, n=5)
    assert len(prod) <= 5 and prod["datasets"].is_monotonic_decreasing
    assert prod["datasets"].sum() <= (svc.dominant(8) == 0).sum()
    shared = svc.shared_terms(8)
    assert (shared["n_topics"] >= 2).all()
    terms8 = svc.terms(8)
    for rec in shared.head(5).itertuples(index=False):
        tops = terms8[(terms8["term"] == rec.term) & (terms8["rank"] < 20)]["topic"]
        assert sorted(tops) == list(rec.topics)
    heat = svc.topic_cluster_matrix(8)
    m = np.asarray(heat["matrix"])
    assert m.shape[1] == 8 and np.allclose(m.sum(axis=1), 1.0, atol=1e-3)
    assert sum(heat["sizes"]) == explorer.n
    rows = svc.topic_rows(8, 0)
    assert all(svc.dominant(8)[r] == 0 for r in rows)
    mds = svc.selection_mds(list(range(40)))
    again = svc.selection_mds(list(range(40)))
    assert len(mds["x"]) == 40 and mds["x"] == again["x"]  # deterministic
    assert np.std(mds["x"]) > 0


def test_topics_command_json(built_root, capsys):
    from models.cli import main

    assert main(["topics", "--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["models"]
    ids = set(pd.read_parquet(next((built_root / "builds").iterdir()) / "datasets.parquet")["id"])
    assert [m["k"] for m in out["models"]] == [4, 8]
    assert [m["default"] for m in out["models"]] == [False, True]
    for m in out["models"]:
        assert {"k", "default", "coherence_cv", "coherence_umass", "topics"} <= set(m)
        assert isinstance(m["coherence_cv"], float) and isinstance(m["coherence_umass"], float)
        assert [t["id"] for t in m["topics"]] == list(range(m["k"]))
        assert sum(t["prevalence"] for t in m["topics"]) == pytest.approx(1.0, abs=1e-4)
        for t in m["topics"]:
            assert set(t) == {"id", "label", "terms", "prevalence", "stability", "representative"}
            assert 1 <= len(t["terms"]) <= 20 and t["label"]
            weights = [w for _, w in t["terms"]]
            assert weights == sorted(weights, reverse=True)
            assert all(isinstance(w, str) and isinstance(p, float) for w, p in t["terms"])
            assert len(t["representative"]) == 5 and set(t["representative"]) <= ids
            assert 0 <= t["stability"] <= 1

    assert main(["topics", "--artifacts", str(built_root), "--k", "4", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert [m["k"] for m in one["models"]] == [4]
    assert main(["topics", "--artifacts", str(built_root), "--k", "5"]) == 2  # not built
    assert main(["topics", "--artifacts", str(built_root)]) == 0
    table = capsys.readouterr().out
    assert "K=8  (par défaut)" in table and "K=4" in table


# ---- the page, through the Flask test client ------------------------------------------------------
@pytest.fixture(scope="module")
def app_client(built_root, explorer):
    from app import create_app
    from models.core.config import AppSettings
    from tests.fake_encoders import FakeEncoder

    app = create_app(AppSettings(artifacts=built_root, encoder=FakeEncoder(64)), explorer=explorer)
    return app, app.server.test_client()


def _outputs(key: str) -> list[dict]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]


def call_callback(app_client, output_part: str, inputs: dict, state: dict | None = None,
                  changed: str | None = None) -> dict:
    """POST one callback request as the browser would; returns {id: {prop: value}}."""
    app, client = app_client
    first = next(iter(inputs)).rsplit(".", 1)[0]
    key = next(k for k, cb in app.callback_map.items()
               if output_part in k and cb["inputs"][0]["id"] == first)
    cb = app.callback_map[key]

    def spec(items, values):
        out = []
        for item in items:
            cid = item["id"]
            name = json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else cid
            out.append({**item, "value": values.get(f"{name}.{item['property']}")})
        return out

    ins = spec(cb["inputs"], inputs)
    body = {"output": key, "outputs": _outputs(key) if key.startswith("..") else _outputs(key)[0],
            "inputs": ins, "state": spec(cb["state"], state or {}),
            "changedPropIds": [changed or f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"]}
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:500]
    return r.get_json()["response"] if r.status_code == 200 else {}


def test_topics_page_in_the_layout(app_client):
    _, client = app_client
    r = client.get("/_dash-layout")
    assert r.status_code == 200
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert '"Thèmes"' in text and "topics-map" in text and "topics-lambda" in text


def test_topics_page_callbacks(app_client, explorer):
    svc = explorer.topics
    # choosing K fills the topic list (most prevalent first) and selects that topic
    res = call_callback(app_client, "topics-select.options", {"topics-k.value": 4},
                        {"topics-select.value": None})
    options = res["topics-select"]["options"]
    assert len(options) == 4
    prev = svc.topics(4)["prevalence"]
    assert res["topics-select"]["value"] == int(prev.idxmax()) == options[0]["value"]
    assert res["topics-heatmap"]["figure"]["data"][0]["type"] == "heatmap"
    assert res["topics-quality"]["figure"]["data"]

    # a topic: bubble map with the chosen one highlighted, cloud, years, producers, datasets
    res = call_callback(app_client, "topics-map.figure", {"topics-k.value": 8, "topics-select.value": 2})
    bubbles = res["topics-map"]["figure"]["data"][0]
    assert len(bubbles["customdata"]) == 8
    colours = dict(zip(bubbles["customdata"], bubbles["marker"]["color"], strict=True))
    assert colours[2] != colours[0]
    assert res["topics-cloud"]["figure"]["data"][0]["mode"] == "text"
    assert "Thème 3" in json.dumps(res["topics-info"]["children"], ensure_ascii=False)
    top = svc.representative(8, 2, 20)
    assert f'"row": {top[0]}' in json.dumps(res["topics-datasets"]["children"])

    # λ re-ranks the terms
    by_prob = call_callback(app_client, "topics-terms.figure",
                            {"topics-k.value": 8, "topics-select.value": 2, "topics-lambda.value": 1})
    by_lift = call_callback(app_client, "topics-terms.figure",
                            {"topics-k.value": 8, "topics-select.value": 2, "topics-lambda.value": 0})
    y1 = by_prob["topics-terms"]["figure"]["data"][1]["y"]
    y0 = by_lift["topics-terms"]["figure"]["data"][1]["y"]
    assert y1[::-1] == svc.topic_terms(8, 2, n=30, lam=1.0)["term"].tolist()
    assert y0 != y1

    # clicking a bubble selects its topic; junk is ignored
    res = call_callback(app_client, "topics-select.value@",
                        {"topics-map.clickData": {"points": [{"customdata": 5}]}}, {"topics-k.value": 8})
    assert res["topics-select"]["value"] == 5
    res = call_callback(app_client, "topics-select.value@",
                        {"topics-map.clickData": {"points": [{"customdata": 99}]}}, {"topics-k.value": 8})
    assert res == {}  # no update

    # MDS of the topic's datasets
    res = call_callback(app_client, "topics-mds.figure", {"topics-mds-button.n_clicks": 1},
                        {"topics-mds-source.value": "topic", "topics-mds-max.value": 300,
                         "topics-k.value": 8, "topics-select.value": 2, "map-highlight.data": None})
    rows = svc.topic_rows(8, 2)
    trace = res["topics-mds"]["figure"]["data"][0]
    if len(rows) >= 3:
        assert trace["type"] == "scattergl" and sorted(trace["customdata"]) == sorted(rows)
        assert "points" in res["topics-mds-status"]["children"]
    # ... and of the map's highlighted rows
    res = call_callback(app_client, "topics-mds.figure", {"topics-mds-button.n_clicks": 2},
                        {"topics-mds-source.value": "map", "topics-mds-max.value": 300,
                         "topics-k.value": 8, "topics-select.value": 2,
                         "map-highlight.data": {"label": "x", "rows": [1, 2, 3, 4, 5, -3, "a"]}})
    assert res["topics-mds"]["figure"]["data"][0]["customdata"] == [1, 2, 3, 4, 5]

    # show the topic on the main map
    res = call_callback(app_client, "map-highlight.data@",
                        {"topics-show-on-map.n_clicks": 1},
                        {"topics-k.value": 8, "topics-select.value": 2})
    assert res["map-highlight"]["data"]["rows"] == rows and res["pages"]["active_tab"] == "carte"


def _typed_array(value) -> np.ndarray:
    """A numpy array sent by plotly as a base64 typed array (or a plain list)."""
    import base64

    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def test_main_map_colour_by_k_or_cluster_and_lasso(app_client, explorer):
    svc = explorer.topics
    from components.labels import plotly_text
    from components.map import FIRST_LEGEND_TRACE, LEGEND_LABEL_CHARS, QUERY_TRACE

    state = {"map-highlight.data": {"label": "test", "rows": [1, 2],
                                    "query": {"x": 0.5, "y": -1.0, "text": "école"}},
             "selected-dataset.data": None}
    res = call_callback(app_client, "map.figure@", {"map-colour.value": "k4"}, state)
    fig = res["map"]["figure"]
    codes = _typed_array(fig["data"][0]["marker"]["color"])
    assert codes.tolist() == svc.dominant(4).tolist()
    assert fig["layout"]["legend"]["title"]["text"] == "Thèmes (LDA, K = 4)"
    assert fig["data"][1]["customdata"] == [1, 2]  # the highlight survives the recolouring
    assert fig["data"][QUERY_TRACE]["x"] == [0.5]  # and so does the query's place
    legend = [t["name"] for t in fig["data"][FIRST_LEGEND_TRACE:]]
    assert sorted(legend) == sorted(plotly_text(lab, LEGEND_LABEL_CHARS) for lab in svc.labels(4))

    res = call_callback(app_client, "map.figure@", {"map-colour.value": "clusters"}, state)
    fig = res["map"]["figure"]
    labels, _ = svc.clusters()
    codes = _typed_array(fig["data"][0]["marker"]["color"])
    grey = len(fig["data"]) - FIRST_LEGEND_TRACE  # the code of rows without a colour
    assert ((codes == grey) == (labels < 0)).all()  # noise is grey
    assert fig["layout"]["legend"]["title"]["text"] == "Groupes (HDBSCAN)"
    assert call_callback(app_client, "map.figure@", {"map-colour.value": "k99"}, state) == {}

    # a lasso, as the browser reads it (callbacks/map_tools.py): rows only; hostile ones dropped
    res = call_callback(app_client, "map-highlight.data@",
                        {"map-selected-rows.data": {"rows": [3, 7, 7, 10**6, -1, "x", True]}})
    assert res["map-highlight"]["data"]["rows"] == [3, 7]


# ---- pure builders --------------------------------------------------------------------------------
def test_topic_figures_builders():
    from components.topics import (
        bubble_sizes,
        map_colour_options,
        visualize_selection_mds,
        visualize_term_bars,
        visualize_topic_map,
    )

    sizes = bubble_sizes([0.4, 0.1, 0.025])
    assert sizes[0] ** 2 / sizes[1] ** 2 == pytest.approx(4.0)  # area, not diameter, ∝ prevalence
    assert sizes[2] >= 6.0  # never invisible
    assert visualize_topic_map([]).layout.meta["empty"] is True
    topics = [{"topic": i, "label": f"t{i}", "x": float(i), "y": 0.0, "prevalence": p,
               "stability": 0.5} for i, p in enumerate([0.2, 0.5, 0.3])]
    fig = visualize_topic_map(topics, selected=2)
    tr = fig.data[0]
    assert list(tr.customdata) == [1, 2, 0]  # biggest first, small bubbles drawn on top
    assert tr.marker.color[1] != tr.marker.color[0]  # the chosen one stands out
    bars = visualize_term_bars([{"term": "eau", "count": 10, "topic_count": 8},
                                {"term": "rivière", "count": 5, "topic_count": 5}], lam=0.6)
    assert list(bars.data[1].y) == ["rivière", "eau"]  # most relevant at the top
    assert visualize_term_bars([]).layout.meta["empty"] is True
    assert visualize_selection_mds([], [], [], []).layout.meta["empty"] is True
    mds = visualize_selection_mds([0, 1, 2], [1, 0, 1], [5, 6, 7], ["a", "<b>", "c"])
    assert mds.data[0].type == "scattergl" and "&lt;b&gt;" in mds.data[0].hovertext[1]
    models = [{"k": 10, "default": False}, {"k": 20, "default": True}]
    assert [o["value"] for o in map_colour_options(models, 12)] == ["k10", "k20", "clusters"]
    assert map_colour_options(models[:1], 0) == []  # nothing to choose
