"""The "Comparer" and "Qualité de la recherche" pages, and the query marker on the map:
builders, and callbacks through the Flask test client as the browser calls them."""

from __future__ import annotations

import base64
import json

import plotly.graph_objects as go
import pytest

from components import compare_page as cp
from components import ids
from components import quality_page as qp
from components.map import QUERY_TRACE, query_trace, visualize_map
from models.core.config import AppSettings
from tests.uihelpers import call, grid_rows, ids_of
from tests.uihelpers import text as text_of


@pytest.fixture(scope="module")
def relevance_dir(tmp_path_factory, explorer):
    """A labelled file whose queries are titles of the build (so every mode can succeed)."""
    d = tmp_path_factory.mktemp("relevance")
    df = explorer.datasets
    lines = ["query,params,expected"]
    for i in range(8):
        lines.append(f"\"{df.title.iat[i]}\",,{df.id.iat[i]}")
    lines.append("absent du build,,000000000000000000000000")
    (d / "search-indicator-datasets.csv").write_text("\n".join(lines) + "\n")
    (d / "autre.csv").write_text(f"query,params,expected\n\"{df.title.iat[9]}\",,{df.id.iat[9]}\n")
    return d


@pytest.fixture(scope="module")
def app(built_root, explorer, relevance_dir):
    from app import create_app

    return create_app(AppSettings(artifacts=built_root, relevance_dir=relevance_dir), explorer=explorer)


# ---- map marker ----------------------------------------------------------------------------

def test_query_trace_builder():
    empty = query_trace()
    assert empty["x"] == [] and not empty["showlegend"]
    t = query_trace((1.23456789, -2.0), "<b>vélo</b>")
    assert t["x"] == [1.23457] and t["y"] == [-2.0] and t["marker"]["symbol"] == "x"
    assert "&lt;b&gt;" in t["hovertext"][0] and t["customdata"] == []
    fig = visualize_map([[0, 0], [1, 1]])
    assert fig.data[QUERY_TRACE].name == "Votre requête"


def test_highlight_with_query_patches_the_query_trace(app, client, explorer):
    placed = explorer.engine.place_query("budget")
    data = {"label": "Recherche : budget", "rows": [0, 1], "query": {"x": placed["x"], "y": placed["y"],
                                                                      "text": "budget"}}
    draw = f"{ids.MAP_HIGHLIGHT_DRAW}.data"
    patch = call(app, client, f"{ids.MAP}.figure", {draw: data})[ids.MAP]["figure"]
    ops = {tuple(op["location"]): op for op in patch["operations"]}
    q = ops[("data", QUERY_TRACE)]["params"]["value"]
    assert q["x"] == [round(placed["x"], 5)] and q["y"] == [round(placed["y"], 5)]
    # a highlight without a query (another page) clears the marker; junk is ignored
    for junk in (None, {"x": "a", "y": 1}, {"x": float("nan"), "y": 0}):
        data = {"label": "x", "rows": [0], "query": junk}
        patch = call(app, client, f"{ids.MAP}.figure", {draw: data})[ids.MAP]["figure"]
        ops = {tuple(op["location"]): op for op in patch["operations"]}
        assert ops[("data", QUERY_TRACE)]["params"]["value"]["x"] == []


# ---- Comparer ------------------------------------------------------------------------------

def test_pages_are_in_the_app(client):
    lay = json.dumps(client.get("/_dash-layout").get_json(), ensure_ascii=False)
    for needle in ('"comparer"', "Comparer", '"qualite"', "Qualité de la recherche", cp.INPUT, qp.UPLOAD):
        assert needle in lay


def test_compare_three_columns_with_cross_ranks_and_overlap(app, client, explorer):
    q = explorer.datasets["title"].iat[2]
    out = call(app, client, f"{cp.COLUMNS}.children",
               {f"{cp.BUTTON}.n_clicks": 1, f"{cp.INPUT}.n_submit": 0}, {f"{cp.INPUT}.value": q})
    items = ids_of(out[cp.COLUMNS]["children"], cp.ITEM)
    by_mode = {m: [i["row"] for i in items if i["mode"] == m] for m in cp.COMPARED_MODES}
    for m in cp.COMPARED_MODES:
        want = [h.row for h in explorer.search(q, mode=m, k=10)]
        assert by_mode[m] == want, m
    text = text_of(out[cp.COLUMNS]["children"])
    assert "Mots-clés" in text and "Sémantique" in text and "Hybride" in text
    # each result is marked with its rank in the other columns
    first_kw = by_mode["keyword"][0]
    sem_rank = [h.row for h in explorer.search(q, mode="semantic", k=100)].index(first_kw) + 1 \
        if first_kw in [h.row for h in explorer.search(q, mode="semantic", k=100)] else None
    assert (f"Sémantique {sem_rank}" if sem_rank else "Sémantique —") in text
    # overlap of the top 10, as a figure and a sentence
    fig = out[cp.OVERLAP]["figure"]
    z = fig["data"][0]["z"]
    n_kw_sem = len(set(by_mode["keyword"]) & set(by_mode["semantic"]))
    assert z[0][1] == n_kw_sem and z[0][0] == 10
    assert f"Mots-clés ∩ Sémantique\u202f: {n_kw_sem}" in out[cp.OVERLAP_TEXT]["children"]
    assert out[cp.STATE]["data"] == {"q": q, "rows": by_mode["hybrid"]}
    assert out[cp.SHOW_ON_MAP]["disabled"] is False
    assert "Mots voisins" in text_of(out[cp.WORDS]["children"])


def test_compare_empty_query_and_show_on_map(app, client, explorer):
    out = call(app, client, f"{cp.COLUMNS}.children",
               {f"{cp.BUTTON}.n_clicks": 1, f"{cp.INPUT}.n_submit": 0}, {f"{cp.INPUT}.value": "  \x00 "})
    assert out[cp.COLUMNS]["children"] is None and "Saisissez" in text_of(out[cp.STATUS]["children"])
    state = {"q": "budget", "rows": [3, 1, 10**9]}
    out = call(app, client, f"{ids.MAP_HIGHLIGHT}.data", {f"{cp.SHOW_ON_MAP}.n_clicks": 1},
               {f"{cp.STATE}.data": state})
    data = out[ids.MAP_HIGHLIGHT]["data"]
    assert data["rows"] == [3, 1] and "query" in data and out[ids.TABS]["active_tab"] == "carte"


def test_compare_click_selects_dataset(app, client, explorer):
    item = {"type": cp.ITEM, "mode": "hybrid", "row": 5}
    out = call(app, client, f"{ids.SELECTED}.data", {f"{cp.ITEM}.n_clicks": [(item, 1)]},
               changed=json.dumps(item, separators=(",", ":"), sort_keys=True) + ".n_clicks")
    assert out[ids.SELECTED]["data"] == explorer.datasets["id"].iat[5]
    assert out[ids.TABS]["active_tab"] == "carte"


def test_overlap_figure_and_sentence_builders():
    assert cp.visualize_overlap(None).layout.meta["empty"]
    ov = {"pairs": {("keyword", "semantic"): 2, ("keyword", "hybrid"): 7, ("semantic", "hybrid"): 5},
          "all": 2, "k": 10}
    fig = cp.visualize_overlap(ov)
    assert isinstance(fig, go.Figure) and fig.data[0].z[2][1] == 5 and fig.data[0].z[1][1] == 10
    assert "les trois\u202f: 2" in cp.overlap_sentence(ov)


# ---- Qualité de la recherche ---------------------------------------------------------------

def _evaluate(app, client, name=None, contents=None, filename=None, changed=None):
    return call(app, client, f"{qp.RESULT}.data",
                {f"{qp.FILE}.value": name, f"{qp.UPLOAD}.contents": contents},
                {f"{qp.UPLOAD}.filename": filename}, changed=changed)


def test_quality_files_listed_and_default(client, relevance_dir):
    lay = client.get("/_dash-layout").get_json()
    dropdown = json.dumps(lay)
    assert "search-indicator-datasets.csv" in dropdown and "autre.csv" in dropdown


def test_quality_evaluates_once_per_file(app, client, monkeypatch):
    import models.serve.evaluate as ev

    runs = []
    real = ev.evaluate
    monkeypatch.setattr(ev, "evaluate", lambda *a, **kw: runs.append(1) or real(*a, **kw))
    out = _evaluate(app, client, "autre.csv")
    res = out[qp.RESULT]["data"]
    assert set(res["metrics"]) == {"keyword", "semantic", "hybrid", "word"}
    assert res["metrics"]["keyword"]["n"] == 1 and res["reference"] is None
    assert len(runs) == 1
    _evaluate(app, client, "autre.csv")  # same file again: from the in-memory cache
    assert len(runs) == 1

    res = _evaluate(app, client, "search-indicator-datasets.csv")[qp.RESULT]["data"]
    assert res["metrics"]["keyword"]["n"] == 8 and res["metrics"]["keyword"]["skipped"] == 1
    assert res["metrics"]["keyword"]["hit@10"] == 1.0
    assert res["reference"]["mrr@10"] == 0.79 and len(res["per_query"]) == 8
    # a file outside the folder is refused
    out = _evaluate(app, client, "../../etc/passwd")
    assert out[qp.RESULT]["data"] is None and "inconnu" in text_of(out[qp.STATUS]["children"])


def test_quality_render_chart_tables_and_failure_filter(app, client):
    res = _evaluate(app, client, "search-indicator-datasets.csv")[qp.RESULT]["data"]
    res["per_query"][0]["ranks"]["word"] = None  # pretend word mode fails the first query
    out = call(app, client, f"{qp.CHART}.figure", {f"{qp.RESULT}.data": res, f"{qp.FILTER}.value": qp.ALL})
    fig = out[qp.CHART]["figure"]
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    assert len(bars) == 4 and bars[0]["x"] == [label for _, label in qp.METRICS]
    assert any(t["type"] == "scatter" for t in fig["data"])  # the data.gouv.fr reference
    assert "8 requêtes évaluées" in out[qp.SUMMARY]["children"]
    all_rows = grid_rows(out[qp.TABLE]["children"])
    assert len(all_rows) == len(res["per_query"])
    out = call(app, client, f"{qp.CHART}.figure", {f"{qp.RESULT}.data": res, f"{qp.FILTER}.value": "word"})
    failed = grid_rows(out[qp.TABLE]["children"])
    assert next(r["query"] for r in failed) == res["per_query"][0]["query"] and len(failed) < len(all_rows)
    assert all(r["rank_word"] == "—" for r in failed)  # « — »: no expected dataset in the first 10
    assert "MRR@10" in text_of(out[qp.METRICS_TABLE]["children"])


def _upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:text/csv;base64," + base64.b64encode(raw).decode()


def test_quality_upload_validated_and_evaluated(app, client, explorer):
    df = explorer.datasets
    good = f"query,params,expected\n\"{df.title.iat[11]}\",,{df.id.iat[11]}\n"
    out = _evaluate(app, client, None, _upload(good), "mes-requetes.csv", changed=f"{qp.UPLOAD}.contents")
    res = out[qp.RESULT]["data"]
    assert res["label"] == "mes-requetes.csv" and res["metrics"]["keyword"]["n"] == 1
    assert "évalué" in text_of(out[qp.STATUS]["children"])
    for contents, name, message in [
        (_upload("a;b\n1;2\n"), "x.csv", "colonnes manquantes"),
        (_upload(b"query,expected\n\xff\xfe,1\n"), "x.csv", "UTF-8"),
        (_upload("query,expected\nq,1\n"), "x.exe", "CSV"),
        (_upload("query,expected\n" + "q,1\n" * 200_000), "big.csv", "trop gros"),
        ("data:text/csv;base64,@@@", "x.csv", "illisible"),
    ]:
        out = _evaluate(app, client, None, contents, name, changed=f"{qp.UPLOAD}.contents")
        assert message in text_of(out[qp.STATUS]["children"]), message
